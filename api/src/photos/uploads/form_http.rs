//! `POST /v1/uploads` as a `multipart/form-data` form, the way WeChat mini-programs send a
//! file (`wx.uploadFile`): text fields `sha256` and `kind` (any other field is read and
//! ignored), the file in a part named `file`. The parts are read as they arrive (the
//! `actix-multipart` parser, which never holds a whole part); the file streams into a
//! scratch file of its own, since the form tells its size only once it has ended and its
//! fields may come after it. Then the file goes through the same use case as every other
//! upload ([`uploading::start`]), which takes that scratch file as it is (written once, as
//! it arrived; on a local store it is moved into place): stored (or already held) or
//! refused, in this one request.

use std::path::{Path, PathBuf};

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::error::PayloadError;
use bangfu_sync::Code;
use futures_util::TryStreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::photos::Kind;
use crate::photos::uploads::service as receive;
use crate::photos::uploads::uploading::{self, Declaration, Incoming, Started, Uploader};
use crate::state::AppState;

/// The name of the part holding the file.
pub const FILE_PART: &str = "file";
/// The most a text field may hold (a digest is 64 characters).
const FIELD_MAX: usize = 1024;
/// The most all parts but the file together may hold.
const FORM_MAX: usize = 64 * 1024;

/// The form `wx.uploadFile` sends (`name: "file"`, `formData: {sha256, kind}`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "kind": "photo", "file": "(the file's bytes)"}))]
pub struct UploadForm {
    /// SHA-256 of the whole file, 64 hex digits.
    pub sha256: String,
    /// `photo` or `document`.
    pub kind: Kind,
    /// The file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

fn unreadable() -> Error {
    Error::BadRequest {
        code: Code::BodyUnreadable,
        detail: Msg::fixed(
            "multipart/form-data 表单无法解析。",
            "The multipart/form-data form could not be read.",
        ),
    }
}

fn payload_error(e: MultipartError) -> PayloadError {
    match e {
        MultipartError::Payload(p) => p,
        other => PayloadError::Incomplete(Some(std::io::Error::other(other.to_string()))),
    }
}

/// A text field's value, at most [`FIELD_MAX`] bytes.
async fn text(field: &mut Field, budget: &mut usize) -> Result<String> {
    let mut value = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(|_| unreadable())? {
        *budget = budget
            .checked_sub(chunk.len())
            .ok_or(Error::PayloadTooLarge { limit: FORM_MAX })?;
        value.extend_from_slice(&chunk);
        if value.len() > FIELD_MAX {
            return Err(Error::PayloadTooLarge { limit: FORM_MAX });
        }
    }
    String::from_utf8(value).map_err(|_| unreadable())
}

/// What the form held once read.
struct Received {
    sha256: Option<String>,
    kind: Option<String>,
    /// The scratch file with the file's bytes, and their number.
    file: Option<(PathBuf, u64)>,
}

/// Reads the form: the text fields, and the file into a scratch file (at most the larger
/// kind's limit, or the declared kind's when `kind` came first).
async fn read(state: &AppState, mut form: Multipart, scratch: &Path) -> Result<Received> {
    let limits = &state.photos.limits;
    let mut got = Received {
        sha256: None,
        kind: None,
        file: None,
    };
    let mut budget = FORM_MAX;
    while let Some(mut field) = form.try_next().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            FILE_PART if got.file.is_none() => {
                let limit = match got.kind.as_deref().and_then(Kind::parse) {
                    Some(k) => limits.max_bytes(k),
                    None => limits
                        .max_bytes(Kind::Photo)
                        .max(limits.max_bytes(Kind::Document)),
                };
                let bytes = field.map_err(payload_error);
                let appended = receive::append(scratch.to_owned(), 0, limit, bytes).await?;
                if let Some(e) = appended.failure {
                    return Err(match e {
                        Error::PayloadTooLarge { .. } => Error::PayloadTooLarge {
                            limit: usize::try_from(limit).unwrap_or(usize::MAX),
                        },
                        e => e,
                    });
                }
                got.file = Some((scratch.to_owned(), appended.received));
            }
            "sha256" => got.sha256 = Some(text(&mut field, &mut budget).await?),
            "kind" => got.kind = Some(text(&mut field, &mut budget).await?),
            // Whatever else the client adds is read and ignored.
            _ => {
                text(&mut field, &mut budget).await?;
            }
        }
    }
    Ok(got)
}

