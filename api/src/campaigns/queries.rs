//! Campaigns as stored: the region they cover, their phases (JSON, with when each was
//! marked done), every change audited.

use bangfu_sync::Code;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::campaigns::rules::Phase;
use crate::domain::access::Scope;
use crate::infra::clock::now;
use crate::infra::db::schema::campaigns;
use crate::infra::db::scoped::path_in_scope;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: String,
    pub region_id: String,
    pub region_path: String,
    pub kind: String,
    pub name: String,
    pub starts_on: String,
    pub term_starts_on: Option<String>,
    pub phases: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// A phase and when an officer marked it done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPhase {
    #[serde(flatten)]
    pub phase: Phase,
    pub completed_at: Option<NaiveDateTime>,
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(Error::internal)
}

impl CampaignRow {
    pub fn phases(&self) -> Result<Vec<StoredPhase>> {
        serde_json::from_str(&self.phases).map_err(Error::internal)
    }

    pub fn starts_on(&self) -> Result<NaiveDate> {
        parse_date(&self.starts_on)
    }

    pub fn term_starts_on(&self) -> Result<Option<NaiveDate>> {
        self.term_starts_on.as_deref().map(parse_date).transpose()
    }
}

pub struct NewCampaign<'a> {
    pub region_id: &'a str,
    pub region_path: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub starts_on: NaiveDate,
    pub term_starts_on: Option<NaiveDate>,
    pub phases: &'a [Phase],
}

pub fn create(conn: &mut DbConn, actor: &Actor, c: NewCampaign<'_>) -> Result<CampaignRow> {
    let at = now();
    let phases: Vec<StoredPhase> = c
        .phases
        .iter()
        .map(|p| StoredPhase {
            phase: p.clone(),
            completed_at: None,
        })
        .collect();
    let row = CampaignRow {
        id: new_id(),
        region_id: c.region_id.to_owned(),
        region_path: c.region_path.to_owned(),
        kind: c.kind.to_owned(),
        name: c.name.to_owned(),
        starts_on: c.starts_on.to_string(),
        term_starts_on: c.term_starts_on.map(|d| d.to_string()),
        phases: serde_json::to_string(&phases).map_err(Error::internal)?,
        created_by: actor.user_id.clone(),
        created_at: at,
        updated_at: at,
        version: 1,
    };
    diesel::insert_into(campaigns::table)
        .values(&row)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "campaign",
            entity_id: &row.id,
            region_path: &row.region_path,
            changes: audit::diff(
                &serde_json::Value::Null,
                &json!({"kind": row.kind, "name": row.name, "starts_on": row.starts_on, "term_starts_on": row.term_starts_on, "phases": phases}),
            ),
            reason: None,
        },
    )?;
    Ok(row)
}

/// A campaign inside the scope.
pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<CampaignRow> {
    Ok(campaigns::table
        .find(id)
        .filter(path_in_scope(campaigns::region_path, scope))
        .select(CampaignRow::as_select())
        .first(conn)?)
}

/// A campaign whoever asks (the projector).
pub fn find_any(conn: &mut DbConn, id: &str) -> Result<Option<CampaignRow>> {
    Ok(campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?)
}

/// Campaigns inside the scope, newest first, after the id `before`.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<CampaignRow>> {
    let mut q = campaigns::table
        .filter(path_in_scope(campaigns::region_path, scope))
        .select(CampaignRow::as_select())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(campaigns::id.lt(b.to_owned()));
    }
    Ok(q.order(campaigns::id.desc()).limit(limit).load(conn)?)
}

/// Every campaign whose region holds one of these paths (few: a county runs a handful a year).
pub fn covering(conn: &mut DbConn, paths: &[&str]) -> Result<Vec<CampaignRow>> {
    let all: Vec<CampaignRow> = campaigns::table
        .select(CampaignRow::as_select())
        .load(conn)?;
    Ok(all
        .into_iter()
        .filter(|c| paths.iter().any(|p| p.starts_with(&c.region_path)))
        .collect())
}

/// Marks phase `position` done (once), checking the version read.
pub fn complete_phase(
    conn: &mut DbConn,
    actor: &Actor,
    c: &CampaignRow,
    position: usize,
    expected_version: i64,
) -> Result<CampaignRow> {
    let mut phases = c.phases()?;
    let Some(p) = phases.get_mut(position) else {
        return Err(Error::NotFound);
    };
    if p.completed_at.is_some() {
        return Err(Error::Conflict {
            code: Code::PhaseAlreadyCompleted,
            detail: Msg::fixed("该阶段已标记完成。", "This phase is already marked done."),
        });
    }
    let at = now();
    p.completed_at = Some(at);
    let text = serde_json::to_string(&phases).map_err(Error::internal)?;
    let n = diesel::update(
        campaigns::table
            .find(&c.id)
            .filter(campaigns::version.eq(expected_version)),
    )
    .set((
        campaigns::phases.eq(&text),
        campaigns::updated_at.eq(at),
        campaigns::version.eq(c.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::PreconditionFailed);
    }
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "campaign",
            entity_id: &c.id,
            region_path: &c.region_path,
            changes: json!({format!("phases[{position}].completed_at"): {"before": null, "after": at}}),
            reason: None,
        },
    )?;
    Ok(CampaignRow {
        phases: text,
        updated_at: at,
        version: c.version + 1,
        ..c.clone()
    })
}
