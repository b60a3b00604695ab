//! Blocks of case numbers for phones to mint offline: `/v1/case-number-blocks`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::caller::{Require, perm};
use crate::case_numbers::blocks::BlockRow;
use crate::case_numbers::rules::{CaseNumber, Series};
use crate::case_numbers::service;
use crate::infra::error::{Error, Result};
use crate::infra::http::json::ApiJson;
use crate::infra::http::utc;
use crate::infra::idempotency::{Once, answer};
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"series": "dropout_case", "size": 50}))]
pub struct NewBlock {
    pub series: Series,
    /// How many numbers, 1 to 500.
    pub size: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9f01", "series": "dropout_case", "county_code": "530123", "year": 2026,
    "first_serial": 101, "last_serial": 150, "first": "530123-2026-KC-00101", "last": "530123-2026-KC-00150", "created_at": "2026-12-01T08:00:00Z"}))]
pub struct BlockOut {
    pub id: String,
    pub series: String,
    pub county_code: String,
    pub year: i32,
    pub first_serial: i64,
    pub last_serial: i64,
    /// The first and last number of the block, as they are written on records.
    pub first: String,
    pub last: String,
    pub created_at: DateTime<Utc>,
}

fn out(b: BlockRow) -> BlockOut {
    let series = if b.series == Series::EmploymentPlan.as_str() {
        Series::EmploymentPlan
    } else {
        Series::DropoutCase
    };
    let number = |serial| {
        CaseNumber {
            county_code: b.county_code.clone(),
            year: b.year,
            series,
            serial,
        }
        .format()
    };
    BlockOut {
        first: number(b.first_serial),
        last: number(b.last_serial),
        id: b.id,
        series: b.series,
        county_code: b.county_code,
        year: b.year,
        first_serial: b.first_serial,
        last_serial: b.last_serial,
        created_at: utc(b.created_at),
    }
}

/// Reserve a block of case numbers for the caller's device, from its county's series for
/// this year. The phone then numbers the cases it opens offline from the block; a push
/// accepts a new case's number only from a block of the device that sends it.
#[utoipa::path(tag = "sync", security(("bearer" = [])), request_body = NewBlock,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe creation")),
    responses((status = 201, body = BlockOut)),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[post("/v1/case-number-blocks")]
pub async fn reserve(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPush>,
    req: HttpRequest,
    body: ApiJson<NewBlock>,
) -> Result<HttpResponse> {
    let b = body.0;
    let reservation = service::Reservation::new(&caller, b.series, b.size)?;
    let fingerprint = serde_json::to_value(&b).map_err(Error::internal)?;
    let render = |block: &BlockRow| answer(StatusCode::CREATED, &out(block.clone()));
    let once = Once::of_request(&req, &caller.user_id, &fingerprint, render)?;
    service::reserve(&state.db, &caller, reservation, once)
        .await?
        .respond(render)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    pub items: Vec<BlockOut>,
}

/// The blocks the caller's device holds, newest first.
#[utoipa::path(tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = BlockList),
              (status = 422, description = "Blocks belong to a device: sign in on a registered one (`device_required`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[get("/v1/case-number-blocks")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPush>,
) -> Result<web::Json<BlockList>> {
    let rows = service::blocks(&state.db, &caller).await?;
    Ok(web::Json(BlockList {
        items: rows.into_iter().map(out).collect(),
    }))
}
