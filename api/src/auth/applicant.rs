//! Applicants: residents who file from the WeChat mini-program or the app. They sign in by
//! exchanging the mini-program's login code for their openid, get a short-lived token of
//! their own audience (never valid as a staff token), and see only their own applications.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use bangfu_sync::Code;
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::audit::log::Actor;
use crate::auth::caller::{Caller, authenticate, bearer_token};
use crate::auth::tokens::APPLICANT_AUDIENCE;
use crate::infra::clock::now;
use crate::infra::db::schema::applicants;
use crate::infra::db::{DbConn, new_id};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::envelope::request_id;
use crate::state::AppState;

/// An applicant's token lasts two hours; the mini-program signs in again silently.
pub const APPLICANT_TOKEN_SECS: i64 = 2 * 60 * 60;

/// The signed-in applicant.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub id: String,
    pub request_id: Option<String>,
}

impl Applicant {
    /// Applicants appear in the audit trail by their id, without a staff role.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(format!("applicant:{}", self.id)),
            role: None,
            device_id: None,
            request_id: self.request_id.clone(),
        }
    }
}

/// Where an applicant signs in from: both reach the same API (R-APP-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The WeChat mini-program (`wx.login`, exchanged at `jscode2session`).
    MiniProgram,
    /// The mobile app (WeChat sign-in SDK, exchanged at `sns/oauth2/access_token`).
    App,
}

/// Who WeChat says signed in.
#[derive(Debug, Clone, Deserialize)]
pub struct WechatIdentity {
    pub openid: String,
    /// The same person across the mini-program and the app, when WeChat gives it.
    pub unionid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExchangeAnswer {
    openid: Option<String>,
    unionid: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

/// Exchanges a login code for the user's identity at the channel's endpoint.
pub async fn exchange_code(
    state: &AppState,
    channel: Channel,
    code: &str,
) -> Result<WechatIdentity> {
    let w = &state.wechat;
    let (id, secret, url, code_param) = match channel {
        Channel::MiniProgram => (&w.app_id, &w.app_secret, &w.code2session_url, "js_code"),
        Channel::App => (&w.mobile_app_id, &w.mobile_app_secret, &w.oauth_url, "code"),
    };
    let (Some(app_id), Some(secret)) = (id, secret) else {
        return Err(Error::NotEnabled {
            code: Code::WechatNotConfigured,
            detail: Msg::fixed(
                "本服务器未配置微信登录。",
                "WeChat sign-in is not set up on this server.",
            ),
        });
    };
    let url = reqwest::Url::parse_with_params(
        url,
        [
            ("appid", app_id.as_str()),
            ("secret", secret.as_str()),
            (code_param, code),
            ("grant_type", "authorization_code"),
        ],
    )
    .map_err(|e| Error::Upstream(format!("WeChat code exchange URL: {e}")))?;
    let answer: ExchangeAnswer = state
        .http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| Error::Upstream(format!("WeChat code exchange: {}", e.without_url())))?
        .json()
        .await
        .map_err(|e| Error::Upstream(format!("WeChat code exchange answer: {e}")))?;
    match answer.openid {
        Some(openid) if answer.errcode == 0 && !openid.is_empty() => Ok(WechatIdentity {
            openid,
            unionid: answer.unionid.filter(|u| !u.is_empty()),
        }),
        _ => {
            tracing::info!(errcode = answer.errcode, errmsg = %answer.errmsg, "WeChat refused a login code");
            Err(Error::Unauthorized {
                code: Code::WechatCodeInvalid,
                detail: Msg::fixed(
                    "微信登录凭证无效或已使用，请重新登录。",
                    "The WeChat login code is invalid or was already used; sign in again.",
                ),
            })
        }
    }
}

/// The applicant WeChat identified: by the channel's openid, else by the unionid (the same
/// person signing in from the other channel), else a new applicant.
pub fn find_or_create(conn: &mut DbConn, channel: Channel, who: &WechatIdentity) -> Result<String> {
    let t = now();
    let by_openid: Option<String> = match channel {
        Channel::MiniProgram => applicants::table
            .filter(applicants::wechat_openid.eq(&who.openid))
            .select(applicants::id)
            .first(conn)
            .optional()?,
        Channel::App => applicants::table
            .filter(applicants::app_openid.eq(&who.openid))
            .select(applicants::id)
            .first(conn)
            .optional()?,
    };
    let by_union: Option<String> = match (&by_openid, &who.unionid) {
        (None, Some(u)) => applicants::table
            .filter(applicants::wechat_unionid.eq(u))
            .select(applicants::id)
            .first(conn)
            .optional()?,
        _ => None,
    };
    let id = match by_openid.or(by_union) {
        Some(id) => id,
        None => {
            let id = new_id();
            diesel::insert_into(applicants::table)
                .values((
                    applicants::id.eq(&id),
                    applicants::created_at.eq(t),
                    applicants::last_login_at.eq(t),
                ))
                .execute(conn)?;
            id
        }
    };
    let target = applicants::table.find(&id);
    match channel {
        Channel::MiniProgram => diesel::update(target)
            .set(applicants::wechat_openid.eq(&who.openid))
            .execute(conn)?,
        Channel::App => diesel::update(target)
            .set(applicants::app_openid.eq(&who.openid))
            .execute(conn)?,
    };
    if let Some(u) = &who.unionid {
        diesel::update(applicants::table.find(&id))
            .set(applicants::wechat_unionid.eq(u))
            .execute(conn)?;
    }
    diesel::update(applicants::table.find(&id))
        .set(applicants::last_login_at.eq(t))
        .execute(conn)?;
    Ok(id)
}

async fn authenticate_applicant(req: &HttpRequest) -> Result<Applicant> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::Internal("app state missing".into()))?;
    let token = bearer_token(req)?;
    let claims = state.keys.verify_for(APPLICANT_AUDIENCE, &token)?;
    // The sign-in the token belongs to must still be open: a refresh token's reuse or a
    // sign-in past its life ends its access tokens too.
    let (id, sid) = (claims.sub.clone(), claims.sid.clone());
    let live = state
        .db
        .read(move |c| crate::auth::applicant_sessions::live(c, &sid, &id))
        .await?;
    if !live {
        return Err(Error::Unauthorized {
            code: Code::SessionEnded,
            detail: Msg::fixed(
                "登录已失效，请重新登录。",
                "The sign-in is no longer valid; sign in again.",
            ),
        });
    }
    Ok(Applicant {
        id: claims.sub,
        request_id: request_id(req),
    })
}

impl FromRequest for Applicant {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate_applicant(&req).await })
    }
}

/// Either kind of signed-in person, for endpoints both use (an application's status).
#[derive(Debug, Clone)]
pub enum Principal {
    Staff(Caller),
    Applicant(Applicant),
}

impl FromRequest for Principal {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req.clone()).await {
                Ok(c) => Ok(Principal::Staff(c)),
                Err(staff_error) => match authenticate_applicant(&req).await {
                    Ok(a) => Ok(Principal::Applicant(a)),
                    // An applicant's token whose sign-in ended says so.
                    Err(
                        e @ Error::Unauthorized {
                            code: Code::SessionEnded,
                            ..
                        },
                    ) => Err(e),
                    Err(_) => Err(staff_error),
                },
            }
        })
    }
}
