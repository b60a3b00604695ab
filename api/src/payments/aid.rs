//! Aid standards and caps (R-FILE-4, seed 001 篇2), in fen. Amounts are measured in months
//! of the local urban dibao standard; checks cover the whole year's payments of a file, so
//! splitting a payment cannot get round a cap.

use bangfu_sync::Code;
use serde::{Deserialize, Serialize};

use crate::infra::error::Msg;
use crate::payments::classification;
use crate::payments::classification::{Assessment, Category, Finances, Line};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AidKind {
    Living,
    Medical,
    Education,
}

/// Who must approve a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    County,
    /// Medical aid of 20,000 yuan or more: the provincial federation approves.
    Provincial,
    /// Medical aid of 50,000 yuan or more: the national federation approves.
    National,
}

pub const PROVINCIAL_APPROVAL_FEN: i64 = 2_000_000;
pub const NATIONAL_APPROVAL_FEN: i64 = 5_000_000;
pub const RELATIVE_MEDICAL_CAP_FEN: i64 = 1_600_000;
pub const ACCIDENTAL_CAP_FEN: i64 = 1_000_000;

/// A proposed payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub category: Category,
    pub kind: AidKind,
    pub amount_fen: i64,
    /// Medical aid: what the household pays itself after insurance.
    pub out_of_pocket_fen: i64,
    /// Education aid: students in the household.
    pub students: u32,
}

/// What the file already received this year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaidThisYear {
    pub payments: Vec<(AidKind, i64)>,
}

impl PaidThisYear {
    fn of(&self, kind: AidKind) -> i64 {
        crate::domain::money::total(
            self.payments
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, a)| *a),
        )
    }

    fn total(&self) -> i64 {
        crate::domain::money::total(self.payments.iter().map(|(_, a)| *a))
    }
}

/// A rule the payment breaks, with the figures that break it, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule, e.g. `R-FILE-4`.
    pub rule: &'static str,
    pub code: Code,
    pub text: Msg,
}

/// Why a payment is refused: every rule it breaks, and the reasoning with its figures (the
/// standard that applies, what was paid this year, the most this payment could be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub violations: Vec<Violation>,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub approval: Approval,
    /// The most this payment may be.
    pub max_fen: i64,
    pub lines: Vec<Line>,
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn months(dibao: i64, tenths: i64) -> i64 {
    dibao.saturating_mul(tenths) / 10
}

/// The most a case file of `category` may receive in a year for one kind of aid (`None`:
/// every kind together, accidental difficulty's one cap), as an office reads it beside
/// what was paid (R-FILE-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCap {
    pub kind: Option<AidKind>,
    /// The cap in fen; `None` where it is the household's own bill (medical aid to a deep
    /// difficulty household is at most what it pays itself).
    pub cap_fen: Option<i64>,
    /// Education aid's cap is per student.
    pub per_student: bool,
    /// The standard, in words.
    pub text: String,
}

