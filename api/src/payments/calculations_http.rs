//! Calculations that store nothing: which kind of difficulty a household is in
//! (R-FILE-3), and whether a proposed payment fits the aid standards (R-FILE-4), each
//! explained line by line with the rule and the figures used.

use actix_web::{post, web};
use bangfu_sync::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::{Require, perm};
use crate::domain::money;
use crate::domain::validate::Checks;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::json::ApiJson;
use crate::payments::aid::{AidKind, Approval, PaidThisYear, Proposal, Violation};
use crate::payments::classification::{AssessError, Category, Finances, Line};
use crate::payments::{aid, classification};
use crate::regions::queries as regions;
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
    /// Every amount within range (see `domain::money`), each error naming its field.
    fn check(&self, c: &mut Checks, prefix: &str) {
        for (name, fen) in [
            ("annual_income_fen", self.annual_income_fen),
            ("illness_fen", self.illness_fen),
            ("disability_fen", self.disability_fen),
            ("schooling_fen", self.schooling_fen),
            ("employment_costs_fen", self.employment_costs_fen),
            ("hardship_costs_fen", self.hardship_costs_fen),
        ] {
            money::check(c, &format!("{prefix}{name}"), fen, false);
        }
        if let Some(t) = self.city_accidental_threshold_fen {
            money::check(
                c,
                &format!("{prefix}city_accidental_threshold_fen"),
                t,
                false,
            );
        }
        c.rule(
            (1..=100).contains(&self.members),
            &format!("{prefix}members"),
            Code::OutOfRange,
            Msg::fixed(
                "家庭人口须在 1 到 100 人之间。",
                "A household has 1 to 100 members.",
            ),
        );
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

fn assess_error(e: AssessError) -> Error {
    let (field, text) = match e {
        AssessError::NoMembers => (
            "members",
            Msg::fixed(
                "家庭人口须至少 1 人。",
                "A household has at least one member.",
            ),
        ),
        AssessError::NegativeAmount => (
            "annual_income_fen",
            Msg::fixed("金额不能为负数。", "Amounts cannot be negative."),
        ),
        AssessError::NoDibao => (
            "region_id",
            Msg::fixed(
                "该区域尚未设定低保标准。",
                "No dibao standard is set for this region.",
            ),
        ),
        AssessError::ThresholdOutOfBand => (
            "city_accidental_threshold_fen",
            Msg::fixed(
                "市级意外致困标准须在 3 万元上下 20% 以内。",
                "The city threshold must lie within 30,000 yuan ± 20 %.",
            ),
        ),
    };
    Error::validation(field, Code::InvalidValue, text)
}

async fn dibao_of(
    state: &AppState,
    scope: crate::domain::access::Scope,
    region: Uuid,
) -> Result<i64> {
    let id = region.to_string();
    let view = state
        .db
        .read(move |c| regions::find_view(c, &scope, &id))
        .await?;
    Ok(view.effective_dibao_fen.unwrap_or(0))
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
    let b = body.0;
    let mut c = Checks::default();
    b.check(&mut c, "");
    c.finish()?;
    let dibao = dibao_of(&state, caller.scope.clone(), b.region_id).await?;
    let a = classification::assess(&b.finances(), dibao, b.city_accidental_threshold_fen)
        .map_err(assess_error)?;
    Ok(web::Json(AssessmentOut {
        categories: a.categories,
        per_capita_monthly_fen: a.per_capita_monthly_fen,
        dibao_fen: dibao,
        lines: a.lines,
    }))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
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
    pub paid_this_year: Vec<PaymentBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AidCheckOut {
    /// Whether the payment fits the standards.
    pub allowed: bool,
    /// Who must approve it (when allowed).
    pub approval: Option<Approval>,
    /// The most this payment may be (when allowed).
    pub max_fen: Option<i64>,
    pub lines: Vec<Line>,
    /// Every rule the payment breaks.
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
    body: ApiJson<AidCheckBody>,
) -> Result<web::Json<AidCheckOut>> {
    let b = body.0;
    let mut c = Checks::default();
    b.household.check(&mut c, "household.");
    money::check(&mut c, "amount_fen", b.amount_fen, false);
    money::check(&mut c, "out_of_pocket_fen", b.out_of_pocket_fen, false);
    for (i, p) in b.paid_this_year.iter().enumerate() {
        money::check(
            &mut c,
            &format!("paid_this_year[{i}].amount_fen"),
            p.amount_fen,
            false,
        );
    }
    c.rule(
        b.students <= 20,
        "students",
        Code::OutOfRange,
        Msg::fixed("学生人数最多 20 人。", "At most 20 students."),
    );
    c.finish()?;
    let dibao = dibao_of(&state, caller.scope.clone(), b.household.region_id).await?;
    if dibao <= 0 {
        return Err(assess_error(AssessError::NoDibao));
    }
    let finances = b.household.finances();
    let paid = PaidThisYear {
        payments: b
            .paid_this_year
            .iter()
            .map(|p| (p.kind, p.amount_fen))
            .collect(),
    };
    let proposal = Proposal {
        category: b.category,
        kind: b.kind,
        amount_fen: b.amount_fen,
        out_of_pocket_fen: b.out_of_pocket_fen,
        students: b.students,
    };
    let out = match aid::check(
        &proposal,
        dibao,
        &paid,
        b.household.hardship_costs_fen,
        Some((&finances, dibao)),
    ) {
        Ok(d) => AidCheckOut {
            allowed: true,
            approval: Some(d.approval),
            max_fen: Some(d.max_fen),
            lines: d.lines,
            violations: Vec::new(),
        },
        Err(violations) => AidCheckOut {
            allowed: false,
            approval: None,
            max_fen: None,
            lines: Vec::new(),
            violations,
        },
    };
    Ok(web::Json(out))
}
