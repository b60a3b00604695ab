//! Applications in every stage: applicants sign in (as WeChat named them), upload their
//! materials, draft and submit; the village or township and the county review, the
//! notice runs, the county approves (a case file opens) or rejects; one is returned for
//! correction and one came back as its corrected version; one's notice is over, waiting
//! for the county's approval. Each step at its own day.

use bangfu_sync::Code;
use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand::rngs::StdRng;

use crate::applications::queries::{FormInput, Material};
use crate::applications::rules::{Action, Deficiency};
use crate::applications::service::{self as applications, DraftInput, Verdict};
use crate::auth::applicant::{Applicant, Channel, WechatIdentity};
use crate::demo::phones::db_at;
use crate::demo::registry::member;
use crate::demo::tables::VILLAGES;
use crate::demo::{people, phones, pictures, staff};
use crate::domain::caller::Caller;
use crate::households::rules::{ItemCategory, ItemInput, Relation};
use crate::infra::error::{Error, Result};
use crate::infra::idempotency::{Made, Once};
use crate::photos::uploads::uploading::Uploader;
use crate::state::AppState;

/// How far along the entry process an application got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Draft,
    Grassroots,
    County,
    Notice,
    Approved,
    Returned,
    Revised,
    Rejected,
}

/// (stage, village index, program, days ago it was started)
const PLAN: &[(Stage, usize, &str, i64)] = &[
    (Stage::Draft, 0, "worker_hardship", 2),
    (Stage::Grassroots, 0, "worker_hardship", 4),
    (Stage::Grassroots, 2, "accidental_aid", 3),
    (Stage::County, 0, "worker_hardship", 12),
    (Stage::County, 2, "worker_hardship", 14),
    (Stage::Notice, 1, "worker_hardship", 9),
    (Stage::Approved, 0, "worker_hardship", 120),
    (Stage::Approved, 1, "worker_hardship", 95),
    (Stage::Approved, 2, "worker_hardship", 110),
    (Stage::Approved, 3, "accidental_aid", 70),
    (Stage::Returned, 0, "accidental_aid", 9),
    (Stage::Revised, 2, "accidental_aid", 22),
    (Stage::Rejected, 3, "worker_hardship", 40),
    // Its notice ran out weeks ago: the county's approval is due (and overdue).
    (Stage::Notice, 0, "worker_hardship", 30),
];

/// What was filed: the applications, and the case files the approved ones opened.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applications: usize,
    /// Case files opened, with when.
    pub files: Vec<(String, NaiveDateTime)>,
}

/// Files every planned application, each by an applicant of its own.
pub async fn run(
    state: &AppState,
    rng: &mut StdRng,
    village_ids: &[String],
    now: NaiveDateTime,
) -> Result<Outcome> {
    let mut filed = Outcome::default();
    for (n, (stage, village, program, days)) in PLAN.iter().enumerate() {
        let started = now - Duration::days(*days);
        let day = |d: i64| started + Duration::days(d) + Duration::hours(2);
        let who = sign_in(state, n, started).await?;
        let program = program_of(state, program).await?;
        let mut draft = form(rng, &program, &village_ids[*village], *village);
        draft.materials = materials(state, rng, &who, started, &program).await?;
        let db = db_at(state, started);
        let Made::New(row) =
            applications::start(&db, &state.data_key, &who, draft, Once::none()).await?
        else {
            return Err(Error::internal("a draft without a key was replayed"));
        };
        filed.applications += 1;
        if *stage == Stage::Draft {
            continue;
        }
        let id = row.id;
        applications::submit(&db_at(state, day(0)), &state.data_key, &who, &id).await?;
        let v = &VILLAGES[*village];
        let grassroots = staff::caller(&state.db, v.reviewer.unwrap_or(v.officer), None).await?;
        let county = staff::caller(&state.db, "county_officer", None).await?;
        match stage {
            Stage::Draft | Stage::Grassroots => {}
            Stage::Returned | Stage::Revised => {
                decide(state, day(3), &grassroots, Action::Return, &id).await?;
                if *stage == Stage::Revised {
                    let v2 = applications::revise(&db_at(state, day(8)), &who, &id).await?;
                    applications::submit(&db_at(state, day(9)), &state.data_key, &who, &v2.id)
                        .await?;
                    filed.applications += 1;
                }
            }
            _ => {
                let fast = program.row.fast_track;
                decide(state, day(3), &grassroots, Action::Pass, &id).await?;
                if *stage == Stage::County {
                    continue;
                }
                if !fast {
                    let action = if *stage == Stage::Rejected {
                        Action::Reject
                    } else {
                        Action::Pass
                    };
                    decide(state, day(6), &county, action, &id).await?;
                }
                if *stage == Stage::Approved {
                    let (_, file) = decide(state, day(20), &county, Action::Approve, &id).await?;
                    if let Some((file_id, _)) = file {
                        filed.files.push((file_id, day(20)));
                    }
                }
            }
        }
    }
    Ok(filed)
}

