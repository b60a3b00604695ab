//! Applications' use cases: the applicant's sign-in, drafts, submission and revision, the
//! officers' decisions, reading applications and their materials, and the programs and
//! working-day calendar they follow. One function each, owning its transaction, taking
//! who calls and typed input, checking it, and answering typed rows or the one error.

use bangfu_sync::Code;
use chrono::Utc;

use crate::applications::programs::{self, NewProgram, Program};
use crate::applications::queries::{
    self as applications, ApplicationRow, Decision, Draft, FormInput, Material, Reader,
};
use crate::applications::rules::{Action, ChecklistItem, Deficiency, Status};
use crate::auth::applicant::{
    self, APPLICANT_TOKEN_SECS, Applicant, Channel, Principal, WechatIdentity,
};
use crate::auth::applicant_sessions;
use crate::auth::tokens::{self, APPLICANT_AUDIENCE, Keys};
use crate::calendar::queries as calendar;
use crate::domain::calendar::{Calendar, ScheduleError, YearSchedule};
use crate::domain::caller::Caller;
use crate::domain::role::Permission;
use crate::domain::validate::Checks;
use crate::infra::clock::today;
use crate::infra::db::Db;
use crate::infra::db::moved::{self, Subject};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::idempotency::{self, Made, Once};
use crate::infra::sealing::DataKey;
use crate::photos::Sha256Hex;
use crate::photos::uploads::queries::{self as uploads, BlobRow, Naming};
use crate::regions::queries as regions;
use crate::state::AuthSettings;

/// An application as answered: its row, and once approved its case file and registry
/// household (`(file_id, household_id)`).
pub type Filed = (ApplicationRow, Option<(String, String)>);

/// A WeChat login code as given, trimmed; refused unless 1 to 128 characters.
pub fn login_code(code: &str) -> Result<String> {
    let code = code.trim().to_owned();
    if code.is_empty() || code.len() > 128 {
        return Err(Error::validation(
            "code",
            Code::InvalidFormat,
            Msg::fixed("登录凭证无效。", "Invalid login code."),
        ));
    }
    Ok(code)
}

/// An applicant's tokens, and whose they are.
#[derive(Debug, Clone)]
pub struct ApplicantToken {
    pub access_token: String,
    pub applicant_id: String,
    /// Seconds the access token lasts.
    pub expires_in: i64,
    /// Used once with `POST /v1/auth/wechat/refresh`; each refresh hands out the next one.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
}

fn applicant_token(
    keys: &Keys,
    auth: &AuthSettings,
    applicant_id: String,
    session_id: &str,
    refresh_token: String,
) -> Result<ApplicantToken> {
    let token = keys.issue_for(
        APPLICANT_AUDIENCE,
        &applicant_id,
        session_id,
        Utc::now().timestamp(),
        APPLICANT_TOKEN_SECS,
    )?;
    Ok(ApplicantToken {
        access_token: token,
        applicant_id,
        expires_in: APPLICANT_TOKEN_SECS,
        refresh_token,
        refresh_expires_in: auth.refresh_ttl.num_seconds(),
    })
}

/// Signs in the person WeChat named: the first sign-in creates the applicant, and the
/// unionid makes the same person one applicant on both channels. The tokens are an
/// applicant's, valid for the application endpoints only: a short-lived access token and
/// a refresh token rotated as staff's are.
pub async fn sign_in(
    db: &Db,
    keys: &Keys,
    auth: &AuthSettings,
    channel: Channel,
    who: WechatIdentity,
) -> Result<ApplicantToken> {
    let refresh = tokens::new_refresh_token()?;
    let hash = tokens::hash_refresh_token(&refresh);
    let (session_ttl, refresh_ttl) = (auth.session_ttl, auth.refresh_ttl);
    let (id, session) = db
        .write(move |c| {
            let id = applicant::find_or_create(c, channel, &who)?;
            let t = crate::infra::clock::now();
            let session =
                applicant_sessions::open(c, &id, t + session_ttl, &hash, t + refresh_ttl)?;
            Ok((id, session))
        })
        .await?;
    applicant_token(keys, auth, id, &session, refresh)
}

