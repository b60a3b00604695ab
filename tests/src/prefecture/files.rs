//! Aid case files (建档立卡) as the application flow would have left them: about one
//! household in five (of those with a phone, which an application requires) signs in from
//! the mini-program, files an application to one of the city's programs, the township and
//! the county pass it, the public notice runs its working days and the county approves,
//! which opens the file against the registered household. The county then pays living aid
//! every month (on the 10th; now and then late, early the next month) until now, or until
//! the household exits (about one file in forty) after six months of income above the
//! dibao, a proposal, a notice and a confirmation. Every step is audited as its use case
//! audits it. Payments are streamed file by file: nothing is held for the whole city.

use anyhow::ensure;
use bangfu::applications::queries::{StoredForm, StoredMember};
use bangfu::applications::rules::{ChecklistItem, notice_ends_on};
use bangfu::audit::log::diff;
use bangfu::domain::calendar::Calendar;
use bangfu::domain::resident_id;
use bangfu::households::rules::{Gender, ItemInput, Relation};
use bangfu::infra::clock::{china_date, end_of_china_day, start_of_china_day};
use bangfu::payments::aid::{self, AidKind, PaidThisYear, Proposal};
use bangfu::payments::classification::Category;
use bangfu::payments::disbursements::period_end;
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use rand::Rng;
use serde_json::{Value, json};

use crate::prefecture::copy::{Copy, F};
use crate::prefecture::plan::{DIBAO_FEN, Plan};
use crate::prefecture::registry;
use crate::prefecture::{Api, expect_fields};

/// Id kinds of this module (see `Plan::id`).
const PROGRAM: u8 = 30;
const APPLICANT: u8 = 31;
const SESSION: u8 = 32;
const APPLICATION: u8 = 33;
const FILE: u8 = 34;
const DISBURSEMENT: u8 = 35;
const AUDIT: u8 = 36;
const REQUEST: u8 = 37;
const MOVED: u8 = 38;
/// Random streams of this module.
const FILES_STREAM: u64 = 30;
const LATE_STREAM: u64 = 31;
/// Audit entries (and requests) a file may need: its steps and five years of payments.
const AUDITS_PER_FILE: usize = 128;

const NOTICE_WORKDAYS: u32 = 7;
/// Sign-ins last 90 days, refresh tokens 30 (the server's defaults).
const SESSION_DAYS: i64 = 90;
const REFRESH_DAYS: i64 = 30;

/// The city's programs: (code, name, category). Programs are install-wide, so one each
/// for the city rather than one per county.
const PROGRAMS: [(&str, &str, &str); 2] = [
    ("dibao", "最低生活保障", "deep"),
    ("relative_hardship", "相对困难家庭救助", "relative"),
];

/// Rows written per table.
#[derive(Debug, Default)]
pub struct Counts {
    pub programs: usize,
    pub applicants: usize,
    pub applications: usize,
    pub case_files: usize,
    pub case_file_members: usize,
    pub disbursements: usize,
    pub aid_totals: usize,
    pub income_records: usize,
    pub moved_subjects: usize,
    pub audit: usize,
}

fn program_id(plan: &Plan, p: usize) -> String {
    plan.id(PROGRAM, p as u64, plan.start)
}

/// The working-day calendar: the frame loads no holiday schedule, so weekends only.
fn calendar() -> Calendar {
    Calendar::default()
}

/// `minutes` past 9:00 China time on the first working day from `day`.
fn at_work(cal: &Calendar, day: NaiveDate, minutes: i64) -> NaiveDateTime {
    let mut d = day;
    while !cal.is_workday(d) {
        d += Duration::days(1);
    }
    start_of_china_day(d) + Duration::hours(9) + Duration::minutes(minutes)
}

/// A household's exit: proposed by the township, put on notice and confirmed by the county.
struct Exit {
    /// The month it was proposed in: the last month paid.
    month: NaiveDate,
    proposed_at: NaiveDateTime,
    noticed_at: NaiveDateTime,
    notice_ends_on: NaiveDate,
    confirmed_at: NaiveDateTime,
}

