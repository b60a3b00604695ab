//! Applications: drafts, the one-time submission, decisions along the entry process, and
//! corrected versions. Resident ID numbers in a form are sealed like the registry's.

use bangfu_sync::Code;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::applications::programs::Program;
use crate::applications::rules::{Action, Deficiency, HANDOVER_WORKDAYS, Refusal, Status};
use crate::applications::{programs, rules};
use crate::audit::log as audit;
use crate::audit::log::{Action as AuditAction, Actor, Event};
use crate::domain::access::Scope;
use crate::domain::calendar::Calendar;
use crate::domain::region::RegionLevel;
use crate::domain::resident_id;
use crate::domain::role::Role;
use crate::domain::validate::{Checks, valid_phone};
use crate::households::queries::NewHousehold;
use crate::households::rules as household;
use crate::households::rules::{CheckedMember, Gender, ItemInput, MemberInput, Relation};
use crate::infra::clock::now;
use crate::infra::db::schema::{applications, case_file_members, case_files, household_members};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::regions::queries as regions;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: String,
    pub applicant_id: String,
    pub program_id: String,
    pub region_id: String,
    pub region_path: String,
    pub status: String,
    pub open_key: Option<String>,
    pub revision: i32,
    pub previous_id: Option<String>,
    pub form: String,
    pub materials: String,
    pub deficiencies: String,
    pub decision_reason: Option<String>,
    pub step_due_on: Option<String>,
    pub notice_ends_on: Option<String>,
    pub correction_due_on: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl ApplicationRow {
    pub fn status(&self) -> Result<Status> {
        Status::parse(&self.status)
            .ok_or_else(|| Error::Internal(format!("unknown status {:?}", self.status)))
    }
}

/// A form as the applicant fills it in.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    pub address: String,
    pub phone: Option<String>,
    #[serde(default)]
    pub members: Vec<MemberInput>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    /// Situations of the program that apply (e.g. `illness`): they decide which materials
    /// are required.
    #[serde(default)]
    pub situations: Vec<String>,
}

/// One attached document: an uploaded file named by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// The checklist item it satisfies.
    pub code: String,
    pub sha256: String,
    pub file_name: Option<String>,
}

/// A member as stored: the ID number sealed, hashed for lookup and masked for display.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StoredMember {
    pub name: String,
    pub relation: Relation,
    pub id_sealed: String,
    pub id_hash: String,
    pub id_masked: String,
    pub birth_date: NaiveDate,
    pub gender: Gender,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StoredForm {
    pub address: String,
    pub phone: Option<String>,
    pub members: Vec<StoredMember>,
    pub items: Vec<ItemInput>,
    pub situations: Vec<String>,
}

