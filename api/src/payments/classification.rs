//! Which kind of difficulty a household is in (R-FILE-3, seed 001 篇2), explained line by
//! line so that an officer and the applicant can see why.
//!
//! Per-capita net income is (household income − rigid expenses for illness, disability and
//! children's schooling) / members; for relative difficulty necessary employment costs are
//! deducted too. It is compared with the local monthly dibao standard. Comparisons are done
//! on whole fen without division, so no rounding decides a case.

use serde::{Deserialize, Serialize};

/// Yuan 30,000: the year's hardship costs that make accidental difficulty.
pub const ACCIDENTAL_BASE_FEN: i64 = 3_000_000;
/// A city may set its own threshold within ±20 % of the base.
pub const ACCIDENTAL_BAND_PERCENT: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 深度困难
    Deep,
    /// 相对困难
    Relative,
    /// 意外致困
    Accidental,
}

/// A household's money over the last twelve months, in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finances {
    pub members: u32,
    pub annual_income_fen: i64,
    pub illness_fen: i64,
    pub disability_fen: i64,
    pub schooling_fen: i64,
    /// Necessary costs of going to work (deducted for relative difficulty only).
    pub employment_costs_fen: i64,
    /// Costs or losses from an emergency, accident or major illness this year, after
    /// compensation, insurance and other aid.
    pub hardship_costs_fen: i64,
    /// Whether the household is still in difficulty after that compensation.
    pub still_in_difficulty: bool,
}

