// Starts the real bangfu server for a test file: `bangfu serve --demo` on a free port with
// its own data folder, on SQLite or on a PostgreSQL database made for it and dropped
// afterwards (BANGFU_TEST_BACKEND=sqlite|postgres), with a stand-in of WeChat's code
// exchange so that applicants can sign in.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from clients/typescript/build/test/). */
export const repo = fileURLToPath(new URL("../../../../", import.meta.url));
export const backend = process.env.BANGFU_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";
const pgAdmin = process.env.BANGFU_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const DEMO_PASSWORD = "bangfu-demo-2026";

export interface TestServer {
  baseUrl: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A stand-in for WeChat's `jscode2session` and `sns/oauth2/access_token`, as in
 * scripts/fuzz.d/wechat.py: the code `ok-<name>` gives the openid `openid-<app>-<name>` and
 * the unionid `union-<name>`; any other code is refused (40029). */
export const WECHAT = { appId: "wx-ts-app", secret: "wx-ts-secret", mobileAppId: "wx-ts-mobile", mobileSecret: "wx-ts-mobile-secret" };

async function startWechat(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const app =
      url.pathname === "/sns/jscode2session"
        ? { id: WECHAT.appId, secret: WECHAT.secret, code: url.searchParams.get("js_code") ?? "" }
        : url.pathname === "/sns/oauth2/access_token"
          ? { id: WECHAT.mobileAppId, secret: WECHAT.mobileSecret, code: url.searchParams.get("code") ?? "" }
          : undefined;
    if (!app) {
      res.writeHead(404).end();
      return;
    }
    let body: Record<string, unknown>;
    if (url.searchParams.get("appid") !== app.id || url.searchParams.get("secret") !== app.secret) {
      body = { errcode: 40013, errmsg: "invalid appid" };
    } else if (app.code.startsWith("ok-")) {
      const name = app.code.slice(3);
      body = { openid: `openid-${app.id}-${name}`, unionid: `union-${name}`, session_key: "k" };
    } else {
      body = { errcode: 40029, errmsg: "invalid code" };
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/sns`, server };
}

function psql(sql: string): void {
  execFileSync("psql", [pgAdmin, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { stdio: ["ignore", "ignore", "pipe"] });
}

export async function startServer(): Promise<TestServer> {
  const bin = process.env.BANGFU_BIN ?? join(repo, "target/debug/bangfu");
  const dataDir = mkdtempSync(join(tmpdir(), "bangfu-ts-"));
  const port = await freePort();
  const wechat = await startWechat();
  const args = ["--addr", `127.0.0.1:${port}`, "--data-dir", dataDir];
  let database: string | undefined;
  if (backend === "postgres") {
    database = `bangfu_ts_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    psql(`CREATE DATABASE ${database}`);
    args.push("--database-url", pgAdmin.replace(/\/[^/]*$/, `/${database}`));
  }
  args.push("serve", "--demo");
  const child: ChildProcess = spawn(bin, args, {
    env: {
      ...process.env,
      BANGFU_LOG: process.env.BANGFU_LOG ?? "warn",
      BANGFU_WORKERS: "2",
      BANGFU_SQLITE_SYNCHRONOUS: "normal",
      BANGFU_WECHAT_APP_ID: WECHAT.appId,
      BANGFU_WECHAT_APP_SECRET: WECHAT.secret,
      BANGFU_WECHAT_CODE2SESSION_URL: `${wechat.url}/jscode2session`,
      BANGFU_WECHAT_MOBILE_APP_ID: WECHAT.mobileAppId,
      BANGFU_WECHAT_MOBILE_APP_SECRET: WECHAT.mobileSecret,
      BANGFU_WECHAT_OAUTH_URL: `${wechat.url}/oauth2/access_token`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));

  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) child.kill("SIGKILL");
    }
    wechat.server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (database) psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  // The demo county is generated on first start: give it time on a busy machine.
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`bangfu exited before it was ready:\n${output}`);
    }
    try {
      const r = await fetch(`${baseUrl}/ready`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`bangfu not ready after 240 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { baseUrl, stop };
}

/** Whether the server speaks tus 1.0 on /v1/uploads (it answers OPTIONS with Tus-Version). */
export async function speaksTus(baseUrl: string): Promise<boolean> {
  const r = await fetch(`${baseUrl}/v1/uploads`, { method: "OPTIONS" });
  return (r.headers.get("tus-version") ?? "").split(",").map((v) => v.trim()).includes("1.0.0");
}

/** A valid resident ID number (GB 11643) of a woman born on `birth` (YYYY-MM-DD). */
export function residentId(birth = "1962-03-14"): string {
  let seq = Math.floor(Math.random() * 500) * 2;
  if (seq === 0) seq = 2;
  const first17 = `530123${birth.replaceAll("-", "")}${String(seq).padStart(3, "0")}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (2 ** (17 - i) % 11);
  return first17 + "10X98765432"[sum % 11];
}

/** A small PDF whose bytes differ every call. */
export function pdf(label: string, padding = 0): Uint8Array {
  const text = `%PDF-1.4\n% ${label} ${Date.now()} ${Math.random()}\n${"%".repeat(padding)}\n%%EOF\n`;
  return new TextEncoder().encode(text);
}

/** A TCP proxy in front of the server that can cut a connection part way through a
 * request, as a phone losing its network does. */
export interface CuttingProxy {
  baseUrl: string;
  /** Cut the connection that carries the `bytes`-th byte sent from now on (once). */
  cutAfter(bytes: number): void;
  /** How many connections were cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target);
  let budget: number | undefined;
  let cuts = 0;
  const sockets = new Set<import("node:net").Socket>();
  const proxy = createNetServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client);
    sockets.add(upstream);
    const cut = (): void => {
      cuts += 1;
      client.destroy();
      upstream.destroy();
    };
    let cutting = false;
    client.on("data", (data: Buffer) => {
      // Once this connection is being cut, nothing more of it reaches the server.
      if (cutting) return;
      if (budget !== undefined) {
        if (data.length >= budget) {
          const head = data.subarray(0, budget);
          budget = undefined;
          cutting = true;
          upstream.write(head, () => setTimeout(cut, 100));
          return;
        }
        budget -= data.length;
      }
      upstream.write(data);
    });
    upstream.on("data", (data: Buffer) => client.write(data));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  const proxyPort = typeof address === "object" && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${proxyPort}`,
    cutAfter: (bytes) => {
      budget = bytes;
    },
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}
