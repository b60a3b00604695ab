//! The upload and file types other capabilities show and take.

use crate::photos::Kind;
use crate::photos::exif::ExifInfo;
use crate::photos::uploads::queries::BlobRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size": 2483112, "kind": "photo", "file_name": "IMG_0412.jpg"}))]
pub struct NewUpload {
    /// SHA-256 of the whole file, 64 hex digits: the file's name once stored.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    pub kind: Kind,
    /// The name on the phone, kept for people only; it never names anything on the server.
    pub file_name: Option<String>,
}

/// A blob as stored: what the bytes are and what their EXIF says.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlobOut {
    pub sha256: String,
    pub size: i64,
    pub kind: Kind,
    /// Judged from the bytes: `image/jpeg`, `image/png`, `image/webp`, `image/heic`,
    /// `application/pdf`.
    pub media_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// Capture time and place from EXIF, if the file has them.
    pub exif: Option<ExifInfo>,
    /// Resized copies: `pending`, `ready`, or `none` (stored without them, e.g. HEIC, PDF).
    pub derivatives: String,
}

impl From<BlobRow> for BlobOut {
    fn from(b: BlobRow) -> Self {
        BlobOut {
            kind: Kind::parse(&b.kind).unwrap_or(Kind::Photo),
            exif: b.exif.as_deref().and_then(|e| serde_json::from_str(e).ok()),
            sha256: b.sha256,
            size: b.size,
            media_type: b.media_type,
            width: b.width,
            height: b.height,
            derivatives: b.derivatives,
        }
    }
}