/// An officer's decision on application `id`, given at `at`.
async fn decide(
    state: &AppState,
    at: NaiveDateTime,
    by: &Caller,
    action: Action,
    id: &str,
) -> Result<applications::Filed> {
    applications::decide(&db_at(state, at), &state.data_key, by, id, verdict(action)).await
}

fn verdict(action: Action) -> Verdict {
    let (reason, deficiencies, correction_workdays, category) = match action {
        Action::Reject => (
            Some("经入户核查，家庭人均收入高于当地低保标准。".to_owned()),
            Vec::new(),
            None,
            None,
        ),
        Action::Return => (
            None,
            vec![Deficiency {
                field: "materials.accident_proof".to_owned(),
                code: Code::Unreadable,
                message: "事故证明照片模糊，请重新拍摄上传。".to_owned(),
            }],
            Some(10),
            None,
        ),
        Action::Approve => (None, Vec::new(), None, Some("relative".to_owned())),
        Action::Pass => (None, Vec::new(), None, None),
    };
    Verdict {
        action,
        reason,
        deficiencies,
        correction_workdays,
        category,
        seen_version: None,
    }
}

/// The applicant of application `n`, as WeChat names them on first sign-in.
async fn sign_in(state: &AppState, n: usize, at: NaiveDateTime) -> Result<Applicant> {
    let token = applications::sign_in(
        &db_at(state, at),
        &state.keys,
        &state.auth,
        Channel::MiniProgram,
        WechatIdentity {
            openid: format!("demo-openid-{n:03}"),
            unionid: None,
        },
    )
    .await?;
    Ok(Applicant {
        id: token.applicant_id,
        request_id: None,
    })
}

async fn program_of(
    state: &AppState,
    code: &str,
) -> Result<crate::applications::programs::Program> {
    let code = code.to_owned();
    state
        .db
        .read(move |c| crate::applications::programs::find_by_code(c, &code))
        .await?
        .ok_or(Error::NotFound)
}

/// The form of a household applying, with the situations that need the most materials.
fn form(
    rng: &mut StdRng,
    program: &crate::applications::programs::Program,
    village_id: &str,
    village: usize,
) -> DraftInput {
    let female = rng.random_bool(0.5);
    let mut head = member(rng, Relation::Head, female, (30, 70), None);
    head.phone = Some(people::phone(rng));
    let mut members = vec![head];
    if rng.random_bool(0.6) {
        members.push(member(rng, Relation::Spouse, !female, (30, 70), None));
    }
    let year = chrono::Datelike::year(&crate::infra::clock::today());
    DraftInput {
        program_id: program.row.id.clone(),
        region_id: village_id.to_owned(),
        form: FormInput {
            address: people::address(rng, VILLAGES[village].name),
            phone: members[0].phone.clone(),
            members,
            items: vec![
                ItemInput {
                    category: ItemCategory::Farming,
                    amount_fen: rng.random_range(2_000..6_000) * 100,
                    year,
                    note: None,
                },
                ItemInput {
                    category: ItemCategory::Illness,
                    amount_fen: rng.random_range(8_000..30_000) * 100,
                    year,
                    note: Some("住院自付部分".to_owned()),
                },
            ],
            situations: program.situations.first().cloned().into_iter().collect(),
        },
        materials: Vec::new(),
    }
}

/// Uploads a photo of each paper the program asks for, as the applicant, and names them.
async fn materials(
    state: &AppState,
    rng: &mut StdRng,
    who: &Applicant,
    at: NaiveDateTime,
    program: &crate::applications::programs::Program,
) -> Result<Vec<Material>> {
    let mut out = Vec::new();
    let uploader = Uploader {
        user_id: crate::photos::uploads::queries::applicant_holder(&who.id),
        device_id: None,
        region_path: String::new(),
        actor: who.actor(),
    };
    let situation = program.situations.first();
    for item in &program.checklist {
        if item.required_when.is_some() && item.required_when.as_ref() != situation {
            continue;
        }
        let name = format!("{}.jpg", item.code);
        let bytes = pictures::jpeg(rng.random(), 70)?;
        let sha = phones::send(state, &uploader, at, bytes, Some(name.clone())).await?;
        out.push(Material {
            code: item.code.clone(),
            sha256: sha,
            file_name: Some(name),
        });
    }
    Ok(out)
}