/// The yearly caps of a file of `category` where the local urban dibao is
/// `urban_dibao_fen` a month: the figures [`check`] holds each payment to.
pub fn yearly_caps(category: Category, urban_dibao_fen: i64) -> Vec<YearCap> {
    let living = months(urban_dibao_fen, 120);
    let education = months(urban_dibao_fen, 100);
    let cap = |kind, cap_fen, per_student, text: String| YearCap {
        kind,
        cap_fen,
        per_student,
        text,
    };
    match category {
        Category::Deep => vec![
            cap(
                Some(AidKind::Living),
                Some(living),
                false,
                format!(
                    "每年 8 至 12 个月城市低保标准：{} 至 {} 元",
                    yuan(months(urban_dibao_fen, 80)),
                    yuan(living)
                ),
            ),
            cap(
                Some(AidKind::Education),
                Some(education),
                true,
                format!("每生每年不超过 10 个月城市低保标准：{} 元", yuan(education)),
            ),
            cap(
                Some(AidKind::Medical),
                None,
                false,
                "不超过个人承担部分；2 万元及以上报省总工会审批".to_owned(),
            ),
        ],
        Category::Relative => vec![
            cap(
                Some(AidKind::Living),
                Some(living.saturating_mul(80) / 100),
                false,
                format!(
                    "深度困难标准的 60%–80%：每年最高 {} 元",
                    yuan(living.saturating_mul(80) / 100)
                ),
            ),
            cap(
                Some(AidKind::Education),
                Some(education.saturating_mul(80) / 100),
                true,
                format!(
                    "深度困难标准的 60%–80%：每生每年最高 {} 元",
                    yuan(education.saturating_mul(80) / 100)
                ),
            ),
            cap(
                Some(AidKind::Medical),
                Some(RELATIVE_MEDICAL_CAP_FEN),
                false,
                "不超过个人承担部分，且最高 1.6 万元".to_owned(),
            ),
        ],
        Category::Accidental => vec![cap(
            None,
            Some(ACCIDENTAL_CAP_FEN),
            false,
            "年度因困支出的 10%–15%，各类救助合计最高 1 万元".to_owned(),
        )],
    }
}

