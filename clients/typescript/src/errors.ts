import type { components } from "./generated/openapi.js";
import { codeValues } from "./generated/openapi.js";

/** Every stable error code the server answers with (the contract's `Code` enum). */
export type Code = components["schemas"]["Code"];
/** One invalid field of a problem answer: its JSON path, code and message. */
export type ProblemField = components["schemas"]["ProblemField"];
/** The body of an `application/problem+json` answer (RFC 9457). */
export type Problem = components["schemas"]["Problem"];

const knownCodes: ReadonlySet<string> = new Set(codeValues);

/** Whether `value` is one of the contract's error codes. */
export function isCode(value: unknown): value is Code {
  return typeof value === "string" && knownCodes.has(value);
}

/**
 * An error answer from the server, with the contract's `code` to switch on, the status,
 * the title and detail in the language asked for, and every invalid field at once.
 */
export class BangfuProblem extends Error {
  readonly code: Code;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: readonly ProblemField[];
  readonly requestId: string | null;
  readonly type: string;
  /** Response headers, lower-cased (e.g. `retry-after` on 429, `upload-offset` on 409). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(problem: Problem, headers: Record<string, string> = {}) {
    super(`${problem.status} ${problem.code}: ${problem.title}`);
    this.name = "BangfuProblem";
    this.code = problem.code;
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.requestId = problem.request_id ?? null;
    this.type = problem.type;
    this.headers = headers;
  }

  /** The errors naming `field` (a JSON path such as `form.members[0].id_number`). */
  field(field: string): ProblemField[] {
    return this.errors.filter((e) => e.field === field);
  }

  /**
   * Builds the error from any non-2xx answer. A body that is not a problem document (a
   * proxy's HTML page, say) still gives an error, with a code chosen from the status.
   */
  static from(status: number, headers: Record<string, string>, body: unknown): BangfuProblem {
    if (isProblem(body)) return new BangfuProblem(body, headers);
    const text = typeof body === "string" ? body.slice(0, 200) : "";
    return new BangfuProblem(
      {
        type: "about:blank",
        code: codeForStatus(status),
        status,
        title: `HTTP ${status}`,
        detail: text,
      },
      headers,
    );
  }
}

/** The transport failed before any answer came (no network, connection cut, timeout). */
export class TransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransportError";
  }
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return isCode(b.code) && typeof b.status === "number" && typeof b.title === "string";
}

function codeForStatus(status: number): Code {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 429:
      return "too_many_requests";
    case 502:
    case 504:
      return "upstream_unavailable";
    case 503:
      return "service_unavailable";
    default:
      return status >= 500 ? "internal_error" : "bad_request";
  }
}
