//! Refusals as pages: never a raw problem document. The message is the API's own (the same
//! table, the same words); a session that ended leads back to the sign-in page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::console::respond;
use crate::infra::error::{Error, Lang};
use crate::infra::http::problem;

/// Why a console request was not served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session, or it ended: sign in, then come back to `next`.
    #[error("sign-in needed")]
    SignIn { next: String },
    /// A state-changing request without this session's form token, or from another site.
    #[error("form token missing or wrong, or cross-site request")]
    Forged,
    /// What the service (or the permission check) answered.
    #[error(transparent)]
    Refused(#[from] Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    css: &'a str,
    title: String,
    detail: String,
    fields: Vec<String>,
}

/// The page for a refusal, with the API's words for it.
pub fn message(e: &Error) -> (String, String) {
    match e {
        Error::PreconditionFailed => (
            "他人已修改此内容".to_owned(),
            "在您打开页面之后，有人修改了这条记录。请刷新页面，看过最新内容后再操作。".to_owned(),
        ),
        _ => {
            let p = problem::problem(e, Lang::Zh, None);
            (p.title, p.detail)
        }
    }
}

fn error_page(
    status: StatusCode,
    title: String,
    detail: String,
    fields: Vec<String>,
) -> HttpResponse {
    let css = &crate::console::assets::CSS.url;
    let body = ErrorPage {
        css,
        title,
        detail,
        fields,
    }
    .render()
    .unwrap_or_else(|_| "<!doctype html><title>错误</title><p>出错了。</p>".to_owned());
    respond::html(status, body)
}

/// A refusal a form's page shows itself: the messages beside `field` when the refusal names
/// it, the rest above the form.
#[derive(Debug)]
pub struct InPage {
    pub status: StatusCode,
    pub at_field: Option<String>,
    pub problem: Option<(String, String)>,
}

/// The refusal `e` as the page of the form that caused it shows it; `Err` when it is not
/// the form's to show (the session ended, the record is gone, the server failed).
pub fn in_page(e: Error, field: &str) -> Result<InPage, Error> {
    let mut shown = in_form(e, &[field])?;
    Ok(InPage {
        status: shown.status,
        at_field: shown.at.remove(field),
        problem: shown.problem,
    })
}

/// A refusal a form of several fields shows: each field's messages beside it, the rest
/// above the form.
#[derive(Debug)]
pub struct InForm {
    pub status: StatusCode,
    /// A field's name (as the service names it) → its messages.
    pub at: HashMap<String, String>,
    pub problem: Option<(String, String)>,
}

impl InForm {
    /// The messages beside `field`, if any.
    pub fn at(&self, field: &str) -> Option<String> {
        self.at.get(field).cloned()
    }
}

/// The refusal `e` as the page of a form with these `fields` shows it; `Err` when it is
/// not the form's to show (the session ended, the record is gone, the server failed). A
/// stale form (412) is the form's to show: someone changed the record since.
pub fn in_form(e: Error, fields: &[&str]) -> Result<InForm, Error> {
    match e {
        Error::Validation(errs) => {
            let mut at: HashMap<String, String> = HashMap::new();
            let mut rest = Vec::new();
            for f in errs {
                if fields.contains(&f.field.as_str()) {
                    let msg = f.message.get(Lang::Zh);
                    at.entry(f.field.clone())
                        .and_modify(|m| {
                            m.push(' ');
                            m.push_str(msg);
                        })
                        .or_insert_with(|| msg.to_owned());
                } else {
                    rest.push(f);
                }
            }
            Ok(InForm {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                at,
                problem: (!rest.is_empty()).then(|| message(&Error::Validation(rest))),
            })
        }
        e @ (Error::Conflict { .. }
        | Error::Forbidden { .. }
        | Error::Unprocessable { .. }
        | Error::PreconditionFailed) => Ok(InForm {
            status: e.status_code(),
            at: HashMap::new(),
            problem: Some(message(&e)),
        }),
        e => Err(e),
    }
}

/// Whether an unrouted request is a browser asking for a page (rather than a client of
/// the API, which gets a problem document).
pub fn wants_page(req: &actix_web::HttpRequest) -> bool {
    let accepts_html = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let method = req.method();
    accepts_html
        && (method == actix_web::http::Method::GET || method == actix_web::http::Method::HEAD)
        && !req.path().starts_with("/v1/")
}

/// The page for a console address whose parameters cannot be read: an id or year that is
/// not one is an address that leads nowhere, as a browser sees it.
pub fn bad_address_page() -> HttpResponse {
    error_page(
        StatusCode::NOT_FOUND,
        "找不到这个页面".to_owned(),
        "地址中的编号或参数有误。请从导航进入要办的事。".to_owned(),
        Vec::new(),
    )
}

/// The page for a console address that does not exist.
pub fn not_found_page() -> HttpResponse {
    error_page(
        StatusCode::NOT_FOUND,
        "找不到这个页面".to_owned(),
        "地址可能有误，或页面已经移走。请从导航进入要办的事。".to_owned(),
        Vec::new(),
    )
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Forged => StatusCode::FORBIDDEN,
            PageError::Refused(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::SignIn { next } => {
                let to: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", next)
                    .finish();
                respond::see_other(&format!("/login?{to}"))
            }
            PageError::Forged => error_page(
                StatusCode::FORBIDDEN,
                "无法确认请求来自本系统".to_owned(),
                "页面可能已过期，或请求来自其他网站。请回到本系统的页面，刷新后再操作。".to_owned(),
                Vec::new(),
            ),
            PageError::Refused(e) => {
                let (title, detail) = message(e);
                let fields = match e {
                    Error::Validation(errs) => errs
                        .iter()
                        .map(|f| f.message.get(Lang::Zh).to_owned())
                        .collect(),
                    _ => Vec::new(),
                };
                error_page(e.status_code(), title, detail, fields)
            }
        }
    }
}
