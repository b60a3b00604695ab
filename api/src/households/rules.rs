//! A household as the registry takes it (一户一档): members identified by a valid resident
//! ID number whose birth date and sex agree with what is stated (R-FILE-1), exactly one
//! head, nobody twice, and income and rigid expenses in whole fen (R-FILE-3).

use bangfu_sync::Code;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::resident_id;
use crate::domain::resident_id::Sex;
use crate::domain::validate::Checks;
use crate::infra::error::Msg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Grandparent,
    Sibling,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
}

/// Income counts toward per-capita income; rigid expenses are deducted from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Income,
    Expense,
}

/// Income sources, and the rigid expenses R-FILE-3 deducts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemCategory {
    Wages,
    Farming,
    Business,
    Property,
    Transfer,
    OtherIncome,
    Illness,
    Disability,
    Schooling,
    Employment,
    OtherExpense,
}

impl ItemCategory {
    pub fn kind(self) -> ItemKind {
        use ItemCategory as C;
        match self {
            C::Wages | C::Farming | C::Business | C::Property | C::Transfer | C::OtherIncome => {
                ItemKind::Income
            }
            _ => ItemKind::Expense,
        }
    }
}

/// One person as stated on the form.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub name: String,
    pub relation: Relation,
    /// 18 characters, GB 11643 check character.
    pub id_number: String,
    pub birth_date: NaiveDate,
    pub gender: Gender,
    pub phone: Option<String>,
}

/// One income item or rigid expense for a year.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub category: ItemCategory,
    pub amount_fen: i64,
    pub year: i32,
    pub note: Option<String>,
}

/// A member whose ID number has been checked, in its normal form.
#[derive(Debug, Clone)]
pub struct CheckedMember {
    pub input: MemberInput,
    pub id_number: String,
}

fn msg(zh: &str, en: &str) -> Msg {
    Msg::new(zh.to_owned(), en.to_owned())
}

