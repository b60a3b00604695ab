import { sha256 as nobleSha256 } from "@noble/hashes/sha2";
import type { BangfuClient } from "./client.js";
import { BangfuProblem, TransportError } from "./errors.js";
import type { components } from "./generated/openapi.js";
import type { WxApi } from "./wx.js";

export type UploadOut = components["schemas"]["UploadOut"];
export type Kind = components["schemas"]["Kind"];

/** A file to send, read a piece at a time (phones should not hold 25 MiB at once). */
export interface FileSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A file already in memory. */
export function bytesSource(bytes: Uint8Array): FileSource {
  return { size: bytes.byteLength, read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)) };
}

/** A file on the phone, read with `wx.getFileSystemManager().readFile` (mini-programs). */
export function wxFileSource(wx: WxApi, filePath: string, size: number): FileSource {
  const fs = wx.getFileSystemManager?.();
  if (!fs) throw new TypeError("wx.getFileSystemManager is not available");
  return {
    size,
    read: (position, length) =>
      new Promise((resolve, reject) =>
        fs.readFile({
          filePath,
          position,
          length: Math.min(length, size - position),
          success: (res) =>
            typeof res.data === "string" ? reject(new TypeError("readFile answered text")) : resolve(new Uint8Array(res.data)),
          fail: (err) => reject(new Error(err.errMsg)),
        }),
      ),
  };
}

const HASH_PIECE = 1 << 20;

/**
 * SHA-256 of a file, as 64 hex digits: WebCrypto's `crypto.subtle.digest` where there is
 * one (browsers, node), else a pure-JS digest read a piece at a time (mini-programs).
 */
export async function sha256Hex(file: FileSource | Uint8Array): Promise<string> {
  const source = file instanceof Uint8Array ? bytesSource(file) : file;
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle && source.size <= 64 * HASH_PIECE) {
    const whole = await source.read(0, source.size);
    return hex(new Uint8Array(await subtle.digest("SHA-256", whole as Uint8Array<ArrayBuffer>)));
  }
  const hash = nobleSha256.create();
  for (let offset = 0; offset < source.size; offset += HASH_PIECE) {
    hash.update(await source.read(offset, HASH_PIECE));
  }
  return hex(hash.digest());
}

export interface UploadOptions {
  kind: Kind;
  fileName?: string;
  /** The digest if already known; computed otherwise. */
  sha256?: string;
  /** Bytes per PATCH (default 1 MiB). */
  chunkSize?: number;
  /** Called after every chunk with the bytes the server holds. */
  onProgress?: (offset: number, size: number) => void;
  /** Rounds of asking the server where it got to after a dropped chunk (default 5). */
  resumeAttempts?: number;
}

/**
 * Sends a file resumably over the client's transport, fetch or `wx.request` alike: the
 * declaration (`POST /v1/uploads`) finds an unfinished upload of the same bytes and
 * answers its offset, chunks go with `PATCH` (`POST` with `X-HTTP-Method-Override` on
 * WeChat) from `Upload-Offset`, and after a dropped chunk the offset the server holds
 * decides where to go on. A retry of the whole call (after an app restart, say) picks up
 * where the server got to, with nothing stored on the phone.
 */
export async function uploadFile(client: BangfuClient, file: FileSource | Uint8Array, options: UploadOptions): Promise<UploadOut> {
  const source = file instanceof Uint8Array ? bytesSource(file) : file;
  const digest = options.sha256 ?? (await sha256Hex(source));
  const chunkSize = options.chunkSize ?? 1 << 20;
  let { data: upload } = await client.POST("/v1/uploads", {
    body: { sha256: digest, size: source.size, kind: options.kind, file_name: options.fileName ?? null },
  });
  let failures = 0;
  while (upload.state !== "complete") {
    const offset = upload.offset;
    options.onProgress?.(offset, source.size);
    const chunk = await source.read(offset, Math.min(chunkSize, source.size - offset));
    try {
      const reply = await client.request<UploadOut>({
        method: "PATCH",
        path: `/v1/uploads/${encodeURIComponent(upload.id)}`,
        operation: "/v1/uploads/{id}",
        headers: {
          "content-type": "application/offset+octet-stream",
          "upload-offset": String(offset),
        },
        body: chunk,
      });
      upload = reply.data ?? (await progress(client, upload.id));
      failures = 0;
    } catch (e) {
      const lost = e instanceof TransportError || (e instanceof BangfuProblem && ["offset_mismatch", "upload_busy", "upload_interrupted", "body_too_slow"].includes(e.code));
      if (!lost || ++failures > (options.resumeAttempts ?? 5)) throw e;
      await new Promise((r) => setTimeout(r, 200 * failures));
      upload = await progress(client, upload.id);
    }
  }
  options.onProgress?.(source.size, source.size);
  return upload;
}

async function progress(client: BangfuClient, id: string): Promise<UploadOut> {
  return (await client.GET("/v1/uploads/{id}", { path: { id } })).data;
}

/**
 * Sends a small file from a mini-program in one `wx.uploadFile` request
 * (multipart/form-data: fields `sha256` and `kind`, the file part `file`). For large files
 * or poor networks, use `uploadFile` with `wxFileSource`, which resumes.
 */
export async function wxUploadSmallFile(
  client: BangfuClient,
  wx: WxApi,
  filePath: string,
  options: { kind: Kind; sha256: string },
): Promise<UploadOut> {
  if (!wx.uploadFile) throw new TypeError("wx.uploadFile is not available");
  const send = async (): Promise<{ statusCode: number; data: string }> => {
    let session = await client.session();
    if (session && session.accessExpiresAt - 30_000 <= Date.now()) session = await client.refresh();
    const header: Record<string, string> = { "accept-language": client.language, accept: "application/json" };
    if (session) header.authorization = `Bearer ${session.accessToken}`;
    return new Promise((resolve, reject) =>
      wx.uploadFile?.({
        url: `${client.baseUrl}/v1/uploads`,
        filePath,
        name: "file",
        header,
        formData: { sha256: options.sha256, kind: options.kind },
        success: resolve,
        fail: (err) => reject(new TransportError(`wx.uploadFile: ${err.errMsg}`)),
      }),
    );
  };
  let res = await send();
  let body = parse(res.data);
  let problem = res.statusCode >= 300 ? BangfuProblem.from(res.statusCode, {}, body) : undefined;
  if (problem && problem.status === 401 && (problem.code === "token_expired" || problem.code === "token_invalid")) {
    await client.refresh();
    res = await send();
    body = parse(res.data);
    problem = res.statusCode >= 300 ? BangfuProblem.from(res.statusCode, {}, body) : undefined;
  }
  if (problem) throw problem;
  return body as UploadOut;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
