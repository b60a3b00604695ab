//! Photos the device took: a photo record names the file by its SHA-256, and the file is
//! remembered until the server holds it. Uploads are resumable (`POST /v1/uploads`, then
//! `PATCH` chunks from the server's offset), so a dropped connection costs only the chunk
//! in flight; the next attempt asks the server where to go on.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Map, json};
use sha2::{Digest, Sha256};

use super::{ClientError, Field};

diesel::table! {
    photo_files (sha256) {
        sha256 -> Text,
        path -> Text,
        size -> BigInt,
        /// `waiting`, `uploaded` or `refused`.
        state -> Text,
        problem -> Nullable<Text>,
    }
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS photo_files (
    sha256 TEXT PRIMARY KEY NOT NULL, path TEXT NOT NULL, size BIGINT NOT NULL,
    state TEXT NOT NULL, problem TEXT);";

/// Bytes per `PATCH`.
pub const CHUNK: u64 = 1024 * 1024;

/// What a photo shows: the record that goes with the file.
#[derive(Debug, Clone)]
pub struct Photo<'a> {
    pub region_id: &'a str,
    /// `visit`, `retrieval_attempt`, `teaching_session` or `household`.
    pub subject_entity: &'a str,
    pub subject_id: &'a str,
    /// The household it concerns (its helpers see it).
    pub household_id: Option<&'a str>,
    pub caption: Option<&'a str>,
    /// The phone's fix when it was taken: latitude, longitude, accuracy in metres.
    pub location: Option<(f64, f64, Option<f64>)>,
    /// The device that took it (make and model).
    pub device: Option<&'a str>,
}

/// What one round of uploading did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadSummary {
    pub uploaded: usize,
    /// Still to send (the byte budget ran out).
    pub waiting: usize,
    /// Refused by the server (e.g. not an image); kept with the problem.
    pub refused: usize,
}

fn local(e: impl std::fmt::Display) -> ClientError {
    ClientError::Local(e.to_string())
}

fn digest(path: &Path) -> Result<(String, u64), ClientError> {
    let mut f = std::fs::File::open(path).map_err(local)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(local)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), size))
}

impl Field {
    fn photo_table(&mut self) -> Result<(), ClientError> {
        self.db.batch_execute(SCHEMA)?;
        Ok(())
    }

