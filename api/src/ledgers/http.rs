//! Ledgers (台账, R-SUP-2): `GET /v1/ledgers` lists them with their columns;
//! `GET /v1/ledgers/{ledger}` exports one as XLSX or CSV; `GET /v1/ledgers/workbook`
//! exports several as the sheets of one XLSX workbook. Exports stream (no Content-Length),
//! read only the caller's scope (a region outside it is 404), mask personal data unless an
//! entitled caller asks with `unmask=true`, and are recorded in the audit log before the
//! first byte leaves.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use bangfu_sync::Code;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::audit::log as audit;
use crate::audit::log::{Action, Event};
use crate::auth::caller::{Caller, Require, perm};
use crate::domain::access::Scope;
use crate::domain::role::Permission;
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::http::page::Page;
use crate::ledgers;
use crate::ledgers::export::{Format, Job, stream};
use crate::ledgers::{Kind, LEDGERS, Ledger, Period, Selection};
use crate::regions::queries as regions;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct LabelOut {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnOut {
    /// Stable snake_case name.
    pub key: &'static str,
    /// The header cell (Chinese).
    pub header: &'static str,
    /// `text`, `label`, `integer`, `number`, `money` (stored in fen, shown in yuan), `date`,
    /// `instant` (shown in China time) or `yes_no`.
    pub kind: &'static str,
    /// Personal data: masked unless asked for with `unmask=true` by an entitled role.
    pub personal: bool,
    /// For `label` columns: the codes and the text shown for each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelOut>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "name": "visits", "title": "走访台账", "title_en": "Home visits", "period": "visited_at",
    "formats": ["xlsx", "csv"],
    "columns": [{"key": "visited_at", "header": "走访时间", "kind": "instant", "personal": false},
                {"key": "kind", "header": "走访类型", "kind": "label", "personal": false,
                 "labels": [{"value": "routine", "label": "日常走访"}]}]
}))]
pub struct LedgerOut {
    /// Used in the path: `/v1/ledgers/{name}`.
    pub name: &'static str,
    /// The sheet name.
    pub title: &'static str,
    pub title_en: &'static str,
    /// The column whose date `from` and `to` select.
    pub period: &'static str,
    pub formats: [&'static str; 2],
    pub columns: Vec<ColumnOut>,
}

fn ledger_out(l: &Ledger) -> LedgerOut {
    LedgerOut {
        name: l.name,
        title: l.title,
        title_en: l.title_en,
        period: l.period,
        formats: ["xlsx", "csv"],
        columns: l
            .columns
            .iter()
            .map(|c| ColumnOut {
                key: c.key,
                header: c.header,
                kind: c.kind.as_str(),
                personal: c.personal,
                labels: match c.kind {
                    Kind::Label(ls) => ls
                        .iter()
                        .map(|&(value, label)| LabelOut { value, label })
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect(),
    }
}

/// The ledgers there are, with their columns (one page, all of them).
#[utoipa::path(tag = "ledgers", security(("bearer" = [])),
    responses((status = 200, body = Page<LedgerOut>)),
    extensions(("x-bangfu-permission" = json!("read_ledgers")))
)]
#[get("/v1/ledgers")]
pub async fn list(_caller: Require<perm::ReadLedgers>) -> Result<web::Json<Page<LedgerOut>>> {
    Ok(web::Json(Page {
        items: LEDGERS.iter().map(|l| ledger_out(l)).collect(),
        next_cursor: None,
    }))
}

/// A spreadsheet, streamed: XLSX (`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`)
/// or CSV (`text/csv`, UTF-8 with a byte-order mark).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct LedgerFile(#[allow(dead_code)] Vec<u8>);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SheetsQuery {
    /// Ledger names, comma-separated, in the order of the sheets (default: every ledger).
    pub ledgers: Option<String>,
}

/// What every export takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// Only this region's subtree; it must lie in the caller's scope (404 otherwise).
    /// Default: everything in the caller's scope.
    pub region_id: Option<String>,
    /// First day (`YYYY-MM-DD`, China time) of the ledger's period column.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, China time, inclusive).
    pub to: Option<String>,
    /// `true`: ID and phone numbers in full. Township and county officers and admins only;
    /// recorded in the audit log.
    #[serde(default)]
    pub unmask: bool,
}

/// The checked filters of an export.
struct Filters {
    region_id: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    unmask: bool,
}

fn invalid(field: &str, code: Code, zh: String, en: String) -> FieldError {
    FieldError::new(field, code, Msg::new(zh, en))
}

