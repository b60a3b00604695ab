//! Serving stored files' use cases: which file a caller reaches, which form of it they are
//! sent (the one stripping rule), and the audit of a location shown. Each owns its
//! transaction and answers typed rows or the error.

use bangfu_sync::Code;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::caller::Caller;
use crate::domain::role::Permission;
use crate::infra::blobs::{BlobKey, Variant};
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::photos::uploads::queries as rows;
use crate::photos::uploads::queries::BlobRow;
use crate::photos::{Photos, Sha256Hex};

/// Who is sent a file: what decides whether its location may travel with it.
pub enum Viewer {
    /// Staff: location only for roles that may see personal data.
    Staff(Actor),
    /// An applicant, sent their own upload.
    Applicant,
}

impl Viewer {
    /// The one stripping rule: who may receive the place a picture was taken.
    fn sees_location(&self) -> bool {
        match self {
            Viewer::Staff(a) => a
                .role
                .is_some_and(|r| r.has(Permission::UnmaskPersonalData)),
            Viewer::Applicant => true,
        }
    }
}

/// Which form of a file is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// As uploaded (without metadata for viewers who may not see location).
    Original,
    /// The resized JPEG, 1600 pixels at most.
    Medium,
    /// The thumbnail JPEG, 320 pixels at most.
    Thumb,
}

/// A file whose resized copy is still being made.
pub fn pending() -> Error {
    Error::Conflict {
        code: Code::DerivativePending,
        detail: Msg::fixed(
            "缩略图正在生成，请稍后重试。",
            "The resized copy is being made; retry shortly.",
        ),
    }
}

/// The stored form to send, given the caller's right to see location.
fn choose(blob: &BlobRow, form: Form, sees_location: bool) -> Result<(Variant, String)> {
    let ready = || match blob.derivatives.as_str() {
        "ready" => Ok(()),
        "pending" => Err(pending()),
        _ => Err(Error::Unprocessable {
            code: Code::NoResizedCopy,
            detail: Msg::fixed(
                "该格式（如 HEIC、PDF）不生成缩略图，请取原件。",
                "Files of this format (e.g. HEIC, PDF) have no resized copies; fetch the original.",
            ),
        }),
    };
    match form {
        // A copy whose bytes are the original's (a JPEG without metadata) is the original.
        Form::Medium if blob.medium_is_original => {
            ready().map(|()| (Variant::Original, "image/jpeg".into()))
        }
        Form::Thumb if blob.thumb_is_original => {
            ready().map(|()| (Variant::Original, "image/jpeg".into()))
        }
        Form::Medium => ready().map(|()| (Variant::Medium, "image/jpeg".into())),
        Form::Thumb => ready().map(|()| (Variant::Thumb, "image/jpeg".into())),
        Form::Original => {
            if sees_location || !blob.has_gps() {
                Ok((Variant::Original, blob.media_type.clone()))
            } else if blob.stripped {
                Ok((Variant::Stripped, blob.media_type.clone()))
            } else if blob.derivatives == "pending" {
                Err(pending())
            } else {
                Err(Error::Forbidden {
                    code: Code::LocationWithheld,
                    detail: Msg::fixed(
                        "该原件含拍摄位置，当前角色只能查看缩略图或中等尺寸。",
                        "This original carries its location; your role may fetch the medium or thumbnail size only.",
                    ),
                })
            }
        }
    }
}

/// The file a live photo record in the caller's scope names, its maker having sent the
/// bytes, with the region it is reached in (404 otherwise, as for no such file).
pub async fn reach(db: &Db, caller: &Caller, sha: &Sha256Hex) -> Result<(BlobRow, String)> {
    let (scope, s) = (caller.scope.clone(), sha.to_string());
    db.read(move |c| rows::reach_file(c, rows::Naming::PhotoRecords(&scope), &s))
        .await
}

/// The stored form of a reached file to send the viewer, and its media type: without its
/// location for viewers who may not see it. An original with GPS sent to staff who may
/// see it is in the audit log (written before anything is sent).
pub async fn release(
    db: &Db,
    viewer: &Viewer,
    blob: &BlobRow,
    region_path: &str,
    form: Form,
) -> Result<(Variant, String)> {
    let sees_location = viewer.sees_location();
    let (variant, media_type) = choose(blob, form, sees_location)?;
    if let (Viewer::Staff(actor), Variant::Original, true) = (viewer, variant, blob.has_gps()) {
        // Showing where a picture was taken is recorded.
        let (actor, sha, path) = (actor.clone(), blob.sha256.clone(), region_path.to_owned());
        db.write(move |c| {
            audit::record(
                c,
                &actor,
                Event {
                    action: Action::Unmask,
                    entity: "photo_file",
                    entity_id: &sha,
                    region_path: &path,
                    changes: serde_json::json!({ "unmasked": ["exif_gps"] }),
                    reason: None,
                },
            )
        })
        .await?;
    }
    Ok((variant, media_type))
}

/// The size of the stored form `variant` of `blob` under `key`. Copies are not synced to
/// disk: one lost in a crash (gone, or empty) is made again, and asked for later.
pub async fn stored_size(
    db: &Db,
    photos: &Photos,
    blob: BlobRow,
    key: &BlobKey,
    variant: Variant,
) -> Result<u64> {
    Ok(match variant {
        Variant::Original => blob.size as u64,
        _ => match photos.store.size(key).await? {
            Some(n) if n > 0 => n,
            _ => {
                photos.make_copies(db, blob, true);
                return Err(pending());
            }
        },
    })
}
