//! Exit and return (R-FILE-6): a household whose per-capita income has stayed above the
//! dibao for 6 consecutive months qualifies for exit (脱困); exit goes through review and
//! public notice; a household that falls back (返困) is filed again, its history kept.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Consecutive months above the dibao that qualify a household for exit.
pub const MONTHS_ABOVE_FOR_EXIT: usize = 6;

/// A case file's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Active,
    /// Exit proposed; the county reviews it.
    ExitReview,
    /// Exit on public notice until its end.
    ExitNotice,
    Exited,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Active => "active",
            FileStatus::ExitReview => "exit_review",
            FileStatus::ExitNotice => "exit_notice",
            FileStatus::Exited => "exited",
        }
    }

    pub fn parse(s: &str) -> Option<FileStatus> {
        [
            FileStatus::Active,
            FileStatus::ExitReview,
            FileStatus::ExitNotice,
            FileStatus::Exited,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Steps of the exit process and of a return to difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExitStep {
    /// The grassroots proposes exit (with the income record behind it).
    Propose,
    /// The county puts the exit on notice.
    Notice,
    /// After the notice: the household exits.
    Confirm,
    /// Exit withdrawn (an objection, or income fell again): back to active.
    Withdraw,
    /// An exited household falls back into difficulty: the file is active again.
    Reopen,
}

/// The state a step leads to, or `None` when the step does not exist from `from`.
pub fn step(from: FileStatus, s: ExitStep) -> Option<FileStatus> {
    use ExitStep as E;
    use FileStatus as F;
    match (from, s) {
        (F::Active, E::Propose) => Some(F::ExitReview),
        (F::ExitReview, E::Notice) => Some(F::ExitNotice),
        (F::ExitNotice, E::Confirm) => Some(F::Exited),
        (F::ExitReview | F::ExitNotice, E::Withdraw) => Some(F::Active),
        (F::Exited, E::Reopen) => Some(F::Active),
        _ => None,
    }
}

fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

/// Parses `YYYY-MM`.
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 7)
}

/// Whether the latest `MONTHS_ABOVE_FOR_EXIT` months up to `through` (inclusive) are all on
/// record with a per-capita income above the dibao. A missing month breaks the run: exit
/// rests on evidence, not on silence.
pub fn qualifies_for_exit(
    records: &[(NaiveDate, i64)],
    dibao_fen: i64,
    through: NaiveDate,
) -> bool {
    let last = month_index(through);
    (0..MONTHS_ABOVE_FOR_EXIT as i32).all(|back| {
        records
            .iter()
            .find(|(m, _)| month_index(*m) == last - back)
            .is_some_and(|(_, income)| *income > dibao_fen)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(y: i32, mo: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, 1).unwrap_or_default()
    }

    #[test]
    fn six_consecutive_months_above_the_dibao_qualify() {
        let dibao = 72_000;
        let run: Vec<(NaiveDate, i64)> = (6..=11).map(|mo| (m(2026, mo), 80_000)).collect();
        assert!(qualifies_for_exit(&run, dibao, m(2026, 11)));
        // Five months are not enough, nor is one month at the dibao itself.
        assert!(!qualifies_for_exit(&run[1..], dibao, m(2026, 11)));
        let mut at = run.clone();
        at[2].1 = dibao;
        assert!(!qualifies_for_exit(&at, dibao, m(2026, 11)));
        // A gap in the record breaks the run, and the run must reach the month asked about.
        let mut gap = run.clone();
        gap.remove(3);
        assert!(!qualifies_for_exit(&gap, dibao, m(2026, 11)));
        assert!(!qualifies_for_exit(&run, dibao, m(2026, 12)));
    }

    #[test]
    fn runs_cross_the_new_year() {
        let run = [
            (m(2025, 9), 90_000),
            (m(2025, 10), 90_000),
            (m(2025, 11), 90_000),
            (m(2025, 12), 90_000),
            (m(2026, 1), 90_000),
            (m(2026, 2), 90_000),
        ];
        assert!(qualifies_for_exit(&run, 72_000, m(2026, 2)));
    }

    #[test]
    fn exit_goes_through_review_and_notice_and_can_be_undone() {
        use ExitStep as E;
        use FileStatus as F;
        assert_eq!(step(F::Active, E::Propose), Some(F::ExitReview));
        assert_eq!(step(F::ExitReview, E::Notice), Some(F::ExitNotice));
        assert_eq!(step(F::ExitNotice, E::Confirm), Some(F::Exited));
        assert_eq!(
            step(F::Active, E::Confirm),
            None,
            "no exit without review and notice"
        );
        assert_eq!(step(F::ExitReview, E::Confirm), None);
        assert_eq!(step(F::ExitNotice, E::Withdraw), Some(F::Active));
        assert_eq!(step(F::Exited, E::Reopen), Some(F::Active));
        assert_eq!(step(F::Active, E::Reopen), None);
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(parse_month("2026-11"), Some(m(2026, 11)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-1"), None);
        assert_eq!(parse_month("november"), None);
    }
}
