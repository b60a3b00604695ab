//! Calculations that store nothing: which kind of difficulty a household is in
//! (R-FILE-3), and whether a proposed payment fits the aid standards (R-FILE-4), each
//! explained line by line with the rule and the figures used.

use actix_web::{HttpRequest, post, web};
use bangfu_sync::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::infra::error::{Lang, Result};
use crate::infra::http::envelope::request_lang;
use crate::infra::http::json::ApiJson;
use crate::payments::aid;
use crate::payments::aid::{AidKind, Approval, Proposal};
use crate::payments::classification::{Category, Finances, Line};
use crate::payments::service;
use crate::state::AppState;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "members": 4, "annual_income_fen": 4000000,
    "illness_fen": 1000000, "disability_fen": 0, "schooling_fen": 0, "employment_costs_fen": 0,
    "hardship_costs_fen": 0, "still_in_difficulty": false
}))]
pub struct FinancesBody {
    /// The household's region: its dibao standard applies.
    pub region_id: Uuid,
    pub members: u32,
    pub annual_income_fen: i64,
    #[serde(default)]
    pub illness_fen: i64,
    #[serde(default)]
    pub disability_fen: i64,
    #[serde(default)]
    pub schooling_fen: i64,
    #[serde(default)]
    pub employment_costs_fen: i64,
    #[serde(default)]
    pub hardship_costs_fen: i64,
    #[serde(default)]
    pub still_in_difficulty: bool,
    /// The city's accidental-difficulty threshold, if it set one (30,000 yuan ± 20 %).
    pub city_accidental_threshold_fen: Option<i64>,
}

impl FinancesBody {
    fn household(&self) -> service::HouseholdFinances {
        service::HouseholdFinances {
            region_id: self.region_id.to_string(),
            finances: self.finances(),
            city_accidental_threshold_fen: self.city_accidental_threshold_fen,
        }
    }

    fn finances(&self) -> Finances {
        Finances {
            members: self.members,
            annual_income_fen: self.annual_income_fen,
            illness_fen: self.illness_fen,
            disability_fen: self.disability_fen,
            schooling_fen: self.schooling_fen,
            employment_costs_fen: self.employment_costs_fen,
            hardship_costs_fen: self.hardship_costs_fen,
            still_in_difficulty: self.still_in_difficulty,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentOut {
    /// Categories met, most severe first; empty: not in difficulty.
    pub categories: Vec<Category>,
    pub per_capita_monthly_fen: i64,
    /// The dibao standard applied (fen per person per month).
    pub dibao_fen: i64,
    pub lines: Vec<Line>,
}

/// Classify a household (deep, relative or accidental difficulty) from its finances and
/// its region's dibao standard. Stores nothing.
#[utoipa::path(tag = "calculations", security(("bearer" = [])), request_body = FinancesBody,
    responses((status = 200, body = AssessmentOut),
              (status = 404, description = "Region not in your jurisdiction", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_regions")))
)]
#[post("/v1/assessments")]
pub async fn assess(
    state: web::Data<AppState>,
    caller: Require<perm::ReadRegions>,
    body: ApiJson<FinancesBody>,
) -> Result<web::Json<AssessmentOut>> {
    let (a, dibao) = service::assess(&state.db, &caller, body.0.household()).await?;
    Ok(web::Json(AssessmentOut {
        categories: a.categories,
        per_capita_monthly_fen: a.per_capita_monthly_fen,
        dibao_fen: dibao,
        lines: a.lines,
    }))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarlierPayment {
    pub kind: AidKind,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "household": {"region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f", "members": 3, "annual_income_fen": 2400000},
    "category": "deep", "kind": "medical", "amount_fen": 2500000, "out_of_pocket_fen": 4000000,
    "paid_this_year": [{"kind": "living", "amount_fen": 300000}]
}))]
pub struct AidCheckBody {
    pub household: FinancesBody,
    pub category: Category,
    pub kind: AidKind,
    pub amount_fen: i64,
    /// Medical aid: what the household pays itself after insurance.
    #[serde(default)]
    pub out_of_pocket_fen: i64,
    /// Education aid: the number of students.
    #[serde(default)]
    pub students: u32,
    /// Aid already paid to this file this year.
    #[serde(default)]
    pub paid_this_year: Vec<EarlierPayment>,
}

/// A rule the payment breaks, with the figures that break it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Violation {
    /// The rule, e.g. `R-FILE-4`.
    pub rule: &'static str,
    pub code: Code,
    /// Names the rule and its figures; in Chinese unless `Accept-Language` prefers
    /// English.
    pub text: String,
}

impl Violation {
    fn of(v: aid::Violation, lang: Lang) -> Violation {
        Violation {
            rule: v.rule,
            code: v.code,
            text: v.text.get(lang).to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AidCheckOut {
    /// Whether the payment fits the standards.
    pub allowed: bool,
    /// Who must approve it (when allowed).
    pub approval: Option<Approval>,
    /// The most this payment may be (when allowed).
    pub max_fen: Option<i64>,
    /// The reasoning, whether allowed or not: the standard that applies, what was paid
    /// this year, the most this payment may be.
    pub lines: Vec<Line>,
    /// Every rule the payment breaks, naming the rule and its figures.
    pub violations: Vec<Violation>,
}

/// Check a proposed aid payment against the standards and caps, counting this year's
/// earlier payments. Stores nothing.
#[utoipa::path(tag = "calculations", security(("bearer" = [])), request_body = AidCheckBody,
    responses((status = 200, body = AidCheckOut),
              (status = 404, description = "Region not in your jurisdiction", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_regions")))
)]
#[post("/v1/aid-checks")]
pub async fn aid_check(
    state: web::Data<AppState>,
    caller: Require<perm::ReadRegions>,
    req: HttpRequest,
    body: ApiJson<AidCheckBody>,
) -> Result<web::Json<AidCheckOut>> {
    let lang = request_lang(&req);
    let b = body.0;
    let check = service::AidCheck {
        household: b.household.household(),
        proposal: Proposal {
            category: b.category,
            kind: b.kind,
            amount_fen: b.amount_fen,
            out_of_pocket_fen: b.out_of_pocket_fen,
            students: b.students,
        },
        paid_this_year: b
            .paid_this_year
            .iter()
            .map(|p| (p.kind, p.amount_fen))
            .collect(),
    };
    let out = match service::check_aid(&state.db, &caller, check).await? {
        Ok(d) => AidCheckOut {
            allowed: true,
            approval: Some(d.approval),
            max_fen: Some(d.max_fen),
            lines: d.lines,
            violations: Vec::new(),
        },
        Err(refusal) => AidCheckOut {
            allowed: false,
            approval: None,
            max_fen: None,
            lines: refusal.lines,
            violations: refusal
                .violations
                .into_iter()
                .map(|v| Violation::of(v, lang))
                .collect(),
        },
    };
    Ok(web::Json(out))
}
