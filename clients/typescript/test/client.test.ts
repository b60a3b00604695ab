// The client against the real server: typed calls, problems, sign-in, refresh with
// rotation, Idempotency-Key on retries, If-Match from the ETag read.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BangfuProblem, createClient, type components, fetchTransport, memorySessionStore, TransportError, type Transport } from "../src/index.js";
import { DEMO_PASSWORD, residentId, startServer, type TestServer } from "./harness.js";

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A transport that counts requests by "METHOD path". */
function counting(inner: Transport = fetchTransport()): { transport: Transport; count: (key: string) => number } {
  const seen = new Map<string, number>();
  return {
    transport: (req) => {
      const key = `${req.method} ${new URL(req.url).pathname}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return inner(req);
    },
    count: (key) => seen.get(key) ?? 0,
  };
}

/** A token with a forged signature: the server answers 401 `token_invalid`. */
function forged(token: string): string {
  return `${token.slice(0, token.lastIndexOf(".") + 1)}Zm9yZ2Vk`;
}

describe("calls and problems", () => {
  it("reads the public programs without signing in", async () => {
    const client = createClient({ baseUrl: server.baseUrl });
    const { data, status } = await client.GET("/v1/programs");
    assert.equal(status, 200);
    const program = data.items.find((p) => p.code === "worker_hardship");
    assert.ok(program, "the demo's worker_hardship program");
    assert.ok(program.checklist.some((c) => c.code === "id_cards"));
  });

  it("answers a problem as BangfuProblem with its code, fields and language", async () => {
    const zh = createClient({ baseUrl: server.baseUrl });
    const en = createClient({ baseUrl: server.baseUrl, language: "en" });
    const problems: BangfuProblem[] = [];
    for (const client of [zh, en]) {
      await assert.rejects(client.signInWithWechat(""), (e: unknown) => {
        assert.ok(e instanceof BangfuProblem);
        problems.push(e);
        return true;
      });
    }
    const [inZh, inEn] = problems;
    assert.ok(inZh && inEn);
    assert.equal(inZh.status, 422);
    assert.equal(inZh.code, "validation_failed");
    assert.equal(inZh.field("code")[0]?.code, "invalid_format");
    assert.match(inZh.title, /[\u4e00-\u9fff]/, "Chinese by default");
    assert.doesNotMatch(inEn.title, /[\u4e00-\u9fff]/, "English when asked");
    assert.equal(inEn.code, inZh.code);

    await assert.rejects(zh.signIn("qingshan_officer", "not the password"), (e: unknown) => {
      assert.ok(e instanceof BangfuProblem);
      switch (e.code) {
        case "invalid_credentials":
          return e.status === 401;
        default:
          return false;
      }
    });
    await assert.rejects(zh.GET("/v1/me"), (e: unknown) => e instanceof BangfuProblem && e.code === "token_missing");
  });

  it("reports a transport that never answered as TransportError", async () => {
    const client = createClient({ baseUrl: "http://127.0.0.1:9", retries: 0 });
    await assert.rejects(client.GET("/v1/programs"), TransportError);
  });
});

describe("sign-in and refresh", () => {
  it("refreshes once however many calls wait, and keeps the rotated refresh token", async () => {
    const store = memorySessionStore();
    const { transport, count } = counting();
    const client = createClient({ baseUrl: server.baseUrl, transport, sessionStore: store });
    const tokens = await client.signIn("qingshan_officer", DEMO_PASSWORD);
    const me = await client.GET("/v1/me");
    assert.equal(me.data.username, "qingshan_officer");

    const session = await store.load();
    assert.ok(session?.kind === "staff");
    await store.save({ ...session, accessToken: forged(session.accessToken) });
    const reloaded = createClient({ baseUrl: server.baseUrl, transport, sessionStore: store });
    const replies = await Promise.all(Array.from({ length: 8 }, () => reloaded.GET("/v1/me")));
    assert.ok(replies.every((r) => r.data.username === "qingshan_officer"));
    assert.equal(count("POST /v1/auth/refresh"), 1, "one refresh for eight waiting calls");

    const rotated = await store.load();
    assert.ok(rotated?.kind === "staff");
    assert.notEqual(rotated.refreshToken, tokens.refresh_token, "the rotated refresh token is stored");
    assert.notEqual(rotated.accessToken, forged(session.accessToken), "a good access token again");

    // The old refresh token is spent: presenting it again is refused.
    const stale = createClient({ baseUrl: server.baseUrl });
    await assert.rejects(
      stale.POST("/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } }),
      (e: unknown) => e instanceof BangfuProblem && e.status === 401 && e.code.startsWith("refresh_token_"),
    );
  });

  it("refreshes ahead of expiry by the clock", async () => {
    let now = Date.now();
    const { transport, count } = counting();
    const client = createClient({ baseUrl: server.baseUrl, transport, now: () => now });
    await client.signIn("hekou_officer", DEMO_PASSWORD);
    now += 15 * 60 * 1000;
    await client.GET("/v1/me");
    assert.equal(count("POST /v1/auth/refresh"), 1);
  });

  it("signs out when the refresh is refused", async () => {
    const store = memorySessionStore();
    const reasons: BangfuProblem[] = [];
    const client = createClient({ baseUrl: server.baseUrl, sessionStore: store, onSignedOut: (r) => reasons.push(r) });
    await client.signIn("qingshan_helper", DEMO_PASSWORD);
    const session = await store.load();
    assert.ok(session?.kind === "staff");
    await store.save({ ...session, accessToken: forged(session.accessToken), refreshToken: "not-a-refresh-token" });
    const again = createClient({ baseUrl: server.baseUrl, sessionStore: store, onSignedOut: (r) => reasons.push(r) });
    await assert.rejects(again.GET("/v1/me"), (e: unknown) => e instanceof BangfuProblem && e.code === "refresh_token_invalid");
    assert.equal(await store.load(), undefined, "the session is forgotten");
    assert.equal(reasons.length, 1);
    assert.equal(reasons[0]?.code, "refresh_token_invalid");
    await client.signOut();
  });

  it("keeps the session when the refresh got no answer", async () => {
    const store = memorySessionStore();
    const inner = fetchTransport();
    let offline = false;
    const flaky: Transport = (req) => (offline ? Promise.reject(new TransportError("offline")) : inner(req));
    const client = createClient({ baseUrl: server.baseUrl, transport: flaky, sessionStore: store, retries: 0 });
    await client.signIn("hekou_helper", DEMO_PASSWORD);
    const session = await store.load();
    assert.ok(session?.kind === "staff");
    offline = true;
    await assert.rejects(client.refresh(), TransportError);
    assert.deepEqual(await store.load(), session, "still signed in, to refresh when back online");
    offline = false;
    const me = await client.GET("/v1/me");
    assert.equal(me.data.username, "hekou_helper");
  });

  it("refreshes an applicant's tokens once each, and signs in again with a new code after a reuse", async () => {
    const store = memorySessionStore();
    const client = createClient({ baseUrl: server.baseUrl, sessionStore: store });
    const first = await client.signInWithWechat("ok-renew-wang");
    const session = await store.load();
    assert.ok(session?.kind === "applicant" && session.refreshToken);
    await store.save({ ...session, accessToken: forged(session.accessToken) });
    let codes = 0;
    const restarted = createClient({
      baseUrl: server.baseUrl,
      sessionStore: store,
      wechatCode: () => {
        codes += 1;
        return Promise.resolve("ok-renew-wang");
      },
    });
    const list = await restarted.GET("/v1/applications");
    assert.deepEqual(list.data.items, []);
    assert.equal(codes, 0, "renewed with the refresh token, no login code");
    const renewed = await store.load();
    assert.ok(renewed?.kind === "applicant" && renewed.refreshToken);
    assert.equal(renewed.applicantId, first.applicant_id, "the same applicant");
    assert.notEqual(renewed.refreshToken, session.refreshToken, "rotated");

    // The used refresh token again: refused, and the whole sign-in ends with it.
    const stolen = createClient({ baseUrl: server.baseUrl });
    await assert.rejects(
      stolen.POST("/v1/auth/wechat/refresh", { body: { refresh_token: session.refreshToken } }),
      (e: unknown) => e instanceof BangfuProblem && e.code === "refresh_token_reused",
    );
    // The rotated session is refused too; a new login code signs the applicant in again.
    const again = await restarted.GET("/v1/applications");
    assert.deepEqual(again.data.items, []);
    assert.equal(codes, 1, "one new login code");
    const signedIn = await store.load();
    assert.ok(signedIn?.kind === "applicant");
    assert.equal(signedIn.applicantId, first.applicant_id);
  });

  it("refuses a WeChat code WeChat refuses", async () => {
    const client = createClient({ baseUrl: server.baseUrl });
    await assert.rejects(client.signInWithWechat("forged"), (e: unknown) => e instanceof BangfuProblem && e.code === "wechat_code_invalid");
  });
});

describe("Idempotency-Key and If-Match", () => {
  it("retries a creation whose answer was lost with the same key: one application", async () => {
    const officer = createClient({ baseUrl: server.baseUrl });
    await officer.signIn("qingshan_officer", DEMO_PASSWORD);
    const village = (await officer.GET("/v1/regions", { query: { level: "village" } })).data.items[0];
    assert.ok(village);
    const program = (await officer.GET("/v1/programs")).data.items.find((p) => p.code === "worker_hardship");
    assert.ok(program);

    const keys: string[] = [];
    let lost = false;
    const inner = fetchTransport();
    const losing: Transport = async (req) => {
      const res = await inner(req);
      if (req.method === "POST" && req.url.endsWith("/v1/applications")) {
        keys.push(req.headers["idempotency-key"] ?? "");
        if (!lost) {
          lost = true;
          throw new TransportError("connection reset after the server answered");
        }
      }
      return res;
    };
    const applicant = createClient({ baseUrl: server.baseUrl, transport: losing, retryDelayMs: 10 });
    await applicant.signInWithWechat("ok-retry-zhao");
    const body: components["schemas"]["ApplicationBody"] = {
      program_id: program.id,
      region_id: village.id,
      form: { address: "青山村一组 3 号", members: [{ name: "赵兰", relation: "head", id_number: residentId(), birth_date: "1962-03-14", gender: "female" }] },
    };
    const created = await applicant.POST("/v1/applications", { body });
    assert.equal(created.status, 201);
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], "the retry carries the first key");
    assert.match(keys[0] ?? "", /^[0-9a-f-]{36}$/);
    const mine = await applicant.GET("/v1/applications");
    assert.deepEqual(
      mine.data.items.map((a) => a.id),
      [created.data.id],
    );
  });

  it("sends If-Match from the ETag read, and a stale one is refused", async () => {
    const admin = createClient({ baseUrl: server.baseUrl });
    await admin.signIn("admin", DEMO_PASSWORD);
    const village = (await admin.GET("/v1/regions", { query: { level: "village" } })).data.items[0];
    assert.ok(village);
    const read = await admin.GET("/v1/regions/{id}", { path: { id: village.id } });
    assert.ok(read.etag);
    const updated = await admin.PATCH("/v1/regions/{id}", { path: { id: village.id }, body: { dibao_fen: 76000 } });
    assert.equal(updated.data.id, village.id);
    assert.notEqual(updated.etag, read.etag);
    await assert.rejects(
      admin.PATCH("/v1/regions/{id}", { path: { id: village.id }, body: { dibao_fen: 77000 }, ifMatch: read.etag }),
      (e: unknown) => e instanceof BangfuProblem && e.status === 412,
    );
  });
});
