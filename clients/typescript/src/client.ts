import type { PathsWithMethod, RequiredKeysOf, SuccessResponse } from "openapi-typescript-helpers";
import { BangfuProblem, TransportError, type Code } from "./errors.js";
import type { components, paths } from "./generated/openapi.js";
import { idempotentOperations, ifMatchOperations, publicOperations } from "./generated/operations.js";
import { memorySessionStore, type Session, type SessionStore } from "./session.js";
import { fetchTransport, type Transport, type TransportRequest } from "./transport.js";

type Schemas = components["schemas"];
type Method = "get" | "post" | "put" | "patch" | "delete";

type ParamsOf<O> = O extends { parameters: infer P } ? P : never;
type PathParams<O> = ParamsOf<O> extends { path: infer X } ? X : never;
type QueryParams<O> = ParamsOf<O> extends { query?: infer X } ? X : never;
type JsonBody<O> = O extends { requestBody?: infer RB }
  ? NonNullable<RB> extends { content: { "application/json": infer J } }
    ? J
    : never
  : never;

type PathPart<O> = [PathParams<O>] extends [never] ? { path?: undefined } : { path: PathParams<O> };
type QueryPart<O> = [QueryParams<O>] extends [undefined] ? { query?: undefined } : { query?: QueryParams<O> };
type BodyPart<O> = [JsonBody<O>] extends [never]
  ? { body?: undefined }
  : O extends { requestBody: unknown }
    ? { body: JsonBody<O> }
    : { body?: JsonBody<O> };

/** What a typed call takes: path and query parameters, the JSON body, extra headers. */
export type CallOptions<O> = PathPart<O> &
  QueryPart<O> &
  BodyPart<O> & {
    /** Extra request headers (e.g. `Range`). */
    headers?: Record<string, string>;
    /** `If-Match` for an update; by default the ETag last read from the same path. */
    ifMatch?: string;
    /**
     * `Idempotency-Key` for a creation; by default a new key per call, kept for its
     * retries. `false` sends none.
     */
    idempotencyKey?: string | false;
  };

type Args<O> = RequiredKeysOf<CallOptions<O>> extends never ? [options?: CallOptions<O>] : [options: CallOptions<O>];

/** The data of a typed call's success answer. */
export type Success<O> = O extends { responses: infer R extends Record<string | number, unknown> }
  ? SuccessResponse<R, "application/json">
  : never;

/** A successful answer: its data, status, headers (lower-cased) and ETag if any. */
export interface Reply<T> {
  data: T;
  status: number;
  headers: Record<string, string>;
  etag?: string;
}

/** A request below the typed calls: any path, any body, the same sign-in and errors. */
export interface RawRequest {
  method: TransportRequest["method"];
  /** A path (`/v1/uploads/…`) or an absolute URL on the server. */
  path: string;
  /** The contract's path template, e.g. `/v1/uploads/{id}` (decides sign-in and headers). */
  operation?: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** A value sent as JSON, or a string or bytes sent as they are. */
  json?: unknown;
  body?: string | Uint8Array;
  ifMatch?: string;
  idempotencyKey?: string | false;
  responseType?: "json" | "text" | "bytes";
}

export interface ClientOptions {
  /** Where the server is, e.g. `https://bangfu.example.gov.cn`. */
  baseUrl: string;
  /** How requests travel: `fetchTransport()` (the default) or `wxTransport(wx)`. */
  transport?: Transport;
  /** `Accept-Language`: `zh` (the default) or `en`; titles and messages follow it. */
  language?: string;
  /** Where the session is kept between starts; memory by default. */
  sessionStore?: SessionStore;
  /**
   * For applicants: a new WeChat login code when their refresh token is refused (or a
   * kept session has none), e.g. `() => new Promise(r => wx.login({ success: x => r(x.code) }))`.
   * Without it, a refused refresh signs the applicant out.
   */
  wechatCode?: () => Promise<string>;
  /** `mini_program` (default) or `app`: where `wechatCode` codes come from. */
  wechatChannel?: Schemas["Channel"];
  /** Called once when the session ends: a refresh refused, a signed-out account. */
  onSignedOut?: (reason: BangfuProblem) => void;
  /** Retries after no answer came, for calls safe to repeat (default 2). */
  retries?: number;
  /** Milliseconds before the first retry, doubled each time (default 300). */
  retryDelayMs?: number;
  /** Refresh this long before the access token expires (default 30 000 ms). */
  refreshMarginMs?: number;
  /** The clock, in milliseconds since the epoch (tests move it). */
  now?: () => number;
}

