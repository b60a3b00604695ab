//! The household registry: `/v1/households` and the helpers assigned to each.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::caller::{Caller, Require, perm};
use crate::domain::validate::mask_phone;
use crate::households::queries::{Household, HouseholdChange};
use crate::households::rules::{ItemInput, MemberInput};
use crate::households::{duplicates, rules as household, service};
use crate::infra::error::{Error, Result};
use crate::infra::http::json::{ApiJson, Query};
use crate::infra::http::page::{Page, PageParams};
use crate::infra::http::unmask::UnmaskQuery;
use crate::infra::http::utc;
use crate::infra::http::versioning::{etag, if_match};
use crate::infra::idempotency::{Once, answer};
use crate::infra::sealing::DataKey;
use crate::photos::evidence_rules::Place;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub id: String,
    pub name: String,
    pub relation: household::Relation,
    /// Masked (`110105********002X`) unless an officer asks with `unmask=true` (audited).
    pub id_number: String,
    pub birth_date: String,
    pub gender: household::Gender,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOut {
    pub kind: household::ItemKind,
    pub category: household::ItemCategory,
    pub amount_fen: i64,
    pub year: i32,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01", "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "region_name": "青山村", "address": "青山村三组 12 号", "phone": "138****5678", "status": "active",
    "members": [{"id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e02", "name": "张秀英", "relation": "head",
        "id_number": "110105********002X", "birth_date": "1949-12-31", "gender": "female", "phone": null}],
    "items": [{"kind": "income", "category": "farming", "amount_fen": 360000, "year": 2026, "note": null}],
    "helper_ids": ["0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10"], "version": 1,
    "created_at": "2026-11-22T09:30:00Z", "updated_at": "2026-11-22T09:30:00Z"
}))]
pub struct HouseholdOut {
    pub id: String,
    pub region_id: String,
    pub region_name: String,
    pub address: String,
    pub phone: Option<String>,
    /// `active` or `exited`.
    pub status: String,
    pub members: Vec<MemberOut>,
    pub items: Vec<ItemOut>,
    /// The helpers (帮扶责任人) assigned to the household.
    pub helper_ids: Vec<String>,
    /// Where the household lives, if recorded: evidence photos are checked against it.
    pub location: Option<Location>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A place on the earth, WGS 84 degrees (as phones report it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lat": 25.0389, "lng": 102.7183}))]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
}

impl Location {
    fn place(self) -> Place {
        Place {
            lat: self.lat,
            lng: self.lng,
        }
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(Error::internal)
}

/// A household as a reader sees it: ID and phone numbers masked unless `unmask` (already
/// checked and audited), in which case sealed numbers are opened.
pub fn out(h: Household, key: &DataKey, unmask: bool) -> Result<HouseholdOut> {
    let phone = |p: Option<String>| p.map(|p| if unmask { p } else { mask_phone(&p) });
    let members = h
        .members
        .into_iter()
        .map(|m| {
            Ok(MemberOut {
                id_number: if unmask {
                    key.open(&m.id_sealed)?
                } else {
                    m.id_masked
                },
                relation: parse_enum(&m.relation)?,
                gender: parse_enum(&m.gender)?,
                phone: phone(m.phone),
                id: m.id,
                name: m.name,
                birth_date: m.birth_date,
            })
        })
        .collect::<Result<_>>()?;
    let items = h
        .items
        .into_iter()
        .map(|i| {
            Ok(ItemOut {
                kind: parse_enum(&i.kind)?,
                category: parse_enum(&i.category)?,
                amount_fen: i.amount_fen,
                year: i.year,
                note: i.note,
            })
        })
        .collect::<Result<_>>()?;
    let location = h.row.location().map(|p| Location {
        lat: p.lat,
        lng: p.lng,
    });
    Ok(HouseholdOut {
        phone: phone(h.row.phone),
        id: h.row.id,
        region_id: h.row.region_id,
        region_name: h.region_name,
        address: h.row.address,
        status: h.row.status,
        members,
        items,
        helper_ids: h.helper_ids,
        location,
        version: h.row.version,
        created_at: utc(h.row.created_at),
        updated_at: utc(h.row.updated_at),
    })
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "address": "青山村三组 12 号", "phone": "13812345678",
    "members": [{"name": "张秀英", "relation": "head", "id_number": "11010519491231002X",
        "birth_date": "1949-12-31", "gender": "female"}],
    "items": [{"category": "farming", "amount_fen": 360000, "year": 2026},
              {"category": "illness", "amount_fen": 1200000, "year": 2026, "note": "慢性病门诊"}]
}))]
pub struct NewHouseholdBody {
    /// The village the household lives in.
    pub region_id: Uuid,
    pub address: String,
    pub phone: Option<String>,
    pub members: Vec<MemberInput>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    /// Where the household lives (WGS 84).
    pub location: Option<Location>,
}