/// One household's case file and how it came about.
struct FilePlan {
    h: usize,
    program: usize,
    applied_at: NaiveDateTime,
    grassroots_at: NaiveDateTime,
    county_at: NaiveDateTime,
    notice_ends_on: NaiveDate,
    approved_at: NaiveDateTime,
    monthly_fen: i64,
    exit: Option<Exit>,
}

impl FilePlan {
    fn category(&self) -> &'static str {
        PROGRAMS[self.program].2
    }

    fn opened_on(&self) -> NaiveDate {
        china_date(self.approved_at)
    }
}

/// Household `h`'s file, if it has one: drawn from its own stream.
fn file_plan(plan: &Plan, cal: &Calendar, h: usize) -> Option<FilePlan> {
    let home = &plan.homes[h];
    let mut rng = plan.rng(FILES_STREAM, h as u64);
    if home.phone.is_none() || !rng.random_bool(2.0 / 7.0) {
        return None;
    }
    let earliest = home.registered_at + Duration::days(7);
    let latest = plan.now - Duration::days(45);
    if earliest >= latest {
        return None;
    }
    let day = china_date(
        earliest + Duration::seconds(rng.random_range(0..(latest - earliest).num_seconds())),
    );
    let applied_at = at_work(cal, day, rng.random_range(0..480));
    let grassroots_at = at_work(cal, china_date(applied_at) + Duration::days(2), 60);
    let county_at = at_work(cal, china_date(grassroots_at) + Duration::days(3), 120);
    let notice_ends = notice_ends_on(cal, china_date(county_at), NOTICE_WORKDAYS);
    let approved_at = at_work(cal, notice_ends + Duration::days(1), 90);
    let program = usize::from(!rng.random_bool(0.6));
    let share = if program == 0 { 80..=100 } else { 60..=80 };
    let monthly_fen = DIBAO_FEN * rng.random_range(share) / 100 / 100 * 100;
    let opened = china_date(approved_at);
    let first_month = first_of_month(opened) + Months::new(1);
    let last_month = first_of_month(china_date(plan.now)) - Months::new(2);
    let exit =
        (rng.random_bool(1.0 / 40.0) && first_month + Months::new(8) <= last_month).then(|| {
            let months = (last_month.year() - first_month.year()) * 12 + last_month.month() as i32
                - first_month.month() as i32;
            let month = first_month + Months::new(rng.random_range(8..=months as u32));
            let proposed_at = at_work(cal, month.with_day(16).expect("the 16th"), 30);
            let noticed_at = at_work(cal, china_date(proposed_at) + Duration::days(2), 60);
            let notice_ends_on = cal.add_workdays(china_date(noticed_at), NOTICE_WORKDAYS);
            Exit {
                month,
                proposed_at,
                noticed_at,
                notice_ends_on,
                confirmed_at: at_work(cal, notice_ends_on + Duration::days(1), 60),
            }
        });
    Some(FilePlan {
        h,
        program,
        applied_at,
        grassroots_at,
        county_at,
        notice_ends_on: notice_ends,
        approved_at,
        monthly_fen,
        exit,
    })
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("the first")
}

/// One monthly payment of living aid.
struct Payment {
    period: String,
    year: i32,
    at: NaiveDateTime,
    due_on: NaiveDate,
}

/// The file's payments in the order made: each month after opening, on the 10th at
/// 10:00, one in twelve late (the 5th of the next month), up to now or the exit's month.
fn payments(plan: &Plan, f: &FilePlan) -> Vec<Payment> {
    let mut out = Vec::new();
    let mut month = first_of_month(f.opened_on()) + Months::new(1);
    let last = f.exit.as_ref().map(|e| e.month);
    let mut rng = plan.rng(LATE_STREAM, f.h as u64);
    loop {
        let on_time_at =
            start_of_china_day(month.with_day(10).expect("the 10th")) + Duration::hours(10);
        // The exit's month is paid before the proposal, on time.
        let late = rng.random_bool(1.0 / 12.0) && Some(month) != last;
        let at = if late {
            start_of_china_day((month + Months::new(1)).with_day(5).expect("the 5th"))
                + Duration::hours(10)
        } else {
            on_time_at
        };
        if at >= plan.now || last.is_some_and(|l| month > l) {
            break;
        }
        let period = format!("{}-{:02}", month.year(), month.month());
        out.push(Payment {
            due_on: period_end(&period).expect("a month's end"),
            year: month.year(),
            period,
            at,
        });
        month = month + Months::new(1);
    }
    out
}