/** Codes on a 401 that a new access token can cure. */
const refreshable: ReadonlySet<Code> = new Set<Code>(["token_expired", "token_invalid"]);

/**
 * The bangfu API client: typed calls generated from the contract (`GET`, `POST`, …), plus
 * what the contract cannot say: sign-in, token refresh with rotation, `Idempotency-Key` on
 * creations, `If-Match` from the ETag read, problem answers as `BangfuProblem`, and the
 * language of messages.
 */
export class BangfuClient {
  readonly baseUrl: string;
  readonly transport: Transport;
  language: string;
  private readonly store: SessionStore;
  private readonly options: ClientOptions;
  private current: Session | undefined;
  private loaded = false;
  private refreshing: Promise<Session> | undefined;
  private readonly etags = new Map<string, string>();

  constructor(options: ClientOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.transport = options.transport ?? fetchTransport();
    this.language = options.language ?? "zh";
    this.store = options.sessionStore ?? memorySessionStore();
  }

  GET<P extends PathsWithMethod<paths, "get">>(path: P, ...args: Args<paths[P]["get"]>) {
    return this.call<paths[P]["get"]>("GET", path, args[0]);
  }
  POST<P extends PathsWithMethod<paths, "post">>(path: P, ...args: Args<paths[P]["post"]>) {
    return this.call<paths[P]["post"]>("POST", path, args[0]);
  }
  PUT<P extends PathsWithMethod<paths, "put">>(path: P, ...args: Args<paths[P]["put"]>) {
    return this.call<paths[P]["put"]>("PUT", path, args[0]);
  }
  PATCH<P extends PathsWithMethod<paths, "patch">>(path: P, ...args: Args<paths[P]["patch"]>) {
    return this.call<paths[P]["patch"]>("PATCH", path, args[0]);
  }
  DELETE<P extends PathsWithMethod<paths, "delete">>(path: P, ...args: Args<paths[P]["delete"]>) {
    return this.call<paths[P]["delete"]>("DELETE", path, args[0]);
  }

  /** Signs in with username and password (staff). */
  async signIn(username: string, password: string, deviceId?: string): Promise<Schemas["TokenOut"]> {
    const { data } = await this.POST("/v1/auth/login", {
      body: { username, password, device_id: deviceId ?? null },
    });
    await this.setSession(staffSession(data, this.now()));
    return data;
  }

  /** Signs an applicant in with a WeChat login code (`wx.login()` in the mini-program). */
  async signInWithWechat(code: string, channel?: Schemas["Channel"]): Promise<Schemas["ApplicantTokenOut"]> {
    const { data } = await this.POST("/v1/auth/wechat", {
      body: { code, channel: channel ?? this.options.wechatChannel ?? "mini_program" },
    });
    await this.setSession(applicantSession(data, this.now()));
    return data;
  }

  /** Ends the session on the server (staff) and forgets it here. */
  async signOut(): Promise<void> {
    const session = await this.session();
    try {
      if (session?.kind === "staff") await this.POST("/v1/auth/logout");
    } catch (e) {
      if (!(e instanceof BangfuProblem)) throw e;
    } finally {
      await this.setSession(undefined);
    }
  }

