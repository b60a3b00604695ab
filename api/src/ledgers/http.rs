//! Ledgers (台账, R-SUP-2): `GET /v1/ledgers` lists them with their columns;
//! `GET /v1/ledgers/{ledger}` exports one as XLSX or CSV; `GET /v1/ledgers/workbook`
//! exports several as the sheets of one XLSX workbook. Exports stream (no Content-Length),
//! read only the caller's scope (a region outside it is 404), mask personal data unless an
//! entitled caller asks with `unmask=true`, and are recorded in the audit log before the
//! first byte leaves.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::caller::{Require, perm};
use crate::infra::error::Result;
use crate::infra::http::json::Query;
use crate::infra::http::page::Page;
use crate::ledgers::export::Format;
use crate::ledgers::service::{self, Exported};
use crate::ledgers::{Kind, LEDGERS, Ledger};
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
    /// `true`: ID and phone numbers in full. Township and county officers and admins only,
    /// with a `reason`; recorded in the audit log.
    #[serde(default)]
    pub unmask: bool,
    /// Why the numbers are needed in full (at least 4 letters or digits, at most 500
    /// characters): required with `unmask=true`, kept in the audit entry.
    pub reason: Option<String>,
}

impl FilterQuery {
    fn filter(&self) -> service::Filter {
        service::Filter {
            region_id: self.region_id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            unmask: self.unmask,
            reason: self.reason.clone(),
        }
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
    format: Query<FormatQuery>,
    q: Query<FilterQuery>,
) -> Result<HttpResponse> {
    let (exported, body) = service::export(
        &state.db,
        &state.data_key,
        &caller,
        &ledger,
        format.format.as_deref(),
        q.filter(),
    )
    .await?;
    Ok(respond(exported, body))
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
    sheets: Query<SheetsQuery>,
    q: Query<FilterQuery>,
) -> Result<HttpResponse> {
    let (exported, body) = service::workbook(
        &state.db,
        &state.data_key,
        &caller,
        sheets.ledgers.as_deref(),
        q.filter(),
    )
    .await?;
    Ok(respond(exported, body))
}

/// The export's answer: its file name, its headers, and the stream (the console's
/// downloads answer the same way).
pub fn respond(
    exported: Exported,
    body: impl futures_util::Stream<Item = std::io::Result<web::Bytes>> + 'static,
) -> HttpResponse {
    let Exported {
        ledgers: chosen,
        format,
        region,
    } = exported;
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
    res.streaming(body)
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
}