/// Register a household (一户一档). Every deficiency is listed in one answer; a person
/// already in the registry is refused with 409: naming the household that holds them when
/// it lies in the caller's jurisdiction (`person_already_registered`), else without a word
/// about where (`person_not_registrable`), the match referred to the lowest office holding
/// both (`/v1/registration-referrals`).
#[utoipa::path(tag = "households", security(("bearer" = [])), request_body = NewHouseholdBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = HouseholdOut),
              (status = 409, description = "A member is already registered (`person_already_registered`, `person_not_registrable`)",
               body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[post("/v1/households")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    req: HttpRequest,
    body: ApiJson<NewHouseholdBody>,
) -> Result<HttpResponse> {
    let b = body.0;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let key = state.data_key.clone();
    let render = move |h: &Household| answer(StatusCode::CREATED, &out(h.clone(), &key, false)?);
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render.clone())?;
    let new = service::Registration {
        region_id: b.region_id.to_string(),
        address: b.address,
        phone: b.phone,
        members: b.members,
        items: b.items,
        location: b.location.map(Location::place),
    };
    service::register(&state.db, &state.data_key, &caller, new, once)
        .await?
        .respond(render)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    pub region_id: Option<Uuid>,
    /// Households with this person: the full 18-character number, matched exactly.
    pub id_number: Option<String>,
    /// Households with a member of exactly this name.
    pub name: Option<String>,
}

/// Households inside the caller's jurisdiction and assignments.
#[utoipa::path(tag = "households", security(("bearer" = [])), params(HouseholdQuery, PageParams),
    responses((status = 200, body = Page<HouseholdOut>)),
    extensions(("x-bangfu-permission" = json!("read_households")))
)]
#[get("/v1/households")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::ReadHouseholds>,
    q: Query<HouseholdQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<HouseholdOut>>> {
    let limit = page.limit()?;
    let search = service::Search {
        region_id: q.region_id.map(|u| u.to_string()),
        id_number: q.id_number.clone(),
        name: q.name.clone(),
        after_id: page.position()?,
        ..Default::default()
    };
    let rows = service::search(&state.db, &state.data_key, &caller, search, limit + 1).await?;
    let key = state.data_key.clone();
    let page = Page::from_rows(rows, limit, |h| h.row.id.clone(), |h| out(h, &key, false));
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// One household, with `ETag`. `unmask=true` shows ID and phone numbers in full (officers
/// only, in their own jurisdiction; audited). A break-the-glass grant naming the household
/// reads it masked (`unmask_outside_jurisdiction` when asked to unmask).
#[utoipa::path(tag = "households", security(("bearer" = [])), params(("id" = Uuid, Path), UnmaskQuery),
    responses((status = 200, body = HouseholdOut, headers(("ETag" = String))),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_households")))
)]
#[get("/v1/households/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Require<perm::ReadHouseholds>,
    id: web::Path<Uuid>,
    q: Query<UnmaskQuery>,
) -> Result<HttpResponse> {
    let h = service::get(&state.db, &caller, &id.to_string(), q.stated()).await?;
    let body = out(h, &state.data_key, q.unmask)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.version))
        .json(body))
}

/// A change to a household: fields left out stay as they are; `null` clears the phone or
/// the location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"location": {"lat": 25.0389, "lng": 102.7183}}))]
pub struct HouseholdPatch {
    pub address: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::infra::http::json::double_option::deserialize"
    )]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::infra::http::json::double_option::deserialize"
    )]
    #[schema(value_type = Option<Location>)]
    pub location: Option<Option<Location>>,
}

