//! Resumable uploads: `/v1/uploads`. A phone declares the file (SHA-256, size, kind), sends
//! it in chunks with `Upload-Offset` (the tus protocol's semantics), asks for the offset
//! after losing the connection and continues from there. The chunk that completes the file
//! gets the verdict: stored (by digest, once), or refused with a problem.

use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use bangfu_sync::Code;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::applicant::Principal;
use crate::auth::caller::{Require, perm};
use crate::domain::validate::Checks;
use crate::infra::clock::now;
use crate::infra::db::DbConn;
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::http::utc;
use crate::photos::uploads::model::{BlobOut, NewUpload};
use crate::photos::uploads::queries::{BlobRow, COMPLETE, OPEN, UploadRow};
use crate::photos::uploads::service::keep_finished;
use crate::photos::uploads::tus::Creation;
use crate::photos::uploads::{queries as rows, service as receive};
use crate::photos::{Kind, Sha256Hex};
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

fn check_file_name(c: &mut Checks, name: &str) {
    c.text("file_name", name, 1, 255);
    let unsafe_name = name.contains(['/', '\\', '\0'])
        || name.split(['/', '\\']).any(|p| p == "..")
        || name.starts_with('.')
        || name.chars().any(char::is_control);
    if unsafe_name {
        c.errors.push(FieldError::new(
            "file_name",
            Code::InvalidFormat,
            Msg::fixed(
                "文件名不得含路径（/、\\、..）或控制字符。",
                "A file name may not contain a path (/, \\, ..) or control characters.",
            ),
        ));
    }
}

/// Who uploads: staff on their devices (photos and documents), or an applicant attaching
/// materials to an application (documents and photos of papers).
pub struct Uploader {
    /// The key uploads and held files are filed under (`applicant:<id>` for applicants).
    pub user_id: String,
    pub device_id: Option<String>,
    pub region_path: String,
    pub actor: crate::audit::log::Actor,
}