/// Rotates an applicant's refresh token: the old one stops working, new tokens are
/// issued. A used token presented again ends the sign-in it came from.
pub async fn refresh(
    db: &Db,
    keys: &Keys,
    auth: &AuthSettings,
    token: &str,
) -> Result<ApplicantToken> {
    let old = tokens::hash_refresh_token(token);
    let refresh = tokens::new_refresh_token()?;
    let new = tokens::hash_refresh_token(&refresh);
    let ttl = auth.refresh_ttl;
    // A refused reuse revokes the sign-in: that must commit even though the answer is an
    // error, so the outcome travels out of the transaction as a value.
    let outcome = db
        .write(move |c| {
            match applicant_sessions::rotate(c, &old, &new, crate::infra::clock::now() + ttl) {
                Ok(s) => Ok(Ok(s)),
                Err(e @ Error::Unauthorized { .. }) => Ok(Err(e)),
                Err(e) => Err(e),
            }
        })
        .await?;
    let (session, applicant_id) = outcome?;
    applicant_token(keys, auth, applicant_id, &session, refresh)
}

/// A draft's content, as the applicant gives it.
#[derive(Debug, Clone)]
pub struct DraftInput {
    pub program_id: String,
    /// The village the household lives in.
    pub region_id: String,
    pub form: FormInput,
    pub materials: Vec<Material>,
}

impl DraftInput {
    fn draft(&self) -> Draft<'_> {
        Draft {
            program_id: &self.program_id,
            region_id: &self.region_id,
            form: &self.form,
            materials: &self.materials,
        }
    }
}

/// Starts an application (a draft). One applicant has one application in progress per
/// program: another is refused with 409 naming it (R-APP-2).
pub async fn start(
    db: &Db,
    key: &DataKey,
    who: &Applicant,
    d: DraftInput,
    once: Once<ApplicationRow>,
) -> Result<Made<ApplicationRow>> {
    let (actor, key, applicant_id) = (who.actor(), key.clone(), who.id.clone());
    idempotency::run(db, once, move |conn| {
        applications::create_draft(conn, &actor, &applicant_id, &key, d.draft())
    })
    .await
}

/// Replaces a draft's content (409 once it is no longer a draft).
pub async fn update(
    db: &Db,
    key: &DataKey,
    who: &Applicant,
    id: &str,
    d: DraftInput,
) -> Result<ApplicationRow> {
    let (actor, key, applicant_id, id) = (who.actor(), key.clone(), who.id.clone(), id.to_owned());
    db.write(move |c| applications::update_draft(c, &actor, &applicant_id, &id, &key, d.draft()))
        .await
}

/// The case file an application opened, if any, read after its change.
async fn filed(db: &Db, row: ApplicationRow) -> Result<Filed> {
    let id = row.id.clone();
    let file = db.read(move |c| applications::file_of(c, &id)).await?;
    Ok((row, file))
}

/// Submits, once: checked completely at once, every deficiency in one answer (R-APP-3);
/// submitting again changes nothing. Its deadlines follow it before the next read
/// of them.
pub async fn submit(db: &Db, key: &DataKey, who: &Applicant, id: &str) -> Result<Filed> {
    let (actor, key, applicant_id, id) = (who.actor(), key.clone(), who.id.clone(), id.to_owned());
    let row = db
        .write(move |c| {
            let cal = calendar::load(c)?;
            let row = applications::submit(c, &actor, &applicant_id, &id, &key, &cal, today())?;
            moved::note(c, Subject::Application, &row.id)?;
            Ok(row)
        })
        .await?;
    filed(db, row).await
}

/// Starts the corrected version of a returned application: a new draft linked to it, with
/// the form and materials copied and the deficiencies to fix.
pub async fn revise(db: &Db, who: &Applicant, id: &str) -> Result<ApplicationRow> {
    let (actor, applicant_id, id) = (who.actor(), who.id.clone(), id.to_owned());
    db.write(move |c| applications::revise(c, &actor, &applicant_id, &id))
        .await
}

/// Whether `who` may read applications: an applicant their own, staff with the permission.
pub fn may_read(who: &Principal) -> Result<()> {
    match who {
        Principal::Staff(c) => c.require(Permission::ReadApplications),
        Principal::Applicant(_) => Ok(()),
    }
}