/// Change a household's address, phone or location (village secretaries and officers).
/// Needs `If-Match` with the version read; a new location has the household's photos
/// checked against it again.
#[utoipa::path(tag = "households", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag read")),
    request_body = HouseholdPatch,
    responses((status = 200, body = HouseholdOut, headers(("ETag" = String))),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 412, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 428, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[patch("/v1/households/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ApiJson<HouseholdPatch>,
) -> Result<HttpResponse> {
    let b = body.0;
    let version = if_match(&req)?;
    let change = HouseholdChange {
        address: b.address,
        phone: b.phone,
        location: b.location.map(|l| l.map(Location::place)),
    };
    let h = service::update(&state.db, &caller, &id.to_string(), version, change).await?;
    let body = out(h, &state.data_key, false)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.version))
        .json(body))
}

async fn set_helper(
    state: &AppState,
    caller: &Caller,
    path: (Uuid, Uuid),
    assign: bool,
) -> Result<web::Json<HouseholdOut>> {
    let (household_id, user_id) = (path.0.to_string(), path.1.to_string());
    let h = service::set_helper(&state.db, caller, &household_id, &user_id, assign).await?;
    Ok(web::Json(out(h, &state.data_key, false)?))
}

/// Assign a helper (帮扶责任人) to the household (R-VISIT-1). The household and its records
/// join the helper's scope at their next pull. Repeating it changes nothing.
#[utoipa::path(tag = "households", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, body = HouseholdOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[put("/v1/households/{id}/helpers/{user_id}")]
pub async fn assign_helper(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<HouseholdOut>> {
    set_helper(&state, &caller, path.into_inner(), true).await
}

/// Release a helper from the household.
#[utoipa::path(tag = "households", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, body = HouseholdOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[delete("/v1/households/{id}/helpers/{user_id}")]
pub async fn release_helper(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<HouseholdOut>> {
    set_helper(&state, &caller, path.into_inner(), false).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateSide {
    pub household_id: String,
    pub member_id: String,
    pub name: String,
    /// Masked.
    pub id_number: String,
    pub birth_date: String,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f31", "reasons": ["name_birth_date", "name_address"], "status": "open",
    "a": {"household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01", "member_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e02",
          "name": "张秀英", "id_number": "530123********0021", "birth_date": "1949-12-31", "phone": null},
    "b": {"household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e11", "member_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e12",
          "name": "张秀英", "id_number": "530123********0047", "birth_date": "1949-12-31", "phone": null}
}))]
pub struct CandidateOut {
    pub id: String,
    /// Why they look alike: `name_birth_date`, `name_address`, `phone`.
    pub reasons: Vec<String>,
    /// `open`, `distinct` or `merged`.
    pub status: String,
    /// The earlier registered record.
    pub a: CandidateSide,
    pub b: CandidateSide,
}

