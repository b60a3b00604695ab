// The mini-program adapter against the real server, through a stand-in of `wx` that makes
// real HTTP requests and refuses PATCH as WeChat does.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  BangfuProblem,
  createClient,
  sha256Hex,
  uploadFile,
  wxFileSource,
  wxSessionStore,
  wxTransport,
  wxUploadSmallFile,
} from "../src/index.js";
import { DEMO_PASSWORD, pdf, speaksTus, startServer, type TestServer } from "./harness.js";
import { wxStandIn } from "./wx-standin.js";

let server: TestServer;
let files: string;
let overrides = false;
let tus = false;
before(async () => {
  server = await startServer();
  files = mkdtempSync(join(tmpdir(), "bangfu-wx-"));
  // Does the server take `X-HTTP-Method-Override: PATCH` on POST? Without If-Match a PATCH
  // route answers 428; a server without the override answers 405 for POST there.
  const probe = await fetch(`${server.baseUrl}/v1/regions/00000000-0000-0000-0000-000000000000`, {
    method: "POST",
    headers: { "x-http-method-override": "PATCH", "content-type": "application/json" },
    body: "{}",
  });
  overrides = probe.status !== 405 && probe.status !== 404;
  tus = await speaksTus(server.baseUrl);
});
after(async () => {
  await server?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

const NO_OVERRIDE = "the server does not take X-HTTP-Method-Override: PATCH on POST yet";
const NO_TUS = "the server does not advertise tus 1.0 on OPTIONS /v1/uploads yet";

describe("wx.request transport", () => {
  it("the stand-in refuses PATCH, as WeChat does", async () => {
    const wx = wxStandIn();
    const err = await new Promise<{ errMsg: string }>((resolve) =>
      wx.request({ url: `${server.baseUrl}/v1/programs`, method: "PATCH" as never, success: () => resolve({ errMsg: "" }), fail: resolve }),
    );
    assert.match(err.errMsg, /^request:fail/);
  });

  it("reads programs, signs an applicant in with a login code and keeps the session in storage", async () => {
    const wx = wxStandIn();
    const client = createClient({ baseUrl: server.baseUrl, transport: wxTransport(wx), sessionStore: wxSessionStore(wx) });
    const programs = await client.GET("/v1/programs");
    assert.ok(programs.data.items.length > 0);
    const signedIn = await client.signInWithWechat("ok-wx-liu");
    assert.ok(signedIn.applicant_id);
    assert.equal(typeof wx.getStorageSync?.("bangfu.session"), "string");

    // A new start of the mini-program finds the session in storage.
    const restarted = createClient({ baseUrl: server.baseUrl, transport: wxTransport(wx), sessionStore: wxSessionStore(wx) });
    const mine = await restarted.GET("/v1/applications");
    assert.deepEqual(mine.data.items, []);
    const last = wx.sent.at(-1);
    assert.match(last?.header.authorization ?? "", /^Bearer /);
    assert.equal(last?.header["accept-language"], "zh");
  });

  it("answers problems through wx.request as BangfuProblem, in English when asked", async () => {
    const wx = wxStandIn();
    const client = createClient({ baseUrl: server.baseUrl, transport: wxTransport(wx), language: "en" });
    await assert.rejects(client.signInWithWechat("not-a-code"), (e: unknown) => {
      assert.ok(e instanceof BangfuProblem);
      assert.equal(e.code, "wechat_code_invalid");
      assert.equal(e.status, 401);
      assert.doesNotMatch(e.title, /[\u4e00-\u9fff]/);
      return true;
    });
  });

  it("sends PATCH as POST with X-HTTP-Method-Override", async (t) => {
    if (!overrides) return t.skip(NO_OVERRIDE);
    const wx = wxStandIn();
    const client = createClient({ baseUrl: server.baseUrl, transport: wxTransport(wx) });
    await client.signIn("admin", DEMO_PASSWORD);
    const village = (await client.GET("/v1/regions", { query: { level: "village" } })).data.items[0];
    assert.ok(village);
    await client.GET("/v1/regions/{id}", { path: { id: village.id } });
    const updated = await client.PATCH("/v1/regions/{id}", { path: { id: village.id }, body: { dibao_fen: 78000 } });
    assert.equal(updated.data.id, village.id);
    const patch = wx.sent.at(-1);
    assert.equal(patch?.method, "POST");
    assert.equal(patch?.header["x-http-method-override"], "PATCH");
    assert.ok(patch?.header["if-match"], "If-Match from the ETag read");
  });
});

describe("mini-program uploads", () => {
  it("sends a file resumably without PATCH, resuming after the connection is cut", async (t) => {
    if (!overrides) return t.skip(NO_OVERRIDE);
    const wx = wxStandIn();
    const client = createClient({ baseUrl: server.baseUrl, transport: wxTransport(wx), retryDelayMs: 10 });
    await client.signInWithWechat("ok-wx-upload");
    const bytes = pdf("wx resumable", 300_000);
    const path = join(files, "proof.pdf");
    writeFileSync(path, bytes);
    let cut = false;
    const done = await uploadFile(client, wxFileSource(wx, path, bytes.byteLength), {
      kind: "document",
      fileName: "proof.pdf",
      chunkSize: 100_000,
      onProgress: (offset) => {
        if (offset >= 100_000 && !cut) {
          cut = true;
          wx.cutNextBodyAfter = 40_000;
        }
      },
    });
    assert.equal(done.state, "complete");
    assert.equal(done.sha256, await sha256Hex(bytes));
    assert.ok(cut, "a chunk was cut off");
    assert.ok(!wx.sent.some((r) => r.method === "PATCH"), "no PATCH left the stand-in");
    assert.ok(wx.sent.some((r) => r.header["x-http-method-override"] === "PATCH"));
  });

  it("sends a small file with wx.uploadFile (multipart/form-data)", async (t) => {
    if (!tus) return t.skip(NO_TUS);
    const wx = wxStandIn();
    const client = createClient({ baseUrl: server.baseUrl, transport: wxTransport(wx) });
    await client.signInWithWechat("ok-wx-multipart");
    const bytes = pdf("wx multipart");
    const path = join(files, "small.pdf");
    writeFileSync(path, bytes);
    const digest = await sha256Hex(wxFileSource(wx, path, bytes.byteLength));
    const stored = await wxUploadSmallFile(client, wx, path, { kind: "document", sha256: digest });
    assert.equal(stored.state, "complete");
    assert.equal(stored.sha256, digest);
  });
});
