//! What the deadlines capability shows of a clock, to every adapter that shows one.

use crate::deadlines::queries::DeadlineRow;
use crate::domain::deadline::{Standing, countdown_secs, escalated_to, escalation_level};
use crate::infra::error::{Error, Lang, Msg, Result};
use crate::infra::http::utc;
use bangfu_sync::Code;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The person or office that must act, and how far a missed clock has climbed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9e01", "kind": "dropout_return_deadline",
    "title": "限期复学：监护人须在期限内送学生返校", "subject_entity": "dropout_case",
    "subject_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d40", "region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d0f",
    "owner_user_id": null, "owner_region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d11",
    "starts_at": "2026-11-15T16:00:00Z", "due_at": "2026-11-23T15:59:59Z", "term": "calendar_days:7",
    "met_at": null, "standing": "overdue", "countdown_seconds": -86400, "escalation_level": 1,
    "escalated_to_region_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d01", "version": 2,
    "params": {"deadline_on": "2026-11-23", "issued_on": "2026-11-16"}
}))]
pub struct DeadlineOut {
    pub id: String,
    /// What kind of clock: `dropout_return_deadline`, `dropout_penalty_decision`,
    /// `home_teaching_month`, `pair_session`, `left_behind_talk`, `employment_placement`,
    /// `employment_follow_up`, `renewed_help`, `correction_review`, `photo_rework`,
    /// `campaign_phase`, `campaign_visits`, `start_of_term_check`, `application_step`.
    pub kind: String,
    pub title: String,
    pub subject_entity: String,
    pub subject_id: String,
    /// Where the subject lies.
    pub region_id: String,
    /// The person who must act; `null` when the office of `owner_region_id` must.
    pub owner_user_id: Option<String>,
    pub owner_region_id: String,
    pub starts_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// How the due time was counted from the start: `working_days:5`, `calendar_days:7`,
    /// `hours:24`, `month:1`, `end_of_day`, `end_of_period`.
    pub term: String,
    pub met_at: Option<DateTime<Utc>>,
    pub standing: Standing,
    /// Seconds left until due (negative once overdue); `null` once met.
    pub countdown_seconds: Option<i64>,
    /// 0 while not overdue; 1 once missed (the owner's supervisor sees it); one more for
    /// every 5 working days it stays missed.
    pub escalation_level: u8,
    /// The region the missed clock has climbed to.
    pub escalated_to_region_id: Option<String>,
    pub version: i64,
    /// The rule's own numbers and names (a month, a count, the failing items…).
    #[schema(value_type = Object)]
    pub params: Value,
}

/// Where a page of deadlines (in due order) stops: the next page starts after it.
pub fn cursor(r: &DeadlineRow) -> String {
    format!("{}|{}", r.due_at.format("%Y-%m-%dT%H:%M:%S%.f"), r.id)
}

/// The position a [`cursor`] names, if one is given.
pub fn after(raw: Option<String>) -> Result<Option<(NaiveDateTime, String)>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let bad = || {
        Error::validation(
            "cursor",
            Code::InvalidCursor,
            Msg::fixed("cursor 无效。", "Invalid cursor."),
        )
    };
    let (t, id) = raw.split_once('|').ok_or_else(bad)?;
    let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?;
    Ok(Some((t, id.to_owned())))
}

/// Renders a stored deadline as of `now`.
pub fn deadline_out(
    r: DeadlineRow,
    now: NaiveDateTime,
    cal: &crate::domain::calendar::Calendar,
    lang: Lang,
) -> DeadlineOut {
    let standing = Standing::of(r.due_at, r.met_at, r.cancelled, now);
    let level = escalation_level(standing, r.due_at, now, cal);
    DeadlineOut {
        title: title(&r.kind).get(lang).to_owned(),
        escalated_to_region_id: (level > 0)
            .then(|| last_id(&escalated_to(&r.owner_region_path, level))),
        countdown_seconds: countdown_secs(standing, r.due_at, now),
        escalation_level: level,
        standing,
        region_id: last_id(&r.region_path),
        owner_region_id: last_id(&r.owner_region_path),
        starts_at: utc(r.starts_at),
        due_at: utc(r.due_at),
        met_at: r.met_at.map(utc),
        params: serde_json::from_str(&r.params).unwrap_or(Value::Null),
        id: r.id,
        kind: r.kind,
        subject_entity: r.subject_entity,
        subject_id: r.subject_id,
        owner_user_id: r.owner_user_id,
        term: r.term,
        version: r.version,
    }
}

/// Where a work-list line belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Overdue,
    DueToday,
    Upcoming,
}

/// Overdue, due by the end of `today` (China time), or later.
pub fn bucket(d: &DeadlineOut, today: chrono::NaiveDate) -> Bucket {
    if d.standing == Standing::Overdue {
        Bucket::Overdue
    } else if d.standing == Standing::Open
        && d.due_at.naive_utc() <= crate::domain::deadline::end_of_china_day(today)
    {
        Bucket::DueToday
    } else {
        Bucket::Upcoming
    }
}

/// The region id a path ends with.
pub fn last_id(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub fn title(kind: &str) -> Msg {
    match kind {
        "dropout_return_deadline" => Msg::fixed(
            "限期复学：监护人须在期限内送学生返校",
            "Return deadline: the guardian must bring the child back",
        ),
        "dropout_penalty_decision" => Msg::fixed(
            "逾期未返校：乡镇政府下达行政处罚决定",
            "Missed return deadline: the township issues its penalty decision",
        ),
        "home_teaching_month" => Msg::fixed(
            "送教上门：本月至少 2 次、每次至少 2 课时",
            "Home teaching: 2 sessions of 2 class hours this month",
        ),
        "pair_session" => Msg::fixed("结对帮扶“四个一”", "Pairing: the four ones"),
        "left_behind_talk" => Msg::fixed("留守儿童每月谈心", "Left-behind child: monthly talk"),
        "employment_placement" => Msg::fixed(
            "就业援助：按期安置就业",
            "Employment help: placement deadline",
        ),
        "employment_follow_up" => Msg::fixed(
            "就业援助：安置后跟踪服务",
            "Employment help: follow-up after placement",
        ),
        "renewed_help" => Msg::fixed(
            "回头帮：“两不愁三保障”未达标项",
            "Renewed help: a basic need not met",
        ),
        "correction_review" => Msg::fixed("信息修改审核", "Review a household correction"),
        "photo_rework" => Msg::fixed(
            "帮扶成效照片被退回：请重新拍摄",
            "Evidence photo rejected: take it again",
        ),
        "campaign_phase" => Msg::fixed("活动阶段截止", "Campaign phase deadline"),
        "campaign_visits" => Msg::fixed(
            "入户走访：所帮扶户全部走访",
            "Visit every household assigned to you",
        ),
        "start_of_term_check" => Msg::fixed(
            "开学一周内完成学生走访登记",
            "Start of term: every pupil seen within a week",
        ),
        "application_step" => Msg::fixed("申请审核期限", "Application review deadline"),
        _ => Msg::fixed("期限", "Deadline"),
    }
}