impl Uploader {
    fn actor(&self) -> crate::audit::log::Actor {
        self.actor.clone()
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

fn device_of(who: &Uploader) -> Option<String> {
    who.device_id.clone()
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
    let mut c = Checks::default();
    let sha = Sha256Hex::parse(&b.sha256);
    if let Err(Error::Validation(fs)) = &sha {
        c.errors.extend(fs.iter().cloned());
    }
    if b.size < 1 {
        c.errors.push(FieldError::new(
            "size",
            Code::OutOfRange,
            Msg::fixed("size 须为正数。", "size must be positive."),
        ));
    }
    if let Some(n) = &b.file_name {
        check_file_name(&mut c, n);
    }
    c.finish()?;
    let sha = sha?;
    let limit = state.photos.limits.max_bytes(b.kind);
    if b.size as u64 > limit || (body.is_some() && declared_len(&req).is_some_and(|n| n > b.size)) {
        return Err(Error::PayloadTooLarge {
            limit: usize::try_from(limit.min(b.size as u64)).unwrap_or(usize::MAX),
        });
    }
    let photos = state.photos.clone();
    let id = Uuid::now_v7();
    let row = UploadRow {
        id: id.to_string(),
        user_id: caller.user_id.clone(),
        device_id: device_of(&caller),
        region_path: caller.region_path.clone(),
        sha256: sha.to_string(),
        size: b.size,
        kind: b.kind.as_str().to_owned(),
        file_name: b.file_name.clone(),
        received: 0,
        state: OPEN.to_owned(),
        created_at: now(),
        updated_at: now(),
        expires_at: now() + photos.limits.idle_expiry,
    };
    let actor = caller.actor();
    let max_open = (
        photos.limits.max_open_per_device,
        photos.limits.max_open_per_account,
    );
    // Decided in one transaction: resume, already held, too many, or a new upload. A new
    // upload that brings its bytes is written once they are in, with the verdict.
    let (r, a, record) = (row.clone(), actor.clone(), body.is_none());
    let decide = move |c: &mut DbConn| {
        let t = now();
        if let Some(open) = rows::find_open_for(c, &r.user_id, &r.sha256, t)? {
            return Ok(Outcome::Resume(open));
        }
        if let Some(blob) = rows::find_blob(c, &r.sha256)?
            && rows::holds(c, &r.sha256, &r.user_id)?
        {
            return Ok(Outcome::Held(blob));
        }
        check_open_limit(c, &r, max_open)?;
        if record {
            rows::create_upload(c, &a, &r)?;
        }
        Ok(Outcome::Created(r))
    };
    let outcome = match body {
        None => state.db.write(decide).await?,
        Some(_) => state.db.read(decide).await?,
    };
    match (outcome, body) {
        (Outcome::Resume(u), None) => Ok(answer(StatusCode::OK, &UploadOut::of(&u, None))),
        (Outcome::Resume(u), Some(bytes)) => {
            // The body starts at the first byte: what the server holds already is skipped.
            let held = u.received as u64;
            take_chunk(&state, actor, u, skip_bytes(bytes, held)).await
        }
        (Outcome::Held(blob), _) => {
            let done = UploadRow {
                id: String::new(),
                received: blob.size,
                state: COMPLETE.to_owned(),
                ..row
            };
            Ok(answer(StatusCode::OK, &UploadOut::of(&done, Some(blob))))
        }
        (Outcome::Created(u), None) => Ok(located(
            answer(StatusCode::CREATED, &UploadOut::of(&u, None)),
            &id,
        )),
        (Outcome::Created(u), Some(bytes)) => {
            let chunk = photos.scratch_file(&id);
            let got = receive::append(chunk.clone(), 0, u.size as u64, bytes).await?;
            let received = got.received as i64;
            if complete(&got, u.size) {
                let up = UploadRow { received, ..u };
                let (blob, _) =
                    receive::finish(&state.db, &photos, actor, up.clone(), chunk, true, false)
                        .await?;
                let done = UploadRow {
                    state: COMPLETE.to_owned(),
                    expires_at: now() + keep_finished(),
                    ..up
                };
                return Ok(located(
                    answer(StatusCode::CREATED, &UploadOut::of(&done, Some(blob))),
                    &id,
                ));
            }
            // Cut short: kept as an open upload to resume, from any instance.
            let part = match received {
                0 => {
                    receive::remove_scratch(&chunk);
                    None
                }
                n => Some(receive::keep(&photos, &id, 0, n as u64, &chunk).await?),
            };
            let up = UploadRow { received, ..u };
            let r = up.clone();
            let kept = state
                .db
                .write(move |c| {
                    check_open_limit(c, &r, max_open)?;
                    rows::create_upload(c, &actor, &r)?;
                    match &part {
                        Some(p) => rows::add_part(c, p),
                        None => Ok(()),
                    }
                })
                .await;
            if let Err(e) = kept {
                receive::forget_parts(&photos, &up.id).await;
                return Err(e);
            }
            let res = match got.failure {
                Some(e) => with_offset(HttpResponse::from_error(e), received),
                None => answer(StatusCode::CREATED, &UploadOut::of(&up, None)),
            };
            Ok(located(res, &id))
        }
    }
}

enum Outcome {
    Resume(UploadRow),
    Held(BlobRow),
    Created(UploadRow),
}

fn check_open_limit(c: &mut DbConn, r: &UploadRow, limits: (i64, i64)) -> Result<()> {
    let (max_open, per_account) = limits;
    if rows::count_open_of_account(c, &r.user_id, now())? >= per_account {
        return Err(Error::Conflict {
            code: Code::TooManyOpenUploads,
            detail: Msg::new(
                format!("本账号未完成的上传已达 {per_account} 个，请先续传完成或取消。"),
                format!(
                    "This account has {per_account} unfinished uploads: finish or cancel one first."
                ),
            ),
        });
    }
    if rows::count_open(c, &r.user_id, r.device_id.as_deref(), now())? >= max_open {
        return Err(Error::Conflict {
            code: Code::TooManyOpenUploads,
            detail: Msg::new(
                format!("本设备未完成的上传已达 {max_open} 个，请先续传完成或取消。"),
                format!(
                    "This device has {max_open} unfinished uploads: finish or cancel one first."
                ),
            ),
        });
    }
    Ok(())
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

/// The body without its first `n` bytes.
fn skip_bytes<S, E>(body: S, n: u64) -> impl Stream<Item = std::result::Result<Bytes, E>> + Unpin
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
{
    let mut left = n;
    body.map(move |chunk| {
        chunk.map(|b| {
            let k = usize::try_from(left).unwrap_or(usize::MAX).min(b.len());
            left -= k as u64;
            b.slice(k..)
        })
    })
}

/// Complete: every byte is here (a connection lost after the last byte changes nothing).
fn complete(got: &receive::Appended, size: i64) -> bool {
    got.received as i64 == size && !matches!(got.failure, Some(Error::PayloadTooLarge { .. }))
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
    let (uid, scope) = (caller.user_id.clone(), caller.scope.clone());
    let (open, missing) = state
        .db
        .read(move |c| {
            Ok((
                rows::open_uploads(c, &uid, now())?,
                rows::missing_for(c, &scope, &uid, 1000)?,
            ))
        })
        .await?;
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
    let (uid, id) = (caller.user_id.clone(), id.to_string());
    let (u, blob) = state
        .db
        .read(move |c| {
            let u = rows::find_upload(c, &uid, &id, now())?;
            let blob = if u.state == COMPLETE {
                rows::find_blob(c, &u.sha256)?
            } else {
                None
            };
            Ok((u, blob))
        })
        .await?;
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
    let id = id.into_inner();
    let (uid, sid) = (caller.user_id.clone(), id.to_string());
    let up = state
        .db
        .read(move |c| rows::find_upload(c, &uid, &sid, now()))
        .await?;
    if up.state == COMPLETE {
        return Err(Error::Conflict {
            code: Code::UploadComplete,
            detail: Msg::fixed("该上传已完成。", "This upload is already complete."),
        });
    }
    if offset != up.received {
        let e = Error::Conflict {
            code: Code::OffsetMismatch,
            detail: Msg::new(
                format!("服务器已收到 {} 字节，请从该位置续传。", up.received),
                format!("The server holds {} bytes: resume from there.", up.received),
            ),
        };
        return Ok(with_offset(HttpResponse::from_error(e), up.received));
    }
    if declared_len(&req).is_some_and(|n| n > up.size - up.received) {
        return Err(Error::PayloadTooLarge {
            limit: usize::try_from(up.size - up.received).unwrap_or(usize::MAX),
        });
    }
    take_chunk(&state, caller.actor(), up, body).await
}

/// Receives bytes for an open upload from its offset: kept and recorded, or, with the last
/// byte, verified and stored.
async fn take_chunk<S>(
    state: &AppState,
    actor: crate::audit::log::Actor,
    up: UploadRow,
    body: S,
) -> Result<HttpResponse>
where
    S: Stream<Item = std::result::Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let photos = state.photos.clone();
    let Some(_claim) = photos.claim(&up.id) else {
        return Err(Error::Conflict {
            code: Code::UploadBusy,
            detail: Msg::fixed(
                "该上传正在接收另一块数据。",
                "Another chunk of this upload is being received.",
            ),
        });
    };
    let id = Uuid::parse_str(&up.id).map_err(Error::internal)?;
    let chunk = photos.scratch_file(&id);
    let got = receive::append(chunk.clone(), up.received as u64, up.size as u64, body).await?;
    let received = got.received as i64;
    let expires = now() + photos.limits.idle_expiry;
    if !complete(&got, up.size) {
        let part = if received > up.received {
            let start = up.received as u64;
            Some(receive::keep(&photos, &id, start, received as u64, &chunk).await?)
        } else {
            receive::remove_scratch(&chunk);
            None
        };
        let (from, uid2) = (up.received, up.id.clone());
        let moved = state
            .db
            .write_shared(move |c| {
                rows::advance(c, &uid2, from, received, part.as_ref(), now(), expires)
            })
            .await?;
        if !moved {
            // The chunk kept in the store goes with the upload's other chunks at its end.
            return Err(busy_elsewhere());
        }
        if let Some(e) = got.failure {
            return Ok(with_offset(HttpResponse::from_error(e), received));
        }
        let up = UploadRow {
            received,
            expires_at: expires,
            ..up
        };
        return Ok(answer(StatusCode::OK, &UploadOut::of(&up, None)));
    }
    // The last chunk: the file is the recorded chunks and this one.
    let uid = up.id.clone();
    let mut parts = state.db.read(move |c| rows::parts_of(c, &uid)).await?;
    // A chunk another instance recorded since `up` was read is not part of this offset:
    // this request will lose the race for it and must not gather it.
    parts.retain(|p| p.end_at <= up.received);
    let held = receive::covered(&parts);
    if held < up.received {
        // Chunks recorded but not all readable (kept by an older version in a scratch
        // folder): the upload resumes from what is there, and this chunk is dropped.
        receive::remove_scratch(&chunk);
        let (uid, from) = (up.id.clone(), up.received);
        state
            .db
            .write(move |c| rows::rewind(c, &uid, from, held, now(), expires))
            .await?;
        let e = Error::Conflict {
            code: Code::OffsetMismatch,
            detail: Msg::new(
                format!("服务器已收到 {held} 字节，请从该位置续传。"),
                format!("The server holds {held} bytes: resume from there."),
            ),
        };
        return Ok(with_offset(HttpResponse::from_error(e), held));
    }
    // With no earlier chunks (declared, then sent whole) this request's file is the file.
    let file = if parts.is_empty() {
        chunk
    } else {
        let whole = photos.scratch_file(&id);
        receive::assemble(&photos, &parts, &chunk, whole.clone()).await?;
        whole
    };
    // The finishing transaction records the offset itself, so it needs no write of its own.
    let kept = !parts.is_empty();
    let (blob, _) =
        receive::finish(&state.db, &photos, actor, up.clone(), file, false, kept).await?;
    let done = UploadRow {
        received,
        state: COMPLETE.to_owned(),
        expires_at: now() + keep_finished(),
        ..up
    };
    Ok(answer(StatusCode::OK, &UploadOut::of(&done, Some(blob))))
}

fn busy_elsewhere() -> Error {
    Error::Conflict {
        code: Code::UploadBusy,
        detail: Msg::fixed(
            "该上传已被另一请求修改，请查询偏移量。",
            "Another request changed this upload: ask for the offset.",
        ),
    }
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
    let id = id.into_inner();
    let (uid, sid, actor) = (caller.user_id.clone(), id.to_string(), caller.actor());
    let photos = state.photos.clone();
    let Some(_claim) = photos.claim(&sid) else {
        return Err(Error::Conflict {
            code: Code::UploadBusy,
            detail: Msg::fixed(
                "该上传正在接收数据。",
                "A chunk of this upload is being received.",
            ),
        });
    };
    let s = sid.clone();
    state
        .db
        .write(move |c| {
            let u = rows::find_upload(c, &uid, &s, now())?;
            if u.state != OPEN {
                return Err(Error::Conflict {
                    code: Code::UploadComplete,
                    detail: Msg::fixed("该上传已完成。", "This upload is already complete."),
                });
            }
            rows::delete_upload(c, &actor, &u, "cancelled")
        })
        .await?;
    receive::forget_parts(&photos, &sid).await;
    Ok(HttpResponse::NoContent().finish())
}
