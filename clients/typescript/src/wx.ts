import { TransportError } from "./errors.js";
import type { SessionStore, Session } from "./session.js";
import type { Transport } from "./transport.js";

/** The part of WeChat's `wx.request` the client uses. */
export interface WxRequestOptions {
  url: string;
  method?: "OPTIONS" | "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "TRACE" | "CONNECT";
  header?: Record<string, string>;
  data?: string | ArrayBuffer | Record<string, unknown>;
  /** `json` (default) parses a text answer as JSON; anything else leaves it a string. */
  dataType?: string;
  responseType?: "text" | "arraybuffer";
  timeout?: number;
  success?: (res: { statusCode: number; header: Record<string, string>; data: unknown }) => void;
  fail?: (err: { errMsg: string }) => void;
}

/** The part of WeChat's `wx.uploadFile` the client uses (multipart/form-data). */
export interface WxUploadFileOptions {
  url: string;
  filePath: string;
  name: string;
  header?: Record<string, string>;
  formData?: Record<string, string>;
  timeout?: number;
  success?: (res: { statusCode: number; data: string }) => void;
  fail?: (err: { errMsg: string }) => void;
}

/** The part of WeChat's file system manager the uploads read files with. */
export interface WxFileSystemManager {
  readFile(options: {
    filePath: string;
    position?: number;
    length?: number;
    success?: (res: { data: ArrayBuffer | string }) => void;
    fail?: (err: { errMsg: string }) => void;
  }): void;
  getFileInfo?(options: {
    filePath: string;
    success?: (res: { size: number }) => void;
    fail?: (err: { errMsg: string }) => void;
  }): void;
}

/** The `wx` object of a mini-program, as far as this package uses it. */
export interface WxApi {
  request(options: WxRequestOptions): unknown;
  uploadFile?(options: WxUploadFileOptions): unknown;
  getFileSystemManager?(): WxFileSystemManager;
  getStorageSync?(key: string): unknown;
  setStorageSync?(key: string, value: unknown): void;
  removeStorageSync?(key: string): void;
}

/**
 * A transport over `wx.request`, for WeChat mini-programs (and uni-app / Taro builds for
 * them). `wx.request` has no `PATCH`: a PATCH goes as `POST` with
 * `X-HTTP-Method-Override: PATCH`. Answers are asked for as text (or bytes), never parsed by
 * WeChat, so problem documents and ETags reach the client unchanged.
 */
export function wxTransport(wx: WxApi, options: { timeoutMs?: number } = {}): Transport {
  return (req) =>
    new Promise((resolve, reject) => {
      const header = { ...req.headers };
      let method = req.method;
      if (method === "PATCH") {
        method = "POST";
        header["x-http-method-override"] = "PATCH";
      }
      let data: string | ArrayBuffer | undefined;
      if (typeof req.body === "string") data = req.body;
      else if (req.body) data = toArrayBuffer(req.body);
      wx.request({
        url: req.url,
        method,
        header,
        data,
        dataType: "text",
        responseType: req.responseType === "bytes" ? "arraybuffer" : "text",
        timeout: options.timeoutMs,
        success: (res) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.header ?? {})) headers[k.toLowerCase()] = String(v);
          const body =
            res.data instanceof ArrayBuffer
              ? new Uint8Array(res.data)
              : typeof res.data === "string"
                ? res.data
                : JSON.stringify(res.data ?? "");
          resolve({ status: res.statusCode, headers, body });
        },
        fail: (err) => reject(new TransportError(`${req.method} ${req.url}: ${err.errMsg}`)),
      });
    });
}

/** Keeps the session in the mini-program's storage (`wx.setStorageSync`), under `key`. */
export function wxSessionStore(wx: WxApi, key = "bangfu.session"): SessionStore {
  return {
    load: () => {
      const raw = wx.getStorageSync?.(key);
      return typeof raw === "string" && raw ? (JSON.parse(raw) as Session) : undefined;
    },
    save: (session) => {
      if (session) wx.setStorageSync?.(key, JSON.stringify(session));
      else wx.removeStorageSync?.(key);
    },
  };
}

export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
