// Generated from openapi/openapi.json by scripts/operations.mjs (npm run generate); do not edit.

/** Operations that accept `Idempotency-Key`: the client sends one by default. */
export const idempotentOperations: ReadonlySet<string> = new Set([
  "POST /v1/access-grants",
  "POST /v1/applications",
  "POST /v1/campaigns",
  "POST /v1/case-number-blocks",
  "POST /v1/devices",
  "POST /v1/households",
  "POST /v1/programs",
  "POST /v1/regions",
  "POST /v1/users",
]);

/** Operations that need `If-Match`: the client sends the ETag it read, unless given one. */
export const ifMatchOperations: ReadonlySet<string> = new Set([
  "PATCH /v1/households/{id}",
  "PATCH /v1/regions/{id}",
  "PATCH /v1/users/{id}",
  "POST /v1/campaigns/{id}/phases/{position}/complete",
]);

/** Operations without sign-in: the client sends them without a token. */
export const publicOperations: ReadonlySet<string> = new Set([
  "GET /health",
  "GET /metrics",
  "GET /ready",
  "GET /v1/programs",
  "GET /v1/programs/{id}",
  "OPTIONS /v1/uploads",
  "OPTIONS /v1/uploads/{id}",
  "POST /v1/auth/login",
  "POST /v1/auth/refresh",
  "POST /v1/auth/wechat",
  "POST /v1/auth/wechat/refresh",
]);
