//! How the console writes values: dates in China time (2026-12-03), money in 元 with two
//! decimals, countdowns in days and hours, and each state with the same words everywhere.

use chrono::{DateTime, Utc};

use crate::domain::deadline::Standing;
use crate::households::rules::Relation;
use crate::infra::clock::CHINA;

/// A relation to the head of the household, as the registry form says it.
pub fn relation_words(r: Relation) -> &'static str {
    match r {
        Relation::Head => "户主",
        Relation::Spouse => "配偶",
        Relation::Child => "子女",
        Relation::Parent => "父母",
        Relation::Grandchild => "孙子女",
        Relation::Grandparent => "祖父母",
        Relation::Sibling => "兄弟姐妹",
        Relation::Other => "其他",
    }
}

/// What a synced record is, in the office's words.
pub fn entity_words(entity: &str) -> &'static str {
    match entity {
        "visit" => "入户走访",
        "photo" => "照片",
        "child" => "适龄儿童",
        "dropout_case" => "辍学个案",
        "retrieval_attempt" => "劝返记录",
        "teaching_session" => "送教上门",
        "correction" => "户情更正",
        "household" => "户档",
        _ => "其他记录",
    }
}

/// `2026-12-03`, China time.
pub fn date(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA).format("%Y-%m-%d").to_string()
}

/// `2026-12-03 14:05`, China time.
pub fn date_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Fen as `1,234.50 元`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02} 元", abs % 100)
}

/// A span of seconds in days and hours (minutes when under an hour): `3 天 4 小时`.
pub fn span(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    match (d, h) {
        (0, 0) => format!("{} 分钟", m.max(1)),
        (0, h) => format!("{h} 小时"),
        (d, 0) => format!("{d} 天"),
        (d, h) => format!("{d} 天 {h} 小时"),
    }
}

/// A countdown as read on a work list: `逾期 2 天 3 小时` or `还剩 5 小时`.
pub fn countdown(secs: i64) -> String {
    if secs < 0 {
        format!("逾期 {}", span(secs))
    } else {
        format!("还剩 {}", span(secs))
    }
}

/// A state's words and the tag's colour class; the same for every record that has it.
pub fn state_tag(state: &str) -> (&'static str, &'static str) {
    match state {
        "pending" | "submitted" | "grassroots_review" | "county_review" => ("待审核", "tag-wait"),
        "returned" => ("已退回", "tag-back"),
        "notice" | "public_notice" | "in_notice" => ("公示中", "tag-notice"),
        "approved" => ("已批准", "tag-ok"),
        "rejected" => ("已驳回", "tag-no"),
        "overdue" => ("逾期", "tag-no"),
        "open" => ("进行中", "tag-wait"),
        "met" => ("已完成", "tag-ok"),
        _ => ("其他", "tag-wait"),
    }
}

/// A clock's standing in the same words everywhere, with its tag's colour class.
pub fn standing_tag(s: Standing) -> (&'static str, &'static str) {
    match s {
        Standing::Open => ("进行中", "tag-wait"),
        Standing::Overdue => ("逾期", "tag-no"),
        Standing::MetOnTime => ("已完成", "tag-ok"),
        Standing::MetLate => ("逾期完成", "tag-back"),
        Standing::Cancelled => ("已撤销", "tag-notice"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_china_days() {
        let late_utc = Utc.with_ymd_and_hms(2026, 12, 2, 17, 30, 0).single();
        assert_eq!(late_utc.map(date).as_deref(), Some("2026-12-03"));
        assert_eq!(late_utc.map(date_time).as_deref(), Some("2026-12-03 01:30"));
    }

    #[test]
    fn money_has_two_decimals_and_groups() {
        assert_eq!(yuan(12_345_678), "123,456.78 元");
        assert_eq!(yuan(5), "0.05 元");
        assert_eq!(yuan(-100_000), "-1,000.00 元");
    }

    #[test]
    fn countdowns_read_as_words() {
        assert_eq!(countdown(-(2 * 86_400 + 3 * 3600 + 5)), "逾期 2 天 3 小时");
        assert_eq!(countdown(5 * 3600), "还剩 5 小时");
        assert_eq!(countdown(20), "还剩 1 分钟");
        assert_eq!(state_tag("rejected").0, "已驳回");
    }
}