/// Applications: an applicant's own, or those in a staff caller's scope; by id after
/// `after`, `limit` at most.
pub async fn list(
    db: &Db,
    who: &Principal,
    status: Option<Status>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    may_read(who)?;
    let who = who.clone();
    db.read(move |c| {
        let reader = match &who {
            Principal::Applicant(a) => Reader::Applicant(&a.id),
            Principal::Staff(s) => Reader::Staff(&s.scope),
        };
        applications::list(c, reader, status, after, limit)
    })
    .await
}

/// One application with what it opened (R-APP-4): the applicant's own, or in a staff
/// caller's scope.
pub async fn get(db: &Db, who: &Principal, id: &str) -> Result<Filed> {
    may_read(who)?;
    let (who, id) = (who.clone(), id.to_owned());
    let row = db
        .read(move |c| match &who {
            Principal::Applicant(a) => applications::find_own(c, &a.id, &id),
            Principal::Staff(s) => applications::find_in_scope(c, &s.scope, &id),
        })
        .await?;
    filed(db, row).await
}

/// A decision on an application, as an officer gives it.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub action: Action,
    pub reason: Option<String>,
    pub deficiencies: Vec<Deficiency>,
    pub correction_workdays: Option<u32>,
    pub category: Option<String>,
    /// The version the decider saw, when they say: another one answers 412.
    pub seen_version: Option<i64>,
}

/// Decides on an application at the caller's level along the entry process (R-APP-4):
/// illegal moves 409 `illegal_transition`, another level's step 403 `not_your_step`,
/// approval before the notice ends 409 `notice_not_over`; approval opens the case file.
/// Its deadlines follow it before the next read of them.
pub async fn decide(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    id: &str,
    v: Verdict,
) -> Result<Filed> {
    let (actor, role, scope, key, id) = (
        caller.actor(),
        caller.role,
        caller.scope.clone(),
        key.clone(),
        id.to_owned(),
    );
    let row = db
        .write(move |c| {
            let cal = calendar::load(c)?;
            let row = applications::decide(
                c,
                &actor,
                role,
                &scope,
                &id,
                &key,
                &cal,
                today(),
                Decision {
                    action: v.action,
                    reason: v.reason.as_deref(),
                    deficiencies: &v.deficiencies,
                    correction_workdays: v.correction_workdays,
                    category: v.category.as_deref(),
                    seen_version: v.seen_version,
                },
            )?;
            moved::note(c, Subject::Application, &row.id)?;
            Ok(row)
        })
        .await?;
    filed(db, row).await
}

/// One material of an application, by its SHA-256 (lowercase hex; anything else 404): for
/// its applicant and for staff whose scope holds the application, and only a file the
/// application names *and* its applicant uploaded. Answers the file and the region path
/// it is kept under.
pub async fn material(
    db: &Db,
    who: &Principal,
    id: &str,
    sha256: &str,
) -> Result<(BlobRow, String)> {
    may_read(who)?;
    Sha256Hex::parse(sha256).map_err(|_| Error::NotFound)?;
    let (who, id, sha) = (who.clone(), id.to_owned(), sha256.to_owned());
    db.read(move |c| {
        let row = match &who {
            Principal::Applicant(a) => applications::find_own(c, &a.id, &id)?,
            Principal::Staff(st) => applications::find_in_scope(c, &st.scope, &id)?,
        };
        let named: Vec<String> = applications::materials(&row)?
            .into_iter()
            .map(|m| m.sha256)
            .collect();
        uploads::reach_file(
            c,
            Naming::Material {
                applicant_id: &row.applicant_id,
                region_path: &row.region_path,
                named: &named,
            },
            &sha,
        )
    })
    .await
}

/// Every active program with its checklist.
pub async fn programs(db: &Db) -> Result<Vec<Program>> {
    db.read(programs::list).await
}

/// One program with its checklist.
pub async fn program(db: &Db, id: &str) -> Result<Program> {
    let id = id.to_owned();
    db.read(move |c| programs::find(c, &id)).await
}

/// A program to create, as given.
#[derive(Debug, Clone)]
pub struct ProgramInput {
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub aid_kinds: Vec<String>,
    pub situations: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub notice_workdays: i32,
    pub fast_track: bool,
}

const CATEGORIES: &[&str] = &["deep", "relative", "accidental", "any"];
const AID_KINDS: &[&str] = &[
    "living",
    "medical",
    "education",
    "housing",
    "employment",
    "temporary",
];
const ACCEPTS: &[&str] = &["image", "pdf"];

