//! Request body and parameter extraction that fails with problems, never with actix's
//! plain-text errors: a wrong content type is 415, an oversized body 413, malformed JSON
//! 400 and a wrong field type 422 naming the field.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use bangfu_sync::Code;
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::infra::error::{Error, FieldError, Msg};

/// The default limit for JSON bodies of ordinary endpoints.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;

/// A JSON body of type `T`, at most `LIMIT` bytes.
#[derive(Debug)]
pub struct ApiJson<T, const LIMIT: usize = DEFAULT_JSON_LIMIT>(pub T);

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for ApiJson<T, LIMIT> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = LIMIT;
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        // Bodies may come gzip-compressed (`Content-Encoding: gzip`); the limit applies to
        // the decompressed bytes, so a small bomb cannot inflate past it.
        let mut payload = actix_web::dev::Decompress::from_headers(payload.take(), req.headers());
        Box::pin(async move {
            if !is_json {
                return Err(Error::UnsupportedMediaType {
                    expected: "application/json",
                });
            }
            if declared_len.is_some_and(|n| n > limit) {
                return Err(Error::PayloadTooLarge { limit });
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| crate::infra::http::pace::unreadable(&e))?;
                if body.len() + chunk.len() > limit {
                    return Err(Error::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            if has_nul_escape(&body) {
                return Err(nul_refused());
            }
            parse(&body).map(ApiJson)
        })
    }
}

/// Whether a JSON text holds `\u0000` (a NUL character) in a string. No field of bangfu's
/// takes one, PostgreSQL's text cannot store one, and C-side tools cut strings at it.
/// An escape counts when an even number of backslashes stand before it.
pub fn has_nul_escape(body: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"\\u0000";
    body.windows(ESCAPE.len()).enumerate().any(|(i, w)| {
        w == ESCAPE && body[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

fn nul_refused() -> Error {
    Error::BadRequest {
        code: Code::NulCharacter,
        detail: Msg::fixed(
            "请求中含有空字符（\\u0000 或 %00），不予接受。",
            "The request holds a NUL character (\\u0000 or %00), which is not accepted.",
        ),
    }
}

/// Middleware: a query string holding an encoded NUL (`%00`) is refused before routing,
/// for the reason [`has_nul_escape`] gives.
pub async fn refuse_nul_in_query(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let query = req.query_string().as_bytes();
    if query.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
        return Ok(req.error_response(nul_refused()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Decodes JSON, naming the field at fault.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => Error::BadRequest {
                code: Code::MalformedJson,
                detail: Msg::new(
                    format!(
                        "JSON 格式错误（第 {} 行第 {} 列）。",
                        inner.line(),
                        inner.column()
                    ),
                    format!(
                        "Malformed JSON at line {}, column {}.",
                        inner.line(),
                        inner.column()
                    ),
                ),
            },
            Category::Data => {
                let msg = inner.to_string();
                // serde's message ends with " at line L column C"; the field path says more.
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                let field = field_of(&path, &msg);
                if let Some(name) = msg
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next())
                {
                    return Error::Validation(vec![FieldError::new(
                        field,
                        Code::Required,
                        Msg::new(
                            format!("缺少必填字段 {name}。"),
                            format!("`{name}` is required."),
                        ),
                    )]);
                }
                Error::Validation(vec![FieldError::new(
                    field,
                    Code::InvalidValue,
                    Msg::new(
                        format!("字段类型或取值不正确：{msg}"),
                        format!("Wrong type or value: {msg}"),
                    ),
                )])
            }
        }
    })
}

/// Query parameters of type `T`, decoded so that a problem names the parameter at fault
/// and says what is wrong with it in Chinese and English (422, `required` or
/// `invalid_parameter`). Named `Query` like actix's, so the contract lists its parameters.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Decodes a query string, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let text = e.into_inner().to_string();
        Error::Validation(vec![query_problem(query, &path, &text)])
    })
}

/// The problem with one query parameter: `path` is where decoding failed (`.` for the
/// whole query), `text` serde's message.
fn query_problem(query: &str, path: &str, text: &str) -> FieldError {
    let quoted = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(name) = quoted("missing field `") {
        return FieldError::new(
            name.clone(),
            Code::Required,
            Msg::new(
                format!("缺少查询参数 {name}。"),
                format!("The query parameter `{name}` is missing."),
            ),
        );
    }
    let name = if path == "." {
        quoted("unknown field `").unwrap_or_default()
    } else {
        path.to_owned()
    };
    if name.is_empty() {
        return FieldError::new(
            "query",
            Code::InvalidParameter,
            Msg::new(
                "查询字符串无法解析。",
                format!("The query string cannot be read: {text}"),
            ),
        );
    }
    let value: String = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.chars().take(60).collect())
        .unwrap_or_default();
    let choices = text
        .starts_with("unknown variant")
        .then(|| text.split(", expected ").nth(1))
        .flatten();
    let zh_reason = if let Some(choices) = choices {
        let choices = choices.trim_start_matches("one of ").replace(" or ", ", ");
        format!("可选值为 {}", choices.replace('`', ""))
    } else if text.starts_with("unknown field") {
        "不接受此参数".to_owned()
    } else if text.contains("digit") || text.contains("number") || text.contains("integer") {
        "须为整数，且在允许的范围内".to_owned()
    } else if text.contains("true") && text.contains("false") {
        "须为 true 或 false".to_owned()
    } else if text.to_ascii_lowercase().contains("uuid") {
        "须为 UUID".to_owned()
    } else {
        "格式不正确".to_owned()
    };
    FieldError::new(
        name.clone(),
        Code::InvalidParameter,
        Msg::new(
            format!("查询参数 {name} 的值“{value}”无效：{zh_reason}。"),
            format!("The query parameter `{name}` has an invalid value `{value}`: {text}."),
        ),
    )
}

