//! Ledgers' use cases: exporting one ledger or a workbook of several, each checked,
//! permitted and audited before the first row is read.

use std::io;

use actix_web::web::Bytes;
use bangfu_sync::Code;
use chrono::NaiveDate;
use futures_util::Stream;
use serde_json::json;

use crate::audit::log::{self as audit, Action, Event};
use crate::domain::access::{Scope, stated_reason};
use crate::domain::caller::Caller;
use crate::domain::role::Permission;
use crate::infra::db::Db;
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::ledgers::export::{Format, Job, stream};
use crate::ledgers::{self, LEDGERS, Ledger, Period, Selection};
use crate::regions::queries::{self as regions, RegionRow};

/// What every export takes, as asked (checked by the use case).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this region's subtree (a UUID in the caller's scope); none: the whole scope.
    pub region_id: Option<String>,
    /// First day, `YYYY-MM-DD`, of the ledger's period column.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
    /// ID and phone numbers in full (entitled roles only, audited).
    pub unmask: bool,
    /// Why the numbers are needed in full, recorded with the unmasking: required with
    /// `unmask` ([`stated_reason`]).
    pub reason: Option<String>,
}

/// The checked filters of an export.
#[derive(Debug)]
struct Filters {
    region_id: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    unmask: bool,
    reason: Option<String>,
}

fn invalid(field: &str, code: Code, zh: String, en: String) -> FieldError {
    FieldError::new(field, code, Msg::new(zh, en))
}

fn filters(errors: &mut Vec<FieldError>, q: &Filter) -> Filters {
    let (region_id, from, to) = (q.region_id.as_deref(), q.from.as_deref(), q.to.as_deref());
    if region_id.is_some_and(|r| uuid::Uuid::parse_str(r).is_err()) {
        errors.push(invalid(
            "region_id",
            Code::InvalidFormat,
            "region_id 须为区域 id（UUID）。".into(),
            "region_id is a region id (a UUID).".into(),
        ));
    }
    let mut day = |field: &str, v: Option<&str>| {
        let v = v?;
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        if d.is_none() {
            errors.push(invalid(
                field,
                Code::InvalidFormat,
                format!("{field} 须为日期 YYYY-MM-DD。"),
                format!("{field} is a date, YYYY-MM-DD."),
            ));
        }
        d
    };
    let (from, to) = (day("from", from), day("to", to));
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.push(invalid(
            "to",
            Code::OutOfRange,
            "to 不能早于 from。".into(),
            "to is not before from.".into(),
        ));
    }
    // Unmasking is for a stated reason, whoever asks (the one rule of `stated_reason`).
    let reason = if q.unmask {
        match stated_reason(q.reason.as_deref().unwrap_or_default()) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    } else {
        None
    };
    Filters {
        region_id: region_id.map(str::to_owned),
        from,
        to,
        unmask: q.unmask,
        reason,
    }
}

fn format_of(errors: &mut Vec<FieldError>, f: Option<&str>) -> Format {
    match f {
        None => Format::Xlsx,
        Some(s) => Format::parse(s).unwrap_or_else(|| {
            errors.push(invalid(
                "format",
                Code::InvalidValue,
                format!("不支持的格式“{s}”：可选 xlsx 或 csv。"),
                format!("Unsupported format {s:?}: use xlsx or csv."),
            ));
            Format::Xlsx
        }),
    }
}