/// A program's every deficiency in one answer (R-APP-1): its code, name, category, aid
/// kinds, notice period and checklist (unique codes, known situations, image or pdf).
pub fn check_program(b: &ProgramInput) -> Result<()> {
    let mut c = Checks::default();
    let msg = |zh: &'static str, en: &'static str| Msg::fixed(zh, en);
    c.rule(
        (2..=40).contains(&b.code.len())
            && b.code.bytes().all(|x| x.is_ascii_lowercase() || x == b'_'),
        "code",
        Code::InvalidFormat,
        msg(
            "编码为 2 到 40 个小写字母或下划线。",
            "code is 2 to 40 lowercase letters or '_'.",
        ),
    );
    c.text("name", &b.name, 2, 60);
    c.text("description", &b.description, 0, 1000);
    c.rule(
        CATEGORIES.contains(&b.category.as_str()),
        "category",
        Code::InvalidValue,
        msg(
            "类别须为 deep、relative、accidental 或 any。",
            "category is deep, relative, accidental or any.",
        ),
    );
    c.rule(
        !b.aid_kinds.is_empty() && b.aid_kinds.iter().all(|k| AID_KINDS.contains(&k.as_str())),
        "aid_kinds",
        Code::InvalidValue,
        msg("救助类型无效。", "Unknown aid kind."),
    );
    c.rule(
        (1..=30).contains(&b.notice_workdays),
        "notice_workdays",
        Code::OutOfRange,
        msg(
            "公示期为 1 到 30 个工作日。",
            "The notice lasts 1 to 30 working days.",
        ),
    );
    c.rule(
        !b.checklist.is_empty(),
        "checklist",
        Code::Required,
        msg("须列出材料清单。", "List the materials."),
    );
    for (i, item) in b.checklist.iter().enumerate() {
        c.text(&format!("checklist[{i}].name"), &item.name, 1, 100);
        c.rule(
            b.checklist.iter().filter(|x| x.code == item.code).count() == 1,
            &format!("checklist[{i}].code"),
            Code::Duplicate,
            msg("材料编码重复。", "Duplicate material code."),
        );
        c.rule(
            item.required_when
                .as_ref()
                .is_none_or(|s| b.situations.contains(s)),
            &format!("checklist[{i}].required_when"),
            Code::UnknownSituation,
            msg(
                "该情形未在 situations 中列出。",
                "The situation is not listed in situations.",
            ),
        );
        c.rule(
            !item.accepts.is_empty() && item.accepts.iter().all(|a| ACCEPTS.contains(&a.as_str())),
            &format!("checklist[{i}].accepts"),
            Code::InvalidValue,
            msg(
                "accepts 只能是 image 或 pdf。",
                "accepts is image and/or pdf.",
            ),
        );
    }
    c.finish()
}

/// Creates a program with its checklist, checked as [`check_program`] (409 if the code is
/// taken), kept at the caller's region.
pub async fn create_program(
    db: &Db,
    caller: &Caller,
    p: ProgramInput,
    once: Once<Program>,
) -> Result<Made<Program>> {
    caller.require(Permission::ManagePrograms)?;
    check_program(&p)?;
    let (actor, path, scope) = (
        caller.actor(),
        caller.region_path.clone(),
        caller.scope.clone(),
    );
    idempotency::run(db, once, move |conn| {
        regions::require_whole_install(conn, &scope)?;
        programs::create(
            conn,
            &actor,
            &path,
            NewProgram {
                code: &p.code,
                name: p.name.trim(),
                description: p.description.trim(),
                category: &p.category,
                aid_kinds: &p.aid_kinds,
                checklist: &p.checklist,
                situations: &p.situations,
                notice_workdays: p.notice_workdays,
                fast_track: p.fast_track,
            },
        )
    })
    .await
}

/// One year's working-day schedule as loaded (404 if none).
pub async fn calendar_year(db: &Db, year: i32) -> Result<YearSchedule> {
    db.read(move |c| calendar::year(c, year)).await
}

