//! Made-up people of the demo county: Chinese names, resident ID numbers that pass the
//! GB 11643 check, mobile numbers and village addresses, all drawn from one seeded
//! generator, so the same seed always makes the same people.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use crate::domain::resident_id;

const SURNAMES: &[&str] = &[
    "李", "王", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "罗", "高", "林", "杨", "段", "普", "字", "李", "王", "张",
];
const MALE: &[&str] = &[
    "伟", "强", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "斌", "国",
    "建", "志", "文", "海", "云", "德", "福", "春",
];
const FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "红", "梅", "英", "兰", "琴", "秀",
    "桂", "凤", "萍", "菊", "云", "春", "雪", "玉",
];

/// A Chinese name: a surname and one or two given characters.
pub fn name(rng: &mut StdRng, female: bool) -> String {
    let pool = if female { FEMALE } else { MALE };
    let mut n = String::from(*SURNAMES.choose(rng).unwrap_or(&"李"));
    n.push_str(pool.choose(rng).unwrap_or(&"明"));
    if rng.random_bool(0.7) {
        n.push_str(pool.choose(rng).unwrap_or(&"华"));
    }
    n
}

/// A resident ID number (GB 11643) registered in `area` (six digits) for someone born on
/// `born`: a three-digit sequence, odd for men and even for women, and the check character.
pub fn resident_id(rng: &mut StdRng, area: &str, born: NaiveDate, female: bool) -> String {
    let mut seq: u32 = rng.random_range(0..500) * 2;
    if !female {
        seq += 1;
    }
    let first17 = format!(
        "{area}{:04}{:02}{:02}{seq:03}",
        born.year(),
        born.month(),
        born.day()
    );
    let check = resident_id::check_char(first17.as_bytes()).unwrap_or('X');
    format!("{first17}{check}")
}

/// A birth date `age_from..age_to` years before `reference` (a fixed day, so the same seed
/// gives the same people whatever day the demo is loaded).
pub fn birth_date(rng: &mut StdRng, reference: NaiveDate, age_from: i64, age_to: i64) -> NaiveDate {
    let days = rng.random_range(age_from * 365 + 10..age_to * 365 - 10);
    reference - chrono::Duration::days(days)
}

/// A mainland mobile number.
pub fn phone(rng: &mut StdRng) -> String {
    let second = *[3u8, 5, 7, 8, 9].choose(rng).unwrap_or(&3);
    format!("1{second}{:09}", rng.random_range(0..1_000_000_000u32))
}

const GROUPS: &[&str] = &[
    "一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组",
];

/// A house in a village: its group (村民小组) and number.
pub fn address(rng: &mut StdRng, village: &str) -> String {
    let group = GROUPS.choose(rng).unwrap_or(&"一组");
    format!("{village}{group} {} 号", rng.random_range(1..80))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::domain::resident_id::Sex;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn generated_id_numbers_pass_the_check_and_encode_birth_and_sex() {
        let mut rng = StdRng::seed_from_u64(7);
        for i in 0..500 {
            let female = i % 2 == 0;
            let born = birth_date(&mut rng, day(2026, 1, 1), 1, 90);
            let n = resident_id(&mut rng, "530123", born, female);
            let id = resident_id::parse(&n, day(2026, 12, 1));
            assert!(id.is_ok(), "{n}");
            if let Ok(id) = id {
                assert_eq!(id.birth_date, born);
                assert_eq!(id.sex, if female { Sex::Female } else { Sex::Male });
            }
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_people() {
        let make = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20)
                .map(|i| {
                    (
                        name(&mut rng, i % 2 == 0),
                        phone(&mut rng),
                        address(&mut rng, "青山村"),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(make(1), make(1));
        assert_ne!(make(1), make(2));
    }

    #[test]
    fn phones_are_mainland_mobiles() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let p = phone(&mut rng);
            assert_eq!(p.len(), 11, "{p}");
            assert!(
                p.starts_with('1') && p.chars().all(|c| c.is_ascii_digit()),
                "{p}"
            );
        }
    }
}
