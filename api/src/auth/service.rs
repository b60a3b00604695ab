//! Sign-in flows: login with rate limits, refresh-token rotation, logout.

use bangfu_sync::Code;
use chrono::Utc;

use crate::accounts::password;
use crate::accounts::queries as users;
use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::auth::{login_limits, sessions, tokens};
use crate::devices::queries as devices;
use crate::infra::error::{Error, Msg, Result};
use crate::regions::queries as regions;
use crate::state::AppState;

/// Tokens handed to a client after login or refresh.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub access_expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub user_id: String,
    pub session_id: String,
}

fn bad_credentials() -> Error {
    Error::Unauthorized {
        code: Code::InvalidCredentials,
        detail: Msg::fixed("用户名或密码错误。", "Wrong username or password."),
    }
}

/// The failure counters a sign-in attempt is judged by and counts against.
#[derive(Debug, Clone)]
struct LoginSubjects {
    /// The account's: from this address, or on one of its own devices. `None` for a name
    /// that is no account: it counts against nobody.
    account: Option<login_limits::Subject>,
    /// The address's: every attempt but the owner's on their own device.
    address: Option<login_limits::Subject>,
}

impl LoginSubjects {
    fn of(user_id: Option<&str>, address: &str, device: Option<&str>, own_device: bool) -> Self {
        use login_limits::Subject as S;
        match (user_id, device) {
            (Some(u), Some(d)) if own_device => LoginSubjects {
                account: Some(S::AccountOnDevice {
                    user_id: u.to_owned(),
                    device_id: d.to_owned(),
                }),
                address: None,
            },
            (Some(u), _) => LoginSubjects {
                account: Some(S::AccountFrom {
                    user_id: u.to_owned(),
                    address: address.to_owned(),
                }),
                address: Some(S::Address(address.to_owned())),
            },
            (None, _) => LoginSubjects {
                account: None,
                address: Some(S::Address(address.to_owned())),
            },
        }
    }
}

pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub device_id: Option<String>,
    /// The client's address, for the per-address limit.
    pub address: String,
    pub request_id: Option<String>,
}

/// Signs in, opening a session of `kind`: the API's bearer tokens or the console's cookie.
pub async fn login(
    state: &AppState,
    req: LoginRequest,
    kind: sessions::SessionKind,
) -> Result<Issued> {
    let limits = state.auth.clone();
    let (username, address, device) = (
        req.username.clone(),
        req.address.clone(),
        req.device_id.clone(),
    );
    // Which counters this attempt is judged by: an account's own device gets its own,
    // so that guesses from the owner's address never shut the owner out of their phone.
    let (user, subjects) = state
        .db
        .read(move |c| {
            let now = crate::infra::clock::now();
            let user = match users::find_by_username(c, &username) {
                Ok(u) => Some(u),
                Err(Error::NotFound) => None,
                Err(e) => return Err(e),
            };
            let own_device = match (&user, &device) {
                (Some(u), Some(d)) => devices::find_active_for_user(c, &u.id, d).is_ok(),
                _ => false,
            };
            let subjects = LoginSubjects::of(
                user.as_ref().map(|u| u.id.as_str()),
                &address,
                device.as_deref(),
                own_device,
            );
            let mut wait = None;
            if let Some(s) = &subjects.account {
                wait = login_limits::blocked_for(c, s, limits.per_user, true, now)?;
            }
            if let Some(s) = &subjects.address {
                wait = wait.max(login_limits::blocked_for(
                    c,
                    s,
                    limits.per_address,
                    false,
                    now,
                )?);
            }
            if let Some(secs) = wait {
                return Err(Error::TooManyRequests {
                    retry_after_secs: secs,
                });
            }
            Ok((user, subjects))
        })
        .await?;

    // Password checks are slow by design: do them outside any transaction.
    let password = req.password.clone();
    let candidate = user.clone();
    let ok = actix_web::web::block(move || match &candidate {
        Some(u) if u.active => password::verify(&password, &u.password_hash),
        _ => {
            password::verify_nothing(&password);
            false
        }
    })
    .await
    .map_err(Error::internal)?;

    let Some(user) = user.filter(|_| ok) else {
        state
            .db
            .write(move |c| {
                let now = crate::infra::clock::now();
                for s in subjects.account.iter().chain(&subjects.address) {
                    login_limits::record_failure(c, s, now)?;
                }
                Ok(())
            })
            .await?;
        return Err(bad_credentials());
    };
    let user_subject = subjects.account;
    let refresh = tokens::new_refresh_token()?;
    let refresh_hash = tokens::hash_refresh_token(&refresh);
    let auth = state.auth.clone();
    let device_id = req.device_id.clone();
    let request_id = req.request_id.clone();
    let uid = user.id.clone();
    let session = state
        .db
        .write(move |c| {
            let now = crate::infra::clock::now();
            if let Some(d) = &device_id {
                devices::find_active_for_user(c, &uid, d).map_err(|e| match e {
                    Error::NotFound => Error::validation(
                        "device_id",
                        Code::UnknownDevice,
                        Msg::fixed(
                            "设备未登记或已停用。",
                            "The device is not registered to this account, or was revoked.",
                        ),
                    ),
                    other => other,
                })?;
                devices::touch(c, d, None)?;
            }
            let session = sessions::open(
                c,
                kind,
                &uid,
                device_id.as_deref(),
                now + auth.session_ttl,
                refresh_hash,
                now + auth.refresh_ttl,
            )?;
            if let Some(subject) = &user_subject {
                login_limits::clear(c, subject, now, auth.per_user.window)?;
            }
            let region = regions::find(c, None, &user.region_id)?;
            audit::record(
                c,
                &Actor {
                    user_id: Some(uid.clone()),
                    role: user.role().ok(),
                    device_id: device_id.clone(),
                    request_id,
                },
                Event {
                    action: Action::Login,
                    entity: "session",
                    entity_id: &session.id,
                    region_path: &region.path,
                    changes: serde_json::json!({}),
                    reason: None,
                },
            )?;
            Ok(session)
        })
        .await?;
    issue(state, session.user_id, session.id, refresh)
}