/// Loads (or replaces) `year`'s holiday schedule, audited: it must be that year's and
/// consistent (holidays and make-up working days), and the caller's jurisdiction must
/// cover the whole install (every county's deadlines count these days).
pub async fn save_calendar(
    db: &Db,
    caller: &Caller,
    year: i32,
    s: YearSchedule,
) -> Result<YearSchedule> {
    caller.require(Permission::ManagePrograms)?;
    if s.year != year {
        return Err(Error::validation(
            "year",
            Code::Mismatch,
            Msg::fixed("年份与路径不一致。", "The year differs from the path's."),
        ));
    }
    Calendar::default().load(&s).map_err(|e| {
        let (field, zh, en) = match e {
            ScheduleError::WrongYear(d) => (
                if s.holidays.contains(&d) {
                    "holidays"
                } else {
                    "makeup_workdays"
                },
                format!("{d} 不在 {} 年内。", s.year),
                format!("{d} is not in {}.", s.year),
            ),
            ScheduleError::Contradiction(d) => (
                "makeup_workdays",
                format!("{d} 不能既是节假日又是调休上班日。"),
                format!("{d} cannot be both a holiday and a make-up working day."),
            ),
        };
        Error::validation(field, Code::Inconsistent, Msg::new(zh, en))
    })?;
    let (actor, path, scope, saved) = (
        caller.actor(),
        caller.region_path.clone(),
        caller.scope.clone(),
        s.clone(),
    );
    db.write(move |c| {
        regions::require_whole_install(c, &scope)?;
        calendar::save(c, &actor, &path, &saved)
    })
    .await?;
    Ok(s)
}

/// Whether the caller may change the data the whole install shares (the calendar, the
/// programs): what the two use cases above check, for a page deciding whether to offer a
/// form.
pub async fn may_change_install_wide(db: &Db, caller: &Caller) -> Result<bool> {
    if !caller.role.has(Permission::ManagePrograms) {
        return Ok(false);
    }
    let scope = caller.scope.clone();
    db.read(move |c| Ok(regions::require_whole_install(c, &scope).is_ok()))
        .await
}

/// A page of applications at one stage, and how many stand at each stage asked about.
#[derive(Debug)]
pub struct Queue {
    pub rows: Vec<ApplicationRow>,
    pub counts: Vec<(Status, i64)>,
}

/// Applications at `status` in the caller's scope, narrowed to a region inside it (404
/// outside) and a program, the longest waiting first, keyset-paged after
/// `(updated_at, id)`; with the counts at each of `stages` under the same narrowing.
#[allow(clippy::too_many_arguments)]
pub async fn waiting(
    db: &Db,
    caller: &Caller,
    status: Status,
    region_id: Option<String>,
    program_id: Option<String>,
    stages: &[Status],
    after: Option<(chrono::NaiveDateTime, String)>,
    limit: i64,
) -> Result<Queue> {
    caller.require(Permission::ReadApplications)?;
    let (scope, stages) = (caller.scope.clone(), stages.to_vec());
    db.read(move |c| {
        let region_path = match region_id {
            Some(id) => Some(regions::find(c, Some(&scope), &id)?.path),
            None => None,
        };
        let n = applications::Narrow {
            region_path,
            program_id,
        };
        Ok(Queue {
            rows: applications::waiting(c, &scope, status, &n, after, limit)?,
            counts: applications::counts(c, &scope, &n, &stages)?,
        })
    })
    .await
}

/// One version of an application, and what it changed from the one before.
#[derive(Debug)]
pub struct Version {
    pub row: ApplicationRow,
    pub changes: Vec<String>,
}

/// The working days of an application's public notice (R-FILE-5).
#[derive(Debug, Clone, Copy)]
pub struct NoticeDates {
    pub posted_on: chrono::NaiveDate,
    /// The first working day after it was posted.
    pub starts_on: chrono::NaiveDate,
    /// Its last day; approval is possible from the next.
    pub ends_on: chrono::NaiveDate,
    pub workdays: i32,
    pub over: bool,
}

/// A material as the review page shows it: its file's media type once its applicant has
/// sent it, and whether a screen-sized copy exists.
#[derive(Debug)]
pub struct MaterialFile {
    pub material: Material,
    pub name: String,
    pub media_type: Option<String>,
    pub medium: bool,
}