/// The audit log, with ids and request ids numbered per file.
struct Audit {
    copy: Copy,
}

/// Who made a change, as the audit log names them.
struct Actor<'a> {
    /// `None`: the operator at the command line.
    id: Option<&'a str>,
    role: Option<&'a str>,
}

impl Audit {
    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        plan: &Plan,
        n: u64,
        request: u64,
        at: NaiveDateTime,
        who: &Actor<'_>,
        action: &str,
        entity: &str,
        entity_id: &str,
        region_path: &str,
        changes: &Value,
        reason: Option<&str>,
    ) {
        let changes = resident_id::mask_in_json(changes).unwrap_or_else(|| changes.clone());
        self.copy.row(&[
            F::T(&plan.id(AUDIT, n, at)),
            F::Ts(at),
            who.id.map_or(F::N, F::T),
            who.role.map_or(F::N, F::T),
            F::N,
            F::T(&plan.id(REQUEST, request, at)),
            F::T(action),
            F::T(entity),
            F::T(entity_id),
            F::T(region_path),
            F::T(&changes.to_string()),
            reason.map_or(F::N, F::T),
        ]);
    }
}

/// The application's form as `create_draft` seals it: the registered household's people
/// and incomes (ID numbers sealed again, as the form is sealed apart from the registry).
fn form(plan: &Plan, h: usize) -> String {
    let home = &plan.homes[h];
    let members = home
        .members
        .iter()
        .map(|m| StoredMember {
            name: m.name.clone(),
            relation: serde_json::from_value::<Relation>(json!(m.relation)).expect("a relation"),
            id_sealed: plan.key.seal(&m.id_number).expect("seal an ID number"),
            id_hash: plan.key.lookup_hash(&m.id_number),
            id_masked: resident_id::mask(&m.id_number),
            birth_date: m.birth,
            gender: if m.female {
                Gender::Female
            } else {
                Gender::Male
            },
            phone: m.phone.clone(),
        })
        .collect();
    let items = registry::items(plan, h)
        .into_iter()
        .map(|i| ItemInput {
            category: i.category,
            amount_fen: i.amount_fen,
            year: i.year,
            note: i.note.map(str::to_owned),
        })
        .collect();
    serde_json::to_string(&StoredForm {
        address: home.address.clone(),
        phone: home.phone.clone(),
        members,
        items,
        situations: Vec::new(),
    })
    .expect("a form serialises")
}

/// One year of a file's living aid as it is paid: the year, the payments so far (kind,
/// amount) and the year's cap.
type AidYear = (i32, Vec<(AidKind, i64)>, i64);

