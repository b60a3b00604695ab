//! Resumable uploads: `/v1/uploads`. A phone declares the file (SHA-256, size, kind), sends
//! it in chunks with `Upload-Offset` (the tus protocol's semantics), asks for the offset
//! after losing the connection and continues from there. The chunk that completes the file
//! gets the verdict: stored (by digest, once), or refused with a problem.

use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, head, options, patch, post, web};
use bangfu_sync::Code;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::applicant::Principal;
use crate::auth::caller::{Require, perm};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::http::utc;
use crate::photos::Kind;
use crate::photos::uploads::form_http::{self, UploadForm};
use crate::photos::uploads::model::{BlobOut, NewUpload};
use crate::photos::uploads::queries::{BlobRow, OPEN, UploadRow};
use crate::photos::uploads::tus::{self, Creation};
use crate::photos::uploads::uploading::{self, Chunked, Declaration, Incoming, Started, Uploader};
use crate::state::AppState;

/// The header carrying byte offsets, as in the tus protocol.
pub const UPLOAD_OFFSET: &str = "Upload-Offset";

/// An upload and how far it got.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "size": 2483112, "kind": "photo", "offset": 1048576, "state": "open",
    "expires_at": "2026-11-23T09:30:00Z", "blob": null
}))]
pub struct UploadOut {
    /// Empty when the server already held these bytes from the caller and no upload was needed.
    pub id: String,
    pub sha256: String,
    pub size: i64,
    pub kind: Kind,
    /// Bytes the server holds: send the next chunk from here.
    pub offset: i64,
    /// `open` (send more) or `complete` (stored).
    pub state: String,
    /// An open upload untouched until then is removed.
    pub expires_at: Option<DateTime<Utc>>,
    /// The stored file, once complete.
    pub blob: Option<BlobOut>,
}

impl UploadOut {
    fn of(u: &UploadRow, blob: Option<BlobRow>) -> UploadOut {
        UploadOut {
            id: u.id.clone(),
            sha256: u.sha256.clone(),
            size: u.size,
            kind: Kind::parse(&u.kind).unwrap_or(Kind::Photo),
            offset: u.received,
            state: u.state.clone(),
            expires_at: (u.state == OPEN).then(|| utc(u.expires_at)),
            blob: blob.map(BlobOut::from),
        }
    }
}

fn with_offset(mut res: HttpResponse, offset: i64) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&offset.to_string()) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("upload-offset"), v);
    }
    res
}

/// Adds `Upload-Expires` (tus expiration) for an open upload.
fn with_expiry(mut res: HttpResponse, out: &UploadOut) -> HttpResponse {
    if let Some(at) = out.expires_at
        && let Ok(v) = HeaderValue::from_str(&tus::http_date(at))
    {
        res.headers_mut().insert(tus::UPLOAD_EXPIRES, v);
    }
    res
}

fn answer(status: StatusCode, out: &UploadOut) -> HttpResponse {
    with_expiry(
        with_offset(HttpResponse::build(status).json(out), out.offset),
        out,
    )
}

/// An answer without a body (tus `PATCH` 204, `HEAD`), its news in headers.
fn bare(status: StatusCode, out: &UploadOut) -> HttpResponse {
    with_expiry(
        with_offset(HttpResponse::build(status).finish(), out.offset),
        out,
    )
}

/// A chunk's answer: `status` when kept or stored (204 without a body for a tus client),
/// the error (with the offset to resume from) when stopped.
fn chunk_answer(status: StatusCode, c: Chunked, tus: bool) -> HttpResponse {
    let out = match c {
        Chunked::Kept(up) => UploadOut::of(&up, None),
        Chunked::Stored(done, blob) => UploadOut::of(&done, Some(blob)),
        Chunked::Stopped(e, offset) => return with_offset(HttpResponse::from_error(e), offset),
    };
    if tus && status == StatusCode::OK {
        bare(StatusCode::NO_CONTENT, &out)
    } else {
        answer(status, &out)
    }
}

fn chunk_id(c: &Chunked) -> Option<&str> {
    match c {
        Chunked::Kept(up) | Chunked::Stored(up, _) => Some(&up.id),
        Chunked::Stopped(..) => None,
    }
}

impl actix_web::FromRequest for Uploader {
    type Error = Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let who = Principal::from_request(req, payload);
        Box::pin(async move {
            Ok(match who.await? {
                Principal::Staff(c) => {
                    c.require(crate::domain::role::Permission::SyncPush)?;
                    Uploader {
                        user_id: c.user_id.clone(),
                        device_id: c.device_id.clone(),
                        region_path: c.region_path.clone(),
                        actor: c.actor(),
                    }
                }
                Principal::Applicant(a) => Uploader {
                    user_id: format!("applicant:{}", a.id),
                    device_id: None,
                    region_path: String::new(),
                    actor: a.actor(),
                },
            })
        })
    }
}

