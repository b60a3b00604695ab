// Writes src/generated/operations.ts from the contract: which operations take an
// Idempotency-Key (creations) and which need If-Match (updates against the ETag read).
// Run by `npm run generate`, after openapi-typescript.
import { readFileSync, writeFileSync } from "node:fs";

const contract = JSON.parse(readFileSync(new URL("../../../openapi/openapi.json", import.meta.url), "utf8"));
const byHeader = { "idempotency-key": [], "if-match": [] };
const open = [];
for (const [path, item] of Object.entries(contract.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (method === "parameters") continue;
    if (!op.security?.length) open.push(`${method.toUpperCase()} ${path}`);
    for (const p of op.parameters ?? []) {
      const name = p.in === "header" ? p.name.toLowerCase() : "";
      if (name in byHeader) byHeader[name].push(`${method.toUpperCase()} ${path}`);
    }
  }
}
const list = (xs) => xs.sort().map((x) => `  ${JSON.stringify(x)},`).join("\n");
writeFileSync(
  new URL("../src/generated/operations.ts", import.meta.url),
  `// Generated from openapi/openapi.json by scripts/operations.mjs (npm run generate); do not edit.

/** Operations that accept \`Idempotency-Key\`: the client sends one by default. */
export const idempotentOperations: ReadonlySet<string> = new Set([
${list(byHeader["idempotency-key"])}
]);

/** Operations that need \`If-Match\`: the client sends the ETag it read, unless given one. */
export const ifMatchOperations: ReadonlySet<string> = new Set([
${list(byHeader["if-match"])}
]);

/** Operations without sign-in: the client sends them without a token. */
export const publicOperations: ReadonlySet<string> = new Set([
${list(open)}
]);
`,
);