/// Writes the programs, then every file with its application and payments.
pub fn write(plan: &Plan) -> Counts {
    let url = &plan.url;
    let cal = calendar();
    let mut counts = Counts::default();
    let mut audit = Audit {
        copy: Copy::start(
            url,
            "audit_log",
            "id, at, actor_id, actor_role, device_id, request_id, action, entity, entity_id, region_path, changes, reason",
        ),
    };
    let mut programs = Copy::start(
        url,
        "programs",
        "id, code, name, description, category, aid_kinds, checklist, situations, notice_workdays, fast_track, active, created_at, updated_at, version",
    );
    // Materials are welcome but optional: the generator uploads no files.
    let checklist = vec![
        ChecklistItem {
            code: "household_register".into(),
            name: "户口簿".into(),
            required_when: None,
            optional: true,
            accepts: vec!["image".into(), "pdf".into()],
        },
        ChecklistItem {
            code: "income_proof".into(),
            name: "家庭收入证明".into(),
            required_when: None,
            optional: true,
            accepts: vec!["image".into(), "pdf".into()],
        },
    ];
    for (p, (code, name, category)) in PROGRAMS.iter().enumerate() {
        let id = program_id(plan, p);
        let aid_kinds = vec!["living".to_owned()];
        programs.row(&[
            F::T(&id),
            F::T(code),
            F::T(name),
            F::T(""),
            F::T(category),
            F::T(&json!(aid_kinds).to_string()),
            F::T(&serde_json::to_string(&checklist).expect("a checklist serialises")),
            F::T("[]"),
            F::I(NOTICE_WORKDAYS.into()),
            F::B(false),
            F::B(true),
            F::Ts(plan.start),
            F::Ts(plan.start),
            F::I(1),
        ]);
        let view = json!({
            "code": code, "name": name, "category": category, "aid_kinds": aid_kinds,
            "checklist": checklist, "situations": [], "notice_workdays": NOTICE_WORKDAYS,
            "fast_track": false,
        });
        // Seeded by the operator, as the demo seeds its programs: no officer's
        // jurisdiction covers the whole install.
        let by = Actor {
            id: None,
            role: None,
        };
        let n = p as u64;
        audit.entry(
            plan,
            n,
            n,
            plan.start,
            &by,
            "create",
            "program",
            &id,
            &plan.city.path,
            &diff(&Value::Null, &view),
            None,
        );
    }
    counts.programs = programs.finish();

    let mut applicants = Copy::start(
        url,
        "applicants",
        "id, wechat_openid, display_name, created_at, last_login_at, wechat_unionid, app_openid",
    );
    let mut sessions = Copy::start(
        url,
        "applicant_sessions",
        "id, applicant_id, created_at, expires_at, revoked_at, revoked_why",
    );
    let mut tokens = Copy::start(
        url,
        "applicant_refresh_tokens",
        "token_hash, session_id, issued_at, expires_at, used_at",
    );
    let mut applications = Copy::start(
        url,
        "applications",
        "id, applicant_id, program_id, region_id, region_path, status, open_key, revision, previous_id, form, materials, deficiencies, decision_reason, step_due_on, notice_ends_on, correction_due_on, submitted_at, created_at, updated_at, version",
    );
    let mut moved = Copy::start(url, "moved_subjects", "id, subject, subject_id, moved_at");
    let mut files = Copy::start(
        url,
        "case_files",
        "id, application_id, program_id, household_id, region_path, category, status, opened_on, created_at, updated_at, version, exit_notice_ends_on, exited_on, reopened_on",
    );
    let mut file_members = Copy::start(url, "case_file_members", "file_id, id_hash, active_key");
    let mut disbursements = Copy::start(
        url,
        "disbursements",
        "id, file_id, kind, year, period, amount_fen, approval, note, region_path, created_by, created_at, due_on, on_time",
    );
    let mut totals = Copy::start(url, "aid_totals", "file_id, kind, year, total_fen, cap_fen");
    let mut incomes = Copy::start(
        url,
        "income_records",
        "file_id, month, per_capita_fen, recorded_by, created_at",
    );

    for h in 0..plan.homes.len() {
        let Some(f) = file_plan(plan, &cal, h) else {
            continue;
        };
        let home = &plan.homes[h];
        let village = &plan.villages[home.village];
        let household = plan.household_id(h);
        let program = program_id(plan, f.program);
        let township_officer = plan.township_officer_id(Plan::township_of(home.village));
        let county_officer = plan.county_officer_id(Plan::county_of(home.village));
        let township = Actor {
            id: Some(&township_officer),
            role: Some("township_officer"),
        };
        let county = Actor {
            id: Some(&county_officer),
            role: Some("county_officer"),
        };
        // Audit entries and requests of this file, numbered in the order made.
        let base = (AUDITS_PER_FILE * (h + 1)) as u64;
        let mut next = 0u64;
        let mut take = || {
            next += 1;
            base + next
        };

        // The applicant signs in from the mini-program, drafts and submits.
        let applicant = plan.id(APPLICANT, h as u64, f.applied_at);
        let session = plan.id(SESSION, h as u64, f.applied_at);
        let applicant_actor = format!("applicant:{applicant}");
        let who = Actor {
            id: Some(&applicant_actor),
            role: None,
        };
        applicants.row(&[
            F::T(&applicant),
            F::T(&format!("pref-openid-{h}")),
            F::N,
            F::Ts(f.applied_at),
            F::Ts(f.applied_at),
            F::N,
            F::N,
        ]);
        let session_ends = f.applied_at + Duration::days(SESSION_DAYS);
        sessions.row(&[
            F::T(&session),
            F::T(&applicant),
            F::Ts(f.applied_at),
            F::Ts(session_ends),
            F::N,
            F::N,
        ]);
        let refresh = format!(
            "{:032x}",
            plan.rng(FILES_STREAM + 2, h as u64).random::<u128>()
        );
        tokens.row(&[
            F::T(&bangfu::auth::tokens::hash_refresh_token(&refresh)),
            F::T(&session),
            F::Ts(f.applied_at),
            F::Ts((f.applied_at + Duration::days(REFRESH_DAYS)).min(session_ends)),
            F::N,
        ]);
        let application = plan.id(APPLICATION, h as u64, f.applied_at + Duration::minutes(2));
        let drafted = f.applied_at + Duration::minutes(2);
        let submitted = f.applied_at + Duration::minutes(5);
        applications.row(&[
            F::T(&application),
            F::T(&applicant),
            F::T(&program),
            F::T(&village.id),
            F::T(&village.path),
            F::T("approved"),
            F::N,
            F::I(1),
            F::N,
            F::T(&form(plan, h)),
            F::T("[]"),
            F::T("[]"),
            F::N,
            F::N,
            F::T(&f.notice_ends_on.to_string()),
            F::N,
            F::Ts(submitted),
            F::Ts(drafted),
            F::Ts(f.approved_at),
            F::I(5),
        ]);
        let status = |before: Option<&str>, after: &str| match before {
            Some(b) => json!({"status": {"before": b, "after": after}}),
            None => json!({"status": {"after": after}, "program_id": {"after": program}}),
        };
        let steps = [
            (drafted, &who, None, "draft", "create"),
            (
                submitted,
                &who,
                Some("draft"),
                "grassroots_review",
                "update",
            ),
            (
                f.grassroots_at,
                &township,
                Some("grassroots_review"),
                "county_review",
                "update",
            ),
            (
                f.county_at,
                &county,
                Some("county_review"),
                "in_notice",
                "update",
            ),
        ];
        for (at, by, before, after, action) in steps {
            let n = take();
            audit.entry(
                plan,
                n,
                n,
                at,
                by,
                action,
                "application",
                &application,
                &village.path,
                &status(before, after),
                None,
            );
            if before.is_some() {
                moved.row(&[
                    F::T(&plan.id(MOVED, n, at)),
                    F::T("application"),
                    F::T(&application),
                    F::Ts(at),
                ]);
            }
        }

        // Approval opens the file against the registered household, in one request.
        let file = plan.id(FILE, h as u64, f.approved_at);
        let request = take();
        audit.entry(
            plan, request, request, f.approved_at, &county, "create", "case_file", &file, &village.path,
            &json!({"application_id": {"after": application}, "household_id": {"after": household}, "category": {"after": f.category()}}),
            None,
        );
        let n = take();
        audit.entry(
            plan,
            n,
            request,
            f.approved_at,
            &county,
            "update",
            "application",
            &application,
            &village.path,
            &status(Some("in_notice"), "approved"),
            None,
        );
        moved.row(&[
            F::T(&plan.id(MOVED, n, f.approved_at)),
            F::T("application"),
            F::T(&application),
            F::Ts(f.approved_at),
        ]);
        for m in &home.members {
            let hash = plan.key.lookup_hash(&m.id_number);
            let active = format!("{program}/{hash}");
            file_members.row(&[
                F::T(&file),
                F::T(&hash),
                if f.exit.is_some() {
                    F::N
                } else {
                    F::T(&active)
                },
            ]);
        }

        // Monthly living aid, each payment checked against the year's cap as `pay` checks it.
        let category = if f.program == 0 {
            Category::Deep
        } else {
            Category::Relative
        };
        let mut last_change = f.approved_at;
        let mut year: Option<AidYear> = None;
        let close_year = |totals: &mut Copy, y: &Option<AidYear>| {
            if let Some((year, paid, cap)) = y {
                let total: i64 = paid.iter().map(|(_, a)| a).sum();
                totals.row(&[
                    F::T(&file),
                    F::T("living"),
                    F::I((*year).into()),
                    F::I(total),
                    F::I(*cap),
                ]);
            }
        };
        for (k, p) in payments(plan, &f).iter().enumerate() {
            if year.as_ref().is_none_or(|(y, _, _)| *y != p.year) {
                close_year(&mut totals, &year);
                year = Some((p.year, Vec::new(), 0));
            }
            let (_, paid, cap) = year.as_mut().expect("the year's payments");
            let proposal = Proposal {
                category,
                kind: AidKind::Living,
                amount_fen: f.monthly_fen,
                out_of_pocket_fen: 0,
                students: 0,
            };
            let so_far: i64 = paid.iter().map(|(_, a)| a).sum();
            let decision = aid::check(
                &proposal,
                DIBAO_FEN,
                &PaidThisYear {
                    payments: paid.clone(),
                },
                0,
                None,
            )
            .unwrap_or_else(|r| {
                panic!(
                    "household {h}: payment {} refused: {:?}",
                    p.period, r.violations
                )
            });
            *cap = so_far + decision.max_fen;
            paid.push((AidKind::Living, f.monthly_fen));
            let id = plan.id(DISBURSEMENT, (h * 64 + k) as u64, p.at);
            let approval = json!(decision.approval);
            disbursements.row(&[
                F::T(&id),
                F::T(&file),
                F::T("living"),
                F::I(p.year.into()),
                F::T(&p.period),
                F::I(f.monthly_fen),
                F::T(approval.as_str().unwrap_or_default()),
                F::N,
                F::T(&village.path),
                F::T(&county_officer),
                F::Ts(p.at),
                F::T(&p.due_on.to_string()),
                F::B(p.at <= end_of_china_day(p.due_on)),
            ]);
            let n = take();
            audit.entry(
                plan, n, n, p.at, &county, "create", "disbursement", &id, &village.path,
                &json!({"file_id": {"after": file}, "kind": {"after": "living"}, "period": {"after": p.period},
                        "amount_fen": {"after": f.monthly_fen}, "reassessment": {"after": null}}),
                None,
            );
            last_change = p.at;
        }
        close_year(&mut totals, &year);

        // Six months above the dibao, recorded by the township, then the exit's three steps.
        if let Some(e) = &f.exit {
            let mut rng = plan.rng(FILES_STREAM + 1, h as u64);
            for back in (1..=6).rev() {
                let month = e.month - Months::new(back);
                let label = format!("{}-{:02}", month.year(), month.month());
                let at = at_work(
                    &cal,
                    (month + Months::new(1)).with_day(5).expect("the 5th"),
                    20,
                );
                let income = DIBAO_FEN + rng.random_range(50..300) * 100;
                incomes.row(&[
                    F::T(&file),
                    F::T(&label),
                    F::I(income),
                    F::T(&township_officer),
                    F::Ts(at),
                ]);
                let n = take();
                audit.entry(
                    plan,
                    n,
                    n,
                    at,
                    &township,
                    "create",
                    "income_record",
                    &format!("{file}/{label}"),
                    &village.path,
                    &json!({"per_capita_fen": {"before": null, "after": income}}),
                    None,
                );
            }
            let exit_steps = [
                (
                    e.proposed_at,
                    &township,
                    "active",
                    "exit_review",
                    "连续六个月人均收入高于低保标准，经入户核实提出退出。",
                ),
                (
                    e.noticed_at,
                    &county,
                    "exit_review",
                    "exit_notice",
                    "县级审核同意，进行退出公示。",
                ),
                (
                    e.confirmed_at,
                    &county,
                    "exit_notice",
                    "exited",
                    "公示期满无异议，确认退出。",
                ),
            ];
            for (at, by, before, after, reason) in exit_steps {
                let n = take();
                audit.entry(
                    plan,
                    n,
                    n,
                    at,
                    by,
                    "update",
                    "case_file",
                    &file,
                    &village.path,
                    &json!({"status": {"before": before, "after": after}}),
                    Some(reason),
                );
            }
            last_change = e.confirmed_at;
        }
        assert!(
            next < AUDITS_PER_FILE as u64,
            "household {h}: more audit entries than numbered"
        );
        let exit = f.exit.as_ref();
        files.row(&[
            F::T(&file),
            F::T(&application),
            F::T(&program),
            F::T(&household),
            F::T(&village.path),
            F::T(f.category()),
            F::T(if exit.is_some() { "exited" } else { "active" }),
            F::T(&f.opened_on().to_string()),
            F::Ts(f.approved_at),
            F::Ts(last_change),
            F::I(if exit.is_some() { 4 } else { 1 }),
            exit.map_or(F::N, |e| F::D(e.notice_ends_on)),
            exit.map_or(F::N, |e| F::D(china_date(e.confirmed_at))),
            F::N,
        ]);
    }
    counts.applicants = applicants.finish();
    sessions.finish();
    tokens.finish();
    counts.applications = applications.finish();
    counts.moved_subjects = moved.finish();
    counts.case_files = files.finish();
    counts.case_file_members = file_members.finish();
    counts.disbursements = disbursements.finish();
    counts.aid_totals = totals.finish();
    counts.income_records = incomes.finish();
    counts.audit = audit.copy.finish();
    counts
}

