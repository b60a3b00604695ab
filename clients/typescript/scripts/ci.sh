#!/usr/bin/env bash
# CI for @bangfu/client: installs Node and npm if missing (Debian packages), then npm ci,
# lint, type check, the drift check of the generated types against openapi/openapi.json,
# build, and the tests against the real server on SQLite and on PostgreSQL.
# Needs target/debug/bangfu (or BANGFU_BIN) built, and PostgreSQL at BANGFU_TEST_PG
# (default postgres://postgres@127.0.0.1:5432/postgres) with psql.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "== installing nodejs npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
echo "node $(node --version), npm $(npm --version)"

npm ci --no-audit --no-fund --loglevel=error
echo "== lint"
npm run --silent lint
echo "== type check"
npm run --silent typecheck
echo "== generated types match openapi/openapi.json"
npm run --silent drift
echo "== build"
npm run --silent build
for backend in sqlite postgres; do
    echo "== tests ($backend)"
    # The spec reporter lists every test and ends with the runner's summary.
    BANGFU_TEST_BACKEND=$backend npm test --silent
done
