//! `bangfu-field`: a phone in a terminal. It keeps its own store, works offline, and syncs
//! with a bangfu server: sign in, pull, capture a visit or a retrieval attempt, push, and
//! show records, refused changes and conflicts. The binary is a thin shell over [`run`],
//! which tests drive with their own input and output.

use std::io::{BufRead, Write};

use super::{ClientError, Field};
use clap::{Parser, Subcommand};
use serde_json::{Map, Value, json};

#[derive(Parser)]
#[command(
    name = "bangfu-field",
    version,
    about = "A bangfu field device in a terminal"
)]
struct Cli {
    /// The device's local store.
    #[arg(long, env = "BANGFU_FIELD_STORE", default_value = "bangfu-field.db")]
    store: String,
    /// The bangfu server.
    #[arg(long, env = "BANGFU_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in (the password is read from standard input).
    Login { username: String },
    /// Send the outbox.
    Push,
    /// Receive what changed.
    Pull,
    /// Push, then pull.
    Sync,
    /// Record a home visit (offline is fine).
    Visit {
        #[arg(long)]
        region: String,
        #[arg(long)]
        household: String,
        #[arg(long, default_value = "routine")]
        kind: String,
        #[arg(long)]
        notes: Option<String>,
        /// Basic-needs items that are not met, e.g. `safe_housing`.
        #[arg(long = "not-met")]
        not_met: Vec<String>,
    },
    /// Record a retrieval attempt for a dropout case.
    Attempt {
        #[arg(long)]
        region: String,
        #[arg(long)]
        case: String,
        /// phone_call, letter or home_visit
        #[arg(long, default_value = "home_visit")]
        method: String,
        /// no_contact, refused, promised or returned
        #[arg(long)]
        result: String,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Change fields of a record: `edit visit <id> notes=… kind=look_back`.
    Edit {
        entity: String,
        id: String,
        fields: Vec<String>,
    },
    /// List the records of an entity held on this device.
    Show { entity: String },
    /// Compare the store with the server and fetch only what differs (no full restore).
    Repair,
    /// Changes waiting to be sent, and changes the server refused.
    Status,
    /// Open conflicts in your scope.
    Conflicts,
    /// Record a photo of a file as evidence (offline is fine); `upload` sends the file.
    Photo {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        region: String,
        /// visit, retrieval_attempt, teaching_session or household
        #[arg(long, default_value = "household")]
        subject_entity: String,
        #[arg(long)]
        subject_id: String,
        /// The household it concerns
        #[arg(long)]
        household: Option<String>,
        #[arg(long)]
        caption: Option<String>,
        /// Where it was taken: latitude (WGS 84)
        #[arg(long, requires = "lng")]
        lat: Option<f64>,
        /// Where it was taken: longitude (WGS 84)
        #[arg(long, requires = "lat")]
        lng: Option<f64>,
        /// The fix's accuracy in metres
        #[arg(long)]
        accuracy_m: Option<f64>,
        /// The device that took it (make and model)
        #[arg(long)]
        device: Option<String>,
    },
    /// Send the photo files your records name, resuming unfinished uploads.
    Upload {
        /// Send at most this many bytes now (the rest goes next time).
        #[arg(long)]
        max_bytes: Option<u64>,
    },
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn print(out: &mut dyn Write, v: &Value) -> Result<(), ClientError> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    )
    .map_err(|e| ClientError::Local(e.to_string()))
}

/// Runs one command line (`args[0]` is the program name), reading a password from `input`
/// and writing to `out`.
pub fn run<I, T>(args: I, input: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), ClientError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| ClientError::Usage(e.to_string()))?;
    execute(cli, input, out)
}