/// Checks the members and items; every deficiency is reported at once (R-APP-3).
pub fn check(
    c: &mut Checks,
    members: &[MemberInput],
    items: &[ItemInput],
    today: NaiveDate,
) -> Vec<CheckedMember> {
    let heads = members
        .iter()
        .filter(|m| m.relation == Relation::Head)
        .count();
    c.rule(
        !members.is_empty() && members.len() <= 30,
        "members",
        Code::OutOfRange,
        msg(
            "一户须有 1 至 30 名成员。",
            "A household has 1 to 30 members.",
        ),
    );
    c.rule(
        members.is_empty() || heads == 1,
        "members",
        Code::OneHeadRequired,
        msg(
            "一户须有且只有一名户主。",
            "A household has exactly one head.",
        ),
    );
    let mut checked = Vec::with_capacity(members.len());
    let mut seen: Vec<String> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let at = |f: &str| format!("members[{i}].{f}");
        c.text(&at("name"), &m.name, 1, 50);
        c.phone(&at("phone"), m.phone.as_deref());
        match resident_id::parse(&m.id_number, today) {
            Err(e) => c.rule(
                false,
                &at("id_number"),
                e.code(),
                msg(
                    "身份证号码无效（18 位，末位校验码须正确）。",
                    "Invalid resident ID number (18 characters with a correct check character).",
                ),
            ),
            Ok(id) => {
                c.rule(
                    id.birth_date == m.birth_date,
                    &at("birth_date"),
                    Code::InconsistentWithIdNumber,
                    msg(
                        "出生日期与身份证号码中的不一致。",
                        "The birth date differs from the one in the ID number.",
                    ),
                );
                let sex = match m.gender {
                    Gender::Female => Sex::Female,
                    Gender::Male => Sex::Male,
                };
                c.rule(
                    id.sex == sex,
                    &at("gender"),
                    Code::InconsistentWithIdNumber,
                    msg(
                        "性别与身份证号码不一致。",
                        "The gender differs from the one the ID number encodes.",
                    ),
                );
                c.rule(
                    !seen.contains(&id.number),
                    &at("id_number"),
                    Code::DuplicateInHousehold,
                    msg(
                        "同一身份证号码在本户中出现两次。",
                        "The same ID number appears twice in this household.",
                    ),
                );
                seen.push(id.number.clone());
                checked.push(CheckedMember {
                    input: m.clone(),
                    id_number: id.number,
                });
            }
        }
    }
    c.rule(
        items.len() <= 100,
        "items",
        Code::OutOfRange,
        msg(
            "收支项目最多 100 项。",
            "At most 100 income and expense items.",
        ),
    );
    for (i, it) in items.iter().enumerate() {
        c.rule(
            (0..=10_000_000_000).contains(&it.amount_fen),
            &format!("items[{i}].amount_fen"),
            Code::OutOfRange,
            msg(
                "金额须为 0 至 1 亿元之间的整数分。",
                "amount_fen is whole fen between 0 and 100 million yuan.",
            ),
        );
        c.rule(
            (2000..=2100).contains(&it.year),
            &format!("items[{i}].year"),
            Code::OutOfRange,
            msg("年份无效。", "Invalid year."),
        );
        if let Some(n) = &it.note {
            c.text(&format!("items[{i}].note"), n, 0, 200);
        }
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
    }

    fn member(rel: Relation, id: &str, birth: (i32, u32, u32), gender: Gender) -> MemberInput {
        MemberInput {
            name: "张三".into(),
            relation: rel,
            id_number: id.into(),
            birth_date: NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap_or_default(),
            gender,
            phone: None,
        }
    }

    fn codes(c: &Checks) -> Vec<(String, String)> {
        c.errors
            .iter()
            .map(|e| (e.field.clone(), e.code.to_string()))
            .collect()
    }

    // 11010519491231002X: born 1949-12-31, sequence 002 (even: female).
    const WOMAN: &str = "11010519491231002X";

    #[test]
    fn a_consistent_household_passes_with_normalised_numbers() {
        let mut c = Checks::default();
        let lower = WOMAN.to_ascii_lowercase();
        let got = check(
            &mut c,
            &[member(
                Relation::Head,
                &lower,
                (1949, 12, 31),
                Gender::Female,
            )],
            &[],
            today(),
        );
        assert!(c.errors.is_empty(), "{:?}", codes(&c));
        assert_eq!(got[0].id_number, WOMAN);
    }

    #[test]
    fn every_deficiency_is_named_at_once() {
        let mut c = Checks::default();
        let members = [
            member(Relation::Spouse, WOMAN, (1950, 1, 1), Gender::Male),
            member(Relation::Child, WOMAN, (1949, 12, 31), Gender::Female),
            member(
                Relation::Child,
                "110105194912310021",
                (1949, 12, 31),
                Gender::Female,
            ),
        ];
        let items = [ItemInput {
            category: ItemCategory::Illness,
            amount_fen: -5,
            year: 1990,
            note: None,
        }];
        check(&mut c, &members, &items, today());
        let got = codes(&c);
        for want in [
            ("members", "one_head_required"),
            ("members[0].birth_date", "inconsistent_with_id_number"),
            ("members[0].gender", "inconsistent_with_id_number"),
            ("members[1].id_number", "duplicate_in_household"),
            ("members[2].id_number", "invalid_check_digit"),
            ("items[0].amount_fen", "out_of_range"),
            ("items[0].year", "out_of_range"),
        ] {
            assert!(
                got.contains(&(want.0.to_owned(), want.1.to_owned())),
                "missing {want:?} in {got:?}"
            );
        }
    }

    #[test]
    fn empty_households_and_two_heads_are_refused() {
        let mut c = Checks::default();
        check(&mut c, &[], &[], today());
        assert!(codes(&c).contains(&("members".into(), "out_of_range".into())));
        let mut c = Checks::default();
        let head = member(Relation::Head, WOMAN, (1949, 12, 31), Gender::Female);
        check(&mut c, &[head.clone(), head], &[], today());
        assert!(codes(&c).contains(&("members".into(), "one_head_required".into())));
    }

    #[test]
    fn categories_know_their_kind() {
        assert_eq!(ItemCategory::Wages.kind(), ItemKind::Income);
        assert_eq!(ItemCategory::Schooling.kind(), ItemKind::Expense);
        assert_eq!(ItemCategory::Employment.kind(), ItemKind::Expense);
    }
}
