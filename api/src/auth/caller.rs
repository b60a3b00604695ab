//! The authenticated caller and the declarative permission check.
//!
//! A handler that takes `Require<perm::ManageUsers>` cannot run unless the bearer token is
//! valid, its session open, its user active and the user's role has that permission. The
//! caller's [`Scope`](crate::domain::access::Scope) comes with it; store functions for scoped data demand it.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use bangfu_sync::Code;
use futures_util::future::LocalBoxFuture;

use crate::auth::sessions;
use crate::domain::role::Permission;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::envelope::request_id;
use crate::state::AppState;

pub use crate::domain::caller::Caller;

fn missing_token() -> Error {
    Error::Unauthorized {
        code: Code::TokenMissing,
        detail: Msg::fixed(
            "缺少访问令牌：请在 Authorization 头中使用 Bearer 令牌。",
            "No access token: send `Authorization: Bearer <token>`.",
        ),
    }
}

/// The bearer token of the request.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(missing_token)
}

pub(crate) async fn authenticate(req: HttpRequest) -> Result<Caller> {
    if let Some(c) = req.extensions().get::<Caller>() {
        return Ok(c.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::Internal("app state missing".into()))?
        .clone();
    let token = bearer_token(&req)?;
    let claims = state.keys.verify(&token)?;
    let (sid, uid) = (claims.sid.clone(), claims.sub.clone());
    let ctx = state
        .db
        .read(move |c| sessions::context(c, &sid, &uid))
        .await?;
    let caller = crate::auth::context::caller_of(ctx, claims.sid, request_id(&req))?;
    req.extensions_mut().insert(caller.clone());
    Ok(caller)
}

/// Middleware: a request that carries a bearer token is authenticated before its handler's
/// extractors run, so that the caller is known at once when they do. An unauthorised
/// request is then refused (401, 403) before its body or parameters are judged, whatever
/// order the handler takes them in; telling a stranger what a well-formed request looks
/// like is itself a leak. A token that does not authenticate is left for the extractor to
/// refuse (public endpoints ignore it).
pub async fn pre_authenticate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> std::result::Result<
    actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    actix_web::Error,
> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        // The clone must be gone before the call: routing needs the request unshared.
        // With the database unreachable the answer is 503 now: the extractor would only
        // wait for it a second time.
        if let Err(e @ Error::Unavailable(_)) = authenticate(req.request().clone()).await {
            return Err(e.into());
        }
    }
    next.call(req).await
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// A permission named as a type, so that an endpoint's requirement is in its signature.
pub trait PermissionMarker {
    const PERMISSION: Permission;
}

/// The caller, admitted only if their role has permission `P`.
#[derive(Debug)]
pub struct Require<P>(pub Caller, PhantomData<P>);

impl<P> Deref for Require<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl<P: PermissionMarker + 'static> FromRequest for Require<P> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(req).await?;
            caller.require(P::PERMISSION)?;
            Ok(Require(caller, PhantomData))
        })
    }
}

/// Permission markers for `Require<…>`.
pub mod perm {
    use super::{Permission, PermissionMarker};

    macro_rules! markers {
        ($($name:ident),* $(,)?) => {$(
            #[derive(Debug)]
            pub struct $name;
            impl PermissionMarker for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }

    markers!(
        ReadRegions,
        ManageRegions,
        SetDibao,
        ReadUsers,
        ManageUsers,
        ReadAudit,
        BreakGlass,
        ReviewGrants,
        RegisterDevice,
        ManageDevices,
        ReadOwnAccount,
        UnmaskPersonalData,
        SyncPull,
        SyncPush,
        ResolveConflicts,
        ReadHouseholds,
        ManageHouseholds,
        ManagePrograms,
        ReadApplications,
        ReviewApplications,
        PayAid,
        SuperviseSync,
        ReviewPhotos,
        ReadPhotoReviews,
        ReadFieldWork,
        ManageCampaigns,
        DecideCorrections,
        RecordDropoutDocuments,
        ReadMetrics,
        ReadLedgers,
    );
}