/// Every field the form lacks, at once.
fn declaration(got: &Received) -> Result<(Declaration, PathBuf)> {
    let required = |field: &str, zh: &'static str, en: &'static str| {
        FieldError::new(field, Code::Required, Msg::fixed(zh, en))
    };
    let mut errors = Vec::new();
    if got.sha256.as_deref().is_none_or(str::is_empty) {
        errors.push(required(
            "sha256",
            "表单须含 sha256 字段（文件的 SHA-256，64 位十六进制）。",
            "The form needs a sha256 field (the file's SHA-256, 64 hex digits).",
        ));
    }
    let kind = got.kind.as_deref().map(Kind::parse);
    match kind {
        None => errors.push(required(
            "kind",
            "表单须含 kind 字段（photo 或 document）。",
            "The form needs a kind field (photo or document).",
        )),
        Some(None) => errors.push(FieldError::new(
            "kind",
            Code::InvalidValue,
            Msg::fixed(
                "kind 须为 photo 或 document。",
                "kind is photo or document.",
            ),
        )),
        Some(Some(_)) => {}
    }
    if got.file.is_none() {
        errors.push(required(
            FILE_PART,
            "表单须在名为 file 的部分中含有文件。",
            "The form needs the file, in a part named file.",
        ));
    }
    match (&got.sha256, kind.flatten(), &got.file, errors.is_empty()) {
        (Some(sha256), Some(kind), Some((path, size)), true) => Ok((
            Declaration {
                sha256: sha256.trim().to_owned(),
                size: i64::try_from(*size).unwrap_or(i64::MAX),
                kind,
                file_name: None,
            },
            path.clone(),
        )),
        _ => Err(Error::Validation(errors)),
    }
}

/// Receives the form and starts (and, the file being whole, finishes) the upload.
pub async fn receive(state: &AppState, who: &Uploader, form: Multipart) -> Result<Started> {
    let scratch = state.photos.scratch_file(&uuid::Uuid::now_v7());
    let started = async {
        let got = read(state, form, &scratch).await?;
        let (declared, path) = declaration(&got)?;
        let size = declared.size;
        // The spooled file is the upload's bytes: verified and stored from there.
        uploading::start::<receive::FileBody>(
            &state.db,
            &state.photos,
            who,
            declared,
            Some(size),
            Some(Incoming::Spooled(path)),
            false,
        )
        .await
    }
    .await;
    receive::remove_scratch(&scratch);
    started
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(r: Result<(Declaration, PathBuf)>) -> Vec<String> {
        match r {
            Err(Error::Validation(fs)) => fs.into_iter().map(|f| f.field).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_form_names_every_missing_field() {
        let empty = Received {
            sha256: None,
            kind: None,
            file: None,
        };
        assert_eq!(fields(declaration(&empty)), ["sha256", "kind", "file"]);
        let wrong_kind = Received {
            sha256: Some("ab".into()),
            kind: Some("video".into()),
            file: Some((PathBuf::from("x"), 3)),
        };
        assert_eq!(fields(declaration(&wrong_kind)), ["kind"]);
        let whole = Received {
            sha256: Some(" ab ".into()),
            kind: Some("document".into()),
            file: Some((PathBuf::from("x"), 3)),
        };
        let (d, _) = declaration(&whole).expect("complete");
        assert_eq!(
            (d.sha256.as_str(), d.size, d.kind),
            ("ab", 3, Kind::Document)
        );
    }

    /// The form's file is written once, as it arrives: the upload stores that very file
    /// (on a local store, moved into place: the same inode), never a copy of it.
    #[cfg(unix)]
    #[actix_web::test]
    async fn the_spooled_file_is_stored_as_it_lies() -> anyhow::Result<()> {
        use std::os::unix::fs::MetadataExt;
        use std::sync::Arc;

        use sha2::Digest;

        use crate::infra::blobs::{BlobKey, Variant};
        use crate::infra::db::sqlite_for_tests;
        use crate::photos::uploads::uploading::Chunked;
        use crate::photos::{Limits, Photos, Sha256Hex};

        let dir = std::env::temp_dir().join(format!("bangfu-spool-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        let db = sqlite_for_tests(&dir)?;
        let store = crate::infra::blobs::open(&dir.join("photos").to_string_lossy(), &[])?;
        let photos = Arc::new(Photos::new(store, dir.join("uploads"), Limits::default())?);
        let who = Uploader {
            user_id: "applicant:spool".into(),
            device_id: None,
            region_path: String::new(),
            actor: crate::audit::log::Actor {
                user_id: Some("applicant:spool".into()),
                role: None,
                device_id: None,
                request_id: None,
            },
        };
        let bytes = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
        let sha = hex::encode(sha2::Sha256::digest(bytes));
        let spool = photos.scratch_file(&uuid::Uuid::now_v7());
        std::fs::write(&spool, bytes)?;
        let inode = std::fs::metadata(&spool)?.ino();
        let size = bytes.len() as i64;
        let started = uploading::start::<receive::FileBody>(
            &db,
            &photos,
            &who,
            Declaration {
                sha256: sha.clone(),
                size,
                kind: Kind::Document,
                file_name: None,
            },
            Some(size),
            Some(Incoming::Spooled(spool.clone())),
            false,
        )
        .await?;
        assert!(
            matches!(started, Started::Arrived(_, Chunked::Stored(..))),
            "stored at once"
        );
        assert!(
            !spool.exists(),
            "the spooled file itself went into the store"
        );
        let key = BlobKey::new(&Sha256Hex::parse(&sha)?, Variant::Original);
        let original = photos.store.local_copy(&key, &dir).await?;
        assert_eq!(std::fs::metadata(&original)?.ino(), inode, "not a copy");
        assert_eq!(std::fs::read(&original)?, bytes);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
