// The filing example (examples/filing.ts) end to end against the real server, then a
// village secretary's review seen by following the application.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileOnce, follow, type Application, type Division } from "../examples/filing.js";
import { createClient } from "../src/index.js";
import { DEMO_PASSWORD, pdf, residentId, startServer, type TestServer } from "./harness.js";

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe("run at most once: the filing example", () => {
  it("files once with every deficiency listed up front, and follows the review", async () => {
    const pick = (name: string) => (divisions: readonly Division[]) => {
      const found = divisions.find((d) => d.name === name);
      assert.ok(found, `${name} among ${divisions.map((d) => d.name).join("、")}`);
      return Promise.resolve(found);
    };

    const lines: string[] = [];
    const result = await fileOnce({
      baseUrl: server.baseUrl,
      wechatCode: () => Promise.resolve("ok-filing-sun"),
      programCode: "worker_hardship",
      pickTownship: pick("青山镇"),
      pickVillage: pick("青山村"),
      form: {
        address: "青山村三组 12 号",
        phone: "13812345678",
        members: [{ name: "孙秀兰", relation: "head", id_number: residentId("1962-03-14"), birth_date: "1962-03-14", gender: "female" }],
        items: [
          { category: "farming", amount_fen: 360000, year: 2026 },
          { category: "illness", amount_fen: 1200000, year: 2026 },
        ],
        situations: ["illness"],
      },
      materialFor: (item) => Promise.resolve({ file: pdf(item.code, 2000), fileName: `${item.code}.pdf` }),
      show: (line) => lines.push(line),
    });

    const missing = result.deficiencies.filter((d) => d.code === "material_missing").map((d) => d.field);
    for (const field of ["materials.id_cards", "materials.household_register", "materials.income_proof", "materials.diagnosis"]) {
      assert.ok(missing.includes(field), `${field} listed in the one answer: ${missing.join(", ")}`);
    }
    assert.ok(!missing.includes("materials.enrolment"), "not asked for a situation not stated");
    assert.equal(result.application.status, "grassroots_review");
    assert.equal(result.application.materials.length, 4);
    assert.ok(result.application.step_due_on);
    assert.ok(lines.some((l) => l.startsWith("已提交")), lines.join("\n"));
    assert.ok(lines.includes("青山镇 青山村"), lines.join("\n"));

    // Submitting again, as a double tap would, changes nothing.
    const applicant = createClient({ baseUrl: server.baseUrl });
    await applicant.signInWithWechat("ok-filing-sun");
    const again = await applicant.POST("/v1/applications/{id}/submit", { path: { id: result.application.id } });
    assert.equal(again.data.version, result.application.version);

    // The village secretary passes it on; following it shows the new step. (The decision's
    // body is sent as the server reads it: `action`, see DecisionBody in the contract.)
    const secretary = createClient({ baseUrl: server.baseUrl });
    await secretary.signIn("qingshan_secretary", DEMO_PASSWORD);
    await secretary.request({
      method: "POST",
      path: `/v1/applications/${result.application.id}/decisions`,
      operation: "/v1/applications/{id}/decisions",
      json: { action: "pass" },
    });
    const seen: Application[] = [];
    const now = await follow(applicant, result.application.id, (a) => seen.push(a), { times: 1 });
    assert.equal(now.status, "county_review");
    assert.equal(seen.length, 1);
  });
});
