//! Facts: each synced field record projected into a few typed columns (what it belongs to,
//! who did it, when it happened, its status), so that rules find a case's attempts or a
//! child's sessions by index and metrics count with aggregate queries instead of reading
//! JSON.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Map, Value};

use crate::deadlines::current::Current;
use crate::domain::deadline::start_of_china_day;
use crate::infra::db::schema::field_facts;
use crate::infra::db::{DbConn, insert_all};
use crate::infra::error::{Error, Result};
use crate::records::store::RecordRow;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = field_facts)]
pub struct FactRow {
    pub entity: String,
    pub id: String,
    pub region_path: String,
    pub reach_path: String,
    pub subject_id: String,
    pub actor_id: String,
    pub occurred_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub state: String,
    pub deleted: bool,
}

/// An RFC 3339 instant as a UTC timestamp.
pub fn instant(v: Option<&Value>) -> Option<NaiveDateTime> {
    let s = v?.as_str()?;
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.naive_utc())
}

/// A `YYYY-MM-DD` date.
pub fn date(v: Option<&Value>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v?.as_str()?, "%Y-%m-%d").ok()
}

fn text(data: &Map<String, Value>, k: &str) -> String {
    data.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn when(data: &Map<String, Value>, field: &str) -> Option<NaiveDateTime> {
    if field.is_empty() {
        return None;
    }
    instant(data.get(field)).or_else(|| date(data.get(field)).map(start_of_china_day))
}

/// The fact of one stored record, as its entity's projection declares it (`None` for
/// entities that have none). A time field may be a date (the start of that local day).
pub fn project(r: &RecordRow, data: &Map<String, Value>) -> Option<FactRow> {
    let crate::deadlines::projections::Projection {
        subject,
        actor,
        time,
        end,
        state,
        ..
    } = *crate::deadlines::projections::of(&r.entity)?;
    let mut state_value = if state.is_empty() {
        String::new()
    } else {
        text(data, state)
    };
    if r.entity == "photo" && state_value.is_empty() {
        state_value = "pending".into();
    }
    if r.entity == "teaching_session" {
        // A session complete in itself (hours and a signed plan); photos are counted apart.
        let hours = data
            .get("class_hours")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let signed = data
            .get("lesson_plan_signed")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        state_value = if hours >= crate::dropout::home_teaching::MIN_CLASS_HOURS && signed {
            "complete"
        } else {
            "short"
        }
        .into();
    }
    let actor_id = if actor.is_empty() {
        r.created_by.clone().unwrap_or_default()
    } else {
        text(data, actor)
    };
    Some(FactRow {
        entity: r.entity.clone(),
        id: r.id.clone(),
        region_path: r.region_path.clone(),
        reach_path: r.reach_path.clone(),
        subject_id: text(data, subject),
        actor_id,
        occurred_at: when(data, time),
        ended_at: when(data, end),
        state: state_value,
        deleted: r.deleted,
    })
}

/// Replaces the facts of these records (a record's latest state replaces its earlier one).
pub fn write(conn: &mut DbConn, rows: &[FactRow]) -> Result<()> {
    let mut by_entity: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in rows {
        by_entity.entry(&r.entity).or_default().push(&r.id);
    }
    for (entity, ids) in by_entity {
        diesel::delete(
            field_facts::table
                .filter(field_facts::entity.eq(entity))
                .filter(field_facts::id.eq_any(ids)),
        )
        .execute(conn)?;
    }
    for chunk in rows.chunks(500) {
        insert_all!(conn, field_facts::table, chunk)?;
    }
    Ok(())
}

/// Live facts of `entity` belonging to any of `subjects`.
pub fn of_subjects(conn: &mut DbConn, entity: &str, subjects: &[String]) -> Result<Vec<FactRow>> {
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    Ok(field_facts::table
        .filter(field_facts::entity.eq(entity))
        .filter(field_facts::subject_id.eq_any(subjects))
        .filter(field_facts::deleted.eq(false))
        .select(FactRow::as_select())
        .load(conn)?)
}

/// Photos not rejected that name each of `subjects`, counted in the database.
pub fn photo_counts(conn: &mut DbConn, subjects: &[String]) -> Result<HashMap<String, u32>> {
    if subjects.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = field_facts::table
        .filter(field_facts::entity.eq("photo"))
        .filter(field_facts::subject_id.eq_any(subjects))
        .filter(field_facts::deleted.eq(false))
        .filter(field_facts::state.ne("rejected"))
        .group_by(field_facts::subject_id)
        .select((field_facts::subject_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(s, n)| (s, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}

/// Evidence photos waiting for review inside the scope.
pub fn pending_photos(
    conn: &mut DbConn,
    _: Current,
    scope: &crate::domain::access::Scope,
) -> Result<i64> {
    Ok(field_facts::table
        .filter(field_facts::entity.eq("photo"))
        .filter(field_facts::state.eq("pending"))
        .filter(field_facts::deleted.eq(false))
        .filter(crate::infra::db::scoped::path_in_scope(
            field_facts::region_path,
            scope,
        ))
        .count()
        .get_result(conn)?)
}

/// Children taught at home whose region, or school, lies in the scope.
pub fn taught_at_home(
    conn: &mut DbConn,
    _: Current,
    scope: &crate::domain::access::Scope,
) -> Result<Vec<String>> {
    use crate::infra::db::scoped::path_in_scope;
    Ok(field_facts::table
        .filter(field_facts::entity.eq("child"))
        .filter(field_facts::state.eq("home_teaching"))
        .filter(field_facts::deleted.eq(false))
        .filter(
            path_in_scope(field_facts::region_path, scope)
                .or(path_in_scope(field_facts::reach_path, scope)),
        )
        .select(field_facts::id)
        .load(conn)?)
}

/// Dropout cases whose region, or school, lies in the scope, by id after `after_id`:
/// `open` true for the open ones, false for the closed ones (whatever their close-out),
/// none for both.
pub fn cases_in(
    conn: &mut DbConn,
    _: Current,
    scope: &crate::domain::access::Scope,
    open: Option<bool>,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<String>> {
    use crate::infra::db::scoped::path_in_scope;
    let mut q = field_facts::table
        .filter(field_facts::entity.eq("dropout_case"))
        .filter(field_facts::deleted.eq(false))
        .filter(
            path_in_scope(field_facts::region_path, scope)
                .or(path_in_scope(field_facts::reach_path, scope)),
        )
        .select(field_facts::id)
        .order(field_facts::id.asc())
        .limit(limit)
        .into_boxed();
    match open {
        Some(true) => q = q.filter(field_facts::state.eq("open")),
        Some(false) => q = q.filter(field_facts::state.ne("open")),
        None => {}
    }
    if let Some(a) = after_id {
        q = q.filter(field_facts::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Parses a stored record's fields.
pub fn data_of(r: &RecordRow) -> Result<Map<String, Value>> {
    serde_json::from_str(&r.data).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(entity: &str, data: &Value) -> RecordRow {
        RecordRow {
            entity: entity.into(),
            id: "r".into(),
            region_id: "v".into(),
            region_path: "/c/t/v/".into(),
            data: data.to_string(),
            stamps: "{}".into(),
            version: 1,
            deleted: false,
            seq: 7,
            created_by: Some("author".into()),
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
            reach_path: "/c/t/v/h/".into(),
        }
    }

    #[test]
    fn records_project_to_their_subject_actor_time_and_state() {
        let v = json!({"household_id": "h", "helper_id": "u", "kind": "look_back", "visited_at": "2026-11-22T09:30:00+08:00"});
        let f = project(&row("visit", &v), v.as_object().unwrap_or(&Map::new()))
            .unwrap_or_else(|| panic!("visit"));
        assert_eq!(
            (f.subject_id.as_str(), f.actor_id.as_str(), f.state.as_str()),
            ("h", "u", "look_back")
        );
        assert_eq!(
            f.occurred_at.map(|t| t.to_string()),
            Some("2026-11-22 01:30:00".into())
        );
        let p = json!({"subject_id": "v1", "taken_at": "2026-11-22T01:30:00Z"});
        let f = project(&row("photo", &p), p.as_object().unwrap_or(&Map::new()))
            .unwrap_or_else(|| panic!("photo"));
        assert_eq!(
            (f.actor_id.as_str(), f.state.as_str()),
            ("author", "pending"),
            "photos are by their author, pending until reviewed"
        );
        let d =
            json!({"child_id": "c", "issued_on": "2026-11-02", "kind": "return_deadline_notice"});
        let f = project(
            &row("dropout_document", &d),
            d.as_object().unwrap_or(&Map::new()),
        )
        .unwrap_or_else(|| panic!("doc"));
        assert_eq!(
            f.occurred_at,
            Some(start_of_china_day(
                NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default()
            ))
        );
        let s = json!({"child_id": "c", "class_hours": 2.0, "lesson_plan_signed": true});
        assert_eq!(
            project(
                &row("teaching_session", &s),
                s.as_object().unwrap_or(&Map::new())
            )
            .map(|f| f.state),
            Some("complete".into())
        );
        assert!(project(&row("nothing", &s), &Map::new()).is_none());
    }
}