/// Reads `sample` files back as their township officer: the file, then its payments.
pub fn read_back(plan: &Plan, api: &Api, sample: usize) -> anyhow::Result<()> {
    let cal = calendar();
    let mut checked = 0;
    for h in (0..plan.homes.len()).step_by((plan.homes.len() / (sample.max(1) * 5)).max(1)) {
        if checked == sample {
            break;
        }
        let Some(f) = file_plan(plan, &cal, h) else {
            continue;
        };
        checked += 1;
        let township = Plan::township_of(plan.homes[h].village);
        let token = api.token(&Plan::township_officer_username(township), None)?;
        let file = plan.id(FILE, h as u64, f.approved_at);
        let got = api.get(&token, &format!("/v1/case-files/{file}"))?;
        let exit = f.exit.as_ref();
        let want = json!({
            "id": file,
            "application_id": plan.id(APPLICATION, h as u64, f.applied_at + Duration::minutes(2)),
            "program_id": program_id(plan, f.program),
            "household_id": plan.household_id(h),
            "category": f.category(),
            "status": if exit.is_some() { "exited" } else { "active" },
            "opened_on": f.opened_on().to_string(),
            "exit_notice_ends_on": exit.map(|e| e.notice_ends_on.to_string()),
            "exited_on": exit.map(|e| china_date(e.confirmed_at).to_string()),
            "reopened_on": null,
            "version": if exit.is_some() { 4 } else { 1 },
        });
        expect_fields(&format!("case file of household {h}"), &got, &want)?;
        let listed = api.get(&token, &format!("/v1/case-files/{file}/disbursements"))?;
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        let made = payments(plan, &f);
        ensure!(
            items.len() == made.len(),
            "case file of household {h}: {} payments, generated {}",
            items.len(),
            made.len()
        );
        // Newest first.
        for (got, p) in items.iter().zip(made.iter().rev()) {
            let want = json!({"kind": "living", "year": p.year, "period": p.period, "amount_fen": f.monthly_fen, "approval": "county"});
            expect_fields(
                &format!("payment {} of household {h}", p.period),
                got,
                &want,
            )?;
        }
    }
    ensure!(
        checked > 0 || plan.homes.is_empty(),
        "no case file among the households sampled"
    );
    Ok(())
}
