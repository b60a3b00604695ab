//! Resumable uploads: `/v1/uploads`. A phone declares the file (SHA-256, size, kind), sends
//! it in chunks with `Upload-Offset` (the tus protocol's semantics), asks for the offset
//! after losing the connection and continues from there. The chunk that completes the file
//! gets the verdict: stored (by digest, once), or refused with a problem.

use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
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
use crate::photos::uploads::model::{BlobOut, NewUpload};
use crate::photos::uploads::queries::{BlobRow, OPEN, UploadRow};
use crate::photos::uploads::tus::Creation;
use crate::photos::uploads::uploading::{self, Chunked, Declaration, Started, Uploader};
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

fn answer(status: StatusCode, out: &UploadOut) -> HttpResponse {
    with_offset(HttpResponse::build(status).json(out), out.offset)
}

/// A chunk's answer: `status` when kept or stored, the error (with the offset to resume
/// from) when stopped.
fn chunk_answer(status: StatusCode, c: Chunked) -> HttpResponse {
    match c {
        Chunked::Kept(up) => answer(status, &UploadOut::of(&up, None)),
        Chunked::Stored(done, blob) => answer(status, &UploadOut::of(&done, Some(blob))),
        Chunked::Stopped(e, offset) => with_offset(HttpResponse::from_error(e), offset),
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

/// Start an upload (201), or resume the caller's unfinished upload of the same bytes (200).
/// If the caller already sent these bytes before, the answer is `complete` at once.
///
/// The file may come with the request (tus creation-with-upload): `Content-Type:
/// application/offset+octet-stream`, `Upload-Length: <size>` and `Upload-Metadata: sha256
/// <base64>,kind <base64>,filename <base64>`, the bytes from the start as the body. A small
/// photo is then stored with this one request (201, `complete`); a body cut short leaves
/// an open upload to resume with `PATCH` (find it again by repeating this request, or in
/// `GET /v1/uploads`). Repeating it for an unfinished upload of the same bytes resumes
/// that upload, skipping the bytes the server holds.
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])),
    params(("Upload-Length" = Option<i64>, Header, description = "With the file as the body: its size in bytes"),
           ("Upload-Metadata" = Option<String>, Header, description = "With the file as the body: `sha256 <base64>,kind <base64>,filename <base64>`")),
    request_body(description = "The declaration (JSON), or the file's bytes from the start with tus headers (creation-with-upload)", content(
        (NewUpload = "application/json"),
        (String = "application/offset+octet-stream"))),
    responses((status = 201, description = "Upload started (send chunks with PATCH), or, with the file as the body, stored (`complete`)", body = UploadOut),
              (status = 200, description = "An unfinished upload of these bytes to resume, or already stored", body = UploadOut),
              (status = 409, description = "Too many unfinished uploads on this device (code `too_many_open_uploads`)", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 413, description = "Larger than the limit for its kind", body = crate::infra::http::problem::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid declaration, or the file with the request refused: `hash_mismatch`, `unsupported_file_type`, `image_unreadable`", body = crate::infra::http::problem::Problem, content_type = "application/problem+json")),
    extensions(("x-bangfu-permission" = json!("sync_push")))
)]
#[post("/v1/uploads")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Uploader,
    req: HttpRequest,
    creation: Creation,
) -> Result<HttpResponse> {
    let (b, body) = match creation {
        Creation::Declared(b) => (b, None),
        Creation::WithBody(b, p) => (b, Some(p)),
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
        body,
    )
    .await?;
    Ok(match started {
        Started::Resumed(u) => answer(StatusCode::OK, &UploadOut::of(&u, None)),
        Started::Continued(c) => chunk_answer(StatusCode::OK, c),
        Started::Held(done, blob) => answer(StatusCode::OK, &UploadOut::of(&done, Some(blob))),
        Started::Created(id, u) => {
            located(answer(StatusCode::CREATED, &UploadOut::of(&u, None)), &id)
        }
        Started::Arrived(id, c) => located(chunk_answer(StatusCode::CREATED, c), &id),
    })
}

fn located(mut res: HttpResponse, id: &Uuid) -> HttpResponse {
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

fn check_chunk_type(req: &HttpRequest) -> Result<()> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match ct.as_deref() {
        Some("application/offset+octet-stream" | "application/octet-stream") => Ok(()),
        _ => Err(Error::UnsupportedMediaType {
            expected: "application/offset+octet-stream",
        }),
    }
}

/// Send the next chunk, starting at `Upload-Offset` (which must equal the server's offset).
/// The chunk that completes the file is verified: the digest must match, and the bytes must
/// be a photo (JPEG, PNG, HEIC/HEIF, WebP) or document (PDF) as declared; a refused file is
/// discarded. If the connection drops, the bytes that arrived are kept: ask for the offset.
#[utoipa::path(tag = "uploads", security(("bearer" = []), ("applicant" = [])),
    params(("id" = Uuid, Path), ("Upload-Offset" = i64, Header, description = "Where this chunk starts")),
    request_body(content = String, content_type = "application/offset+octet-stream", description = "The chunk's bytes"),
    responses((status = 200, description = "Chunk kept; `state` is `complete` once the file is stored", body = UploadOut, headers(("Upload-Offset" = i64, description = "Bytes the server holds"))),
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
    check_chunk_type(&req)?;
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
    Ok(chunk_answer(StatusCode::OK, chunked))
}

/// Cancel an unfinished upload and discard its bytes.
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
