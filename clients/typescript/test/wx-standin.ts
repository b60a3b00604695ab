// A stand-in for the mini-program's `wx` API in node, making real HTTP requests as WeChat
// does: `wx.request` refuses PATCH, calls `success` for every HTTP answer (4xx and 5xx
// too) with `statusCode`, `header` and `data` (parsed as JSON when `dataType` is `json`,
// the default; an ArrayBuffer with `responseType: 'arraybuffer'`), and `fail` when no
// answer came; `wx.uploadFile` sends multipart/form-data; files are read with the file
// system manager; storage is a map.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { WxApi, WxRequestOptions, WxUploadFileOptions } from "../src/index.js";

const METHODS = ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"];

export interface SentRequest {
  method: string;
  url: string;
  header: Record<string, string>;
}

export interface WxStandIn extends WxApi {
  /** Every request that went out, in order. */
  sent: SentRequest[];
  /** Cut the connection of the next request after this many body bytes (then clear). */
  cutNextBodyAfter?: number;
}

function send(
  method: string,
  url: string,
  header: Record<string, string>,
  body: Buffer | undefined,
  cutAfter: number | undefined,
): Promise<{ status: number; header: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...header };
    if (body) headers["content-length"] = body.length;
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h: Record<string, string> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) h[res.rawHeaders[i] ?? ""] = res.rawHeaders[i + 1] ?? "";
        resolve({ status: res.statusCode ?? 0, header: h, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body && cutAfter !== undefined) {
      // The phone loses its connection part way through the body.
      req.write(body.subarray(0, cutAfter), () => setTimeout(() => req.destroy(new Error("connection lost")), 50));
      return;
    }
    req.end(body);
  });
}

export function wxStandIn(): WxStandIn {
  const storage = new Map<string, unknown>();
  const wx: WxStandIn = {
    sent: [],
    request(options: WxRequestOptions) {
      const method = (options.method ?? "GET").toUpperCase();
      if (!METHODS.includes(method)) {
        setTimeout(() => options.fail?.({ errMsg: `request:fail parameter error: method ${method} is not supported` }), 0);
        return { abort() {} };
      }
      const header: Record<string, string> = { "content-type": "application/json", ...(options.header ?? {}) };
      let url = options.url;
      let body: Buffer | undefined;
      const data = options.data;
      if (data instanceof ArrayBuffer) body = Buffer.from(data);
      else if (typeof data === "string") body = Buffer.from(data);
      else if (data && (method === "GET" || method === "HEAD")) {
        const q = Object.entries(data).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v as string))}`);
        url += (url.includes("?") ? "&" : "?") + q.join("&");
      } else if (data) body = Buffer.from(JSON.stringify(data));
      wx.sent.push({ method, url, header });
      const cut = wx.cutNextBodyAfter;
      wx.cutNextBodyAfter = undefined;
      send(method, url, header, body, cut).then(
        (res) => {
          let out: unknown;
          if (options.responseType === "arraybuffer") {
            out = res.body.buffer.slice(res.body.byteOffset, res.body.byteOffset + res.body.byteLength);
          } else {
            out = res.body.toString("utf8");
            if ((options.dataType ?? "json") === "json") {
              try {
                out = JSON.parse(out as string);
              } catch {
                // WeChat leaves text that is not JSON as it is.
              }
            }
          }
          options.success?.({ statusCode: res.status, header: res.header, data: out });
        },
        (err: Error) => options.fail?.({ errMsg: `request:fail ${err.message}` }),
      );
      return { abort() {} };
    },
    uploadFile(options: WxUploadFileOptions) {
      const boundary = `----wxstandin${Date.now().toString(16)}`;
      const parts: Buffer[] = [];
      for (const [k, v] of Object.entries(options.formData ?? {})) {
        parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
      }
      const name = options.filePath.split("/").pop() ?? "file";
      parts.push(
        Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${options.name}"; filename="${name}"\r\ncontent-type: application/octet-stream\r\n\r\n`),
        readFileSync(options.filePath),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      );
      const header = { ...(options.header ?? {}), "content-type": `multipart/form-data; boundary=${boundary}` };
      wx.sent.push({ method: "POST", url: options.url, header });
      send("POST", options.url, header, Buffer.concat(parts), undefined).then(
        (res) => options.success?.({ statusCode: res.status, data: res.body.toString("utf8") }),
        (err: Error) => options.fail?.({ errMsg: `uploadFile:fail ${err.message}` }),
      );
      return { abort() {} };
    },
    getFileSystemManager() {
      return {
        readFile(o) {
          try {
            const all = readFileSync(o.filePath);
            const start = o.position ?? 0;
            const piece = all.subarray(start, o.length === undefined ? undefined : start + o.length);
            const data = piece.buffer.slice(piece.byteOffset, piece.byteOffset + piece.byteLength);
            setTimeout(() => o.success?.({ data }), 0);
          } catch (e) {
            setTimeout(() => o.fail?.({ errMsg: `readFile:fail ${(e as Error).message}` }), 0);
          }
        },
      };
    },
    getStorageSync: (key) => storage.get(key) ?? "",
    setStorageSync: (key, value) => void storage.set(key, value),
    removeStorageSync: (key) => void storage.delete(key),
  };
  return wx;
}