fn seal_form(key: &DataKey, f: &FormInput) -> Result<String> {
    let members = f
        .members
        .iter()
        .map(|m| {
            let number = m.id_number.trim().to_ascii_uppercase();
            Ok(StoredMember {
                name: m.name.clone(),
                relation: m.relation,
                id_sealed: key.seal(&number)?,
                id_hash: key.lookup_hash(&number),
                id_masked: resident_id::mask(&number),
                birth_date: m.birth_date,
                gender: m.gender,
                phone: m.phone.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    serde_json::to_string(&StoredForm {
        address: f.address.clone(),
        phone: f.phone.clone(),
        members,
        items: f.items.clone(),
        situations: f.situations.clone(),
    })
    .map_err(Error::internal)
}

pub fn stored_form(row: &ApplicationRow) -> Result<StoredForm> {
    serde_json::from_str(&row.form).map_err(Error::internal)
}

pub fn materials(row: &ApplicationRow) -> Result<Vec<Material>> {
    serde_json::from_str(&row.materials).map_err(Error::internal)
}

pub fn deficiencies(row: &ApplicationRow) -> Result<Vec<Deficiency>> {
    serde_json::from_str(&row.deficiencies).map_err(Error::internal)
}

/// The form with its ID numbers opened, to check it again.
fn open_form(key: &DataKey, row: &ApplicationRow) -> Result<FormInput> {
    let f = stored_form(row)?;
    Ok(FormInput {
        members: f
            .members
            .iter()
            .map(|m| {
                Ok(MemberInput {
                    name: m.name.clone(),
                    relation: m.relation,
                    id_number: key.open(&m.id_sealed)?,
                    birth_date: m.birth_date,
                    gender: m.gender,
                    phone: m.phone.clone(),
                })
            })
            .collect::<Result<_>>()?,
        address: f.address,
        phone: f.phone,
        items: f.items,
        situations: f.situations,
    })
}

fn open_key(applicant_id: &str, program_id: &str) -> String {
    format!("{applicant_id}/{program_id}")
}

fn audit_event(
    conn: &mut DbConn,
    actor: &Actor,
    action: AuditAction,
    row: &ApplicationRow,
    changes: Value,
    reason: Option<&str>,
) -> Result<()> {
    audit::record(
        conn,
        actor,
        Event {
            action,
            entity: "application",
            entity_id: &row.id,
            region_path: &row.region_path,
            changes,
            reason,
        },
    )
}

/// What a draft says: the program, the village, the form, the materials.
pub struct Draft<'a> {
    pub program_id: &'a str,
    pub region_id: &'a str,
    pub form: &'a FormInput,
    pub materials: &'a [Material],
}

fn village(conn: &mut DbConn, region_id: &str) -> Result<regions::RegionRow> {
    let bad = || {
        Error::validation(
            "region_id",
            Code::NotAVillage,
            Msg::fixed(
                "请选择户籍所在的村（社区）。",
                "Choose the village (or community) the household lives in.",
            ),
        )
    };
    let r = regions::find(conn, None, region_id).map_err(|e| match e {
        Error::NotFound => bad(),
        other => other,
    })?;
    if r.level()? != RegionLevel::Village {
        return Err(bad());
    }
    Ok(r)
}

fn active_program(conn: &mut DbConn, id: &str) -> Result<Program> {
    match programs::find(conn, id) {
        Ok(p) if p.row.active => Ok(p),
        Ok(_) | Err(Error::NotFound) => Err(Error::validation(
            "program_id",
            Code::NotFound,
            Msg::fixed("没有这个救助项目。", "There is no such program."),
        )),
        Err(e) => Err(e),
    }
}

/// The applicant's open application for the program, if any.
fn open_one(conn: &mut DbConn, applicant_id: &str, program_id: &str) -> Result<Option<String>> {
    Ok(applications::table
        .filter(applications::open_key.eq(open_key(applicant_id, program_id)))
        .select(applications::id)
        .first(conn)
        .optional()?)
}

fn already_open(existing: Option<&str>) -> Error {
    Error::Conflict {
        code: Code::ApplicationAlreadyOpen,
        detail: match existing {
            Some(id) => Msg::new(
                format!("您在该项目已有一份办理中的申请（{id}），请继续办理该申请。"),
                format!(
                    "You already have an application in progress for this program ({id}); continue with it."
                ),
            ),
            None => Msg::fixed(
                "您在该项目已有一份办理中的申请。",
                "You already have an application in progress for this program.",
            ),
        },
    }
}

/// Starts a draft: one open application per applicant and program (R-APP-2).
pub fn create_draft(
    conn: &mut DbConn,
    actor: &Actor,
    applicant_id: &str,
    key: &DataKey,
    d: Draft<'_>,
) -> Result<ApplicationRow> {
    let program = active_program(conn, d.program_id)?;
    let region = village(conn, d.region_id)?;
    if let Some(id) = open_one(conn, applicant_id, &program.row.id)? {
        return Err(already_open(Some(&id)));
    }
    let t = now();
    let row = ApplicationRow {
        id: new_id(),
        applicant_id: applicant_id.to_owned(),
        open_key: Some(open_key(applicant_id, &program.row.id)),
        program_id: program.row.id,
        region_id: region.id,
        region_path: region.path,
        status: Status::Draft.as_str().into(),
        revision: 1,
        previous_id: None,
        form: seal_form(key, d.form)?,
        materials: serde_json::to_string(d.materials).map_err(Error::internal)?,
        deficiencies: "[]".into(),
        decision_reason: None,
        step_due_on: None,
        notice_ends_on: None,
        correction_due_on: None,
        submitted_at: None,
        created_at: t,
        updated_at: t,
        version: 1,
    };
    // Two drafts racing: the unique open key lets one through.
    diesel::insert_into(applications::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict { .. } => already_open(None),
            other => other,
        })?;
    audit_event(
        conn,
        actor,
        AuditAction::Create,
        &row,
        json!({"status": {"after": "draft"}, "program_id": {"after": row.program_id}}),
        None,
    )?;
    Ok(row)
}

fn own(conn: &mut DbConn, applicant_id: &str, id: &str) -> Result<ApplicationRow> {
    Ok(applications::table
        .find(id)
        .filter(applications::applicant_id.eq(applicant_id))
        .select(ApplicationRow::as_select())
        .first(conn)?)
}

pub fn find_own(conn: &mut DbConn, applicant_id: &str, id: &str) -> Result<ApplicationRow> {
    own(conn, applicant_id, id)
}

pub fn find_in_scope(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<ApplicationRow> {
    let row: ApplicationRow = applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)?;
    if scope.contains(&row.region_path) {
        Ok(row)
    } else {
        Err(Error::NotFound)
    }
}

/// Whose applications a list shows.
pub enum Reader<'a> {
    Applicant(&'a str),
    Staff(&'a Scope),
}

/// A page of applications in id order. The page's ids are found first, from the
/// `applications_order` index alone (id with region and status): walking it in order stops
/// after the page, so a township's page costs the same however many applications the
/// install holds, where reading the region's applications to sort them would not. The rows
/// are then read by id.
pub fn list(
    conn: &mut DbConn,
    reader: Reader<'_>,
    status: Option<Status>,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let mut page = applications::table
        .select(applications::id)
        .order(applications::id.asc())
        .limit(limit)
        .into_boxed();
    page = match reader {
        Reader::Applicant(a) => page.filter(applications::applicant_id.eq(a.to_owned())),
        Reader::Staff(scope) => page.filter(path_in_scope(applications::region_path, scope)),
    };
    if let Some(s) = status {
        page = page.filter(applications::status.eq(s.as_str()));
    }
    if let Some(a) = after_id {
        page = page.filter(applications::id.gt(a));
    }
    let ids: Vec<String> = page.load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(applications::table
        .filter(applications::id.eq_any(&ids))
        .select(ApplicationRow::as_select())
        .order(applications::id.asc())
        .load(conn)?)
}

fn not_editable(status: Status) -> Error {
    Error::Conflict {
        code: Code::ApplicationNotEditable,
        detail: Msg::new(
            format!("申请当前状态为 {}，不能修改。", status.as_str()),
            format!(
                "The application is {}; it can no longer be changed.",
                status.as_str()
            ),
        ),
    }
}

/// Replaces a draft's content.
pub fn update_draft(
    conn: &mut DbConn,
    actor: &Actor,
    applicant_id: &str,
    id: &str,
    key: &DataKey,
    d: Draft<'_>,
) -> Result<ApplicationRow> {
    let before = own(conn, applicant_id, id)?;
    let status = before.status()?;
    if status != Status::Draft {
        return Err(not_editable(status));
    }
    if d.program_id != before.program_id {
        return Err(Error::validation(
            "program_id",
            Code::Immutable,
            Msg::fixed(
                "申请的项目不能更改，请另行申请。",
                "An application's program cannot change; apply separately.",
            ),
        ));
    }
    let region = village(conn, d.region_id)?;
    let form = seal_form(key, d.form)?;
    let materials = serde_json::to_string(d.materials).map_err(Error::internal)?;
    diesel::update(applications::table.find(id))
        .set((
            applications::region_id.eq(&region.id),
            applications::region_path.eq(&region.path),
            applications::form.eq(&form),
            applications::materials.eq(&materials),
            applications::updated_at.eq(now()),
            applications::version.eq(applications::version + 1),
        ))
        .execute(conn)?;
    let after = own(conn, applicant_id, id)?;
    audit_event(
        conn,
        actor,
        AuditAction::Update,
        &after,
        json!({"form": {"changed": true}, "materials": {"changed": true}}),
        None,
    )?;
    Ok(after)
}

fn def(field: &str, code: Code, message: &str) -> Deficiency {
    Deficiency {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// Everything wrong with an application, at once (R-APP-3): the form, the materials for
/// the stated situations, and members who already hold an active file of the program.
pub fn deficiencies_of(
    conn: &mut DbConn,
    key: &DataKey,
    program: &Program,
    row: &ApplicationRow,
    today: NaiveDate,
) -> Result<(Vec<Deficiency>, Vec<CheckedMember>)> {
    let form = open_form(key, row)?;
    let mut c = Checks::default();
    c.text("form.address", &form.address, 2, 200);
    c.rule(
        form.phone.as_deref().is_some_and(valid_phone),
        "form.phone",
        Code::Required,
        Msg::fixed(
            "请填写 11 位手机号，便于联系。",
            "Give an 11-digit mobile number to be reached at.",
        ),
    );
    let checked = household::check(&mut c, &form.members, &form.items, today);
    let mut out: Vec<Deficiency> = c
        .errors
        .iter()
        .map(|e: &FieldError| {
            let field = if e.field.starts_with("form.") {
                e.field.clone()
            } else {
                format!("form.{}", e.field)
            };
            def(&field, e.code, &e.message.zh)
        })
        .collect();
    for (i, s) in form.situations.iter().enumerate() {
        if !program.situations.contains(s) {
            out.push(def(
                &format!("form.situations[{i}]"),
                Code::UnknownSituation,
                "该项目没有这种情形。",
            ));
        }
    }
    let attached: Vec<String> = materials(row)?.into_iter().map(|m| m.code).collect();
    for (i, m) in materials(row)?.iter().enumerate() {
        if !program.checklist.iter().any(|item| item.code == m.code) {
            out.push(def(
                &format!("materials[{i}].code"),
                Code::NotOnChecklist,
                "清单中没有这项材料。",
            ));
        }
        if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push(def(
                &format!("materials[{i}].sha256"),
                Code::InvalidFormat,
                "材料须先上传，以其 SHA-256 引用。",
            ));
            continue;
        }
        // The file must have arrived whole from this applicant, and be of a kind the
        // checklist item accepts (checked from its bytes at upload).
        let sha = m.sha256.to_ascii_lowercase();
        let blob = crate::photos::uploads::queries::find_blob(conn, &sha)?;
        let held = crate::photos::uploads::queries::holds(
            conn,
            &sha,
            &crate::photos::uploads::queries::applicant_holder(&row.applicant_id),
        )?;
        match blob {
            Some(b) if held => {
                let kind = if b.kind == "document" { "pdf" } else { "image" };
                let accepts = program
                    .checklist
                    .iter()
                    .find(|item| item.code == m.code)
                    .is_none_or(|item| item.accepts.iter().any(|a| a == kind));
                if !accepts {
                    out.push(def(
                        &format!("materials[{i}].sha256"),
                        Code::MaterialWrongType,
                        "该项材料不接受这种文件类型。",
                    ));
                }
            }
            _ => out.push(def(
                &format!("materials[{i}].sha256"),
                Code::MaterialNotUploaded,
                "材料文件尚未完整上传。",
            )),
        }
    }
    out.extend(rules::missing_materials(
        &program.checklist,
        &form.situations,
        &attached,
    ));
    let hashes: Vec<String> = checked
        .iter()
        .map(|m| key.lookup_hash(&m.id_number))
        .collect();
    let keys: Vec<String> = hashes
        .iter()
        .map(|h| format!("{}/{h}", program.row.id))
        .collect();
    let filed: Vec<String> = case_file_members::table
        .filter(case_file_members::active_key.eq_any(&keys))
        .select(case_file_members::id_hash)
        .load(conn)?;
    for (i, h) in hashes.iter().enumerate() {
        if filed.contains(h) {
            out.push(def(
                &format!("form.members[{i}].id_number"),
                Code::AlreadyFiled,
                "此人已在该项目的有效档案中（一人一项目只建一档）。",
            ));
        }
    }
    Ok((out, checked))
}

fn as_problem(list: &[Deficiency]) -> Error {
    Error::Validation(
        list.iter()
            .map(|d| {
                FieldError::new(
                    d.field.clone(),
                    d.code,
                    Msg::new(d.message.clone(), d.message.clone()),
                )
            })
            .collect(),
    )
}

/// Submits a draft once: complete and consistent, or every deficiency in one answer. A
/// repeat of a submission already made answers with the application as it stands.
pub fn submit(
    conn: &mut DbConn,
    actor: &Actor,
    applicant_id: &str,
    id: &str,
    key: &DataKey,
    cal: &Calendar,
    today: NaiveDate,
) -> Result<ApplicationRow> {
    let row = own(conn, applicant_id, id)?;
    match row.status()? {
        Status::Draft => {}
        s if s.is_open() && s != Status::Returned => return Ok(row),
        s => return Err(not_editable(s)),
    }
    let program = programs::find(conn, &row.program_id)?;
    let (found, _) = deficiencies_of(conn, key, &program, &row, today)?;
    if !found.is_empty() {
        return Err(as_problem(&found));
    }
    let due = cal.add_workdays(today, HANDOVER_WORKDAYS);
    // Only a draft moves: of concurrent submits, one changes the row, the rest see it done.
    let changed = diesel::update(
        applications::table
            .find(id)
            .filter(applications::status.eq(Status::Draft.as_str())),
    )
    .set((
        applications::status.eq(Status::GrassrootsReview.as_str()),
        applications::submitted_at.eq(now()),
        applications::step_due_on.eq(due.to_string()),
        applications::updated_at.eq(now()),
        applications::version.eq(applications::version + 1),
    ))
    .execute(conn)?;
    let after = own(conn, applicant_id, id)?;
    if changed == 1 {
        audit_event(
            conn,
            actor,
            AuditAction::Update,
            &after,
            json!({"status": {"before": "draft", "after": after.status}}),
            None,
        )?;
    }
    Ok(after)
}

/// Starts a corrected version of a returned application, linked to it; the returned one
/// is superseded and the open slot passes to the new version.
pub fn revise(
    conn: &mut DbConn,
    actor: &Actor,
    applicant_id: &str,
    id: &str,
) -> Result<ApplicationRow> {
    let old = own(conn, applicant_id, id)?;
    let status = old.status()?;
    if status != Status::Returned {
        return Err(not_editable(status));
    }
    diesel::update(applications::table.find(id))
        .set((
            applications::status.eq(Status::Superseded.as_str()),
            applications::open_key.eq(None::<String>),
            applications::updated_at.eq(now()),
            applications::version.eq(applications::version + 1),
        ))
        .execute(conn)?;
    let t = now();
    let row = ApplicationRow {
        id: new_id(),
        status: Status::Draft.as_str().into(),
        revision: old.revision + 1,
        previous_id: Some(old.id.clone()),
        deficiencies: old.deficiencies.clone(),
        correction_due_on: old.correction_due_on.clone(),
        decision_reason: None,
        step_due_on: None,
        notice_ends_on: None,
        submitted_at: None,
        created_at: t,
        updated_at: t,
        version: 1,
        ..old.clone()
    };
    diesel::insert_into(applications::table)
        .values(&row)
        .execute(conn)?;
    audit_event(
        conn,
        actor,
        AuditAction::Create,
        &row,
        json!({"status": {"after": "draft"}, "previous_id": {"after": old.id}}),
        None,
    )?;
    Ok(row)
}

/// An officer's decision on an application.
pub struct Decision<'a> {
    pub action: Action,
    pub reason: Option<&'a str>,
    pub deficiencies: &'a [Deficiency],
    /// Working days the applicant has to correct (default 10).
    pub correction_workdays: Option<u32>,
    /// The file's category on approval; by default the program's.
    pub category: Option<&'a str>,
    /// The version the decider saw: another one is a stale page (412).
    pub seen_version: Option<i64>,
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::IllegalMove { from, action } => Error::Conflict {
            code: Code::IllegalTransition,
            detail: Msg::new(
                format!("申请处于 {} 状态，不能执行 {:?}。", from.as_str(), action),
                format!(
                    "An application that is {} cannot take {:?}.",
                    from.as_str(),
                    action
                ),
            ),
        },
        Refusal::NotYourStep => Error::Forbidden {
            code: Code::NotYourStep,
            detail: Msg::fixed(
                "这一步不由您所在的层级办理。",
                "This step belongs to another level.",
            ),
        },
        Refusal::NoticeNotOver { ends_on } => Error::Conflict {
            code: Code::NoticeNotOver,
            detail: Msg::new(
                format!("公示期至 {ends_on} 结束，期满后方可审批。"),
                format!("The public notice runs until {ends_on}; approve after it."),
            ),
        },
    }
}

/// Applies a decision: a checked move of the state machine, audited. Approval opens the
/// case file (R-FILE-1/2) against the household of the registry.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    role: Role,
    scope: &Scope,
    id: &str,
    key: &DataKey,
    cal: &Calendar,
    today: NaiveDate,
    d: Decision<'_>,
) -> Result<ApplicationRow> {
    let row = find_in_scope(conn, scope, id)?;
    if d.seen_version.is_some_and(|v| v != row.version) {
        return Err(Error::PreconditionFailed);
    }
    let program = programs::find(conn, &row.program_id)?;
    let from = row.status()?;
    let notice_end = row
        .notice_ends_on
        .as_deref()
        .and_then(|s| s.parse::<NaiveDate>().ok());
    let to = rules::transition(
        from,
        d.action,
        role,
        program.row.fast_track,
        today,
        notice_end,
    )
    .map_err(refusal)?;
    let mut c = Checks::default();
    match d.action {
        Action::Return => c.rule(
            !d.deficiencies.is_empty(),
            "deficiencies",
            Code::Required,
            Msg::fixed(
                "退回补正须列出全部问题，每项指明字段或材料。",
                "A return lists every deficiency, each naming its field or material.",
            ),
        ),
        Action::Reject => c.rule(
            d.reason.is_some_and(|r| r.trim().chars().count() >= 4),
            "reason",
            Code::Required,
            Msg::fixed("不予批准须说明理由。", "A rejection states its reason."),
        ),
        _ => {}
    }
    for (i, def) in d.deficiencies.iter().enumerate() {
        c.rule(
            !def.field.trim().is_empty(),
            &format!("deficiencies[{i}].field"),
            Code::Required,
            Msg::fixed(
                "每项问题须指明字段或材料。",
                "Each deficiency names its field or material.",
            ),
        );
        c.rule(
            (2..=500).contains(&def.message.trim().chars().count()),
            &format!("deficiencies[{i}].message"),
            Code::Required,
            Msg::fixed(
                "每项问题须写明要补正什么（2 到 500 字）。",
                "Each deficiency says what to correct (2 to 500 characters).",
            ),
        );
        c.rule(
            def.code != Code::Unknown,
            &format!("deficiencies[{i}].code"),
            Code::InvalidValue,
            Msg::fixed(
                "问题代码须取自错误代码表（如 unreadable、inconsistent、expired、incomplete、material_missing）。",
                "A deficiency's code is one of the error codes (unreadable, inconsistent, expired, incomplete, material_missing, …).",
            ),
        );
    }
    c.finish()?;

    let t = now();
    let mut step_due: Option<String> = None;
    let mut notice: Option<String> = row.notice_ends_on.clone();
    let mut correction: Option<String> = row.correction_due_on.clone();
    let mut open = row.open_key.clone();
    let mut defs = row.deficiencies.clone();
    match to {
        Status::CountyReview => {
            step_due = Some(cal.add_workdays(today, HANDOVER_WORKDAYS).to_string());
        }
        Status::InNotice => {
            let ends = rules::notice_ends_on(cal, today, program.row.notice_workdays as u32);
            notice = Some(ends.to_string());
            step_due = notice.clone();
        }
        Status::Returned => {
            let days = d.correction_workdays.unwrap_or(10).clamp(1, 30);
            correction = Some(cal.add_workdays(today, days).to_string());
            defs = serde_json::to_string(d.deficiencies).map_err(Error::internal)?;
        }
        Status::Rejected | Status::Approved => open = None,
        _ => {}
    }
    if to == Status::Approved {
        open_file(conn, actor, scope, key, &program, &row, d.category, today)?;
    }
    // The version guard makes two officers deciding at once settle on one decision.
    let changed = diesel::update(
        applications::table
            .find(id)
            .filter(applications::version.eq(row.version)),
    )
    .set((
        applications::status.eq(to.as_str()),
        applications::open_key.eq(open),
        applications::step_due_on.eq(step_due),
        applications::notice_ends_on.eq(notice),
        applications::correction_due_on.eq(correction),
        applications::deficiencies.eq(defs),
        applications::decision_reason.eq(d.reason.map(str::to_owned)),
        applications::updated_at.eq(t),
        applications::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Err(Error::PreconditionFailed);
    }
    let after = find_in_scope(conn, scope, id)?;
    audit_event(
        conn,
        actor,
        AuditAction::Update,
        &after,
        json!({"status": {"before": from.as_str(), "after": to.as_str()}}),
        d.reason,
    )?;
    Ok(after)
}

/// Opens the case file of an approved application: the household comes from the registry
/// (by the head's ID number) or is registered from the form; every member is entered once
/// per program, which the database enforces.
#[allow(clippy::too_many_arguments)]
fn open_file(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    key: &DataKey,
    program: &Program,
    row: &ApplicationRow,
    category: Option<&str>,
    today: NaiveDate,
) -> Result<String> {
    let category = match (category, program.row.category.as_str()) {
        (Some(c), _) | (None, c) if matches!(c, "deep" | "relative" | "accidental") => c,
        _ => {
            return Err(Error::validation(
                "category",
                Code::Required,
                Msg::fixed(
                    "请注明建档类别：deep、relative 或 accidental。",
                    "State the file's category: deep, relative or accidental.",
                ),
            ));
        }
    };
    let (found, checked) = deficiencies_of(conn, key, program, row, today)?;
    if let Some(d) = found.iter().find(|d| d.code == Code::AlreadyFiled) {
        return Err(Error::Conflict {
            code: Code::AlreadyFiled,
            detail: Msg::new(
                format!("{}：{}", d.field, d.message),
                format!("{}: already in an active file of this program", d.field),
            ),
        });
    }
    let head_hash = checked
        .iter()
        .find(|m| m.input.relation == Relation::Head)
        .map(|m| key.lookup_hash(&m.id_number))
        .unwrap_or_default();
    let registered: Option<String> = household_members::table
        .filter(household_members::id_hash.eq(&head_hash))
        .select(household_members::household_id)
        .first(conn)
        .optional()?;
    let household_id = match registered {
        Some(h) => h,
        None => {
            let form = stored_form(row)?;
            crate::households::service::register_in(
                conn,
                actor,
                scope,
                key,
                NewHousehold {
                    region_id: &row.region_id,
                    address: &form.address,
                    phone: form.phone.as_deref(),
                    members: &checked,
                    items: &form.items,
                    // Recorded by the village when it updates the household.
                    location: None,
                },
            )?
            .row
            .id
        }
    };
    let t = now();
    let file_id = new_id();
    diesel::insert_into(case_files::table)
        .values((
            case_files::id.eq(&file_id),
            case_files::application_id.eq(&row.id),
            case_files::program_id.eq(&program.row.id),
            case_files::household_id.eq(&household_id),
            case_files::region_path.eq(&row.region_path),
            case_files::category.eq(category),
            case_files::status.eq("active"),
            case_files::opened_on.eq(today.to_string()),
            case_files::created_at.eq(t),
            case_files::updated_at.eq(t),
            case_files::version.eq(1_i64),
        ))
        .execute(conn)?;
    let members: Vec<_> = checked
        .iter()
        .map(|m| {
            let h = key.lookup_hash(&m.id_number);
            (
                case_file_members::file_id.eq(file_id.clone()),
                case_file_members::active_key.eq(Some(format!("{}/{h}", program.row.id))),
                case_file_members::id_hash.eq(h),
            )
        })
        .collect();
    for m in members {
        diesel::insert_into(case_file_members::table)
            .values(m)
            .execute(conn)
            .map_err(|e| match Error::from(e) {
                Error::Conflict { .. } => Error::Conflict {
                    code: Code::AlreadyFiled,
                    detail: Msg::fixed(
                        "有成员已在该项目的有效档案中。",
                        "A member is already in an active file of this program.",
                    ),
                },
                other => other,
            })?;
    }
    audit::record(
        conn,
        actor,
        Event {
            action: AuditAction::Create,
            entity: "case_file",
            entity_id: &file_id,
            region_path: &row.region_path,
            changes: json!({"application_id": {"after": row.id}, "household_id": {"after": household_id},
                            "category": {"after": category}}),
            reason: None,
        },
    )?;
    Ok(file_id)
}

/// The case file opened for an application, if any.
pub fn file_of(conn: &mut DbConn, application_id: &str) -> Result<Option<(String, String)>> {
    Ok(case_files::table
        .filter(case_files::application_id.eq(application_id))
        .select((case_files::id, case_files::household_id))
        .first(conn)
        .optional()?)
}

/// What an officers' list of applications is narrowed to, besides its stage.
#[derive(Debug, Clone, Default)]
pub struct Narrow {
    /// The path of a region inside the caller's scope: its applications only.
    pub region_path: Option<String>,
    pub program_id: Option<String>,
}

fn narrowed<'a>(
    scope: &Scope,
    n: &Narrow,
) -> applications::BoxedQuery<'a, crate::infra::db::scoped::MultiBackend> {
    let mut q = applications::table
        .filter(path_in_scope(applications::region_path, scope))
        .into_boxed();
    if let Some(p) = &n.region_path {
        q = q.filter(path_in_scope(
            applications::region_path,
            &Scope::new(vec![p.clone()]),
        ));
    }
    if let Some(p) = &n.program_id {
        q = q.filter(applications::program_id.eq(p.clone()));
    }
    q
}