  /** The current session, if signed in. */
  async session(): Promise<Session | undefined> {
    if (!this.loaded) {
      this.current = await this.store.load();
      this.loaded = true;
    }
    return this.current;
  }

  /**
   * A new access token now. However many calls ask at once, one refresh runs and all
   * wait for it; the rotated refresh token is stored. A refused refresh signs out.
   */
  async refresh(): Promise<Session> {
    if (!this.refreshing) {
      this.refreshing = this.runRefresh().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  /** The ETag last read from `path` (filled, without query), if any. */
  etag(path: string): string | undefined {
    return this.etags.get(path);
  }

  /** A request below the typed calls (uploads, downloads), with sign-in and errors. */
  async request<T = unknown>(req: RawRequest): Promise<Reply<T>> {
    const operation = `${req.method} ${req.operation ?? req.path}`;
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      "accept-language": this.language,
    };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    let body = req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers["content-type"] ??= "application/json";
    }
    if (idempotentOperations.has(operation) && req.idempotencyKey !== false && !headers["idempotency-key"]) {
      headers["idempotency-key"] = req.idempotencyKey ?? newKey();
    }
    const pathOnly = req.path.startsWith("http") ? new URL(req.path).pathname : req.path;
    if (ifMatchOperations.has(operation) && !headers["if-match"]) {
      const etag = req.ifMatch ?? this.etags.get(pathOnly);
      if (etag) headers["if-match"] = etag;
    }
    const url = (req.path.startsWith("http") ? req.path : this.baseUrl + req.path) + queryString(req.query);
    const signed = !publicOperations.has(operation);
    const responseType = req.responseType ?? "json";

    let refreshed = false;
    let attempt = 0;
    for (;;) {
      let session = signed ? await this.session() : undefined;
      if (session && session.accessExpiresAt - (this.options.refreshMarginMs ?? 30_000) <= this.now()) {
        session = await this.refresh();
      }
      if (session) headers.authorization = `Bearer ${session.accessToken}`;
      let res;
      try {
        res = await this.transport({
          method: req.method,
          url,
          headers: { ...headers },
          body,
          responseType: responseType === "bytes" ? "bytes" : "text",
        });
      } catch (e) {
        const safe = req.method !== "POST" || headers["idempotency-key"] !== undefined;
        if (e instanceof TransportError && safe && attempt < (this.options.retries ?? 2)) {
          await sleep((this.options.retryDelayMs ?? 300) * 2 ** attempt);
          attempt += 1;
          continue;
        }
        throw e;
      }
      const parsed = decode(res.body, res.headers, responseType);
      if (res.status >= 200 && res.status < 300) {
        const etag = res.headers.etag;
        if (etag && req.method !== "DELETE") this.etags.set(pathOnly, etag);
        return { data: parsed as T, status: res.status, headers: res.headers, etag };
      }
      const problem = BangfuProblem.from(res.status, res.headers, parsed);
      if (res.status === 412 && req.method !== "GET") this.etags.delete(pathOnly);
      // An applicant's ended sign-in is renewed with a new login code, when there is one.
      const renewable =
        refreshable.has(problem.code) ||
        (problem.code === "session_ended" && session?.kind === "applicant" && this.options.wechatCode !== undefined);
      if (res.status === 401 && session && !refreshed && renewable) {
        refreshed = true;
        if (this.current?.accessToken === session.accessToken) await this.refresh();
        continue;
      }
      if (res.status === 401 && session && problem.code === "session_ended") await this.signedOut(problem);
      throw problem;
    }
  }

  private call<O>(method: Uppercase<Method>, template: string, options?: CallOptions<O>): Promise<Reply<Success<O>>> {
    const opts = (options ?? {}) as CallOptions<O> & { path?: Record<string, unknown>; query?: Record<string, unknown> };
    return this.request<Success<O>>({
      method,
      path: fillPath(template, opts.path),
      operation: template,
      query: opts.query,
      headers: opts.headers,
      json: opts.body,
      ifMatch: opts.ifMatch,
      idempotencyKey: opts.idempotencyKey,
    });
  }

