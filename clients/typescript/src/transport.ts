import { TransportError } from "./errors.js";

/** One HTTP request as the client hands it to a transport. */
export interface TransportRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";
  url: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** A JSON or text body as a string; file bytes as a Uint8Array. */
  body?: string | Uint8Array;
  /** How the answer's body is wanted: text (JSON is parsed by the client) or bytes. */
  responseType: "text" | "bytes";
}

/** The answer a transport hands back. */
export interface TransportResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/**
 * Sends one request and resolves with whatever answer came, whatever its status; rejects
 * with a `TransportError` only when no answer came.
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** A transport over `fetch`: browsers, node 20 and later, React Native, uni-app H5. */
export function fetchTransport(fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)): Transport {
  return async (req) => {
    let res: Response;
    try {
      res = await fetchImpl(req.url, { method: req.method, headers: req.headers, body: req.body as BodyInit | undefined });
    } catch (cause) {
      throw new TransportError(`${req.method} ${req.url}: no answer`, { cause });
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    try {
      const body = req.responseType === "bytes" ? new Uint8Array(await res.arrayBuffer()) : await res.text();
      return { status: res.status, headers, body };
    } catch (cause) {
      throw new TransportError(`${req.method} ${req.url}: answer cut short`, { cause });
    }
  };
}