fn finish(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

/// An export under way: what it holds, and the region it covers (the caller's own when
/// no region was asked for).
#[derive(Debug)]
pub struct Exported {
    pub ledgers: Vec<&'static Ledger>,
    pub format: Format,
    pub region: RegionRow,
}

/// Exports one ledger (R-SUP-2) by its name (404 if there is none) as XLSX (default) or
/// CSV, every bad format or filter listed in one answer; answers the export and its
/// bytes, streamed as they are read.
pub async fn export(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    ledger: &str,
    format: Option<&str>,
    filter: Filter,
) -> Result<(Exported, impl Stream<Item = io::Result<Bytes>> + 'static)> {
    let ledger = ledgers::find(ledger).ok_or(Error::NotFound)?;
    let mut errors = Vec::new();
    let format = format_of(&mut errors, format);
    let f = filters(&mut errors, &filter);
    finish(errors)?;
    start(db, key, caller, vec![ledger], format, f).await
}

/// Exports several ledgers (R-SUP-2), named comma-separated in sheet order (none: every
/// ledger), as the sheets of one XLSX workbook; every unknown name and bad filter listed
/// in one answer.
pub async fn workbook(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    names: Option<&str>,
    filter: Filter,
) -> Result<(Exported, impl Stream<Item = io::Result<Bytes>> + 'static)> {
    let mut errors = Vec::new();
    let mut chosen: Vec<&'static Ledger> = Vec::new();
    for name in names.unwrap_or("").split(',').map(str::trim) {
        match ledgers::find(name) {
            _ if name.is_empty() => {}
            Some(l) if !chosen.iter().any(|c| c.name == l.name) => chosen.push(l),
            Some(_) => {}
            None => errors.push(invalid(
                "ledgers",
                Code::InvalidValue,
                format!("没有名为“{name}”的台账。"),
                format!("There is no ledger named {name:?}."),
            )),
        }
    }
    if chosen.is_empty() {
        chosen = LEDGERS.to_vec();
    }
    let f = filters(&mut errors, &filter);
    finish(errors)?;
    start(db, key, caller, chosen, Format::Xlsx, f).await
}

/// Checks the caller may unmask if asked, finds the region, records the export (and the
/// unmasking) in the audit log in one transaction, and starts the stream.
async fn start(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    chosen: Vec<&'static Ledger>,
    format: Format,
    f: Filters,
) -> Result<(Exported, impl Stream<Item = io::Result<Bytes>> + 'static)> {
    if f.unmask {
        caller.require(Permission::UnmaskPersonalData)?;
    }
    let (scope, actor, own_region) = (
        caller.scope.clone(),
        caller.actor(),
        caller.region_id.clone(),
    );
    let names: Vec<&'static str> = chosen.iter().map(|l| l.name).collect();
    let entity_id = match chosen.as_slice() {
        [one] => one.name,
        _ => "workbook",
    };
    let personal: Vec<String> = chosen
        .iter()
        .flat_map(|l| {
            l.columns
                .iter()
                .filter(|c| c.personal)
                .map(move |c| format!("{}.{}", l.name, c.key))
        })
        .collect();
    let (asked, from, to, unmask) = (f.region_id.clone(), f.from, f.to, f.unmask);
    let reason = f.reason.clone();
    let region = db
        .write(move |c| {
            let region = match &asked {
                Some(id) => regions::find(c, Some(&scope), id)?,
                None => regions::find(c, None, &own_region)?,
            };
            // `region_id` as asked: null for the whole scope.
            let changes = json!({
                "ledgers": names, "format": format.as_str(), "region_id": asked,
                "from": from, "to": to, "unmasked": unmask,
            });
            audit::record(
                c,
                &actor,
                Event {
                    action: Action::Export,
                    entity: "ledger",
                    entity_id,
                    region_path: &region.path,
                    changes,
                    reason: None,
                },
            )?;
            if unmask {
                audit::record(
                    c,
                    &actor,
                    Event {
                        action: Action::Unmask,
                        entity: "ledger",
                        entity_id,
                        region_path: &region.path,
                        changes: json!({ "unmasked": personal }),
                        reason: reason.as_deref(),
                    },
                )?;
            }
            Ok(region)
        })
        .await?;
    let selection = Selection {
        scope: match &f.region_id {
            // Inside the scope (checked above): its subtree is what the caller may see there.
            Some(_) => Scope::new(vec![region.path.clone()]),
            None => caller.scope.clone(),
        },
        period: Period::of_days(f.from, f.to),
        reveal: f.unmask.then(|| key.clone()),
    };
    let body = stream(
        db.clone(),
        Job {
            ledgers: chosen.clone(),
            format,
            selection,
        },
    );
    Ok((
        Exported {
            ledgers: chosen,
            format,
            region,
        },
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_list_every_problem_at_once() {
        let q = |region: Option<&str>, from: &str, to: &str| Filter {
            region_id: region.map(str::to_owned),
            from: Some(from.to_owned()),
            to: Some(to.to_owned()),
            unmask: false,
            reason: None,
        };
        let mut errors = Vec::new();
        let _ = format_of(&mut errors, Some("pdf"));
        let _ = filters(&mut errors, &q(Some("nope"), "2026-02-30", "2026-01-01"));
        let fields: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("format", "invalid_value"),
                ("region_id", "invalid_format"),
                ("from", "invalid_format"),
            ]
        );
        let mut errors = Vec::new();
        let f = filters(&mut errors, &q(None, "2026-02-01", "2026-01-01"));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "to");
        assert!(f.from.is_some());
        // A reason, where one is asked for, says something; none is needed when masked.
        let mut errors = Vec::new();
        let blank = Filter {
            unmask: true,
            reason: Some("  ".to_owned()),
            ..Filter::default()
        };
        let _ = filters(&mut errors, &blank);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "reason");
        let mut errors = Vec::new();
        let unstated = Filter {
            unmask: true,
            ..Filter::default()
        };
        assert!(filters(&mut errors, &unstated).reason.is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "reason");
        let mut errors = Vec::new();
        let masked = Filter {
            reason: Some(String::new()),
            ..Filter::default()
        };
        assert!(filters(&mut errors, &masked).reason.is_none() && errors.is_empty());
    }
}
