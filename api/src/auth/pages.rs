//! The console's sign-in and sign-out pages (`/login`, `/logout`): the API's login with
//! its limits and audit, into a session cookie.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::browser;
use crate::auth::caller::perm;
use crate::auth::service::LoginRequest;
use crate::console::respond::{self, html, see_other, session_cookie};
use crate::console::routes::Register;
use crate::console::{PageError, Posted, Signed, assets, errors};
use crate::infra::error::Error;
use crate::infra::http::envelope::request_id;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    css: &'a str,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a path of this site is a place to come back to.
fn local(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn form_page(
    status: StatusCode,
    username: String,
    next: String,
    error: Option<String>,
) -> HttpResponse {
    let page = LoginPage {
        css: &assets::CSS.url,
        username,
        next,
        error,
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => actix_web::ResponseError::error_response(&PageError::Refused(Error::internal(e))),
    }
}

async fn show(req: HttpRequest, q: web::Query<NextQuery>) -> HttpResponse {
    let next = local(q.next.as_deref().unwrap_or("/"));
    // Already signed in: straight on.
    if Signed::extract(&req).await.is_ok() {
        return see_other(&next);
    }
    form_page(StatusCode::OK, String::new(), next, None)
}

async fn sign_in(state: web::Data<AppState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    if !respond::same_origin(&req) {
        return actix_web::ResponseError::error_response(&PageError::Forged);
    }
    let f: LoginForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = local(&f.next);
    if f.username.trim().is_empty() || f.password.is_empty() {
        let msg = "请填写用户名和密码。".to_owned();
        return form_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            f.username,
            next,
            Some(msg),
        );
    }
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let login = LoginRequest {
        username: f.username.clone(),
        password: f.password,
        device_id: None,
        address,
        request_id: request_id(&req),
    };
    match browser::sign_in(&state, login, state.console).await {
        Ok(opened) => {
            let secure = state.console.secure_cookie || respond::over_tls(&req);
            let mut res = see_other(&next);
            if let Err(e) = res.add_cookie(&session_cookie(Some(&opened.token), secure)) {
                return actix_web::ResponseError::error_response(&PageError::Refused(
                    Error::internal(e),
                ));
            }
            res
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let msg = match &e {
                Error::TooManyRequests { retry_after_secs } => format!(
                    "失败次数过多，请 {} 后再试。",
                    crate::console::format::span(
                        i64::try_from(*retry_after_secs).unwrap_or(i64::MAX)
                    )
                ),
                other => errors::message(other).1,
            };
            form_page(status, f.username, next, Some(msg))
        }
    }
}

#[derive(Debug, Deserialize)]
struct Nothing {}

async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    posted: Posted<perm::ReadOwnAccount, Nothing>,
) -> Result<HttpResponse, PageError> {
    browser::sign_out(&state, &posted.caller).await?;
    let secure = state.console.secure_cookie || respond::over_tls(&req);
    let mut res = see_other("/login");
    res.add_cookie(&session_cookie(None, secure))
        .map_err(|e| PageError::Refused(Error::internal(e)))?;
    Ok(res)
}

pub fn configure(r: &mut impl Register) {
    r.get("/login", show)
        .post("/login", sign_in)
        .post("/logout", sign_out);
}