/// Everything an officer needs to decide on an application beside the application itself.
#[derive(Debug)]
pub struct Dossier {
    pub program: Program,
    /// Every version, the first first.
    pub versions: Vec<Version>,
    /// The audit trail of every version, oldest first.
    pub trail: Vec<applications::TrailEntry>,
    pub notice: Option<NoticeDates>,
    /// What the completeness check (R-APP-3) finds in it today, while it is under review.
    pub findings: Vec<Deficiency>,
    pub files: Vec<MaterialFile>,
    /// The decisions the caller may take on it now.
    pub offered: Vec<Action>,
}

/// The dossier of an application inside the caller's scope (404 outside): its versions and
/// what each changed, its trail, its public notice's working days, what the rules find
/// missing, its materials' files, and the decisions the caller's level may take.
pub async fn dossier(db: &Db, key: &DataKey, caller: &Caller, id: &str) -> Result<Dossier> {
    caller.require(Permission::ReadApplications)?;
    let (scope, role, id, key) = (
        caller.scope.clone(),
        caller.role,
        id.to_owned(),
        key.clone(),
    );
    let reviews = role.has(Permission::ReviewApplications);
    db.read(move |c| {
        let rows = applications::versions(c, &scope, &id)?;
        let row = rows
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(Error::NotFound)?;
        let program = programs::find(c, &row.program_id)?;
        let name = |code: &str| {
            program
                .checklist
                .iter()
                .find(|i| i.code == code)
                .map_or_else(|| code.to_owned(), |i| i.name.clone())
        };
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let trail = applications::trail(c, &ids)?;
        let mut versions: Vec<Version> = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let changes = match i.checked_sub(1).and_then(|p| rows.get(p)) {
                Some(prev) => {
                    let (a, b) = (
                        applications::stored_form(prev)?,
                        applications::stored_form(r)?,
                    );
                    let (ma, mb) = (applications::materials(prev)?, applications::materials(r)?);
                    crate::applications::changes::between(
                        &crate::applications::changes::Content {
                            form: &a,
                            materials: &ma,
                        },
                        &crate::applications::changes::Content {
                            form: &b,
                            materials: &mb,
                        },
                        name,
                    )
                }
                None => Vec::new(),
            };
            versions.push(Version {
                row: r.clone(),
                changes,
            });
        }
        let status = row.status()?;
        let notice = match row
            .notice_ends_on
            .as_deref()
            .map(str::parse::<chrono::NaiveDate>)
        {
            Some(Ok(ends_on)) => {
                let posted = trail
                    .iter()
                    .rev()
                    .filter(|e| e.application_id == row.id)
                    .find(|e| e.changes["status"]["after"] == Status::InNotice.as_str())
                    .map(|e| crate::infra::clock::china_date(e.at));
                let cal = calendar::load(c)?;
                posted.map(|posted_on| NoticeDates {
                    posted_on,
                    starts_on: cal.add_workdays(posted_on, 1),
                    ends_on,
                    workdays: program.row.notice_workdays,
                    over: today() > ends_on,
                })
            }
            _ => None,
        };
        let findings = if matches!(
            status,
            Status::GrassrootsReview | Status::CountyReview | Status::InNotice
        ) {
            applications::deficiencies_of(c, &key, &program, &row, today())?.0
        } else {
            Vec::new()
        };
        let named: Vec<String> = applications::materials(&row)?
            .into_iter()
            .map(|m| m.sha256)
            .collect();
        let mut files = Vec::new();
        for m in applications::materials(&row)? {
            let reached = uploads::reach_file(
                c,
                Naming::Material {
                    applicant_id: &row.applicant_id,
                    region_path: &row.region_path,
                    named: &named,
                },
                &m.sha256.to_ascii_lowercase(),
            );
            let blob = match reached {
                Ok((b, _)) => Some(b),
                Err(Error::NotFound) => None,
                Err(e) => return Err(e),
            };
            files.push(MaterialFile {
                name: name(&m.code),
                media_type: blob.as_ref().map(|b| b.media_type.clone()),
                medium: blob.as_ref().is_some_and(|b| b.derivatives == "ready"),
                material: m,
            });
        }
        let offered = if reviews {
            crate::applications::rules::offered(status, role, program.row.fast_track)
        } else {
            Vec::new()
        };
        Ok(Dossier {
            program,
            versions,
            trail,
            notice,
            findings,
            files,
            offered,
        })
    })
    .await
}
