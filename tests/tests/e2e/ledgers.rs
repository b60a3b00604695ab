//! Ledgers (台账) end to end: a county with an approved, paid case file and field records
//! pushed through sync is exported ledger by ledger as XLSX (read back as a spreadsheet
//! program would) and CSV; scope, roles, masking and the audit trail; formulas defused; bad
//! names and filters refused; and a large export that streams.

use std::io::{Cursor, Read};
use std::time::Instant;

use bangfu_e2e::{Session, TestServer, hlc, new_id};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde_json::{Value, json};

use crate::applications::{approved_file, start};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A county with one of everything the ledgers show, all in 青山村 except one household
/// registered in 河口村.
struct County {
    s: TestServer,
    county: Session,
    qingshan: String,
    hekou: String,
    household: String,
    hekou_household: String,
    /// The approved household's head: (masked ID number, full ID number).
    head_id: (String, String),
    program: String,
}

fn mutation(entity: &str, id: &str, fields: Value) -> Value {
    json!({"mutation_id": new_id(), "entity": entity, "id": id, "base_version": 0,
           "hlc": hlc(0, "ledger-test"), "fields": fields})
}

fn push_all(s: &TestServer, who: &Session, mutations: Vec<Value>) {
    let r = s.push(who, mutations);
    assert_eq!(r.status, 200, "{}", r.text);
    for res in r.body["results"].as_array().cloned().unwrap_or_default() {
        assert_eq!(res["status"], "applied", "{}", r.text);
    }
}

const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"点我\")";