/// Start an upload (201), or resume the caller's unfinished upload of the same bytes (200;
/// 201 with `Location` for a tus client). If the caller already sent these bytes before,
/// the answer is `complete` at once.
///
/// Four forms of the same request:
/// - JSON, `{"sha256", "size", "kind"}`: chunks follow with `PATCH`.
/// - tus creation: `Tus-Resumable: 1.0.0`, `Upload-Length: <size>` and `Upload-Metadata:
///   sha256 <base64>,kind <base64>,filename <base64>`, no body. The `sha256` value is the
///   64 hex digits of the file's SHA-256 (base64-encoded, as every tus metadata value);
///   `kind` is `photo` (the default) or `document`; other keys (`filetype`, …) are ignored.
///   The answer is 201 with `Location` (the upload's path) and `Upload-Expires`.
/// - tus creation-with-upload: the same headers with `Content-Type:
///   application/offset+octet-stream` and the bytes from the start as the body. A small photo
///   is then stored with this one request (201, `complete`, `Upload-Offset` equal to the
///   length); a body cut short leaves an open upload to resume with `PATCH` from the
///   `Upload-Offset` that `HEAD` tells (or by repeating this request, which skips the bytes
///   the server holds).
/// - `multipart/form-data`, as WeChat's `wx.uploadFile` sends it: fields `sha256` and `kind`
///   (other fields are ignored), the file in a part named `file`; the file is received
///   whole, then verified and stored (201, `complete`) or refused, in this one request.
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])),
    params(("Tus-Resumable" = Option<String>, Header, description = "`1.0.0` from a tus client: tus answers (201 with `Location` also when resuming). Another version is refused with 412 and `Tus-Version`"),
           ("Upload-Length" = Option<i64>, Header, description = "tus creation: the file's size in bytes"),
           ("Upload-Metadata" = Option<String>, Header, description = "tus creation: `sha256 <base64 of the 64 hex digits>,kind <base64 of photo|document>,filename <base64>`; other keys are ignored",
               example = "sha256 OWY4NmQwODE4ODRjN2Q2NTlhMmZlYWEwYzU1YWQwMTVhM2JmNGYxYjJiMGI4MjJjZDE1ZDZjMTViMGYwMGEwOA==,kind cGhvdG8=,filename SU1HXzA0MTIuanBn")),
    request_body(description = "The declaration (JSON); nothing (tus creation); the file's bytes from the start with tus headers (creation-with-upload); or a form with `sha256`, `kind` and the file (`wx.uploadFile`)", content(
        (NewUpload = "application/json"),
        (String = "application/offset+octet-stream"),
        (UploadForm = "multipart/form-data"))),
    responses((status = 201, description = "Upload started (send chunks with PATCH), or, with the file, stored (`complete`)", body = UploadOut,
                 headers(("Location" = String, description = "The upload's path, `/v1/uploads/{id}`"),
                         ("Upload-Offset" = i64, description = "Bytes the server holds"),
                         ("Upload-Expires" = String, description = "While open: when it is removed unless continued (HTTP-date)"),
                         ("Tus-Resumable" = String, description = "`1.0.0`"))),
              (status = 200, description = "An unfinished upload of these bytes to resume, or already stored", body = UploadOut),
              (status = 409, description = "Too many unfinished uploads on this device (code `too_many_open_uploads`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 412, description = "`Tus-Resumable` names a version other than 1.0.0 (code `tus_version_unsupported`; `Tus-Version` lists the one spoken)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 413, description = "Larger than the limit for its kind", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid declaration (each field named: `sha256`, `kind`, `file`, `Upload-Length`, `Upload-Metadata`), or the file with the request refused: `hash_mismatch`, `unsupported_file_type`, `image_unreadable`", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[post("/v1/uploads")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Uploader,
    req: HttpRequest,
    creation: Creation,
) -> Result<HttpResponse> {
    let tus = tus::speaks_tus(&req);
    let (b, body) = match creation {
        Creation::Declared(b) => (b, None),
        Creation::WithBody(b, p) => (b, Some(p)),
        Creation::Form(form) => {
            let started = form_http::receive(&state, &caller, form).await?;
            return Ok(started_answer(started, false));
        }
    };
    let d = Declaration {
        sha256: b.sha256,
        size: b.size,
        kind: b.kind,
        file_name: b.file_name,
    };
    let started = uploading::start(
        &state.db,
        &state.photos,
        &caller,
        d,
        declared_len(&req),
        body.map(Incoming::Streamed),
        tus,
    )
    .await?;
    Ok(started_answer(started, tus))
}

/// A start's answer. A tus client is told `Location` whenever there is an upload to
/// continue or ask about, and 201 for it (a tus creation answers nothing else).
fn started_answer(started: Started, tus: bool) -> HttpResponse {
    let resumed = if tus {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    match started {
        Started::Resumed(u) => {
            let res = answer(resumed, &UploadOut::of(&u, None));
            if tus { located(res, &u.id) } else { res }
        }
        Started::Continued(c) => {
            let id = chunk_id(&c).map(str::to_owned);
            let res = chunk_answer(resumed, c, false);
            match (tus, id) {
                (true, Some(id)) => located(res, &id),
                _ => res,
            }
        }
        Started::Held(done, blob) => {
            let res = answer(resumed, &UploadOut::of(&done, Some(blob)));
            if tus { located(res, &done.id) } else { res }
        }
        Started::Created(id, u) => located(
            answer(StatusCode::CREATED, &UploadOut::of(&u, None)),
            &id.to_string(),
        ),
        Started::Arrived(id, c) => {
            located(chunk_answer(StatusCode::CREATED, c, false), &id.to_string())
        }
    }
}

fn located(mut res: HttpResponse, id: &str) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/uploads/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn declared_len(req: &HttpRequest) -> Option<i64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
}

/// What the caller's phone still has to send.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"open": [], "missing": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]}))]
pub struct Outstanding {
    /// Unfinished uploads, with the offset to resume from.
    pub open: Vec<UploadOut>,
    /// Digests named by the caller's photo records (the latest 1000) of which the server
    /// has no complete copy from the caller: upload these files.
    pub missing: Vec<String>,
}

/// The caller's unfinished uploads, and the files their photo records name that the server
/// does not hold yet (say, after the phone was reinstalled).
#[utoipa::path(tag = "uploads", security(("bearer" = [])),
    responses((status = 200, body = Outstanding)),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[get("/v1/uploads")]
pub async fn outstanding(
    state: web::Data<AppState>,
    caller: Require<perm::SyncPush>,
) -> Result<web::Json<Outstanding>> {
    let (open, missing) = uploading::outstanding(&state.db, &caller).await?;
    Ok(web::Json(Outstanding {
        open: open.iter().map(|u| UploadOut::of(u, None)).collect(),
        missing,
    }))
}

/// How far an upload got: resume from `offset` (also in the `Upload-Offset` header).
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = UploadOut, headers(("Upload-Offset" = i64, description = "Bytes the server holds"))),
              (status = 404, description = "No such upload of the caller's, or it expired", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[get("/v1/uploads/{id}")]
pub async fn progress(
    state: web::Data<AppState>,
    caller: Uploader,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let (u, blob) = uploading::progress(&state.db, &caller, &id.to_string()).await?;
    Ok(answer(StatusCode::OK, &UploadOut::of(&u, blob)))
}

/// tus: how far an upload got, in headers: `Upload-Offset` (resume from there),
/// `Upload-Length`, and `Upload-Expires` while it is open. Never cached.
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])),
    params(("id" = Uuid, Path), ("Tus-Resumable" = Option<String>, Header, description = "`1.0.0`; another version is refused with 412")),
    responses((status = 200, description = "No body; the upload's state in headers",
                 headers(("Upload-Offset" = i64, description = "Bytes the server holds: send the next chunk from here"),
                         ("Upload-Length" = i64, description = "The file's size"),
                         ("Upload-Expires" = String, description = "While open: when it is removed unless continued (HTTP-date)"),
                         ("Cache-Control" = String, description = "`no-store`"),
                         ("Tus-Resumable" = String, description = "`1.0.0`"))),
              (status = 404, description = "No such upload of the caller's, or it expired (the problem's headers; a HEAD answer has no body)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 412, description = "`Tus-Resumable` names a version other than 1.0.0 (`Tus-Version` lists the one spoken; the problem's headers, no body)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[head("/v1/uploads/{id}")]
pub async fn tell_offset(
    state: web::Data<AppState>,
    caller: Uploader,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let (u, blob) = uploading::progress(&state.db, &caller, &id.to_string()).await?;
    let mut res = bare(StatusCode::OK, &UploadOut::of(&u, blob));
    let h = res.headers_mut();
    h.insert(
        header::HeaderName::from_static("upload-length"),
        HeaderValue::from(u.size),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn discovery(state: &AppState) -> HttpResponse {
    let max = state
        .photos
        .limits
        .max_bytes(Kind::Photo)
        .max(state.photos.limits.max_bytes(Kind::Document));
    HttpResponse::NoContent()
        .insert_header((tus::TUS_VERSION, tus::VERSION))
        .insert_header((tus::TUS_EXTENSION, tus::EXTENSIONS))
        .insert_header((tus::TUS_MAX_SIZE, max.to_string()))
        .finish()
}

/// tus discovery: the version, extensions and largest file this server takes. No sign-in.
#[utoipa::path(tag = "uploads",
    responses((status = 204, description = "What the server speaks",
                 headers(("Tus-Version" = String, description = "`1.0.0`"),
                         ("Tus-Extension" = String, description = "`creation,creation-with-upload,expiration,termination`"),
                         ("Tus-Max-Size" = i64, description = "The largest file taken, in bytes (a document's limit; a photo's is smaller)"))))
)]
#[options("/v1/uploads")]
pub async fn discover(state: web::Data<AppState>) -> HttpResponse {
    discovery(&state)
}

/// tus discovery on an upload's path: as on `/v1/uploads`. No sign-in.
#[utoipa::path(tag = "uploads", params(("id" = Uuid, Path)),
    responses((status = 204, description = "What the server speaks",
                 headers(("Tus-Version" = String, description = "`1.0.0`"),
                         ("Tus-Extension" = String, description = "`creation,creation-with-upload,expiration,termination`"),
                         ("Tus-Max-Size" = i64, description = "The largest file taken, in bytes"))))
)]
#[options("/v1/uploads/{id}")]
pub async fn discover_upload(state: web::Data<AppState>) -> HttpResponse {
    discovery(&state)
}

fn offset_header(req: &HttpRequest) -> Result<i64> {
    req.headers()
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or(Error::BadRequest {
            code: Code::UploadOffsetRequired,
            detail: Msg::fixed(
                "请在 Upload-Offset 头中给出本块的起始字节位置。",
                "Send the chunk's starting byte in an Upload-Offset header.",
            ),
        })
}

/// A chunk is `application/offset+octet-stream` (a client not speaking tus may also send
/// `application/octet-stream`).
fn check_chunk_type(req: &HttpRequest, tus: bool) -> Result<()> {
    match tus::media_type(req).as_deref() {
        Some(tus::CHUNK_TYPE) => Ok(()),
        Some("application/octet-stream") if !tus => Ok(()),
        _ => Err(Error::UnsupportedMediaType {
            expected: tus::CHUNK_TYPE,
        }),
    }
}

/// Send the next chunk, starting at `Upload-Offset` (which must equal the server's offset).
/// The chunk that completes the file is verified: the digest must match, and the bytes must
/// be a photo (JPEG, PNG, HEIC/HEIF, WebP) or document (PDF) as declared; a refused file is
/// discarded. If the connection drops, the bytes that arrived are kept: ask for the offset
/// (`HEAD`, or `GET`). A tus client (`Tus-Resumable: 1.0.0`) gets 204 without a body, its
/// news in `Upload-Offset` and `Upload-Expires`.
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])),
    params(("id" = Uuid, Path), ("Upload-Offset" = i64, Header, description = "Where this chunk starts"),
           ("Tus-Resumable" = Option<String>, Header, description = "`1.0.0` from a tus client: 204 answers. Another version is refused with 412 and `Tus-Version`")),
    request_body(content = String, content_type = "application/offset+octet-stream", description = "The chunk's bytes"),
    responses((status = 200, description = "Chunk kept; `state` is `complete` once the file is stored", body = UploadOut, headers(("Upload-Offset" = i64, description = "Bytes the server holds"), ("Upload-Expires" = String, description = "While open: when it is removed unless continued (HTTP-date)"))),
              (status = 204, description = "The same for a tus client, without a body", headers(("Upload-Offset" = i64, description = "Bytes the server holds"), ("Upload-Expires" = String, description = "While open: when it is removed unless continued (HTTP-date)"), ("Tus-Resumable" = String, description = "`1.0.0`"))),
              (status = 412, description = "`Tus-Resumable` names a version other than 1.0.0 (code `tus_version_unsupported`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 415, description = "Not `application/offset+octet-stream`", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such upload of the caller's, or it expired", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Wrong offset (`offset_mismatch`, the header tells the right one), another chunk in progress (`upload_busy`), or already complete (`upload_complete`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 413, description = "The chunk runs past the declared size", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Complete but refused: `hash_mismatch`, `unsupported_file_type`, `image_unreadable`", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[patch("/v1/uploads/{id}")]
pub async fn append(
    state: web::Data<AppState>,
    caller: Uploader,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Payload,
) -> Result<HttpResponse> {
    let tus = tus::speaks_tus(&req);
    check_chunk_type(&req, tus)?;
    let offset = offset_header(&req)?;
    let chunked = uploading::append(
        &state.db,
        &state.photos,
        &caller,
        id.into_inner(),
        offset,
        declared_len(&req),
        body,
    )
    .await?;
    Ok(chunk_answer(StatusCode::OK, chunked, tus))
}

/// Cancel an unfinished upload and discard its bytes (tus termination).
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "Cancelled"),
              (status = 404, body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 409, description = "A chunk is arriving now (`upload_busy`) or the upload is complete (`upload_complete`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[delete("/v1/uploads/{id}")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Uploader,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    uploading::cancel(&state.db, &state.photos, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
