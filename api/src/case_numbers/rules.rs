//! Human-readable case numbers (e.g. `530123-2026-KC-00042`): county code, year, a series
//! per kind of case, and a serial. Phones create cases offline, so they mint numbers from
//! blocks of serials they reserved while online; two phones never hold the same block, so
//! they never mint the same number.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most serials one block may hold, and the most one series may ever hand out.
pub const MAX_BLOCK: i64 = 500;
pub const MAX_SERIAL: i64 = 99_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Series {
    /// 控辍: dropout cases.
    DropoutCase,
    /// 就业: employment plans.
    EmploymentPlan,
}

impl Series {
    pub fn as_str(self) -> &'static str {
        match self {
            Series::DropoutCase => "dropout_case",
            Series::EmploymentPlan => "employment_plan",
        }
    }

    /// The letters in the number.
    pub fn code(self) -> &'static str {
        match self {
            Series::DropoutCase => "KC",
            Series::EmploymentPlan => "JY",
        }
    }

    /// The series of the synced entity that carries `case_no`.
    pub fn of_entity(entity: &str) -> Option<Series> {
        match entity {
            "dropout_case" => Some(Series::DropoutCase),
            "employment_plan" => Some(Series::EmploymentPlan),
            _ => None,
        }
    }

    fn of_code(code: &str) -> Option<Series> {
        [Series::DropoutCase, Series::EmploymentPlan]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNumber {
    pub county_code: String,
    pub year: i32,
    pub series: Series,
    pub serial: i64,
}

impl CaseNumber {
    pub fn format(&self) -> String {
        format!(
            "{}-{}-{}-{:05}",
            self.county_code,
            self.year,
            self.series.code(),
            self.serial
        )
    }

    /// Parses a number as [`CaseNumber::format`] writes it; anything else is `None`.
    pub fn parse(s: &str) -> Option<CaseNumber> {
        let mut parts = s.split('-');
        let (county, year, code, serial) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || county.len() != 6
            || !county.bytes().all(|b| b.is_ascii_digit())
            || year.len() != 4
            || serial.len() != 5
            || !serial.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(CaseNumber {
            county_code: county.to_owned(),
            year: year.parse().ok()?,
            series: Series::of_code(code)?,
            serial: serial
                .parse()
                .ok()
                .filter(|n| (1..=MAX_SERIAL).contains(n))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_nothing_else_parses() {
        let n = CaseNumber {
            county_code: "530123".into(),
            year: 2026,
            series: Series::DropoutCase,
            serial: 42,
        };
        assert_eq!(n.format(), "530123-2026-KC-00042");
        assert_eq!(CaseNumber::parse("530123-2026-KC-00042"), Some(n));
        for bad in [
            "530123-2026-KC-42",
            "530123-2026-XX-00042",
            "53012-2026-KC-00042",
            "530123-2026-KC-00000",
            "530123-2026-KC-00042-1",
            "",
            "../../etc",
        ] {
            assert_eq!(CaseNumber::parse(bad), None, "{bad}");
        }
    }
}