fn county() -> County {
    let s = start();
    let (file, county) = approved_file(&s, "ledger");
    let f = s.call(
        "GET",
        &format!("/v1/case-files/{file}"),
        Some(&county.access),
        None,
    );
    assert_eq!(f.status, 200, "{}", f.text);
    let household = f.body["household_id"]
        .as_str()
        .expect("household")
        .to_owned();
    let program_id = f.body["program_id"].as_str().unwrap_or_default().to_owned();
    let program = s.call("GET", &format!("/v1/programs/{program_id}"), None, None);
    let program = program.body["name"].as_str().unwrap_or_default().to_owned();
    let masked = s.call(
        "GET",
        &format!("/v1/households/{household}"),
        Some(&county.access),
        None,
    );
    let full = s.call(
        "GET",
        &format!("/v1/households/{household}?unmask=true&reason=核对身份信息"),
        Some(&county.access),
        None,
    );
    let head_id = (
        masked.body["members"][0]["id_number"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        full.body["members"][0]["id_number"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    assert_ne!(head_id.0, head_id.1);
    // (A deep-difficulty household's second payment waits for a reassessment: one here.)
    let r = s.call(
        "POST",
        &format!("/v1/case-files/{file}/disbursements"),
        Some(&county.access),
        Some(
            json!({"kind": "living", "amount_fen": 36_050, "period": "2026-11", "note": "十一月"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let qingshan = s.region_id(&county.access, "530123101001");
    let hekou = s.region_id(&county.access, "530123102001");
    let school = s.region_id(&county.access, "2153012301");
    let hekou_household = s.register_household(&county, &hekou);

    let helper = s.device_session("qingshan_helper");
    let visit = new_id();
    push_all(
        &s,
        &helper,
        vec![
            mutation(
                "visit",
                &visit,
                json!({
                "region_id": qingshan, "household_id": household, "helper_id": helper.user_id,
                "kind": "routine", "visited_at": "2026-11-20T17:30:00Z",
                "basic_needs": {"food": "met", "clothing": "met", "compulsory_education": "met",
                                "basic_medical": "not_met", "safe_housing": "unknown"},
                "notes": "屋顶漏雨，已报修"}),
            ),
            mutation(
                "visit",
                &new_id(),
                json!({
                "region_id": qingshan, "household_id": household, "helper_id": helper.user_id,
                "kind": "look_back", "visited_at": "2026-10-05T02:00:00Z", "notes": FORMULA}),
            ),
        ],
    );
    let officer = s.device_session("qingshan_officer");
    let teacher = s.login("school_teacher");
    let (child, case, session) = (new_id(), new_id(), new_id());
    let attempt = |at: &str, method: &str, result: &str| {
        mutation(
            "retrieval_attempt",
            &new_id(),
            json!({
            "region_id": qingshan, "case_id": case, "school_id": school, "method": method,
            "attempted_at": at, "by_user_id": officer.user_id, "result": result}),
        )
    };
    let photo = |subject_entity: &str, subject: &str| {
        mutation(
            "photo",
            &new_id(),
            json!({
            "region_id": qingshan, "sha256": hex::encode(new_id()).get(..64).unwrap_or_default(),
            "subject_entity": subject_entity, "subject_id": subject, "taken_at": "2026-11-03T01:30:00Z"}),
        )
    };
    push_all(
        &s,
        &officer,
        vec![
            mutation(
                "child",
                &child,
                json!({
                "region_id": qingshan, "school_id": school, "name": "李小明", "gender": "male",
                "birth_date": "2013-05-06", "guardian_name": "李大山", "guardian_phone": "13912345678",
                "enrollment": "not_in_school"}),
            ),
            mutation(
                "dropout_case",
                &case,
                json!({
                "region_id": qingshan, "child_id": child, "school_id": school,
                "opened_at": "2026-09-08T00:30:00Z", "stage": "persuasion", "state": "open"}),
            ),
            // The later attempt arrives first: the ledger names the latest made.
            attempt("2026-09-15T02:00:00Z", "home_visit", "promised"),
            attempt("2026-09-10T02:00:00Z", "phone_call", "refused"),
            mutation(
                "teaching_session",
                &session,
                json!({
                "region_id": qingshan, "child_id": child, "school_id": school,
                "teacher_id": teacher.user_id, "held_at": "2026-11-03T01:00:00Z",
                "class_hours": 2.5, "lesson_plan_signed": true, "notes": "识字与算术"}),
            ),
            photo("teaching_session", &session),
            photo("teaching_session", &session),
            photo("visit", &visit),
        ],
    );
    County {
        s,
        county,
        qingshan,
        hekou,
        household,
        hekou_household,
        head_id,
        program,
    }
}

/// A download, read whole.
struct File {
    status: u16,
    content_type: String,
    disposition: String,
    length: Option<String>,
    bytes: Vec<u8>,
}

fn download(s: &TestServer, token: &str, path: &str) -> File {
    let r = s
        .client
        .get(s.url(path))
        .bearer_auth(token)
        .send()
        .expect("request");
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    File {
        status: r.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        disposition: header("content-disposition").unwrap_or_default(),
        length: header("content-length"),
        bytes: r.bytes().expect("body").to_vec(),
    }
}

fn workbook(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a workbook a reader opens")
}

/// The rows of a sheet, as the reader sees them.
fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let range = workbook(bytes).worksheet_range(name).expect("sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

/// One part of the XLSX zip, as text.
fn part(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut s = String::new();
    z.by_name(name)
        .expect("part")
        .read_to_string(&mut s)
        .expect("text");
    s
}

/// RFC 4180 fields, as a spreadsheet program reads them.
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{FEFF}').expect("a byte-order mark");
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        row.is_empty() && field.is_empty(),
        "the file ends with a line end"
    );
    rows
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

fn at(d: &Data) -> String {
    match d {
        Data::DateTime(t) => t
            .as_datetime()
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        other => panic!("a date cell, not {other:?}"),
    }
}

fn column(rows: &[Vec<Data>], header: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| text(h) == header)
        .unwrap_or_else(|| panic!("no column {header}: {:?}", rows[0]))
}

/// The row of a sheet whose column `header` shows `value`.
fn row_with<'a>(rows: &'a [Vec<Data>], header: &str, value: &str) -> &'a [Data] {
    let c = column(rows, header);
    rows.iter()
        .find(|r| r.get(c).is_some_and(|d| text(d) == value))
        .unwrap_or_else(|| panic!("no row with {header} = {value}"))
}

#[test]
fn every_ledger_exports_as_xlsx_and_csv_with_its_columns_and_values() {
    let c = county();
    let officer = c.s.login("qingshan_officer");
    let list = c.s.call("GET", "/v1/ledgers", Some(&officer.access), None);
    assert_eq!(list.status, 200, "{}", list.text);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "households",
            "payments",
            "visits",
            "dropout",
            "home_teaching"
        ]
    );
    let today = c.s.clock().today().to_string();

    for ledger in list.body["items"].as_array().cloned().unwrap_or_default() {
        let name = ledger["name"].as_str().unwrap_or_default();
        let title = ledger["title"].as_str().unwrap_or_default();
        let headers: Vec<String> = ledger["columns"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["header"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let x = download(&c.s, &officer.access, &format!("/v1/ledgers/{name}"));
        assert_eq!(
            x.status,
            200,
            "{name}: {}",
            String::from_utf8_lossy(&x.bytes)
        );
        assert_eq!(x.content_type, XLSX);
        assert_eq!(x.length, None, "streamed");
        assert!(
            x.disposition.starts_with(&format!(
                "attachment; filename=\"ledger-{name}-530123101-{today}.xlsx\"; filename*=UTF-8''"
            )),
            "{}",
            x.disposition
        );
        let wb = workbook(&x.bytes);
        assert_eq!(wb.sheet_names(), [title]);
        let rows = sheet(&x.bytes, title);
        assert_eq!(
            rows[0].iter().map(text).collect::<Vec<_>>(),
            headers,
            "{name}"
        );
        let sheet_xml = part(&x.bytes, "xl/worksheets/sheet1.xml");
        assert!(sheet_xml.contains(r#"state="frozen""#) && sheet_xml.contains("<cols>"));

        let csv = download(
            &c.s,
            &officer.access,
            &format!("/v1/ledgers/{name}?format=csv"),
        );
        assert_eq!(csv.status, 200);
        assert_eq!(csv.content_type, "text/csv; charset=utf-8; header=present");
        assert_eq!(csv.length, None, "streamed");
        assert!(csv.disposition.contains(".csv"), "{}", csv.disposition);
        let lines = csv_rows(&csv.bytes);
        assert_eq!(lines[0], headers, "{name}");
        assert_eq!(
            lines.len(),
            rows.len(),
            "{name}: the same rows in both formats"
        );
    }

    // 户档台账: the household with its file; the other township's household is not there.
    let x = download(&c.s, &officer.access, "/v1/ledgers/households");
    let rows = sheet(&x.bytes, "户档台账");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let h = row_with(&rows, "户编号", &c.household);
    assert_eq!(text(&h[column(&rows, "所属村（社区）")]), "青山村");
    assert_eq!(text(&h[column(&rows, "户主姓名")]), "张秀英");
    assert_eq!(text(&h[column(&rows, "户主身份证号")]), c.head_id.0);
    assert_eq!(text(&h[column(&rows, "联系电话")]), "138****5678");
    assert_eq!(h[column(&rows, "家庭人口")], Data::Float(1.0));
    assert_eq!(text(&h[column(&rows, "户状态")]), "在册");
    assert_eq!(text(&h[column(&rows, "帮扶项目")]), c.program);
    assert_eq!(text(&h[column(&rows, "困难类别")]), "深度困难");
    assert_eq!(text(&h[column(&rows, "档案状态")]), "帮扶中");
    assert!(at(&h[column(&rows, "纳入日期")]).starts_with(&today));
    assert!(at(&h[column(&rows, "建档日期")]).starts_with(&today));
    assert_eq!(h[column(&rows, "退出日期")], Data::Empty);
    let styles = part(&x.bytes, "xl/styles.xml");
    assert!(styles.contains(r#"<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>"#));

    // 资金发放台账: money in yuan as numbers shown with #,##0.00.
    let x = download(&c.s, &officer.access, "/v1/ledgers/payments");
    let rows = sheet(&x.bytes, "资金发放台账");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let amount = column(&rows, "金额（元）");
    assert_eq!(rows[1][amount], Data::Float(360.5));
    let p = &rows[1];
    assert_eq!(text(&p[column(&rows, "户主姓名")]), "张秀英");
    assert_eq!(text(&p[column(&rows, "所属村（社区）")]), "青山村");
    assert_eq!(text(&p[column(&rows, "救助类别")]), "生活救助");
    assert_eq!(text(&p[column(&rows, "审批层级")]), "县级审批");
    assert_eq!(text(&p[column(&rows, "发放期间")]), "2026-11");
    assert_eq!(text(&p[column(&rows, "备注")]), "十一月");
    assert_eq!(p[column(&rows, "年度")], Data::Float(2026.0));
    assert_eq!(text(&p[column(&rows, "户主身份证号")]), c.head_id.0);
    assert!(at(&p[column(&rows, "发放时间")]).starts_with(&today));
    let xml = part(&x.bytes, "xl/worksheets/sheet1.xml");
    assert!(xml.contains(r#"s="4"><v>360.50</v>"#), "money style");
    let csv = csv_rows(&download(&c.s, &officer.access, "/v1/ledgers/payments?format=csv").bytes);
    assert_eq!(csv[1][amount], "360.50");

    // 走访台账: China time, labels, the basic-needs items one by one.
    let x = download(&c.s, &officer.access, "/v1/ledgers/visits");
    let rows = sheet(&x.bytes, "走访台账");
    assert_eq!(rows.len(), 3);
    let v = row_with(&rows, "走访类型", "日常走访");
    assert_eq!(at(&v[column(&rows, "走访时间")]), "2026-11-21 01:30");
    assert_eq!(text(&v[column(&rows, "户主姓名")]), "张秀英");
    assert_eq!(text(&v[column(&rows, "家庭住址")]), "青山村三组 12 号");
    assert_eq!(text(&v[column(&rows, "帮扶责任人")]), "帮扶责任人 李芳");
    assert_eq!(text(&v[column(&rows, "不愁吃")]), "有保障");
    assert_eq!(text(&v[column(&rows, "基本医疗")]), "未保障");
    assert_eq!(text(&v[column(&rows, "住房安全")]), "未核实");
    assert_eq!(text(&v[column(&rows, "审核状态")]), "待审核");
    assert_eq!(text(&v[column(&rows, "走访记录")]), "屋顶漏雨，已报修");
    let csv = csv_rows(&download(&c.s, &officer.access, "/v1/ledgers/visits?format=csv").bytes);
    let line = csv
        .iter()
        .find(|l| l.contains(&"日常走访".to_owned()))
        .expect("the routine visit");
    assert_eq!(line[0], "2026-11-21 01:30");
    // The period selects by visit time, in China days.
    let nov = sheet(
        &download(
            &c.s,
            &officer.access,
            "/v1/ledgers/visits?from=2026-11-01&to=2026-11-21",
        )
        .bytes,
        "走访台账",
    );
    assert_eq!(nov.len(), 2, "only November's visit");
    let early = sheet(
        &download(
            &c.s,
            &officer.access,
            "/v1/ledgers/visits?from=2026-11-01&to=2026-11-20",
        )
        .bytes,
        "走访台账",
    );
    assert_eq!(
        early.len(),
        1,
        "01:30 on the 21st in Beijing is not the 20th"
    );

    // 控辍保学台账: the case with its child, attempts counted, the latest shown.
    let x = download(&c.s, &officer.access, "/v1/ledgers/dropout");
    let rows = sheet(&x.bytes, "控辍保学台账");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let d = &rows[1];
    assert_eq!(at(&d[column(&rows, "立案时间")]), "2026-09-08 08:30");
    assert_eq!(text(&d[column(&rows, "学生姓名")]), "李小明");
    assert_eq!(text(&d[column(&rows, "性别")]), "男");
    assert_eq!(at(&d[column(&rows, "出生日期")]), "2013-05-06 00:00");
    assert_eq!(text(&d[column(&rows, "学校")]), "青山镇中心小学");
    assert_eq!(text(&d[column(&rows, "监护人")]), "李大山");
    assert_eq!(text(&d[column(&rows, "监护人电话")]), "139****5678");
    assert_eq!(text(&d[column(&rows, "控辍环节")]), "双线劝返");
    assert_eq!(text(&d[column(&rows, "销号状态")]), "未销号");
    assert_eq!(d[column(&rows, "劝返次数")], Data::Float(2.0));
    assert_eq!(at(&d[column(&rows, "最近劝返时间")]), "2026-09-15 10:00");
    assert_eq!(text(&d[column(&rows, "最近劝返方式")]), "上门劝返");
    assert_eq!(text(&d[column(&rows, "最近劝返结果")]), "承诺返校");

    // 送教上门台账: hours as a number, the signature, photos of this session only.
    let x = download(&c.s, &officer.access, "/v1/ledgers/home_teaching");
    let rows = sheet(&x.bytes, "送教上门台账");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let t = &rows[1];
    assert_eq!(at(&t[column(&rows, "送教时间")]), "2026-11-03 09:00");
    assert_eq!(text(&t[column(&rows, "学生姓名")]), "李小明");
    assert_eq!(text(&t[column(&rows, "送教教师")]), "青山镇中心小学 孙老师");
    assert_eq!(t[column(&rows, "课时")], Data::Float(2.5));
    assert_eq!(text(&t[column(&rows, "教案家长签字")]), "是");
    assert_eq!(t[column(&rows, "照片数")], Data::Float(2.0));

    // The workbook: every ledger a sheet, in order.
    let x = download(&c.s, &officer.access, "/v1/ledgers/workbook");
    assert_eq!(x.status, 200);
    assert_eq!(x.content_type, XLSX);
    assert_eq!(
        workbook(&x.bytes).sheet_names(),
        [
            "户档台账",
            "资金发放台账",
            "走访台账",
            "控辍保学台账",
            "送教上门台账"
        ]
    );
    assert_eq!(sheet(&x.bytes, "走访台账").len(), 3);
    let x = download(
        &c.s,
        &officer.access,
        "/v1/ledgers/workbook?ledgers=visits,dropout",
    );
    assert_eq!(
        workbook(&x.bytes).sheet_names(),
        ["走访台账", "控辍保学台账"]
    );
}

#[test]
fn exports_are_scoped_masked_by_role_and_audited() {
    let c = county();
    let s = &c.s;
    // A township officer: their township only; another township's village is 404.
    let officer = s.login("qingshan_officer");
    let rows = sheet(
        &download(s, &officer.access, "/v1/ledgers/households").bytes,
        "户档台账",
    );
    let ids: Vec<String> = rows.iter().map(|r| text(&r[13])).collect();
    assert!(
        ids.contains(&c.household) && !ids.contains(&c.hekou_household),
        "{ids:?}"
    );
    let far = s.call(
        "GET",
        &format!("/v1/ledgers/visits?region_id={}", c.hekou),
        Some(&officer.access),
        None,
    );
    far.assert_problem(404, "not_found");
    // The county sees both townships; a village narrows it.
    let all = sheet(
        &download(s, &c.county.access, "/v1/ledgers/households").bytes,
        "户档台账",
    );
    assert_eq!(all.len(), 3, "{all:?}");
    let narrowed = sheet(
        &download(
            s,
            &c.county.access,
            &format!("/v1/ledgers/households?region_id={}", c.hekou),
        )
        .bytes,
        "户档台账",
    );
    assert_eq!(narrowed.len(), 2);
    assert_eq!(text(&narrowed[1][13]), c.hekou_household);
    let x = download(
        s,
        &c.county.access,
        &format!("/v1/ledgers/households?region_id={}", c.hekou),
    );
    assert!(
        x.disposition.contains(
            "filename*=UTF-8''%E6%88%B7%E6%A1%A3%E5%8F%B0%E8%B4%A6_%E6%B2%B3%E5%8F%A3%E6%9D%91_"
        ),
        "户档台账_河口村_…: {}",
        x.disposition
    );

    // A village secretary: their village, not another.
    let secretary = s.login("qingshan_secretary");
    let mine = download(
        s,
        &secretary.access,
        &format!("/v1/ledgers/visits?region_id={}", c.qingshan),
    );
    assert_eq!(mine.status, 200);
    assert_eq!(sheet(&mine.bytes, "走访台账").len(), 3);
    s.call(
        "GET",
        &format!("/v1/ledgers/visits?region_id={}", c.hekou),
        Some(&secretary.access),
        None,
    )
    .assert_problem(404, "not_found");
    // Helpers do not export ledgers; without a token nobody does.
    let helper = s.login("qingshan_helper");
    s.call("GET", "/v1/ledgers/visits", Some(&helper.access), None)
        .assert_problem(403, "forbidden");
    s.call("GET", "/v1/ledgers", Some(&helper.access), None)
        .assert_problem(403, "forbidden");
    s.call("GET", "/v1/ledgers/visits", None, None)
        .assert_problem(401, "token_missing");

    // Auditors read masked, and may not unmask.
    let auditor = s.login("auditor");
    let rows = sheet(
        &download(s, &auditor.access, "/v1/ledgers/dropout").bytes,
        "控辍保学台账",
    );
    assert_eq!(text(&rows[1][7]), "139****5678");
    s.call(
        "GET",
        "/v1/ledgers/dropout?unmask=true&reason=核对身份信息",
        Some(&auditor.access),
        None,
    )
    .assert_problem(403, "forbidden");
    s.call(
        "GET",
        "/v1/ledgers/workbook?unmask=true&reason=核对身份信息",
        Some(&secretary.access),
        None,
    )
    .assert_problem(403, "forbidden");

    // An officer who asks sees the numbers in full, in both formats.
    let rows = sheet(
        &download(
            s,
            &c.county.access,
            "/v1/ledgers/households?unmask=true&reason=核对身份信息",
        )
        .bytes,
        "户档台账",
    );
    let h = row_with(&rows, "户编号", &c.household);
    assert_eq!(text(&h[3]), c.head_id.1);
    assert_eq!(text(&h[4]), "13812345678");
    let csv = csv_rows(
        &download(
            s,
            &c.county.access,
            "/v1/ledgers/dropout?format=csv&unmask=true&reason=核对身份信息",
        )
        .bytes,
    );
    assert_eq!(csv[1][7], "13912345678");

    // Every export is in the audit trail, with who, which ledger, which region; unmasked
    // ones also as unmasking, naming the fields.
    let log = s.call(
        "GET",
        "/v1/audit?entity=ledger&limit=500",
        Some(&auditor.access),
        None,
    );
    assert_eq!(log.status, 200, "{}", log.text);
    let entries = log.body["items"].as_array().cloned().unwrap_or_default();
    let exports: Vec<&Value> = entries.iter().filter(|e| e["action"] == "export").collect();
    // Eight exports went out; the ones refused (404, 403) left nothing.
    assert_eq!(exports.len(), 8, "{}", log.text);
    let narrowed = exports
        .iter()
        .find(|e| e["changes"]["region_id"] == c.hekou.as_str())
        .expect("the export narrowed to 河口村");
    assert_eq!(narrowed["entity_id"], "households");
    assert_eq!(narrowed["actor_id"], c.county.user_id.as_str());
    assert_eq!(narrowed["changes"]["format"], "xlsx");
    assert_eq!(narrowed["changes"]["ledgers"], json!(["households"]));
    let unmasked: Vec<&Value> = entries.iter().filter(|e| e["action"] == "unmask").collect();
    assert_eq!(unmasked.len(), 2, "{}", log.text);
    assert!(
        unmasked
            .iter()
            .all(|e| e["actor_id"] == c.county.user_id.as_str())
    );
    let fields = &unmasked
        .iter()
        .find(|e| e["entity_id"] == "dropout")
        .expect("dropout")["changes"]["unmasked"];
    assert_eq!(fields, &json!(["dropout.guardian_phone"]));
    // Refused exports leave no entry.
    assert!(
        !entries
            .iter()
            .any(|e| e["actor_id"] == auditor.user_id.as_str() && e["changes"]["unmasked"] == true)
    );
}

#[test]
fn text_that_looks_like_a_formula_stays_text() {
    let c = county();
    let officer = c.s.login("qingshan_officer");
    let csv = download(&c.s, &officer.access, "/v1/ledgers/visits?format=csv");
    let lines = csv_rows(&csv.bytes);
    let notes = lines[0]
        .iter()
        .position(|h| h == "走访记录")
        .expect("notes column");
    assert!(
        lines.iter().any(|l| l[notes] == format!("'{FORMULA}")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l[notes] == FORMULA));
    // In the workbook it is a string cell, never a formula.
    let x = download(&c.s, &officer.access, "/v1/ledgers/visits");
    let rows = sheet(&x.bytes, "走访台账");
    assert!(
        rows.iter()
            .any(|r| r[12] == Data::String(FORMULA.to_owned()))
    );
    let formulas = workbook(&x.bytes)
        .worksheet_formula("走访台账")
        .expect("formulas");
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    assert!(!part(&x.bytes, "xl/worksheets/sheet1.xml").contains("<f>"));
}

#[test]
fn bad_names_and_filters_are_problems() {
    let s = bangfu_e2e::TestServer::start();
    let officer = s.login("county_officer");
    let t = Some(officer.access.as_str());
    s.call("GET", "/v1/ledgers/nope", t, None)
        .assert_problem(404, "not_found");
    let r = s.call(
        "GET",
        "/v1/ledgers/visits?format=pdf&from=2026-13-01",
        t,
        None,
    );
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["format", "from"], "{}", r.text);
    let r = s.call(
        "GET",
        "/v1/ledgers/visits?from=2026-12-02&to=2026-12-01",
        t,
        None,
    );
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "to");
    s.call("GET", "/v1/ledgers/visits?region_id=青山村", t, None)
        .assert_problem(422, "validation_failed");
    s.call(
        "GET",
        &format!("/v1/ledgers/visits?region_id={}", new_id()),
        t,
        None,
    )
    .assert_problem(404, "not_found");
    let r = s.call("GET", "/v1/ledgers/workbook?ledgers=visits,nope", t, None);
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "ledgers");
    let r = s.call_with(
        "GET",
        "/v1/ledgers/visits?format=doc",
        t,
        None,
        &[("Accept-Language", "en")],
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("xlsx or csv")),
        "{}",
        r.text
    );
}

/// 20,000 visits pushed through sync come back complete, in a response that streams: no
/// Content-Length, and the first bytes arrive long before the last. (Server memory per
/// row count is measured by `ledger-bench` on a separate server process, see BENCHMARKS.md.)
#[test]
fn a_large_export_streams() {
    const N: usize = 20_000;
    let s = TestServer::start();
    let helper = s.device_session("qingshan_helper");
    let region = s.region_id(&helper.access, "530123101001");
    let officer = s.login("qingshan_officer");
    let household = s.register_household(&officer, &region);
    for batch in 0..N / 1000 {
        let mutations = (0..1000)
            .map(|i| {
                mutation(
                    "visit",
                    &new_id(),
                    json!({
                    "region_id": region, "household_id": household, "helper_id": helper.user_id,
                    "kind": "routine", "visited_at": "2026-11-20T09:30:00Z",
                    "basic_needs": {"food": "met", "safe_housing": "not_met"},
                    "notes": format!("第 {batch} 批第 {i} 次走访，屋顶漏雨，已报修")}),
                )
            })
            .collect();
        push_all(&s, &helper, mutations);
    }
    for (format, ext) in [("csv", "csv"), ("xlsx", "xlsx")] {
        let started = Instant::now();
        let mut r = s
            .client
            .get(s.url(&format!("/v1/ledgers/visits?format={format}")))
            .bearer_auth(&officer.access)
            .send()
            .expect("request");
        assert_eq!(r.status(), 200);
        assert!(
            r.headers().get("content-length").is_none(),
            "{ext}: no length"
        );
        assert_eq!(
            r.headers()
                .get("transfer-encoding")
                .and_then(|v| v.to_str().ok()),
            Some("chunked")
        );
        let mut first = [0u8; 1];
        r.read_exact(&mut first).expect("first byte");
        let first_at = started.elapsed();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("the rest");
        let total = started.elapsed();
        let mut bytes = first.to_vec();
        bytes.extend(rest);
        eprintln!(
            "{ext}: {} bytes, first byte after {first_at:?}, all after {total:?}",
            bytes.len()
        );
        assert!(
            first_at * 3 < total,
            "{ext}: the first byte ({first_at:?}) comes long before the last ({total:?})"
        );
        let rows = match format {
            "csv" => csv_rows(&bytes).len(),
            _ => sheet(&bytes, "走访台账").len(),
        };
        assert_eq!(rows, N + 1, "{ext}: every visit and the header");
    }
}
