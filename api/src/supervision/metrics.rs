//! Supervision metrics (R-SUP-1, R-SUP-3): the figures of a region over a period, and how
//! the rates are drawn from them. They are read from the rollups
//! ([`crate::supervision::figures`]); [`crate::supervision::recount`] counts the same from
//! the records themselves, which proves the rollups right.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

/// The figures of one region over one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Metrics {
    /// Active households in the registry.
    pub households_active: i64,
    /// Of them, visited at least once in the period.
    pub households_visited: i64,
    pub visit_completion: f64,
    /// Evidence photos waiting for review now (the review backlog).
    pub photos_pending: i64,
    /// Dropout cases open now.
    pub dropout_cases_open: i64,
    pub dropout_cases_opened: i64,
    /// Closed in the period with the evidence their outcome needs.
    pub dropout_cases_closed: i64,
    /// Closed in the period with the child confirmed back in school.
    pub dropout_cases_returned: i64,
    /// Cases open at some time in the period: the retrieval rate's denominator.
    pub dropout_cases_in_period: i64,
    /// `dropout_cases_returned / dropout_cases_in_period`.
    pub retrieval_rate: f64,
    /// Home-teaching child-months due in the period, and those that met the rule.
    pub home_teaching_months: i64,
    pub home_teaching_compliant: i64,
    pub home_teaching_compliance: f64,
    /// Aid payments made in the period, those made by the end of their period, the amount.
    pub disbursements: i64,
    pub disbursements_on_time: i64,
    pub disbursed_fen: i64,
    pub disbursement_timeliness: f64,
    /// Case files opened, adjusted (changed after opening) and exited in the period.
    pub files_created: i64,
    pub files_adjusted: i64,
    pub files_exited: i64,
    /// Clocks due in the period (and already due), met on time, missed.
    pub deadlines_due: i64,
    pub deadlines_met_on_time: i64,
    pub deadlines_missed: i64,
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64 * 10_000.0).round() / 10_000.0
    }
}

impl Metrics {
    pub(crate) fn add(&mut self, o: &Metrics) {
        self.add_times(o, 1);
    }

    /// Adds `o` times `sign` (1 to add, -1 to take away) to every count.
    pub(crate) fn add_times(&mut self, o: &Metrics, sign: i64) {
        self.households_active += sign * o.households_active;
        self.households_visited += sign * o.households_visited;
        self.photos_pending += sign * o.photos_pending;
        self.dropout_cases_open += sign * o.dropout_cases_open;
        self.dropout_cases_opened += sign * o.dropout_cases_opened;
        self.dropout_cases_closed += sign * o.dropout_cases_closed;
        self.dropout_cases_returned += sign * o.dropout_cases_returned;
        self.home_teaching_months += sign * o.home_teaching_months;
        self.home_teaching_compliant += sign * o.home_teaching_compliant;
        self.disbursements += sign * o.disbursements;
        self.disbursements_on_time += sign * o.disbursements_on_time;
        self.disbursed_fen += sign * o.disbursed_fen;
        self.files_created += sign * o.files_created;
        self.files_adjusted += sign * o.files_adjusted;
        self.files_exited += sign * o.files_exited;
        self.deadlines_due += sign * o.deadlines_due;
        self.deadlines_met_on_time += sign * o.deadlines_met_on_time;
        self.deadlines_missed += sign * o.deadlines_missed;
    }

    pub(crate) fn finish(&mut self, cases_in_period: i64) {
        self.dropout_cases_in_period = cases_in_period;
        self.visit_completion = ratio(self.households_visited, self.households_active);
        self.retrieval_rate = ratio(self.dropout_cases_returned, cases_in_period);
        self.home_teaching_compliance =
            ratio(self.home_teaching_compliant, self.home_teaching_months);
        self.disbursement_timeliness = ratio(self.disbursements_on_time, self.disbursements);
    }
}

/// The period and the grouping of one metrics query.
pub struct Period {
    /// The region's path; rows are grouped by the child region they lie in.
    pub path: String,
    pub from: NaiveDateTime,
    /// The first instant after the period (the start of the day after `to_day`).
    pub until: NaiveDateTime,
    pub from_day: NaiveDate,
    pub to_day: NaiveDate,
    pub now: NaiveDateTime,
}