  private async runRefresh(): Promise<Session> {
    const session = await this.session();
    try {
      if (session?.kind === "staff") {
        const { data } = await this.POST("/v1/auth/refresh", { body: { refresh_token: session.refreshToken } });
        const next = staffSession(data, this.now());
        await this.setSession(next);
        return next;
      }
      if (session?.kind === "applicant" && session.refreshToken) {
        try {
          const { data } = await this.POST("/v1/auth/wechat/refresh", { body: { refresh_token: session.refreshToken } });
          const next = applicantSession(data, this.now());
          await this.setSession(next);
          return next;
        } catch (e) {
          // Refused (used, expired, the sign-in ended): a new login code can still sign in.
          if (!(e instanceof BangfuProblem && e.status < 500 && this.options.wechatCode)) throw e;
        }
      }
      if (session?.kind === "applicant" && this.options.wechatCode) {
        const code = await this.options.wechatCode();
        const { data } = await this.POST("/v1/auth/wechat", {
          body: { code, channel: this.options.wechatChannel ?? "mini_program" },
        });
        const next = applicantSession(data, this.now());
        await this.setSession(next);
        return next;
      }
    } catch (e) {
      // No answer: keep the session and let the caller try again later.
      if (e instanceof BangfuProblem && e.status < 500) await this.signedOut(e);
      throw e;
    }
    const problem = new BangfuProblem({
      type: "about:blank",
      code: "token_expired",
      status: 401,
      title: "Signed out",
      detail: session ? "The access token expired and cannot be renewed here." : "Not signed in.",
    });
    await this.signedOut(problem);
    throw problem;
  }

  private async signedOut(reason: BangfuProblem): Promise<void> {
    const had = (await this.session()) !== undefined;
    await this.setSession(undefined);
    if (had) this.options.onSignedOut?.(reason);
  }

  private async setSession(session: Session | undefined): Promise<void> {
    this.current = session;
    this.loaded = true;
    await this.store.save(session);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** Creates a client; see `ClientOptions`. */
export function createClient(options: ClientOptions): BangfuClient {
  return new BangfuClient(options);
}

function staffSession(t: Schemas["TokenOut"], now: number): Session {
  return {
    kind: "staff",
    accessToken: t.access_token,
    accessExpiresAt: now + t.expires_in * 1000,
    refreshToken: t.refresh_token,
    userId: t.user_id,
    sessionId: t.session_id,
  };
}

function applicantSession(t: Schemas["ApplicantTokenOut"], now: number): Session {
  return {
    kind: "applicant",
    accessToken: t.access_token,
    accessExpiresAt: now + t.expires_in * 1000,
    refreshToken: t.refresh_token,
    applicantId: t.applicant_id,
  };
}

function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new TypeError(`path parameter ${name} missing for ${template}`);
    return encodeURIComponent(scalar(value));
  });
}

/** `?a=1&b=x&b=y`, without URLSearchParams (older mini-program runtimes lack it). */
function queryString(query: Record<string, unknown> | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
      if (item === undefined || item === null) continue;
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(scalar(item))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function scalar(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return value.toString();
  return JSON.stringify(value) ?? "";
}

function decode(body: string | Uint8Array, headers: Record<string, string>, as: "json" | "text" | "bytes"): unknown {
  if (typeof body !== "string") return body;
  if (as === "text") return body;
  if (body === "") return undefined;
  if (/json/i.test(headers["content-type"] ?? "")) {
    try {
      return JSON.parse(body) as unknown;
    } catch {
      return body;
    }
  }
  return body;
}

/** A random UUID (v4) for `Idempotency-Key`: WebCrypto when there, else Math.random. */
export function newKey(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const hex = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16));
  hex[12] = "4";
  hex[16] = ((parseInt(hex[16] ?? "0", 16) & 3) | 8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
