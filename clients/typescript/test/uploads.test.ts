// Uploads against the real server: the client's own resumable path over fetch, and tus
// with tus-js-client, each cut off part way and resumed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient, sha256Hex, uploadFile } from "../src/index.js";
import { memoryUrlStorage, tusUpload } from "../src/tus.js";
import { pdf, speaksTus, startCuttingProxy, startServer, type CuttingProxy, type TestServer } from "./harness.js";

let server: TestServer;
let proxy: CuttingProxy;
let tus = false;
before(async () => {
  server = await startServer();
  proxy = await startCuttingProxy(server.baseUrl);
  tus = await speaksTus(server.baseUrl);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

describe("uploads", () => {
  it("computes SHA-256 with WebCrypto, and the same without it (mini-programs)", async () => {
    const bytes = pdf("digest", 3_000_000);
    const { createHash } = await import("node:crypto");
    const expected = createHash("sha256").update(bytes).digest("hex");
    assert.equal(await sha256Hex(bytes), expected);
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, "crypto");
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    try {
      assert.equal(await sha256Hex(bytes), expected, "the pure-JS digest, a piece at a time");
    } finally {
      if (descriptor) Object.defineProperty(globalThis, "crypto", descriptor);
    }
  });

  it("sends a document in chunks over fetch, cut off and resumed from the server's offset", async () => {
    const client = createClient({ baseUrl: proxy.baseUrl, retryDelayMs: 10 });
    await client.signInWithWechat("ok-upload-chen");
    const bytes = pdf("fetch resumable", 600_000);
    const offsets: number[] = [];
    const cutsBefore = proxy.cuts();
    let armed = false;
    const done = await uploadFile(client, bytes, {
      kind: "document",
      fileName: "income.pdf",
      chunkSize: 250_000,
      onProgress: (offset) => {
        offsets.push(offset);
        if (offset >= 250_000 && !armed) {
          armed = true;
          proxy.cutAfter(100_000);
        }
      },
    });
    assert.equal(done.state, "complete");
    assert.equal(done.sha256, await sha256Hex(bytes));
    assert.equal(proxy.cuts(), cutsBefore + 1, "one chunk was cut off");
    assert.ok(
      offsets.some((o) => o > 250_000 && o < 500_000),
      `resumed from the bytes the server kept of the cut chunk: ${offsets.join(", ")}`,
    );

    // The same file again: the server holds it, nothing is sent twice.
    const again = await uploadFile(client, bytes, { kind: "document" });
    assert.equal(again.state, "complete");
  });

  it("sends with tus-js-client, cut off and resumed", async (t) => {
    if (!tus) return t.skip("the server does not advertise tus 1.0 on OPTIONS /v1/uploads yet");
    const client = createClient({ baseUrl: proxy.baseUrl });
    await client.signInWithWechat("ok-upload-tus");
    const bytes = pdf("tus resumable", 1_200_000);
    const urlStorage = memoryUrlStorage();
    const cutsBefore = proxy.cuts();
    proxy.cutAfter(500_000);
    await assert.rejects(tusUpload(client, bytes, { kind: "document", fileName: "tus.pdf", urlStorage, chunkSize: 4 << 20, retryDelays: [] }));
    assert.equal(proxy.cuts(), cutsBefore + 1);
    const [previous] = await urlStorage.findAllUploads();
    assert.ok(previous?.uploadUrl, "the upload URL was kept to resume");
    // The server records what arrived of the cut request once it sees the connection end.
    const session = await client.session();
    let held = 0;
    for (let i = 0; i < 50 && held === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      const head = await fetch(new URL(previous.uploadUrl, server.baseUrl), {
        method: "HEAD",
        headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${session?.accessToken ?? ""}` },
      });
      held = Number(head.headers.get("upload-offset"));
    }
    assert.ok(held > 0 && held < bytes.byteLength, `the server kept part of the cut request: ${held}`);

    let firstProgress: number | undefined;
    const done = await tusUpload(client, bytes, {
      kind: "document",
      urlStorage,
      chunkSize: 4 << 20,
      onProgress: (sent) => (firstProgress ??= sent),
    });
    assert.ok(done.resumed, "resumed the earlier upload");
    assert.equal(done.sha256, await sha256Hex(bytes));
    assert.deepEqual(await urlStorage.findAllUploads(), [], "forgotten once complete");
    void firstProgress;
  });
});
