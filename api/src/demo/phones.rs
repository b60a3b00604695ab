//! What the helpers' phones send, as the phones send it: the device registered by its
//! helper, photo files through the upload use case, and visit and photo records through
//! the sync push, each batch at the time the phone synced (the server's clock moved back
//! to it), so devices' last contact, audit entries and change times look lived in.

use actix_web::web::Bytes;
use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::demo::tables::Phone;
use crate::domain::caller::Caller;
use crate::infra::clock::Clock;
use crate::infra::db::Db;
use crate::infra::error::{Error, Result};
use crate::infra::idempotency::Once;
use crate::photos::Kind;
use crate::photos::uploads::uploading::{self, Declaration, Uploader};
use crate::state::AppState;
use crate::sync::service::ServerClock;
use crate::sync::supervision::DeviceReport;
use bangfu_sync::wire::{Mutation, MutationResult, MutationStatus, Op};

/// The app version the demo phones run.
const APP_VERSION: &str = "1.4.2";

/// A database handle whose clock reads `at` (a moment in the past) as now.
pub fn db_at(state: &AppState, at: NaiveDateTime) -> Db {
    Then::at(state, at).db
}

/// A moment in the past as the server lived it: the database and the request reading it
/// as now, and a hybrid clock of its own for the changes the server makes then (the
/// server's shared one has already seen today).
pub struct Then {
    pub db: Db,
    pub hlc: ServerClock,
    clock: Clock,
}

impl Then {
    pub fn at(state: &AppState, at: NaiveDateTime) -> Then {
        let clock = Clock::default();
        clock.advance(at - clock.now());
        Then {
            db: state.db.clone().with_clock(clock.clone()),
            hlc: crate::state::server_clock(),
            clock,
        }
    }

    /// Runs a use case at this moment.
    pub async fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        crate::infra::clock::scoped(self.clock.clone(), f).await
    }
}

/// A UUIDv7 made at `at` from the generator: what a phone makes for its records.
pub fn new_id(rng: &mut StdRng, at: NaiveDateTime) -> String {
    let ms = u64::try_from(at.and_utc().timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(ms, &rng.random::<[u8; 10]>())
        .into_uuid()
        .to_string()
}

/// Registers the helper's phone (again finds the same one) and answers the helper
/// working on it.
pub async fn register(state: &AppState, phone: &Phone, at: NaiveDateTime) -> Result<Caller> {
    let helper = crate::demo::staff::caller(&state.db, phone.helper, None).await?;
    crate::devices::service::register(
        &db_at(state, at),
        &helper,
        crate::devices::service::Registration {
            id: Some(phone.id.to_owned()),
            name: phone.name.to_owned(),
            platform: "android".to_owned(),
            app_version: Some(APP_VERSION.to_owned()),
        },
        Once::none(),
    )
    .await?;
    crate::demo::staff::caller(&state.db, phone.helper, Some(phone.id)).await
}

/// One record a phone captured: its entity, id and fields.
pub struct Captured {
    pub entity: &'static str,
    pub id: String,
    pub fields: Map<String, Value>,
}

/// A record the phone captured: `v` is an object of its fields.
pub fn record(entity: &'static str, id: String, v: Value) -> Captured {
    Captured {
        entity,
        id,
        fields: match v {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

/// Pushes what the phone captured at `at`, with `pending` changes left in its outbox;
/// every record must be taken.
pub async fn push(
    state: &AppState,
    rng: &mut StdRng,
    helper: &Caller,
    at: NaiveDateTime,
    pending: i64,
    records: Vec<Captured>,
) -> Result<()> {
    let answers = send_batch(state, rng, helper, at, pending, records, None).await?;
    match answers
        .iter()
        .find(|r| r.status == MutationStatus::Rejected)
    {
        Some(bad) => Err(Error::internal(format!(
            "demo {} {} refused: {:?}",
            bad.entity, bad.id, bad.problem
        ))),
        None => Ok(()),
    }
}

/// Pushes what the phone captured in the hour before `at` (`edit`: changes made at that
/// moment to records at that version; none: records it created); answers the server's
/// answer to each.
pub async fn send_batch(
    state: &AppState,
    rng: &mut StdRng,
    helper: &Caller,
    at: NaiveDateTime,
    pending: i64,
    records: Vec<Captured>,
    edit: Option<(i64, NaiveDateTime)>,
) -> Result<Vec<MutationResult>> {
    let node = helper.device_id.clone().unwrap_or_default();
    let (base, captured) = edit.unwrap_or((0, at - chrono::Duration::hours(1)));
    let ms = captured.and_utc().timestamp_millis();
    let mutations: Vec<Mutation> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| Mutation {
            mutation_id: new_id(rng, at),
            entity: r.entity.to_owned(),
            id: r.id,
            op: Op::Upsert,
            base_version: base,
            // Captured over the hours before the sync, a millisecond apart at least.
            hlc: format!("{:018}-00000-{node}", ms + i as i64),
            fields: r.fields,
        })
        .collect();
    let mut answers = Vec::with_capacity(mutations.len());
    let then = Then::at(state, at);
    for batch in mutations.chunks(bangfu_sync::wire::MAX_BATCH) {
        let answer = then
            .run(crate::sync::service::push(
                &then.db,
                &then.hlc,
                &state.data_key,
                helper,
                DeviceReport {
                    protocol_version: 1,
                    app_version: Some(APP_VERSION.to_owned()),
                    pending: Some(pending),
                },
                batch.to_vec(),
            ))
            .await?;
        answers.extend(answer.answers.into_iter().map(|a| a.result));
    }
    Ok(answers)
}

/// Sends a photo file from the helper's phone through the upload use case, whole in one
/// request; answers its SHA-256.
pub async fn upload(
    state: &AppState,
    helper: &Caller,
    at: NaiveDateTime,
    bytes: Vec<u8>,
) -> Result<String> {
    let who = Uploader {
        user_id: helper.user_id.clone(),
        device_id: helper.device_id.clone(),
        region_path: helper.region_path.clone(),
        actor: helper.actor(),
    };
    send(state, &who, at, bytes, None).await
}

/// Sends a picture (JPEG) at `at` as `who`, whole in one request (tus creation with
/// upload); answers its SHA-256.
pub async fn send(
    state: &AppState,
    who: &Uploader,
    at: NaiveDateTime,
    bytes: Vec<u8>,
    file_name: Option<String>,
) -> Result<String> {
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let body =
        futures_util::stream::iter([Ok::<_, actix_web::error::PayloadError>(Bytes::from(bytes))]);
    uploading::start(
        &db_at(state, at),
        &state.photos,
        who,
        Declaration {
            sha256: sha.clone(),
            size,
            kind: Kind::Photo,
            file_name,
        },
        Some(size),
        Some(uploading::Incoming::Streamed(body)),
        false,
    )
    .await?;
    Ok(sha)
}

/// An instant as the sync protocol writes it.
pub fn instant(at: NaiveDateTime) -> Value {
    json!(
        at.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// A point `north` metres north of (`lat`, `lng`), as a phone reports it.
pub fn located(lat: f64, lng: f64, north: f64, accuracy_m: f64) -> Value {
    json!({"lat": lat + north / 111_195.0, "lng": lng, "accuracy_m": accuracy_m})
}

/// A time of day in China's working hours on the day `days` before `until`, in UTC.
pub fn working_hours(rng: &mut StdRng, until: NaiveDateTime, days: i64) -> NaiveDateTime {
    let day = crate::infra::clock::china_date(until) - Duration::days(days);
    crate::infra::clock::start_of_china_day(day)
        + Duration::minutes(rng.random_range(9 * 60..17 * 60))
}