/// The field a decoding error is about: serde's path, completed by the field a message
/// names when the path stops at the object holding it (a missing or unknown field).
fn field_of(path: &str, msg: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| {
            msg.strip_prefix(prefix)
                .and_then(|r| r.split('`').next())
                .map(str::to_owned)
        });
    let at = if path == "." { "" } else { path };
    match named {
        // An unknown field's path already ends with its name.
        Some(name) if !at.ends_with(name.as_str()) => {
            if at.is_empty() {
                name
            } else {
                format!("{at}.{name}")
            }
        }
        _ => at.to_owned(),
    }
}

/// Turns actix's query-string errors into problems (for any `web::Query` left; bangfu's
/// adapters use [`Query`], which names the parameter).
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let text = err.to_string();
    Error::Validation(vec![FieldError::new(
        "query",
        Code::InvalidParameter,
        Msg::new(
            format!("查询参数不正确：{text}"),
            format!("Invalid query parameter: {text}"),
        ),
    )])
    .into()
}

/// Turns actix's path-segment errors into problems (e.g. a malformed id).
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    let text = err.to_string();
    Error::BadRequest {
        code: Code::InvalidPathParameter,
        detail: Msg::new(
            format!("路径参数不正确：{text}"),
            format!("Invalid path parameter: {text}"),
        ),
    }
    .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nul_escapes_are_found_only_where_they_are_escapes() {
        use super::has_nul_escape;
        assert!(has_nul_escape(br#"{"a": "x\u0000y"}"#));
        assert!(has_nul_escape(br#"{"a": "\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a": "\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a": "u0000"}"#));
    }

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse::<Body>(br#"{"name":"a","inner":{"count":"x"}}"#).err();
        match err {
            Some(Error::Validation(f)) => assert_eq!(f[0].field, "inner.count"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let field = |body: &[u8]| match parse::<Body>(body) {
            Err(Error::Validation(f)) => (f[0].field.clone(), f[0].code),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(
            field(br#"{"inner":{"count":1}}"#),
            ("name".into(), Code::Required)
        );
        assert_eq!(
            field(br#"{"name":"a","inner":{}}"#),
            ("inner.count".into(), Code::Required)
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        from: chrono::NaiveDate,
        limit: Option<u32>,
        kind: Option<Kind>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Kind {
        Living,
        Medical,
    }

    fn query_field(q: &str) -> FieldError {
        match parse_query::<Params>(q) {
            Err(Error::Validation(f)) => f[0].clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn query_errors_name_the_parameter_in_both_languages() {
        let missing = query_field("limit=3");
        assert_eq!(
            (missing.field.as_str(), missing.code),
            ("from", Code::Required)
        );
        assert!(
            missing.message.zh.contains("缺少查询参数 from"),
            "{missing:?}"
        );
        assert!(
            missing.message.en.contains("`from` is missing"),
            "{missing:?}"
        );
        let bad = query_field("from=2026-01-01&limit=x");
        assert_eq!(
            (bad.field.as_str(), bad.code),
            ("limit", Code::InvalidParameter)
        );
        assert!(bad.message.zh.contains("须为整数"), "{bad:?}");
        let date = query_field("from=yesterday");
        assert_eq!(date.field, "from");
        assert!(date.message.en.contains("`yesterday`"), "{date:?}");
        let kind = query_field("from=2026-01-01&kind=gold");
        assert_eq!(kind.field, "kind");
        assert!(kind.message.zh.contains("living"), "{kind:?}");
        let unknown = query_field("from=2026-01-01&colour=red");
        assert_eq!(unknown.field, "colour");
        assert!(parse_query::<Params>("from=2026-01-01&limit=5&kind=medical").is_ok());
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(
            parse::<Body>(b"{\"name\":"),
            Err(Error::BadRequest {
                code: Code::MalformedJson,
                ..
            })
        ));
    }
}

/// `absent` -> None, `null` -> Some(None), value -> Some(Some(v)).
pub mod double_option {
    use serde::Deserialize;
    use serde::Deserializer;
    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}
