//! RFC 9457 problem details: the one place where an [`Error`] becomes an HTTP answer.

use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::infra::error::{Code, Error, FieldError, Lang, Msg};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error answer (`application/problem+json`, RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://bangfu.example/problems/validation_failed",
    "title": "请求数据有误",
    "status": 422,
    "detail": "请更正下列字段后重试。",
    "code": "validation_failed",
    "errors": [{"field": "username", "code": "required", "message": "username 不能为空或过短（至少 3 个字符）。"}],
    "request_id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10"
}))]
pub struct Problem {
    /// A URI naming the kind of problem; its last segment is `code`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code, from the one vocabulary (the `Code` enum); `title` says what
    /// it means.
    pub code: Code,
    /// Every field that failed validation, all at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// JSON path of the field; empty when the body as a whole is at fault.
    pub field: String,
    pub code: Code,
    pub message: String,
}

struct Parts<'a> {
    status: StatusCode,
    code: Code,
    detail: Option<&'a Msg>,
}

/// The status and code of an error; its title is the code's meaning (one table, in
/// `bangfu_sync::codes`).
fn parts(e: &Error) -> Parts<'_> {
    use StatusCode as S;
    let p = |status, code, detail| Parts {
        status,
        code,
        detail,
    };
    match e {
        Error::Validation(_) => p(S::UNPROCESSABLE_ENTITY, Code::ValidationFailed, None),
        Error::BadRequest { code, detail } => p(S::BAD_REQUEST, *code, Some(detail)),
        Error::Unauthorized { code, detail } => p(S::UNAUTHORIZED, *code, Some(detail)),
        Error::Forbidden { code, detail } => p(S::FORBIDDEN, *code, Some(detail)),
        Error::NotFound => p(S::NOT_FOUND, Code::NotFound, None),
        Error::RouteNotFound => p(S::NOT_FOUND, Code::RouteNotFound, None),
        Error::MethodNotAllowed => p(S::METHOD_NOT_ALLOWED, Code::MethodNotAllowed, None),
        Error::Conflict { code, detail } => p(S::CONFLICT, *code, Some(detail)),
        Error::Unprocessable { code, detail } => p(S::UNPROCESSABLE_ENTITY, *code, Some(detail)),
        Error::PreconditionFailed => p(S::PRECONDITION_FAILED, Code::VersionMismatch, None),
        Error::VersionUnsupported { code, detail } => {
            p(S::PRECONDITION_FAILED, *code, Some(detail))
        }
        Error::PreconditionRequired => p(S::PRECONDITION_REQUIRED, Code::IfMatchRequired, None),
        Error::PayloadTooLarge { .. } => p(S::PAYLOAD_TOO_LARGE, Code::PayloadTooLarge, None),
        Error::UnsupportedMediaType { .. } => {
            p(S::UNSUPPORTED_MEDIA_TYPE, Code::UnsupportedMediaType, None)
        }
        Error::BatchTooLarge { .. } => p(S::PAYLOAD_TOO_LARGE, Code::BatchTooLarge, None),
        Error::UpgradeRequired { detail } => p(
            S::UPGRADE_REQUIRED,
            Code::ClientUpgradeRequired,
            Some(detail),
        ),
        Error::ResetRequired { detail } => p(S::GONE, Code::ResetRequired, Some(detail)),
        Error::RangeNotSatisfiable { .. } => {
            p(S::RANGE_NOT_SATISFIABLE, Code::RangeNotSatisfiable, None)
        }
        Error::TooManyRequests { .. } => p(S::TOO_MANY_REQUESTS, Code::TooManyRequests, None),
        Error::BodyTooSlow => p(S::REQUEST_TIMEOUT, Code::BodyTooSlow, None),
        Error::StorageFull(_) => p(S::INSUFFICIENT_STORAGE, Code::StorageFull, None),
        Error::Unavailable(_) => p(S::SERVICE_UNAVAILABLE, Code::ServiceUnavailable, None),
        Error::Upstream(_) => p(S::BAD_GATEWAY, Code::UpstreamUnavailable, None),
        Error::NotEnabled { code, detail } => p(S::NOT_FOUND, *code, Some(detail)),
        Error::Internal(_) => p(S::INTERNAL_SERVER_ERROR, Code::InternalError, None),
    }
}