/// One step of the reasoning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Line {
    /// The rule applied, e.g. `R-FILE-3`.
    pub rule: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Assessment {
    /// The categories the household meets, most severe first; empty: not in difficulty.
    pub categories: Vec<Category>,
    /// Per-capita monthly net income used for deep difficulty, in fen (rounded down, shown
    /// for people; the decision uses exact figures).
    pub per_capita_monthly_fen: i64,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessError {
    NoMembers,
    NegativeAmount,
    NoDibao,
    /// A city threshold outside 30,000 yuan ± 20 %.
    ThresholdOutOfBand,
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

/// Checks a city's accidental-difficulty threshold against the ±20 % band.
pub fn accidental_threshold(city_fen: Option<i64>) -> Result<i64, AssessError> {
    let t = city_fen.unwrap_or(ACCIDENTAL_BASE_FEN);
    let lo = ACCIDENTAL_BASE_FEN * (100 - ACCIDENTAL_BAND_PERCENT) / 100;
    let hi = ACCIDENTAL_BASE_FEN * (100 + ACCIDENTAL_BAND_PERCENT) / 100;
    if (lo..=hi).contains(&t) {
        Ok(t)
    } else {
        Err(AssessError::ThresholdOutOfBand)
    }
}

/// Assesses a household against the monthly dibao standard of its region and the city's
/// accidental-difficulty threshold (`None`: the base of 30,000 yuan).
pub fn assess(
    f: &Finances,
    dibao_monthly_fen: i64,
    city_threshold_fen: Option<i64>,
) -> Result<Assessment, AssessError> {
    if f.members == 0 {
        return Err(AssessError::NoMembers);
    }
    let amounts = [
        f.annual_income_fen,
        f.illness_fen,
        f.disability_fen,
        f.schooling_fen,
        f.employment_costs_fen,
        f.hardship_costs_fen,
    ];
    if amounts.iter().any(|a| *a < 0) {
        return Err(AssessError::NegativeAmount);
    }
    if dibao_monthly_fen <= 0 {
        return Err(AssessError::NoDibao);
    }
    let threshold = accidental_threshold(city_threshold_fen)?;
    let members = i64::from(f.members);
    // Saturating throughout: amounts are bounded where they come in, and no input may
    // make the arithmetic wrap.
    let rigid = crate::domain::money::total([f.illness_fen, f.disability_fen, f.schooling_fen]);
    let net_deep = f.annual_income_fen.saturating_sub(rigid);
    let net_relative = net_deep.saturating_sub(f.employment_costs_fen);
    let months = members.saturating_mul(12);
    // per-capita monthly < dibao  <=>  net annual < dibao × 12 × members
    let dibao_year_household = dibao_monthly_fen.saturating_mul(months);
    let mut lines = vec![Line {
        rule: "R-FILE-3",
        text: format!(
            "家庭年收入 {} 元，扣除因病 {} 元、因残 {} 元、子女上学 {} 元刚性支出后为 {} 元，{} 人，人均每月 {} 元；当地低保标准每人每月 {} 元。",
            yuan(f.annual_income_fen),
            yuan(f.illness_fen),
            yuan(f.disability_fen),
            yuan(f.schooling_fen),
            yuan(net_deep),
            f.members,
            yuan(net_deep.div_euclid(months)),
            yuan(dibao_monthly_fen)
        ),
    }];
    let mut categories = Vec::new();
    let deep = net_deep < dibao_year_household;
    lines.push(Line {
        rule: "R-FILE-3",
        text: format!(
            "深度困难：人均纯收入{}低于低保标准。",
            if deep { "" } else { "不" }
        ),
    });
    if deep {
        categories.push(Category::Deep);
    }
    let relative = net_relative < dibao_year_household.saturating_mul(2);
    lines.push(Line {
        rule: "R-FILE-3",
        text: format!(
            "相对困难：再扣除必要就业成本 {} 元后人均每月 {} 元，{}低于低保标准的 2 倍（{} 元）。",
            yuan(f.employment_costs_fen),
            yuan(net_relative.div_euclid(months)),
            if relative { "" } else { "不" },
            yuan(dibao_monthly_fen.saturating_mul(2))
        ),
    });
    if relative && !deep {
        categories.push(Category::Relative);
    }
    let accidental = f.still_in_difficulty && f.hardship_costs_fen >= threshold;
    lines.push(Line {
        rule: "R-FILE-3",
        text: format!(
            "意外致困：年度致困费用（损失）{} 元，认定标准 {} 元，{}，{}。",
            yuan(f.hardship_costs_fen),
            yuan(threshold),
            if f.hardship_costs_fen >= threshold {
                "达到标准"
            } else {
                "未达到标准"
            },
            if f.still_in_difficulty {
                "获得赔偿、保险和救助后生活仍有困难"
            } else {
                "已无生活困难"
            }
        ),
    });
    if accidental {
        categories.push(Category::Accidental);
    }
    Ok(Assessment {
        categories,
        per_capita_monthly_fen: net_deep.div_euclid(months),
        lines,
    })
}

/// A household's finances from its recorded income and expense items of one year
/// (`(category, amount_fen)`, categories as the registry names them): incomes summed,
/// rigid expenses by kind, necessary employment costs apart; other expenses count for
/// nothing. Hardship costs are not part of the registry.
pub fn finances_of<'a>(members: u32, items: impl IntoIterator<Item = (&'a str, i64)>) -> Finances {
    let mut f = Finances {
        members,
        ..Finances::default()
    };
    for (category, fen) in items {
        let into = match category {
            "wages" | "farming" | "business" | "property" | "transfer" | "other_income" => {
                &mut f.annual_income_fen
            }
            "illness" => &mut f.illness_fen,
            "disability" => &mut f.disability_fen,
            "schooling" => &mut f.schooling_fen,
            "employment" => &mut f.employment_costs_fen,
            _ => continue,
        };
        *into = into.saturating_add(fen);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finances_come_from_the_registry_items() {
        let f = finances_of(
            3,
            [
                ("farming", 1_000_000),
                ("wages", 500_000),
                ("illness", 300_000),
                ("employment", 20_000),
                ("other_expense", 99_999),
            ],
        );
        assert_eq!(f.members, 3);
        assert_eq!(f.annual_income_fen, 1_500_000);
        assert_eq!(f.illness_fen, 300_000);
        assert_eq!(f.employment_costs_fen, 20_000);
        assert_eq!((f.disability_fen, f.schooling_fen), (0, 0));
    }

    const DIBAO: i64 = 72_000; // 720 yuan per person per month

    fn household(members: u32, income_yuan: i64, illness_yuan: i64) -> Finances {
        Finances {
            members,
            annual_income_fen: income_yuan * 100,
            illness_fen: illness_yuan * 100,
            ..Finances::default()
        }
    }

    #[test]
    fn deep_difficulty_is_below_the_dibao_after_rigid_expenses() {
        // 4 people, 40,000 yuan income, 10,000 yuan for illness: 30,000 / 4 / 12 = 625 < 720.
        let a = assess(&household(4, 40_000, 10_000), DIBAO, None).map(|a| a.categories);
        assert_eq!(a, Ok(vec![Category::Deep]));
    }

    #[test]
    fn the_boundary_is_strict() {
        // Exactly 720 yuan per person per month is not below the standard.
        let exactly = household(1, 720 * 12, 0);
        assert_eq!(
            assess(&exactly, DIBAO, None).map(|a| a.categories),
            Ok(vec![Category::Relative])
        );
        let one_fen_less = Finances {
            annual_income_fen: 720 * 12 * 100 - 1,
            ..exactly
        };
        assert_eq!(
            assess(&one_fen_less, DIBAO, None).map(|a| a.categories),
            Ok(vec![Category::Deep])
        );
    }

    #[test]
    fn relative_difficulty_deducts_employment_costs_and_uses_twice_the_dibao() {
        // 3 people, 60,000 yuan: 1,666.67 per month, above 1,440 (2 × 720)...
        let mut f = household(3, 60_000, 0);
        assert_eq!(assess(&f, DIBAO, None).map(|a| a.categories), Ok(vec![]));
        // ...but 9,000 yuan of necessary employment costs bring it to 1,416.67: relative.
        f.employment_costs_fen = 900_000;
        assert_eq!(
            assess(&f, DIBAO, None).map(|a| a.categories),
            Ok(vec![Category::Relative])
        );
    }

    #[test]
    fn accidental_difficulty_needs_30000_yuan_and_remaining_hardship() {
        let mut f = household(3, 90_000, 0);
        f.hardship_costs_fen = 3_000_000;
        assert_eq!(assess(&f, DIBAO, None).map(|a| a.categories), Ok(vec![]));
        f.still_in_difficulty = true;
        assert_eq!(
            assess(&f, DIBAO, None).map(|a| a.categories),
            Ok(vec![Category::Accidental])
        );
        f.hardship_costs_fen = 2_999_999;
        assert_eq!(assess(&f, DIBAO, None).map(|a| a.categories), Ok(vec![]));
        // A city may lower the threshold by up to 20 %: 24,000 yuan.
        f.hardship_costs_fen = 2_400_000;
        assert_eq!(
            assess(&f, DIBAO, Some(2_400_000)).map(|a| a.categories),
            Ok(vec![Category::Accidental])
        );
    }

    #[test]
    fn city_thresholds_stay_within_twenty_percent() {
        assert_eq!(accidental_threshold(Some(2_400_000)), Ok(2_400_000));
        assert_eq!(accidental_threshold(Some(3_600_000)), Ok(3_600_000));
        assert_eq!(
            accidental_threshold(Some(2_399_999)),
            Err(AssessError::ThresholdOutOfBand)
        );
        assert_eq!(
            accidental_threshold(Some(3_600_001)),
            Err(AssessError::ThresholdOutOfBand)
        );
    }

    #[test]
    fn bad_inputs_are_refused_and_reasons_are_given() {
        assert_eq!(
            assess(&household(0, 1, 0), DIBAO, None),
            Err(AssessError::NoMembers)
        );
        assert_eq!(
            assess(&household(1, -1, 0), DIBAO, None),
            Err(AssessError::NegativeAmount)
        );
        assert_eq!(
            assess(&household(1, 1, 0), 0, None),
            Err(AssessError::NoDibao)
        );
        let a = assess(&household(4, 40_000, 10_000), DIBAO, None)
            .map(|a| a.lines)
            .unwrap_or_default();
        assert!(
            a[0].text.contains("30000.00") && a[0].text.contains("625.00"),
            "{:?}",
            a[0]
        );
    }
}