fn filters(errors: &mut Vec<FieldError>, q: &FilterQuery) -> Filters {
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
    Filters {
        region_id: region_id.map(str::to_owned),
        from,
        to,
        unmask: q.unmask,
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

/// Export one ledger as XLSX or CSV, streamed.
#[utoipa::path(tag = "ledgers", security(("bearer" = [])),
    params(("ledger" = String, Path, description = "A ledger's name from `GET /v1/ledgers`"), FormatQuery, FilterQuery),
    responses(
        (status = 200, description = "The file, streamed as it is read (chunked, no Content-Length). \
            Dates are date cells, instants date-time cells in China time, money in yuan (`#,##0.00`).",
         content((LedgerFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                 (LedgerFile = "text/csv")),
         headers(("Content-Disposition" = String,
                  description = "`attachment` with an ASCII `filename` and a UTF-8 `filename*` (RFC 6266, RFC 5987)"))),
        (status = 403, description = "The role may not read ledgers, or may not unmask (`forbidden`)",
         body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ledger, or the region is outside the caller's scope",
         body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad `format`, `region_id`, `from` or `to`, each listed",
         body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_ledgers")))
)]
#[get("/v1/ledgers/{ledger}")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Require<perm::ReadLedgers>,
    ledger: web::Path<String>,
    format: web::Query<FormatQuery>,
    q: web::Query<FilterQuery>,
) -> Result<HttpResponse> {
    let ledger = ledgers::find(&ledger).ok_or(Error::NotFound)?;
    let mut errors = Vec::new();
    let format = format_of(&mut errors, format.format.as_deref());
    let f = filters(&mut errors, &q);
    finish(errors)?;
    start(&state, &caller, vec![ledger], format, f).await
}

/// Export several ledgers as the sheets of one XLSX workbook, streamed.
#[utoipa::path(tag = "ledgers", security(("bearer" = [])),
    params(SheetsQuery, FilterQuery),
    responses(
        (status = 200, description = "The workbook, one sheet per ledger, streamed (no Content-Length)",
         content((LedgerFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
         headers(("Content-Disposition" = String, description = "`attachment` with a UTF-8 file name"))),
        (status = 403, description = "The role may not read ledgers, or may not unmask (`forbidden`)",
         body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The region is outside the caller's scope",
         body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown ledger name or a bad filter, each listed",
         body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("read_ledgers")))
)]
#[get("/v1/ledgers/workbook")]
pub async fn workbook(
    state: web::Data<AppState>,
    caller: Require<perm::ReadLedgers>,
    sheets: web::Query<SheetsQuery>,
    q: web::Query<FilterQuery>,
) -> Result<HttpResponse> {
    let mut errors = Vec::new();
    let mut chosen: Vec<&'static Ledger> = Vec::new();
    for name in sheets
        .ledgers
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
    {
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
    let f = filters(&mut errors, &q);
    finish(errors)?;
    start(&state, &caller, chosen, Format::Xlsx, f).await
}

/// Finds the region, records the export (and the unmasking) in the audit log, and starts
/// the stream.
async fn start(
    state: &AppState,
    caller: &Caller,
    chosen: Vec<&'static Ledger>,
    format: Format,
    f: Filters,
) -> Result<HttpResponse> {
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
    let region = state
        .db
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
                        reason: None,
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
        reveal: f.unmask.then(|| state.data_key.clone()),
    };
    let today = crate::infra::clock::today();
    let ext = format.as_str();
    let (name, ascii) = match chosen.as_slice() {
        [one] => (
            format!("{}_{}_{today}.{ext}", one.title, region.name),
            format!("ledger-{}-{}-{today}.{ext}", one.name, region.code),
        ),
        _ => (
            format!("台账_{}_{today}.{ext}", region.name),
            format!("ledgers-{}-{today}.{ext}", region.code),
        ),
    };
    let body = stream(
        state.db.clone(),
        Job {
            ledgers: chosen,
            format,
            selection,
        },
    );
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, format.content_type()))
        .insert_header((header::CONTENT_DISPOSITION, disposition(&name, &ascii)))
        // Personal data: never kept in a shared cache.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if format == Format::Xlsx {
        // Already compressed inside.
        res.insert_header((header::CONTENT_ENCODING, "identity"));
    }
    Ok(res.streaming(body))
}

/// `Content-Disposition: attachment` with a plain ASCII `filename` for old clients and the
/// UTF-8 name in `filename*` (RFC 6266, RFC 5987). Characters no file system takes are
/// dropped from both.
pub fn disposition(utf8_name: &str, ascii_name: &str) -> String {
    let safe = |c: char| !c.is_control() && !"/\\:*?\"<>|".contains(c);
    let ascii: String = ascii_name
        .chars()
        .filter(|&c| c.is_ascii() && safe(c) && c != '%' && c != ';')
        .collect();
    let mut encoded = String::new();
    for c in utf8_name.chars().filter(|&c| safe(c)) {
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                encoded.push(b as char);
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_ascii_with_a_utf8_alternative() {
        assert_eq!(
            disposition(
                "走访台账_青山村_2026-12-01.csv",
                "ledger-visits-530123101001-2026-12-01.csv"
            ),
            "attachment; filename=\"ledger-visits-530123101001-2026-12-01.csv\"; \
             filename*=UTF-8''%E8%B5%B0%E8%AE%BF%E5%8F%B0%E8%B4%A6_%E9%9D%92%E5%B1%B1%E6%9D%91_2026-12-01.csv"
        );
        // Quotes, slashes and line breaks cannot break out of the header or into a path.
        let d = disposition("a\"b/c\r\nd e.xlsx", "a\"b/c\r\nd;%.xlsx");
        assert_eq!(
            d,
            "attachment; filename=\"abcd.xlsx\"; filename*=UTF-8''abcd%20e.xlsx"
        );
    }

    #[test]
    fn filters_list_every_problem_at_once() {
        let q = |region: Option<&str>, from: &str, to: &str| FilterQuery {
            region_id: region.map(str::to_owned),
            from: Some(from.to_owned()),
            to: Some(to.to_owned()),
            unmask: false,
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
    }
}
