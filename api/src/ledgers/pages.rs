//! 台账下载: the ledgers there are, and a form that downloads one (XLSX or CSV) or all of
//! them as one workbook, by region and period. The download is the same export use case
//! as `GET /v1/ledgers/{ledger}` and `/v1/ledgers/workbook`, streamed the same way; the
//! console's session is the caller. Numbers are masked as the API masks them; roles that
//! may see them in full ask for it with a reason, and the export is audited either way.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::respond::html;
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Signed, errors};
use crate::domain::role::Permission;
use crate::infra::error::{Error, Lang};
use crate::ledgers::http::respond;
use crate::ledgers::service::{self, Filter};
use crate::ledgers::{LEDGERS, Ledger};
use crate::regions::queries::ListFilter;
use crate::state::AppState;

/// At most this many regions are offered in the region list (a county has a few hundred).
const REGIONS: i64 = 1000;

/// A ledger as the page lists it.
struct Listed {
    name: &'static str,
    title: &'static str,
    period: &'static str,
    columns: String,
    personal: String,
}

fn listed(l: &Ledger) -> Listed {
    let period = l
        .columns
        .iter()
        .find(|c| c.key == l.period)
        .map_or("", |c| c.header);
    let pick = |personal: bool| {
        l.columns
            .iter()
            .filter(|c| c.personal == personal)
            .map(|c| c.header)
            .collect::<Vec<_>>()
            .join("、")
    };
    Listed {
        name: l.name,
        title: l.title,
        period,
        columns: pick(false),
        personal: pick(true),
    }
}

/// A region offered in the form, indented by its depth below the caller's own.
struct Choice {
    id: String,
    label: String,
}

/// What the form was filled with (kept when the download is refused).
#[derive(Debug, Default, Deserialize)]
struct DownloadQuery {
    #[serde(default)]
    ledger: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    unmask: Option<String>,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "ledgers.html")]
struct LedgersPage {
    layout: Layout,
    ledgers: Vec<Listed>,
    regions: Vec<Choice>,
    may_unmask: bool,
    q: DownloadQuery,
    /// Each refused field's message, by field name; and a refusal not tied to a field.
    field_errors: Vec<(String, String)>,
    problem: Option<(String, String)>,
}

impl LedgersPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.field_errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

async fn render(
    state: &AppState,
    s: &Signed,
    q: DownloadQuery,
    status: StatusCode,
    field_errors: Vec<(String, String)>,
    problem: Option<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let rows =
        crate::regions::service::list(&state.db, &s.caller, ListFilter::default(), REGIONS).await?;
    let top = s.caller.region_path.matches('/').count();
    let regions = rows
        .into_iter()
        .map(|r| {
            let depth = r.row.path.matches('/').count().saturating_sub(top);
            Choice {
                id: r.row.id,
                label: format!("{}{}", "　".repeat(depth), r.row.name),
            }
        })
        .collect();
    let body = LedgersPage {
        layout: Layout::new(state, s, "台账下载", "/ledgers").await,
        ledgers: LEDGERS.iter().map(|l| listed(l)).collect(),
        regions,
        may_unmask: s.caller.role.has(Permission::UnmaskPersonalData),
        q,
        field_errors,
        problem,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

async fn ledgers(
    state: web::Data<AppState>,
    page: Page<perm::ReadLedgers>,
) -> Result<HttpResponse, PageError> {
    let q = DownloadQuery {
        ledger: "workbook".to_owned(),
        format: "xlsx".to_owned(),
        ..DownloadQuery::default()
    };
    render(&state, &page, q, StatusCode::OK, Vec::new(), None).await
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn download(
    state: web::Data<AppState>,
    page: Page<perm::ReadLedgers>,
    q: web::Query<DownloadQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let unmask = q.unmask.is_some();
    let filter = Filter {
        region_id: some(&q.region_id),
        from: some(&q.from),
        to: some(&q.to),
        unmask,
        // The console always asks why (an empty answer is refused beside the field).
        reason: unmask.then(|| q.reason.clone()),
    };
    let started = if q.ledger == "workbook" || q.ledger.is_empty() {
        service::workbook(&state.db, &state.data_key, &page.caller, None, filter)
            .await
            .map(|(e, b)| respond(e, b))
    } else {
        service::export(
            &state.db,
            &state.data_key,
            &page.caller,
            &q.ledger,
            some(&q.format).as_deref(),
            filter,
        )
        .await
        .map(|(e, b)| respond(e, b))
    };
    match started {
        Ok(res) => Ok(res),
        Err(Error::Validation(errs)) => {
            let fields = errs
                .iter()
                .map(|e| (e.field.clone(), e.message.get(Lang::Zh).to_owned()))
                .collect();
            render(
                &state,
                &page,
                q,
                StatusCode::UNPROCESSABLE_ENTITY,
                fields,
                None,
            )
            .await
        }
        Err(e @ (Error::Forbidden { .. } | Error::NotFound)) => {
            let status = e.status_code();
            let problem = Some(errors::message(&e));
            render(&state, &page, q, status, Vec::new(), problem).await
        }
        Err(e) => Err(e.into()),
    }
}

pub fn configure(r: &mut impl Register) {
    r.get("/ledgers", ledgers)
        .get("/ledgers/download", download);
}
