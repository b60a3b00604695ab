/**
 * Resumable uploads with tus-js-client, the tus protocol's reference client, for fetch
 * environments (browsers, node, React Native). A separate entry point
 * (`@bangfu/client/tus`), so mini-program bundles do not carry tus-js-client.
 */
import { Upload, type PreviousUpload, type UrlStorage, type DetailedError } from "tus-js-client";
import type { BangfuClient } from "./client.js";
import { BangfuProblem } from "./errors.js";
import { sha256Hex, type Kind } from "./uploads.js";

export interface TusUploadOptions {
  kind: Kind;
  fileName?: string;
  /** The digest if already known; computed with WebCrypto otherwise. */
  sha256?: string;
  /** Bytes per PATCH (default 1 MiB). */
  chunkSize?: number;
  /** Where upload URLs are kept to resume after a restart; memory by default. */
  urlStorage?: UrlStorage;
  /** Waits before each retry after a failed request (tus-js-client's `retryDelays`). */
  retryDelays?: number[];
  onProgress?: (bytesSent: number, bytesTotal: number) => void;
  /** Hands over the tus-js-client `Upload` once started, e.g. to `abort()` it. */
  onStart?: (upload: Upload) => void;
}

export interface TusResult {
  /** The upload's URL on the server. */
  url: string;
  sha256: string;
  /** Whether an upload begun earlier was resumed. */
  resumed: boolean;
}

/**
 * Sends `file` with tus 1.0 to `/v1/uploads`, signed in as the client is (refreshing the
 * token as needed), with `Upload-Metadata` `sha256`, `kind` and `filename`. A previous
 * upload of the same bytes found in `urlStorage` is resumed from the offset the server
 * holds.
 */
export async function tusUpload(client: BangfuClient, file: Uint8Array | Blob, options: TusUploadOptions): Promise<TusResult> {
  const bytes = file instanceof Uint8Array ? file : new Uint8Array(await file.arrayBuffer());
  const digest = options.sha256 ?? (await sha256Hex(bytes));
  // tus-js-client reads a Buffer in node and a Blob in browsers.
  const nodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, offset: number, length: number): Uint8Array } }).Buffer;
  const input =
    !(file instanceof Uint8Array) ? file
    : nodeBuffer ? (nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as Blob)
    : new Blob([bytes as Uint8Array<ArrayBuffer>]);
  const metadata: Record<string, string> = { sha256: digest, kind: options.kind };
  if (options.fileName) metadata.filename = options.fileName;
  return new Promise<TusResult>((resolve, reject) => {
    let resumed = false;
    const upload: Upload = new Upload(input, {
      endpoint: `${client.baseUrl}/v1/uploads`,
      metadata,
      chunkSize: options.chunkSize ?? 1 << 20,
      retryDelays: options.retryDelays ?? [0, 500, 1500, 3000],
      urlStorage: options.urlStorage ?? sharedMemoryStorage,
      fingerprint: () => Promise.resolve(`bangfu:${client.baseUrl}:${digest}`),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onBeforeRequest: async (req) => {
        let session = await client.session();
        if (session && session.accessExpiresAt - 30_000 <= Date.now()) session = await client.refresh();
        if (session) req.setHeader("Authorization", `Bearer ${session.accessToken}`);
        req.setHeader("Accept-Language", client.language);
      },
      onAfterResponse: async (_req, res) => {
        if (res.getStatus() === 401) await client.refresh().catch(() => undefined);
      },
      onShouldRetry: (err: DetailedError, attempt: number) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        if (status === 401) return attempt < 1;
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onProgress: options.onProgress ?? null,
      onSuccess: () => resolve({ url: upload.url ?? "", sha256: digest, resumed }),
      onError: (err) => reject(asProblem(err)),
    });
    options.onStart?.(upload);
    upload
      .findPreviousUploads()
      .then((previous) => {
        const last = previous[0];
        if (last) {
          resumed = true;
          upload.resumeFromPreviousUpload(last);
        }
        upload.start();
      })
      .catch(reject);
  });
}

/** tus-js-client's error, as a `BangfuProblem` when the server answered with one. */
function asProblem(err: Error | DetailedError): Error {
  const res = "originalResponse" in err ? err.originalResponse : null;
  if (!res) return err;
  let body: unknown;
  try {
    body = JSON.parse(res.getBody()) as unknown;
  } catch {
    body = res.getBody();
  }
  return BangfuProblem.from(res.getStatus(), {}, body);
}

/** Upload URLs kept in memory: resumes within one run of the program. */
export function memoryUrlStorage(): UrlStorage {
  const entries = new Map<string, { fingerprint: string; upload: PreviousUpload }>();
  let next = 0;
  return {
    findAllUploads: () => Promise.resolve([...entries.values()].map((e) => e.upload)),
    findUploadsByFingerprint: (fingerprint) =>
      Promise.resolve([...entries.values()].filter((e) => e.fingerprint === fingerprint).map((e) => e.upload)),
    removeUpload: (key) => {
      entries.delete(key);
      return Promise.resolve();
    },
    addUpload: (fingerprint, upload) => {
      const key = `tus::${fingerprint}::${next++}`;
      entries.set(key, { fingerprint, upload: { ...upload, urlStorageKey: key } });
      return Promise.resolve(key);
    },
  };
}

const sharedMemoryStorage = memoryUrlStorage();