    /// Records a photo of `path` (offline is fine): a `photo` record naming the file by its
    /// digest goes into the outbox, and the file waits for [`Field::upload_photos`].
    /// Returns the record id and the digest.
    pub fn attach_photo(
        &mut self,
        path: &Path,
        p: &Photo<'_>,
    ) -> Result<(String, String), ClientError> {
        self.photo_table()?;
        let (sha, size) = digest(path)?;
        let abs = std::fs::canonicalize(path).map_err(local)?;
        diesel::insert_or_ignore_into(photo_files::table)
            .values((
                photo_files::sha256.eq(&sha),
                photo_files::path.eq(abs.to_string_lossy().as_ref()),
                photo_files::size.eq(i64::try_from(size).map_err(local)?),
                photo_files::state.eq("waiting"),
            ))
            .execute(&mut self.db)?;
        let mut fields = Map::new();
        fields.insert("region_id".into(), json!(p.region_id));
        fields.insert("sha256".into(), json!(sha));
        fields.insert("subject_entity".into(), json!(p.subject_entity));
        fields.insert("subject_id".into(), json!(p.subject_id));
        fields.insert(
            "taken_at".into(),
            json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        if let Some(c) = p.caption {
            fields.insert("caption".into(), json!(c));
        }
        if let Some(h) = p.household_id {
            fields.insert("household_id".into(), json!(h));
        }
        if let Some((lat, lng, accuracy)) = p.location {
            let mut place = json!({"lat": lat, "lng": lng});
            if let Some(a) = accuracy {
                place["accuracy_m"] = json!(a);
            }
            fields.insert("location".into(), place);
        }
        if let Some(d) = p.device {
            fields.insert("capture_device".into(), json!(d));
        }
        let id = self.capture("photo", None, fields)?;
        Ok((id, sha))
    }

    /// Photo files not yet on the server.
    pub fn photos_waiting(&mut self) -> Result<i64, ClientError> {
        self.photo_table()?;
        Ok(photo_files::table
            .filter(photo_files::state.eq("waiting"))
            .count()
            .get_result(&mut self.db)?)
    }

    /// Uploads every waiting photo file, resuming where the server's copy ends.
    pub fn upload_photos(&mut self) -> Result<UploadSummary, ClientError> {
        self.upload_photos_within(u64::MAX)
    }

    /// Like [`Field::upload_photos`], sending at most `budget` bytes in this round (a
    /// phone on a metered or failing network); the rest goes next time.
    pub fn upload_photos_within(&mut self, mut budget: u64) -> Result<UploadSummary, ClientError> {
        self.photo_table()?;
        let waiting: Vec<(String, String, i64)> = photo_files::table
            .filter(photo_files::state.eq("waiting"))
            .select((photo_files::sha256, photo_files::path, photo_files::size))
            .load(&mut self.db)?;
        let mut sum = UploadSummary::default();
        for (sha, path, size) in waiting {
            if budget == 0 {
                sum.waiting += 1;
                continue;
            }
            match self.upload_one(&sha, Path::new(&path), size, &mut budget)? {
                Outcome::Uploaded => sum.uploaded += 1,
                Outcome::Waiting => sum.waiting += 1,
                Outcome::Refused(problem) => {
                    sum.refused += 1;
                    diesel::update(photo_files::table.find(&sha))
                        .set((
                            photo_files::state.eq("refused"),
                            photo_files::problem.eq(problem),
                        ))
                        .execute(&mut self.db)?;
                }
            }
        }
        Ok(sum)
    }

    fn upload_one(
        &mut self,
        sha: &str,
        path: &Path,
        size: i64,
        budget: &mut u64,
    ) -> Result<Outcome, ClientError> {
        let create_url = self.url("/v1/uploads");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n.len() <= 255);
        // A file that fits in one chunk (and in the budget) goes up with its declaration,
        // in one request (tus creation-with-upload); a server without it answers 415.
        let whole = u64::try_from(size).map_err(local)?;
        if whole <= CHUNK && whole <= *budget {
            let bytes = std::fs::read(path).map_err(local)?;
            let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
            let mut meta = format!("sha256 {},kind {}", b64(sha), b64("photo"));
            if let Some(n) = &name {
                meta.push_str(&format!(",filename {}", b64(n)));
            }
            let sent = self.send(|http, token| {
                http.post(&create_url)
                    .bearer_auth(token)
                    .header("content-type", "application/offset+octet-stream")
                    .header("upload-length", size.to_string())
                    .header("upload-metadata", meta.clone())
                    .body(bytes.clone())
            });
            match sent {
                Ok(up) if up["state"] == "complete" => {
                    *budget -= whole;
                    return self.mark_uploaded(sha);
                }
                Ok(_) | Err(ClientError::Server { status: 415, .. }) => {}
                Err(ClientError::Server {
                    status: 422, body, ..
                }) => {
                    return Ok(Outcome::Refused(body));
                }
                Err(e) => return Err(e),
            }
        }
        let body = json!({"sha256": sha, "size": size, "kind": "photo", "file_name": name});
        let mut up =
            match self.send(|http, token| http.post(&create_url).bearer_auth(token).json(&body)) {
                Ok(v) => v,
                Err(ClientError::Server {
                    status: 422, body, ..
                }) => return Ok(Outcome::Refused(body)),
                Err(e) => return Err(e),
            };
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if up["state"] != "complete" => return Ok(Outcome::Refused(e.to_string())),
            Err(_) => return self.mark_uploaded(sha),
        };
        loop {
            if up["state"] == "complete" {
                return self.mark_uploaded(sha);
            }
            let id = up["id"].as_str().unwrap_or_default().to_owned();
            let offset = up["offset"].as_u64().unwrap_or(0);
            let left = u64::try_from(size).map_err(local)?.saturating_sub(offset);
            let n = left.min(CHUNK).min(*budget);
            if n == 0 {
                return Ok(Outcome::Waiting);
            }
            let mut chunk = vec![0u8; usize::try_from(n).map_err(local)?];
            file.seek(SeekFrom::Start(offset)).map_err(local)?;
            file.read_exact(&mut chunk).map_err(local)?;
            let url = self.url(&format!("/v1/uploads/{id}"));
            let sent = self.send(|http, token| {
                http.patch(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/offset+octet-stream")
                    .header("upload-offset", offset.to_string())
                    .body(chunk.clone())
            });
            up = match sent {
                Ok(v) => {
                    *budget -= n;
                    v
                }
                // Another attempt moved on, or the server kept less: ask where it stands.
                Err(ClientError::Server { status: 409, .. }) => {
                    self.send(|http, token| http.get(&url).bearer_auth(token))?
                }
                Err(ClientError::Server {
                    status: 422, body, ..
                }) => {
                    return Ok(Outcome::Refused(body));
                }
                Err(e) => return Err(e),
            };
        }
    }

    fn mark_uploaded(&mut self, sha: &str) -> Result<Outcome, ClientError> {
        diesel::update(photo_files::table.find(sha))
            .set(photo_files::state.eq("uploaded"))
            .execute(&mut self.db)?;
        Ok(Outcome::Uploaded)
    }
}

enum Outcome {
    Uploaded,
    Waiting,
    Refused(String),
}