fn side(household_id: String, m: crate::households::queries::MemberRow) -> CandidateSide {
    CandidateSide {
        household_id,
        member_id: m.id,
        name: m.name,
        id_number: m.id_masked,
        birth_date: m.birth_date,
        phone: m.phone.as_deref().map(mask_phone),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// `open` (default), `distinct` or `merged`.
    pub status: Option<String>,
}

/// Likely duplicate people in the registry with both households in the caller's
/// jurisdiction: same name and birth date, same name and address, or same phone. A pair
/// across two townships goes to the county, which holds both.
#[utoipa::path(tag = "households", security(("bearer" = [])), params(CandidateQuery, PageParams),
    responses((status = 200, body = Page<CandidateOut>)),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[get("/v1/duplicate-candidates")]
pub async fn list_candidates(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    q: Query<CandidateQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<CandidateOut>>> {
    let limit = page.limit()?;
    let after = page.position()?;
    let rows = service::candidates(&state.db, &caller, q.status.clone(), after, limit + 1).await?;
    let page = Page::from_rows(
        rows,
        limit,
        |(r, _, _)| r.id.clone(),
        |(r, a, b)| {
            Ok(CandidateOut {
                reasons: serde_json::from_str(&r.reasons).map_err(Error::internal)?,
                a: side(r.household_a, a),
                b: side(r.household_b, b),
                id: r.id,
                status: r.status,
            })
        },
    );
    Ok(web::Json(Page {
        items: page.items.into_iter().collect::<Result<_>>()?,
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CandidateDecision {
    /// Two different people.
    Distinct,
    /// The same person: keep one record, remove the other.
    Merge,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "merge", "keep": "a"}))]
pub struct CandidateDecisionBody {
    pub decision: CandidateDecision,
    /// For a merge: which record stays, `a` or `b`.
    pub keep: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateDecided {
    pub id: String,
    /// `distinct` or `merged`.
    pub status: String,
    /// For a merge, the record that stays.
    pub kept_member_id: Option<String>,
    /// For a merge, the record removed from its household.
    pub removed_member_id: Option<String>,
}

/// Settle a likely duplicate (audited). Merging needs both households in the caller's
/// jurisdiction; the removed record's household closes as `merged` when it had no one else.
#[utoipa::path(tag = "households", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CandidateDecisionBody,
    responses((status = 200, body = CandidateDecided),
              (status = 409, description = "Already settled, or the record heads a household", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[post("/v1/duplicate-candidates/{id}/decision")]
pub async fn decide_candidate(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    id: web::Path<Uuid>,
    body: ApiJson<CandidateDecisionBody>,
) -> Result<web::Json<CandidateDecided>> {
    let b = body.0;
    let merge = matches!(b.decision, CandidateDecision::Merge);
    let settle = service::Settle::of(merge, b.keep.as_deref())?;
    let r = service::decide_candidate(&state.db, &caller, &id.to_string(), settle).await?;
    let keep_a = !matches!(settle, service::Settle::Merge { keep_a: false });
    let (kept, removed) = if keep_a {
        (r.member_a, r.member_b)
    } else {
        (r.member_b, r.member_a)
    };
    Ok(web::Json(CandidateDecided {
        id: r.id,
        status: r.status,
        kept_member_id: merge.then_some(kept),
        removed_member_id: merge.then_some(removed),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f41", "status": "open",
    "household_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01", "member_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e02",
    "attempted_region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d11", "attempted_by": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d12",
    "name": "王桂兰", "id_number": "530123********0021", "note": null,
    "created_at": "2026-11-22T09:30:00Z", "decided_at": null
}))]
pub struct ReferralOut {
    pub id: String,
    /// `open` or `settled`.
    pub status: String,
    /// Where the person is registered.
    pub household_id: String,
    pub member_id: String,
    /// The village someone tried to register them in, and who.
    pub attempted_region_id: String,
    pub attempted_by: String,
    /// The name as given in the refused registration.
    pub name: String,
    /// Masked.
    pub id_number: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn referral_out(r: duplicates::ReferralRow) -> ReferralOut {
    ReferralOut {
        id: r.id,
        status: r.status,
        household_id: r.household_id,
        member_id: r.member_id,
        attempted_region_id: r.attempted_region_id,
        attempted_by: r.attempted_by,
        name: r.name,
        id_number: r.id_masked,
        note: r.note,
        created_at: utc(r.created_at),
        decided_at: r.decided_at.map(utc),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralQuery {
    /// `open` (default) or `settled`.
    pub status: Option<String>,
}

/// Registrations refused because the person is registered in another township (or
/// county): each is put to the lowest office whose jurisdiction holds both places, which
/// finds out and settles it.
#[utoipa::path(tag = "households", security(("bearer" = [])), params(ReferralQuery, PageParams),
    responses((status = 200, body = Page<ReferralOut>)),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[get("/v1/registration-referrals")]
pub async fn list_referrals(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    q: Query<ReferralQuery>,
    page: Query<PageParams>,
) -> Result<web::Json<Page<ReferralOut>>> {
    let limit = page.limit()?;
    let after = page.position()?;
    let rows =
        service::referrals(&state.db, &caller, q.status.as_deref(), after, limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        limit,
        |r| r.id.clone(),
        referral_out,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "同一人，已电话核实，维持青山镇登记"}))]
pub struct ReferralDecisionBody {
    /// What was found and done (2 to 500 characters).
    pub note: String,
}

/// Settle a referral, saying what was found and done (audited).
#[utoipa::path(tag = "households", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReferralDecisionBody,
    responses((status = 200, body = ReferralOut),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already settled (`already_decided`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("manage_households")))
)]
#[post("/v1/registration-referrals/{id}/decision")]
pub async fn settle_referral(
    state: web::Data<AppState>,
    caller: Require<perm::ManageHouseholds>,
    id: web::Path<Uuid>,
    body: ApiJson<ReferralDecisionBody>,
) -> Result<web::Json<ReferralOut>> {
    let r = service::settle_referral(&state.db, &caller, &id.to_string(), &body.0.note).await?;
    Ok(web::Json(referral_out(r)))
}