fn issue(state: &AppState, user_id: String, session_id: String, refresh: String) -> Result<Issued> {
    let now = Utc::now().timestamp();
    Ok(Issued {
        access_token: state
            .keys
            .issue(&user_id, &session_id, now, state.auth.access_ttl_secs)?,
        access_expires_in: state.auth.access_ttl_secs,
        refresh_token: refresh,
        refresh_expires_in: state.auth.refresh_ttl.num_seconds(),
        user_id,
        session_id,
    })
}

/// Rotates a refresh token: the old one stops working, a new one is issued.
pub async fn refresh(state: &AppState, token: String) -> Result<Issued> {
    let old_hash = tokens::hash_refresh_token(&token);
    let new = tokens::new_refresh_token()?;
    let new_hash = tokens::hash_refresh_token(&new);
    let ttl = state.auth.refresh_ttl;
    // A refused reuse revokes the session: that must commit even though the answer is an
    // error, so the outcome travels out of the transaction as a value.
    let outcome = state
        .db
        .write(move |c| {
            match sessions::rotate(c, &old_hash, new_hash, crate::infra::clock::now() + ttl) {
                Ok((session_id, user_id)) => {
                    let active = users::find_by_id_active(c, &user_id)?;
                    Ok(if active {
                        Ok((session_id, user_id))
                    } else {
                        Err(bad_credentials())
                    })
                }
                Err(e @ Error::Unauthorized { .. }) => Ok(Err(e)),
                Err(e) => Err(e),
            }
        })
        .await?;
    let (session_id, user_id) = outcome?;
    issue(state, user_id, session_id, new)
}

/// Ends the caller's session.
pub async fn logout(state: &AppState, caller: &crate::auth::caller::Caller) -> Result<()> {
    let sid = caller.session_id.clone();
    let actor = caller.actor();
    let path = caller.region_path.clone();
    state
        .db
        .write(move |c| {
            sessions::revoke(c, &sid, "logout")?;
            audit::record(
                c,
                &actor,
                Event {
                    action: Action::Logout,
                    entity: "session",
                    entity_id: &sid,
                    region_path: &path,
                    changes: serde_json::json!({}),
                    reason: None,
                },
            )
        })
        .await
}