/// Applications in the scope at `status`, narrowed, the longest waiting first: by when
/// they last changed (entering their stage), keyset-paged after `(updated_at, id)`.
pub fn waiting(
    conn: &mut DbConn,
    scope: &Scope,
    status: Status,
    n: &Narrow,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let mut q = narrowed(scope, n)
        .filter(applications::status.eq(status.as_str()))
        .select(ApplicationRow::as_select())
        .order((applications::updated_at.asc(), applications::id.asc()))
        .limit(limit);
    if let Some((t, id)) = after {
        q = q.filter(
            applications::updated_at
                .gt(t)
                .or(applications::updated_at.eq(t).and(applications::id.gt(id))),
        );
    }
    Ok(q.load(conn)?)
}

/// How many applications in the scope, narrowed, stand at each of `statuses`.
pub fn counts(
    conn: &mut DbConn,
    scope: &Scope,
    n: &Narrow,
    statuses: &[Status],
) -> Result<Vec<(Status, i64)>> {
    statuses
        .iter()
        .map(|s| {
            let count: i64 = narrowed(scope, n)
                .filter(applications::status.eq(s.as_str()))
                .count()
                .get_result(conn)?;
            Ok((*s, count))
        })
        .collect()
}

/// Every version of the application `id` (inside the scope), the first first: the
/// versions it corrects and those correcting it.
pub fn versions(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<Vec<ApplicationRow>> {
    let this = find_in_scope(conn, scope, id)?;
    let mut out = vec![this];
    // Earlier versions, back to the first.
    while let Some(prev) = out.first().and_then(|r| r.previous_id.clone()) {
        match applications::table
            .find(&prev)
            .select(ApplicationRow::as_select())
            .first(conn)
            .optional()?
        {
            Some(r) if scope.contains(&r.region_path) => out.insert(0, r),
            _ => break,
        }
    }
    // Later versions, to the latest.
    while let Some(last) = out.last().map(|r| r.id.clone()) {
        match applications::table
            .filter(applications::previous_id.eq(&last))
            .select(ApplicationRow::as_select())
            .first(conn)
            .optional()?
        {
            Some(r) if scope.contains(&r.region_path) && out.len() < 100 => out.push(r),
            _ => break,
        }
    }
    Ok(out)
}

/// One entry of an application's trail: a change of any of its versions, and who made it.
#[derive(Debug, Clone)]
pub struct TrailEntry {
    pub application_id: String,
    pub at: NaiveDateTime,
    pub action: String,
    /// `applicant:<id>` for the applicant, else a user id.
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    /// The staff member's display name.
    pub actor_name: Option<String>,
    pub changes: Value,
    pub reason: Option<String>,
}

/// The audit trail of these applications, oldest first.
pub fn trail(conn: &mut DbConn, ids: &[String]) -> Result<Vec<TrailEntry>> {
    use crate::infra::db::schema::{audit_log, users};
    type Raw = (
        String,
        NaiveDateTime,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let rows: Vec<Raw> = audit_log::table
        .filter(audit_log::entity.eq("application"))
        .filter(audit_log::entity_id.eq_any(ids))
        .order((audit_log::at.asc(), audit_log::id.asc()))
        .select((
            audit_log::entity_id,
            audit_log::at,
            audit_log::action,
            audit_log::actor_id,
            audit_log::actor_role,
            audit_log::changes,
            audit_log::reason,
        ))
        .load(conn)?;
    let mut staff: Vec<String> = rows.iter().filter_map(|r| r.3.clone()).collect();
    staff.sort();
    staff.dedup();
    let names: Vec<(String, String)> = users::table
        .filter(users::id.eq_any(&staff))
        .select((users::id, users::display_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(application_id, at, action, actor_id, actor_role, changes, reason)| {
                let actor_name = actor_id
                    .as_ref()
                    .and_then(|a| names.iter().find(|(id, _)| id == a))
                    .map(|(_, n)| n.clone());
                TrailEntry {
                    application_id,
                    at,
                    action,
                    actor_id,
                    actor_role,
                    actor_name,
                    changes: serde_json::from_str(&changes).unwrap_or(Value::Null),
                    reason,
                }
            },
        )
        .collect())
}
