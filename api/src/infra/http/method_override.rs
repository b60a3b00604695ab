//! `X-HTTP-Method-Override: PATCH` on a `POST`: for clients that cannot send `PATCH`
//! (WeChat mini-programs' `wx.request`, some proxies and old HTTP stacks), the request is
//! routed as the `PATCH` it stands for, before routing, so every `PATCH` endpoint takes it.
//!
//! Only `POST` may be overridden, and only to `PATCH`: `POST` is the one method such clients
//! always have and, like `PATCH`, neither safe nor idempotent, so turning it into a `PATCH`
//! grants nothing the client could not already ask for. Turning a `GET` (which caches,
//! proxies and CSRF defences treat as harmless) into a write, or a `POST` into a `DELETE`
//! or `PUT`, would let a request pass for something it is not; every other value is refused
//! with 400 naming the header, never silently ignored.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use bangfu_sync::Code;

use crate::infra::error::{Error, Msg};

/// The header naming the method a `POST` stands for.
pub const HEADER: &str = "X-HTTP-Method-Override";

/// What the override asks for: nothing, a `PATCH`, or something refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Override {
    None,
    Patch,
    Refused,
}

/// Judges a request's method and its override header (`None` when absent).
pub fn judge(method: &Method, value: Option<&[u8]>) -> Override {
    match value {
        None => Override::None,
        Some(v) if *method == Method::POST && v.trim_ascii().eq_ignore_ascii_case(b"PATCH") => {
            Override::Patch
        }
        Some(_) => Override::Refused,
    }
}

fn refused() -> Error {
    Error::BadRequest {
        code: Code::MethodOverrideRefused,
        detail: Msg::fixed(
            "X-HTTP-Method-Override 只能用于 POST 请求，且取值只能是 PATCH。",
            "X-HTTP-Method-Override is only taken on a POST, and only as PATCH.",
        ),
    }
}

/// Routes `POST` + `X-HTTP-Method-Override: PATCH` as `PATCH`; refuses any other override.
pub async fn method_override(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let verdict = judge(
        req.method(),
        req.headers().get(HEADER).map(|v| v.as_bytes()),
    );
    match verdict {
        Override::None => {}
        Override::Patch => req.head_mut().method = Method::PATCH,
        Override::Refused => {
            // Built with the request's parts so that the envelope sees the error and
            // renders it (`into_response` would drop it).
            let (req, _) = req.into_parts();
            return Ok(ServiceResponse::new(
                req,
                HttpResponse::from_error(refused()),
            ));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// What the contract says of the override, in its description.
pub const CONTRACT_NOTE: &str = "Clients that cannot send `PATCH` (WeChat mini-programs' \
    `wx.request`) send a `POST` with `X-HTTP-Method-Override: PATCH`: it reaches every \
    `PATCH` operation exactly as a `PATCH` would. Only a `POST` may be overridden, and only to \
    `PATCH`; any other use of the header is a 400 problem (`method_override_refused`).";

/// Documents the override: in the description, and as a header on every `PATCH` operation.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let info = &mut doc.info;
    let before = info.description.take().unwrap_or_default();
    info.description = Some(format!("{before}\n\n{CONTRACT_NOTE}"));
    for item in doc.paths.paths.values_mut() {
        let Some(op) = item.patch.as_mut() else {
            continue;
        };
        let header = ParameterBuilder::new()
            .name(HEADER)
            .parameter_in(ParameterIn::Header)
            .description(Some(
                "Not sent with a real `PATCH`: a client without `PATCH` sends this operation \
                 as a `POST` with `X-HTTP-Method-Override: PATCH`.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["PATCH"])),
            ))
            .build();
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(header.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_post_becomes_only_a_patch() {
        assert_eq!(judge(&Method::POST, None), Override::None);
        assert_eq!(judge(&Method::GET, None), Override::None);
        assert_eq!(judge(&Method::POST, Some(b"PATCH")), Override::Patch);
        assert_eq!(judge(&Method::POST, Some(b" patch ")), Override::Patch);
        assert_eq!(judge(&Method::POST, Some(b"DELETE")), Override::Refused);
        assert_eq!(judge(&Method::POST, Some(b"PUT")), Override::Refused);
        assert_eq!(judge(&Method::POST, Some(b"")), Override::Refused);
        assert_eq!(judge(&Method::GET, Some(b"PATCH")), Override::Refused);
        assert_eq!(judge(&Method::PUT, Some(b"PATCH")), Override::Refused);
    }
}
