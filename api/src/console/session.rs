//! The caller of a console request, from its session cookie: the same typed [`Caller`]
//! the API's handlers get, admitted by the same permission markers (`perm::…`).

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::auth::browser;
use crate::auth::caller::PermissionMarker;
use crate::console::errors::PageError;
use crate::console::respond::{self, COOKIE, CSRF_HEADER};
use crate::domain::caller::Caller;
use crate::infra::error::Error;
use crate::infra::http::envelope::request_id;
use crate::state::AppState;

/// A signed-in browser: who it is, and the form token its pages carry.
#[derive(Debug, Clone)]
pub struct Signed {
    pub caller: Caller,
    pub csrf: String,
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, PageError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| PageError::Refused(Error::Internal("app state missing".into())))
}

/// Where to come back to after signing in: this page, if it was one to read.
fn back_to(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or("/".to_owned(), |p| p.to_string())
    } else {
        "/".to_owned()
    }
}

async fn signed(req: HttpRequest) -> Result<Signed, PageError> {
    if let Some(s) = req.extensions().get::<Signed>() {
        return Ok(s.clone());
    }
    let state = state_of(&req)?;
    let sign_in = || PageError::SignIn {
        next: back_to(&req),
    };
    let token = req.cookie(COOKIE).map(|c| c.value().to_owned());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(sign_in());
    };
    let caller = match browser::resume(&state, &token, state.console, request_id(&req)).await {
        Ok(c) => c,
        Err(Error::Unauthorized { .. }) => return Err(sign_in()),
        Err(e) => return Err(PageError::Refused(e)),
    };
    let s = Signed {
        caller,
        csrf: browser::csrf_of(&token),
    };
    req.extensions_mut().insert(s.clone());
    Ok(s)
}

impl FromRequest for Signed {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(signed(req.clone()))
    }
}

/// A signed-in browser whose role has permission `P` (the marker the JSON route takes).
#[derive(Debug)]
pub struct Page<P>(pub Signed, PhantomData<P>);

impl<P> Deref for Page<P> {
    type Target = Signed;
    fn deref(&self) -> &Signed {
        &self.0
    }
}

async fn admitted<P: PermissionMarker>(req: HttpRequest) -> Result<Page<P>, PageError> {
    let s = signed(req).await?;
    s.caller.require(P::PERMISSION)?;
    Ok(Page(s, PhantomData))
}

impl<P: PermissionMarker + 'static> FromRequest for Page<P> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(admitted::<P>(req.clone()))
    }
}

/// A form posted by a signed-in browser with permission `P`, from one of this site's
/// pages, carrying the session's form token (hidden field `csrf`, or htmx's header).
/// Anything else is refused with 403 before the form is read.
#[derive(Debug)]
pub struct Posted<P, T> {
    pub page: Page<P>,
    pub form: T,
}

impl<P, T> Deref for Posted<P, T> {
    type Target = Signed;
    fn deref(&self) -> &Signed {
        &self.page.0
    }
}

/// The form token a request carries.
fn token_in(req: &HttpRequest, body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .or_else(|| {
            req.headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
}

impl<P: PermissionMarker + 'static, T: DeserializeOwned + 'static> FromRequest for Posted<P, T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = Bytes::from_request(&req, payload);
        Box::pin(async move {
            // Another site's request is refused before anything else is judged (a
            // SameSite=Strict cookie does not even come with it).
            if !respond::same_origin(&req) {
                return Err(PageError::Forged);
            }
            let page = admitted::<P>(req.clone()).await?;
            let body = body.await.map_err(|_| PageError::Forged)?;
            let sent = token_in(&req, &body).unwrap_or_default();
            if !respond::tokens_match(&sent, &page.csrf) {
                return Err(PageError::Forged);
            }
            let form = serde_urlencoded::from_bytes::<T>(&body).map_err(|_| {
                PageError::Refused(Error::BadRequest {
                    code: crate::infra::error::Code::InvalidValue,
                    detail: crate::infra::error::Msg::fixed(
                        "表单内容不完整，请刷新页面后重试。",
                        "The form is incomplete; reload the page and try again.",
                    ),
                })
            })?;
            Ok(Posted { page, form })
        })
    }
}
