/**
 * "Run at most once" (最多跑一次), the whole filing flow as an applicant's mini-program or
 * app does it, with `@bangfu/client`:
 *
 * 1. Programs and their materials checklist, read before anyone signs in.
 * 2. WeChat sign-in with a login code (`wx.login()` in the mini-program).
 * 3. The applicant picks their township, then their village, from the directory of
 *    divisions, and a draft application is made there (a double tap or a retry never
 *    makes a second one).
 * 4. Submitting early shows every deficiency at once, in one answer.
 * 5. The materials the checklist asks for, uploaded resumably, attached to the draft.
 * 6. Submit, once.
 * 7. Follow the application's state and next step.
 *
 * In a mini-program, pass `transport: wxTransport(wx)`, `sessionStore: wxSessionStore(wx)`
 * and `wechatCode` from `wx.login`, and read files with `wxFileSource`. The package's test
 * (test/filing.test.ts) runs it against a real server.
 */
import {
  BangfuProblem,
  createClient,
  uploadFile,
  type BangfuClient,
  type components,
  type FileSource,
  type Transport,
} from "../src/index.js";

type Schemas = components["schemas"];
export type Application = Schemas["ApplicationOut"];
export type ChecklistItem = Schemas["ChecklistItem"];
export type Division = Schemas["DivisionOut"];

export interface FilingInput {
  baseUrl: string;
  /** `fetchTransport()` by default; `wxTransport(wx)` in a mini-program. */
  transport?: Transport;
  /** A fresh WeChat login code each time it is called (`wx.login`). */
  wechatCode: () => Promise<string>;
  /** The program's stable code, e.g. `worker_hardship`. */
  programCode: string;
  /** The applicant's choice of township (a picker on the screen). */
  pickTownship: (townships: readonly Division[]) => Promise<Division>;
  /** The applicant's choice of village, where the household lives. */
  pickVillage: (villages: readonly Division[]) => Promise<Division>;
  form: Schemas["FormInput"];
  /** The file for one checklist item: the applicant picks or photographs it. */
  materialFor: (item: ChecklistItem) => Promise<{ file: FileSource | Uint8Array; fileName: string }>;
  /** What the applicant would see on the screen. */
  show?: (line: string) => void;
}

export interface FilingResult {
  application: Application;
  /** What the early submission found missing, all at once. */
  deficiencies: readonly { field: string; code: string; message: string }[];
}

/** Does the whole flow once and answers the submitted application. */
export async function fileOnce(input: FilingInput): Promise<FilingResult> {
  const show = input.show ?? (() => undefined);
  const client = createClient({ baseUrl: input.baseUrl, transport: input.transport, wechatCode: input.wechatCode });

  // 1. Programs are public: show what to prepare before signing in.
  const { data: programs } = await client.GET("/v1/programs");
  const program = programs.items.find((p) => p.code === input.programCode);
  if (!program) throw new Error(`no program ${input.programCode}`);
  show(`${program.name}: ${program.checklist.map((c) => c.name).join("、")}`);

  // 2. WeChat sign-in. The code is usable once; the client asks `wechatCode` again when
  //    the applicant's access token runs out.
  await client.signInWithWechat(await input.wechatCode());

  // 3. Where the household lives: a township, then one of its villages, from the
  //    directory every signed-in applicant may read.
  const township = await input.pickTownship(await divisions(client, { level: "township" }));
  const village = await input.pickVillage(await divisions(client, { parent_id: township.id }));
  show(`${township.name} ${village.name}`);

  //    The draft. The client sends an Idempotency-Key and repeats it on a retry, so a lost
  //    answer never makes a second application.
  const body: Schemas["ApplicationBody"] = { program_id: program.id, region_id: village.id, form: input.form, materials: [] };
  const { data: draft } = await client.POST("/v1/applications", { body });
  show(`草稿 ${draft.id}: ${draft.next_step.zh}`);

  // 4. Submitting early: one answer lists every deficiency, each naming its field.
  const deficiencies = await submitOrList(client, draft.id);
  for (const d of deficiencies) show(`待补: ${d.field} ${d.message}`);

  // 5. Materials: what the checklist requires for the situations stated, uploaded
  //    resumably (SHA-256 computed here), then named in the draft.
  const needed = program.checklist.filter((c) => required(c, input.form.situations ?? []));
  const materials: Schemas["Material"][] = [];
  for (const item of needed) {
    const { file, fileName } = await input.materialFor(item);
    const stored = await uploadFile(client, file, { kind: "document", fileName });
    materials.push({ code: item.code, sha256: stored.sha256, file_name: fileName });
  }
  await client.PUT("/v1/applications/{id}", { path: { id: draft.id }, body: { ...body, materials } });

  // 6. Submit, once: repeating it (a double tap, a retry) changes nothing.
  const { data: submitted } = await client.POST("/v1/applications/{id}/submit", { path: { id: draft.id } });
  show(`已提交: ${submitted.next_step.zh}${submitted.step_due_on ? `（${submitted.step_due_on} 前）` : ""}`);

  // 7. Follow the state: the status, the next step and its due date.
  const followed = await follow(client, draft.id, (a) => show(`${a.status}: ${a.next_step.zh}`), { times: 1 });
  return { application: followed, deficiencies };
}

/** Every division the directory holds for `query`, page after page. */
export async function divisions(
  client: BangfuClient,
  query: { level?: Division["level"]; parent_id?: string },
): Promise<Division[]> {
  const all: Division[] = [];
  let cursor: string | undefined;
  do {
    const { data } = await client.GET("/v1/divisions", { query: { ...query, limit: 500, cursor } });
    all.push(...data.items);
    cursor = data.next_cursor ?? undefined;
  } while (cursor);
  return all;
}

/** Whether a checklist item is required, given the situations the applicant stated. */
export function required(item: ChecklistItem, situations: readonly string[]): boolean {
  if (item.required_when) return situations.includes(item.required_when);
  return !item.optional;
}

/** Submits; answers the deficiencies if the application is not complete yet. */
async function submitOrList(client: BangfuClient, id: string): Promise<FilingResult["deficiencies"]> {
  try {
    await client.POST("/v1/applications/{id}/submit", { path: { id } });
    return [];
  } catch (e) {
    if (e instanceof BangfuProblem && e.code === "validation_failed") return e.errors;
    throw e;
  }
}

/**
 * Reads the application every `intervalMs` and calls `onChange` when its status or
 * version changes, `times` reads at most (for a page that is open, say).
 */
export async function follow(
  client: BangfuClient,
  id: string,
  onChange: (a: Application) => void,
  options: { times?: number; intervalMs?: number } = {},
): Promise<Application> {
  let last: Application | undefined;
  for (let i = 0; i < (options.times ?? 10); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, options.intervalMs ?? 30_000));
    const { data } = await client.GET("/v1/applications/{id}", { path: { id } });
    if (!last || data.version !== last.version) onChange(data);
    last = data;
  }
  if (!last) throw new Error("not read");
  return last;
}