/// Checks a payment. `reassess` is the household's finances with the region's dibao, for
/// the rule that earlier aid this year counts as income when a deep-difficulty household is
/// assessed again for another kind of aid (multiple aid, 多重救助). Instalments of one kind
/// (living aid paid month by month) are one aid within its yearly standard and need no
/// reassessment.
pub fn check(
    p: &Proposal,
    urban_dibao_fen: i64,
    paid: &PaidThisYear,
    hardship_costs_fen: i64,
    reassess: Option<(&Finances, i64)>,
) -> Result<Decision, Refusal> {
    let mut lines = Vec::new();
    let mut violations = Vec::new();
    let mut fail = |code: Code, zh: String, en: String| {
        violations.push(Violation {
            rule: "R-FILE-4",
            code,
            text: Msg::new(format!("R-FILE-4：{zh}"), format!("R-FILE-4: {en}")),
        })
    };
    if p.amount_fen <= 0 {
        fail(
            Code::AmountNotPositive,
            "救助金额须大于零。".into(),
            "the amount of aid must be more than zero.".into(),
        );
    }
    let so_far = paid.of(p.kind);
    let students = i64::from(p.students.max(1));
    // (annual cap for this kind, in fen) per category, from months of the urban dibao.
    let deep_cap = match p.kind {
        AidKind::Living => months(urban_dibao_fen, 120),
        AidKind::Education => months(urban_dibao_fen, 100).saturating_mul(students),
        AidKind::Medical => p.out_of_pocket_fen,
    };
    let cap = match p.category {
        Category::Deep => deep_cap,
        Category::Relative => match p.kind {
            AidKind::Medical => p.out_of_pocket_fen.min(RELATIVE_MEDICAL_CAP_FEN),
            _ => deep_cap.saturating_mul(80) / 100,
        },
        Category::Accidental => {
            (hardship_costs_fen.saturating_mul(15) / 100).min(ACCIDENTAL_CAP_FEN)
        }
    };
    let rule_en = match (p.category, p.kind) {
        (Category::Deep, AidKind::Living) => format!(
            "living aid to a deep-difficulty household is 8 to 12 months of the urban dibao a year: {} to {} yuan.",
            yuan(months(urban_dibao_fen, 80)),
            yuan(cap)
        ),
        (Category::Deep, AidKind::Education) => format!(
            "education aid to a deep-difficulty household is at most 10 months of the urban dibao per student a year: {} yuan for {} student(s).",
            yuan(cap),
            students
        ),
        (Category::Deep, AidKind::Medical) => format!(
            "medical aid to a deep-difficulty household is at most what it pays itself: {} yuan.",
            yuan(cap)
        ),
        (Category::Relative, AidKind::Medical) => format!(
            "medical aid to a relative-difficulty household is at most what it pays itself, and 16,000 yuan at most: {} yuan.",
            yuan(cap)
        ),
        (Category::Relative, _) => format!(
            "aid to a relative-difficulty household is 60%-80% of the deep-difficulty standard: {} yuan a year at most for this kind.",
            yuan(cap)
        ),
        (Category::Accidental, _) => format!(
            "aid after an accident is 10%-15% of the year's hardship costs of {} yuan, 10,000 yuan at most: {} to {} yuan.",
            yuan(hardship_costs_fen),
            yuan((hardship_costs_fen / 10).min(ACCIDENTAL_CAP_FEN)),
            yuan(cap)
        ),
    };
    let rule_text = match (p.category, p.kind) {
        (Category::Deep, AidKind::Living) => format!(
            "深度困难生活救助每年 8 至 12 个月城市低保标准：{} 至 {} 元。",
            yuan(months(urban_dibao_fen, 80)),
            yuan(cap)
        ),
        (Category::Deep, AidKind::Education) => format!(
            "深度困难助学救助每生每年不超过 10 个月城市低保标准：{} 名学生共 {} 元。",
            students,
            yuan(cap)
        ),
        (Category::Deep, AidKind::Medical) => {
            format!("深度困难医疗救助不超过个人承担部分 {} 元。", yuan(cap))
        }
        (Category::Relative, AidKind::Medical) => format!(
            "相对困难医疗救助不超过个人承担部分，且最高 1.6 万元：{} 元。",
            yuan(cap)
        ),
        (Category::Relative, _) => format!(
            "相对困难救助为深度困难标准的 60%–80%：本项年度最高 {} 元。",
            yuan(cap)
        ),
        (Category::Accidental, _) => format!(
            "意外致困救助为年度因困支出 {} 元的 10%–15%，最高 1 万元：{} 至 {} 元。",
            yuan(hardship_costs_fen),
            yuan((hardship_costs_fen / 10).min(ACCIDENTAL_CAP_FEN)),
            yuan(cap)
        ),
    };
    lines.push(Line {
        rule: "R-FILE-4",
        text: rule_text.clone(),
    });
    let so_far_relevant = if p.category == Category::Accidental {
        paid.total()
    } else {
        so_far
    };
    let max_fen = cap.saturating_sub(so_far_relevant).max(0);
    lines.push(Line {
        rule: "R-FILE-4",
        text: format!(
            "本年度已发放同类救助 {} 元，本次最多 {} 元，申请 {} 元。",
            yuan(so_far_relevant),
            yuan(max_fen),
            yuan(p.amount_fen)
        ),
    });
    if p.amount_fen > max_fen {
        fail(
            Code::OverCap,
            format!(
                "申请金额 {} 元超过本次上限 {} 元（本年度已发放同类救助 {} 元）。{}",
                yuan(p.amount_fen),
                yuan(max_fen),
                yuan(so_far_relevant),
                rule_text
            ),
            format!(
                "the {} yuan asked for exceed this payment's limit of {} yuan ({} yuan of this kind already paid this year); {}",
                yuan(p.amount_fen),
                yuan(max_fen),
                yuan(so_far_relevant),
                rule_en
            ),
        );
    }
    if p.category == Category::Relative && paid.payments.iter().any(|(k, _)| *k != p.kind) {
        fail(
            Code::SingleAidOnly,
            "相对困难家庭年度内只予单一项目救助，不予多重救助。".into(),
            "a relative-difficulty household receives one kind of aid a year, never several."
                .into(),
        );
    }
    if p.category == Category::Deep && paid.payments.iter().any(|(k, _)| *k != p.kind) {
        match reassess {
            Some((f, dibao_local)) => {
                let with_aid = Finances {
                    annual_income_fen: f.annual_income_fen.saturating_add(paid.total()),
                    ..f.clone()
                };
                let again: Option<Assessment> =
                    classification::assess(&with_aid, dibao_local, None).ok();
                let still = again.as_ref().is_some_and(|a| !a.categories.is_empty());
                lines.push(Line {
                    rule: "R-FILE-4",
                    text: format!(
                        "多重救助：将本年度已发放的 {} 元计入家庭收入重新核算，{}。",
                        yuan(paid.total()),
                        if still {
                            "仍符合建档条件"
                        } else {
                            "已不符合建档条件"
                        }
                    ),
                });
                if !still {
                    fail(
                        Code::NoLongerEligible,
                        format!(
                            "将本年度已发放的 {} 元计入收入重新核算后，家庭已不符合建档条件。",
                            yuan(paid.total())
                        ),
                        format!(
                            "with the {} yuan paid this year counted as income, the household no longer qualifies for a case file.",
                            yuan(paid.total())
                        ),
                    );
                }
            }
            None => fail(
                Code::ReassessmentRequired,
                format!(
                    "深度困难家庭本年度已获其他救助 {} 元，再给予多重救助前须将其计入收入重新核算：请随本次发放提交 reassessment（家庭当前的人口、收入和刚性支出）。",
                    yuan(paid.total())
                ),
                format!(
                    "the deep-difficulty household already received {} yuan of other aid this year, which is counted as income before another kind is given: send a reassessment (the household's current members, income and rigid expenses) with this payment.",
                    yuan(paid.total())
                ),
            ),
        }
    }
    let approval = if p.kind == AidKind::Medical && p.amount_fen >= NATIONAL_APPROVAL_FEN {
        Approval::National
    } else if p.kind == AidKind::Medical && p.amount_fen >= PROVINCIAL_APPROVAL_FEN {
        Approval::Provincial
    } else {
        Approval::County
    };
    if approval != Approval::County {
        lines.push(Line {
            rule: "R-FILE-4",
            text: format!(
                "医疗救助 {} 元，须报{}审批。",
                yuan(p.amount_fen),
                if approval == Approval::National {
                    "全总"
                } else {
                    "省总工会"
                }
            ),
        });
    }
    if violations.is_empty() {
        Ok(Decision {
            approval,
            max_fen,
            lines,
        })
    } else {
        Err(Refusal { violations, lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yearly_caps_follow_the_standards() {
        let deep = yearly_caps(Category::Deep, 72_000);
        assert_eq!(deep[0].kind, Some(AidKind::Living));
        assert_eq!(deep[0].cap_fen, Some(864_000), "12 months of 720 yuan");
        assert_eq!(deep[1].cap_fen, Some(720_000));
        assert!(deep[1].per_student);
        assert_eq!(deep[2].cap_fen, None, "medical: the household's own bill");
        let relative = yearly_caps(Category::Relative, 72_000);
        assert_eq!(relative[0].cap_fen, Some(691_200), "80 % of the deep cap");
        assert_eq!(relative[2].cap_fen, Some(RELATIVE_MEDICAL_CAP_FEN));
        let accidental = yearly_caps(Category::Accidental, 72_000);
        assert_eq!(accidental.len(), 1);
        assert_eq!(accidental[0].kind, None, "one cap for every kind together");
        assert_eq!(accidental[0].cap_fen, Some(ACCIDENTAL_CAP_FEN));
    }

    const URBAN: i64 = 72_000; // 720 yuan a month

    fn proposal(category: Category, kind: AidKind, yuan: i64) -> Proposal {
        Proposal {
            category,
            kind,
            amount_fen: yuan * 100,
            out_of_pocket_fen: 0,
            students: 1,
        }
    }

    fn codes(r: Result<Decision, Refusal>) -> Vec<&'static str> {
        r.err()
            .map(|r| r.violations)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.code.as_str())
            .collect()
    }

    #[test]
    fn amounts_at_the_ends_of_i64_do_not_overflow() {
        let p = proposal(Category::Deep, AidKind::Living, 1);
        let paid = PaidThisYear {
            payments: vec![(AidKind::Living, i64::MAX), (AidKind::Living, i64::MAX)],
        };
        let r = check(&p, i64::MAX, &paid, i64::MAX, None);
        assert!(codes(r).contains(&"over_cap"));
    }

    #[test]
    fn deep_living_aid_is_at_most_twelve_months_a_year() {
        let none = PaidThisYear::default();
        // 12 × 720 = 8,640 yuan.
        assert!(
            check(
                &proposal(Category::Deep, AidKind::Living, 8_640),
                URBAN,
                &none,
                0,
                None
            )
            .is_ok()
        );
        assert_eq!(
            codes(check(
                &proposal(Category::Deep, AidKind::Living, 8_641),
                URBAN,
                &none,
                0,
                None
            )),
            ["over_cap"]
        );
        // Split payments count together.
        let paid = PaidThisYear {
            payments: vec![(AidKind::Living, 600_000)],
        };
        let f = Finances {
            members: 3,
            annual_income_fen: 1_000_000,
            ..Finances::default()
        };
        let r = check(
            &proposal(Category::Deep, AidKind::Living, 2_641),
            URBAN,
            &paid,
            0,
            Some((&f, URBAN)),
        );
        assert_eq!(codes(r), ["over_cap"]);
    }

    #[test]
    fn deep_medical_aid_needs_higher_approval_from_20000_and_50000_yuan() {
        let none = PaidThisYear::default();
        let mut p = proposal(Category::Deep, AidKind::Medical, 19_999);
        p.out_of_pocket_fen = 10_000_000;
        assert_eq!(
            check(&p, URBAN, &none, 0, None).map(|d| d.approval),
            Ok(Approval::County)
        );
        p.amount_fen = 2_000_000;
        assert_eq!(
            check(&p, URBAN, &none, 0, None).map(|d| d.approval),
            Ok(Approval::Provincial)
        );
        p.amount_fen = 5_000_000;
        assert_eq!(
            check(&p, URBAN, &none, 0, None).map(|d| d.approval),
            Ok(Approval::National)
        );
        // Never more than the household paid itself.
        p.out_of_pocket_fen = 4_000_000;
        assert_eq!(codes(check(&p, URBAN, &none, 0, None)), ["over_cap"]);
    }

    #[test]
    fn deep_education_aid_is_ten_months_per_student() {
        let none = PaidThisYear::default();
        let mut p = proposal(Category::Deep, AidKind::Education, 14_400); // 2 × 10 × 720
        p.students = 2;
        assert!(check(&p, URBAN, &none, 0, None).is_ok());
        p.students = 1;
        assert_eq!(codes(check(&p, URBAN, &none, 0, None)), ["over_cap"]);
    }

    #[test]
    fn relative_difficulty_gets_one_kind_of_aid_and_medical_at_most_16000_yuan() {
        let none = PaidThisYear::default();
        let mut p = proposal(Category::Relative, AidKind::Medical, 16_000);
        p.out_of_pocket_fen = 3_000_000;
        assert!(check(&p, URBAN, &none, 0, None).is_ok());
        p.amount_fen = 1_600_001;
        assert_eq!(codes(check(&p, URBAN, &none, 0, None)), ["over_cap"]);
        // 80 % of the deep living standard: 0.8 × 8,640 = 6,912 yuan.
        assert!(
            check(
                &proposal(Category::Relative, AidKind::Living, 6_912),
                URBAN,
                &none,
                0,
                None
            )
            .is_ok()
        );
        assert_eq!(
            codes(check(
                &proposal(Category::Relative, AidKind::Living, 6_913),
                URBAN,
                &none,
                0,
                None
            )),
            ["over_cap"]
        );
        let paid = PaidThisYear {
            payments: vec![(AidKind::Living, 100_000)],
        };
        assert_eq!(
            codes(check(
                &proposal(Category::Relative, AidKind::Education, 100),
                URBAN,
                &paid,
                0,
                None
            )),
            ["single_aid_only"]
        );
    }

    #[test]
    fn accidental_aid_is_at_most_15_percent_and_10000_yuan() {
        let none = PaidThisYear::default();
        // 15 % of 40,000 = 6,000 yuan.
        assert!(
            check(
                &proposal(Category::Accidental, AidKind::Living, 6_000),
                URBAN,
                &none,
                4_000_000,
                None
            )
            .is_ok()
        );
        assert_eq!(
            codes(check(
                &proposal(Category::Accidental, AidKind::Living, 6_001),
                URBAN,
                &none,
                4_000_000,
                None
            )),
            ["over_cap"]
        );
        // 15 % of 100,000 would be 15,000; the cap is 10,000.
        assert!(
            check(
                &proposal(Category::Accidental, AidKind::Medical, 10_000),
                URBAN,
                &none,
                10_000_000,
                None
            )
            .is_ok()
        );
        assert_eq!(
            codes(check(
                &proposal(Category::Accidental, AidKind::Medical, 10_001),
                URBAN,
                &none,
                10_000_000,
                None
            )),
            ["over_cap"]
        );
    }

    #[test]
    fn earlier_aid_counts_as_income_when_a_deep_household_asks_again() {
        // 3 people, 24,000 yuan: 666.67 a month, deep. 7,000 yuan of aid already paid makes
        // 31,000: 861 a month, no longer deep but still relative: may be aided again.
        let f = Finances {
            members: 3,
            annual_income_fen: 2_400_000,
            ..Finances::default()
        };
        let paid = PaidThisYear {
            payments: vec![(AidKind::Living, 700_000)],
        };
        let p = proposal(Category::Deep, AidKind::Medical, 1_000);
        let p = Proposal {
            out_of_pocket_fen: 500_000,
            ..p
        };
        assert!(check(&p, URBAN, &paid, 0, Some((&f, URBAN))).is_ok());
        // With 60,000 yuan already paid the household is out of difficulty.
        let paid = PaidThisYear {
            payments: vec![(AidKind::Living, 6_000_000)],
        };
        assert_eq!(
            codes(check(&p, URBAN, &paid, 0, Some((&f, URBAN)))),
            ["no_longer_eligible"]
        );
        assert_eq!(
            codes(check(&p, URBAN, &paid, 0, None)),
            ["reassessment_required"]
        );
    }

    #[test]
    fn monthly_living_aid_of_a_deep_household_needs_no_reassessment() {
        // November's living aid paid; December's is the same aid, within 12 months a year.
        let paid = PaidThisYear {
            payments: vec![(AidKind::Living, 72_000)],
        };
        let p = proposal(Category::Deep, AidKind::Living, 720);
        assert!(check(&p, URBAN, &paid, 0, None).is_ok());
    }

    #[test]
    fn a_refusal_names_the_rule_and_its_figures() {
        let none = PaidThisYear::default();
        let refusal = check(
            &proposal(Category::Deep, AidKind::Living, 9_000),
            URBAN,
            &none,
            0,
            None,
        )
        .expect_err("over the cap");
        let v = &refusal.violations[0];
        assert_eq!((v.rule, v.code), ("R-FILE-4", Code::OverCap));
        for (text, months) in [(&v.text.zh, "12 个月"), (&v.text.en, "12 months")] {
            assert!(text.starts_with("R-FILE-4"), "{text}");
            assert!(text.contains(months), "{text}");
            assert!(text.contains("8640.00"), "{text}");
        }
        assert!(v.text.en.contains("9000.00"), "{}", v.text.en);
        assert!(
            refusal.lines.iter().any(|l| l.text.contains("12 个月")),
            "{:?}",
            refusal.lines
        );
    }
}