fn execute(cli: Cli, input: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), ClientError> {
    let w = |e: std::io::Error| ClientError::Local(e.to_string());
    let mut f = Field::open(&cli.store, &cli.server)?;
    match cli.command {
        Command::Login { username } => {
            let mut pw = String::new();
            input.read_line(&mut pw).map_err(w)?;
            f.login(&username, pw.trim_end_matches(['\r', '\n']))?;
            writeln!(out, "signed in as {username}").map_err(w)?;
        }
        Command::Push => {
            let s = f.push()?;
            writeln!(
                out,
                "sent {} (applied {}, conflicts {}, refused {})",
                s.sent, s.applied, s.conflicts, s.rejected
            )
            .map_err(w)?;
        }
        Command::Pull => writeln!(out, "received {} change(s)", f.pull()?).map_err(w)?,
        Command::Repair => {
            let r = f.repair()?;
            writeln!(
                out,
                "{} bucket(s) differed; received {}, dropped {}",
                r.buckets, r.received, r.dropped
            )
            .map_err(w)?;
        }
        Command::Sync => {
            let (s, n) = f.sync()?;
            writeln!(
                out,
                "sent {} (applied {}, conflicts {}, refused {}); received {n}",
                s.sent, s.applied, s.conflicts, s.rejected
            )
            .map_err(w)?;
        }
        Command::Visit {
            region,
            household,
            kind,
            notes,
            not_met,
        } => {
            let mut needs = Map::new();
            for item in [
                "food",
                "clothing",
                "compulsory_education",
                "basic_medical",
                "safe_housing",
            ] {
                let v = if not_met.iter().any(|n| n == item) {
                    "not_met"
                } else {
                    "met"
                };
                needs.insert(item.into(), json!(v));
            }
            let mut fields = json!({"region_id": region, "household_id": household, "helper_id": f.user_id()?,
                "kind": kind, "visited_at": now(), "basic_needs": needs});
            if let Some(n) = notes {
                fields["notes"] = json!(n);
            }
            let id = f.capture(
                "visit",
                None,
                fields.as_object().cloned().unwrap_or_default(),
            )?;
            writeln!(
                out,
                "visit {id} recorded ({} change(s) waiting)",
                f.pending()?
            )
            .map_err(w)?;
        }
        Command::Attempt {
            region,
            case,
            method,
            result,
            notes,
        } => {
            let mut fields = json!({"region_id": region, "case_id": case, "method": method, "result": result,
                "attempted_at": now(), "by_user_id": f.user_id()?});
            if let Some(n) = notes {
                fields["notes"] = json!(n);
            }
            let id = f.capture(
                "retrieval_attempt",
                None,
                fields.as_object().cloned().unwrap_or_default(),
            )?;
            writeln!(
                out,
                "retrieval attempt {id} recorded ({} change(s) waiting)",
                f.pending()?
            )
            .map_err(w)?;
        }
        Command::Edit { entity, id, fields } => {
            let mut map = Map::new();
            for kv in fields {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| ClientError::Local(format!("expected name=value, got {kv}")))?;
                // JSON if it parses (numbers, true, objects), else a plain string.
                map.insert(
                    k.to_owned(),
                    serde_json::from_str(v).unwrap_or_else(|_| json!(v)),
                );
            }
            f.capture(&entity, Some(&id), map)?;
            writeln!(
                out,
                "{entity} {id} changed ({} change(s) waiting)",
                f.pending()?
            )
            .map_err(w)?;
        }
        Command::Show { entity } => {
            for r in f.records(&entity)? {
                print(
                    out,
                    &json!({"id": r.id, "version": r.version, "pending": r.pending, "fields": r.fields}),
                )?;
            }
        }
        Command::Status => {
            writeln!(out, "{} change(s) waiting", f.pending()?).map_err(w)?;
            for (m, e, i, p) in f.refused()? {
                print(
                    out,
                    &json!({"refused": m, "entity": e, "id": i, "problem": p}),
                )?;
            }
        }
        Command::Conflicts => {
            for c in f.conflicts()? {
                print(out, &c)?;
            }
        }
        Command::Photo {
            file,
            region,
            subject_entity,
            subject_id,
            household,
            caption,
            lat,
            lng,
            accuracy_m,
            device,
        } => {
            let (id, sha) = f.attach_photo(
                &file,
                &super::photos::Photo {
                    region_id: &region,
                    subject_entity: &subject_entity,
                    subject_id: &subject_id,
                    household_id: household.as_deref(),
                    caption: caption.as_deref(),
                    location: lat.zip(lng).map(|(a, b)| (a, b, accuracy_m)),
                    device: device.as_deref(),
                },
            )?;
            writeln!(
                out,
                "photo {id} recorded, file {sha} waiting ({} change(s) waiting)",
                f.pending()?
            )
            .map_err(w)?;
        }
        Command::Upload { max_bytes } => {
            let s = f.upload_photos_within(max_bytes.unwrap_or(u64::MAX))?;
            writeln!(
                out,
                "uploaded {}, waiting {}, refused {}",
                s.uploaded, s.waiting, s.refused
            )
            .map_err(w)?;
        }
    }
    Ok(())
}