/// The detail sentence when a variant carries none of its own.
fn default_detail(e: &Error) -> Msg {
    match e {
        Error::Validation(_) => Msg::fixed(
            "请更正下列字段后重试。",
            "Correct the fields listed and try again.",
        ),
        Error::NotFound => Msg::fixed(
            "记录不存在，或不在您的管辖范围内。",
            "No such record, or it is outside your jurisdiction.",
        ),
        Error::RouteNotFound => Msg::fixed(
            "请求的接口不存在，请查阅 /docs。",
            "No endpoint at this path; see /docs.",
        ),
        Error::MethodNotAllowed => Msg::fixed(
            "请查阅 /docs 了解该接口支持的方法。",
            "See /docs for the methods this endpoint takes.",
        ),
        Error::PreconditionFailed => Msg::fixed(
            "记录在您读取后已被修改，请重新读取后再提交。",
            "The record changed since you read it; read it again and retry.",
        ),
        Error::PreconditionRequired => Msg::fixed(
            "请在 If-Match 头中带上读取时得到的 ETag。",
            "Send the ETag you read in an If-Match header.",
        ),
        Error::PayloadTooLarge { limit: 0 } => {
            Msg::fixed("请求体过大。", "The request body is too large.")
        }
        Error::PayloadTooLarge { limit } => Msg::new(
            format!("请求体不得超过 {limit} 字节。"),
            format!("The request body may not exceed {limit} bytes."),
        ),
        Error::UnsupportedMediaType { expected } => Msg::new(
            format!("Content-Type 须为 {expected}。"),
            format!("Content-Type must be {expected}."),
        ),
        Error::BatchTooLarge { max } => Msg::new(
            format!("每批最多 {max} 条变更，请分批推送。"),
            format!("Push at most {max} mutations per batch."),
        ),
        Error::RangeNotSatisfiable { size } => Msg::new(
            format!("文件共 {size} 字节，请求的范围超出文件。"),
            format!("The file has {size} bytes; the range requested lies outside it."),
        ),
        Error::TooManyRequests { retry_after_secs } => Msg::new(
            format!("请 {retry_after_secs} 秒后再试。"),
            format!("Try again in {retry_after_secs} seconds."),
        ),
        Error::BodyTooSlow => Msg::fixed(
            "请求体到达过慢，连接已被关闭；上传的已收到部分已保存，可查询偏移量后续传。",
            "The request body arrived too slowly and was cut off; an upload keeps what arrived, so ask for the offset and resume.",
        ),
        Error::StorageFull(_) => Msg::fixed(
            "照片存储空间已满，已收到的内容未写入一半；管理员释放空间后请重试。",
            "The photo store is full; nothing was half-written. Retry once an administrator has freed space.",
        ),
        Error::Unavailable(_) => Msg::fixed(
            "数据库暂时无法访问，请稍后重试。",
            "The database is unreachable; retry shortly.",
        ),
        Error::Upstream(_) => Msg::fixed(
            "外部服务（微信）暂时无法访问，请稍后重试。",
            "An outside service (WeChat) could not be reached; retry shortly.",
        ),
        Error::Internal(_) => Msg::fixed(
            "服务器出错，已记录，请稍后重试。",
            "The server failed; it was logged. Retry later.",
        ),
        _ => Msg::fixed("", ""),
    }
}

fn field(f: &FieldError, lang: Lang) -> ProblemField {
    ProblemField {
        field: f.field.clone(),
        code: f.code,
        message: f.message.get(lang).to_owned(),
    }
}

pub fn problem(e: &Error, lang: Lang, request_id: Option<&str>) -> Problem {
    let parts = parts(e);
    let fallback = default_detail(e);
    let meaning = parts.code.text();
    Problem {
        type_: format!("https://bangfu.example/problems/{}", parts.code),
        title: match lang {
            Lang::Zh => meaning.zh,
            Lang::En => meaning.en,
        }
        .to_owned(),
        status: parts.status.as_u16(),
        detail: parts.detail.unwrap_or(&fallback).get(lang).to_owned(),
        code: parts.code,
        errors: match e {
            Error::Validation(fs) => fs.iter().map(|f| field(f, lang)).collect(),
            _ => Vec::new(),
        },
        request_id: request_id.map(str::to_owned),
    }
}

/// The full HTTP answer for an error.
pub fn respond(e: &Error, lang: Lang, request_id: Option<&str>) -> HttpResponse {
    let body = problem(e, lang, request_id);
    let mut res = HttpResponse::build(parts(e).status);
    res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)));
    match e {
        Error::TooManyRequests { retry_after_secs } => {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        Error::Unavailable(_) | Error::Upstream(_) => {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        Error::StorageFull(_) => {
            res.insert_header((header::RETRY_AFTER, "60"));
        }
        Error::RangeNotSatisfiable { size } => {
            res.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
        }
        _ => {}
    }
    res.json(body)
}

/// Used by actix when a handler fails; the request envelope then re-renders the body in the
/// caller's language with the request id.
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        parts(self).status
    }

    fn error_response(&self) -> HttpResponse {
        respond(self, Lang::Zh, None)
    }
}

/// A problem for a status that some part of actix produced on its own.
pub fn for_status(status: StatusCode) -> Error {
    match status.as_u16() {
        404 => Error::RouteNotFound,
        405 => Error::MethodNotAllowed,
        408 => Error::BodyTooSlow,
        413 => Error::PayloadTooLarge { limit: 0 },
        415 => Error::UnsupportedMediaType {
            expected: "application/json",
        },
        401 => Error::Unauthorized {
            code: Code::Unauthorized,
            detail: Msg::fixed("请先登录。", "Sign in first."),
        },
        s if s >= 500 => Error::Internal(format!("status {s}")),
        _ => Error::BadRequest {
            code: Code::BadRequest,
            detail: Msg::fixed("请求无法处理。", "The request could not be processed."),
        },
    }
}
