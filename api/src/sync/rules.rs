//! The rules a change must keep besides its fields' types, whoever makes it: a phone's
//! push, a person's resolution of a conflict, or a decision of the server's. Pure
//! functions of the change and what the batch loaded, unit-tested here.
//!
//! - Fields the declarations mark [`Writer::Server`] are written only by the server's own
//!   decisions ([`Origin::Decision`]); a phone may create a record with their initial value.
//! - Fields marked [`Writer::Author`] name the pushing user, or someone of their
//!   jurisdiction they record for.
//! - A part of one's scope lost since is still written to only from a phone signed in
//!   before the loss, with edits captured until that phone learned of it, for a bounded
//!   time ([`capture_allowed`]).
//! - Resident ID numbers in free text are masked in the record and kept sealed apart
//!   ([`mask_id_numbers`]).

use std::borrow::Cow;

use bangfu_sync::Code;
use bangfu_sync::schema::{EntityDef, FieldType, Writer};
use bangfu_sync::wire::{MutationFieldError, MutationProblem};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::resident_id;
use crate::infra::error::{FieldError, Lang, Msg};

/// Why a mutation is not taken, in both languages: kept with its answer, so a repeat is
/// answered in the language the repeat asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: Code,
    pub detail: Msg,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

impl Refusal {
    pub fn new(code: Code, detail: Msg) -> Refusal {
        Refusal {
            code,
            detail,
            errors: Vec::new(),
        }
    }

    /// A refusal over one field: the detail names the field.
    pub fn field(field: &str, code: Code, message: Msg) -> Refusal {
        Refusal {
            code: Code::ValidationFailed,
            detail: Msg::new(
                format!("{field}：{}", message.zh),
                format!("{field}: {}", message.en),
            ),
            errors: vec![FieldError::new(field, code, message)],
        }
    }

    /// The answer's problem in one language.
    pub fn in_lang(&self, lang: Lang) -> MutationProblem {
        MutationProblem {
            code: self.code,
            detail: self.detail.get(lang).to_owned(),
            errors: self
                .errors
                .iter()
                .map(|e| MutationFieldError {
                    field: e.field.clone(),
                    code: e.code,
                    message: e.message.get(lang).to_owned(),
                })
                .collect(),
        }
    }
}

/// Where a change comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Captured on a registered device and pushed.
    Device(String),
    /// Made by a person online (settling a conflict, recording a paper): the same rules as
    /// a device's change.
    Online,
    /// One of the server's decision endpoints (a photo review, a correction's level): the
    /// only origin that writes server-only fields.
    Decision,
}

impl Origin {
    /// The device name stamps and answers carry: the device's id, or the server's name for
    /// the person it acts for.
    pub fn device_name(&self, user_id: &str) -> String {
        match self {
            Origin::Device(id) => id.clone(),
            Origin::Online | Origin::Decision => format!("server:{user_id}"),
        }
    }
}

/// How long after losing part of their scope a user's phones may still hand in what they
/// captured there.
pub const CAPTURE_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// A part of a user's scope they held from `from` until `until` (a village, an
/// assigned household), and lost.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    /// The region's or household's path.
    pub path: &'a str,
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// What the server knows of the pushing device, for scope lost since a capture.
#[derive(Debug, Clone, Default)]
pub struct DeviceFacts {
    pub registered_at: Option<NaiveDateTime>,
    /// (end of a scope period, when the device first pulled after it)
    pub seen: Vec<(NaiveDateTime, NaiveDateTime)>,
}

impl DeviceFacts {
    fn seen_after(&self, ended_at: NaiveDateTime) -> Option<NaiveDateTime> {
        self.seen
            .iter()
            .find(|(end, _)| *end == ended_at)
            .map(|(_, at)| *at)
    }
}

/// Whether an edit stamped `at` to something at `path` may still be taken through a
/// period of the pusher's scope that has ended: the device was signed in for the user
/// before the period ended; the edit was captured inside the period, or after it but
/// before the device's first pull since (when it learned); and all this within
/// [`CAPTURE_WINDOW`] of the end.
pub fn capture_allowed(
    period: Held<'_>,
    device: &DeviceFacts,
    path: &str,
    at: NaiveDateTime,
    now: NaiveDateTime,
) -> bool {
    let Some(registered) = device.registered_at else {
        return false;
    };
    let window_end = period.until + CAPTURE_WINDOW;
    let learned = device.seen_after(period.until).unwrap_or(window_end);
    !path.is_empty()
        && path.starts_with(period.path)
        && registered < period.until
        && period.from <= at
        && at < learned.min(window_end)
        && now < window_end
}

fn refusal(code: Code, field: &str, message: Msg) -> Refusal {
    Refusal {
        code,
        ..Refusal::field(field, code, message)
    }
}

/// Refuses a change that writes a server-only field from anywhere but a decision. A new
/// record may carry the field's initial value; any change may repeat the current value.
pub fn server_only(
    def: &EntityDef,
    origin: &Origin,
    current: Option<&Map<String, Value>>,
    fields: &Map<String, Value>,
) -> Result<(), Refusal> {
    if *origin == Origin::Decision {
        return Ok(());
    }
    for (name, value) in fields {
        let Some(Writer::Server { initial }) = def.field(name).map(|f| f.writer) else {
            continue;
        };
        let unchanged = current.is_some_and(|c| c.get(name).unwrap_or(&Value::Null) == value);
        let initial_on_create = current.is_none()
            && (value.is_null() || initial.is_some_and(|i| value.as_str() == Some(i)));
        if !(unchanged || initial_on_create) {
            return Err(refusal(
                Code::ServerOnlyField,
                name,
                Msg::new(
                    format!("{}.{name} 只由服务器上的决定写入，设备不能设置。", def.name),
                    format!(
                        "{}.{name} is set only by its decision on the server, not by a device",
                        def.name
                    ),
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a change whose author fields name someone other than the pusher, unless
/// `may_record_for` that person. Unchanged values pass.
pub fn authors(
    def: &EntityDef,
    user_id: &str,
    may_record_for: impl Fn(&str) -> bool,
    current: Option<&Map<String, Value>>,
    fields: &Map<String, Value>,
) -> Result<(), Refusal> {
    for (name, value) in fields {
        if def.field(name).map(|f| f.writer) != Some(Writer::Author) {
            continue;
        }
        if current.is_some_and(|c| c.get(name) == Some(value)) {
            continue;
        }
        let named = value.as_str().unwrap_or_default();
        if named != user_id && !may_record_for(named) {
            return Err(refusal(
                Code::NotTheAuthor,
                name,
                Msg::new(
                    format!(
                        "{}.{name} 是记录的作者：只能是您本人，或您为其记录的辖区内人员。",
                        def.name
                    ),
                    format!(
                        "{}.{name} names the person the record is by: yourself, or someone of your jurisdiction you record for",
                        def.name
                    ),
                ),
            ));
        }
    }
    Ok(())
}

/// A reviewer's phone deciding a review, as the decision endpoint does: `None` when the
/// change does not try to decide one (the rest of the review fields is left to
/// [`server_only`]). A decision is taken only from a device of someone who reviews
/// (`reviewer`), once, on a pending record that is not their own, approving it or
/// rejecting it with a reason; the server then stamps who and when itself (a device naming
/// a reviewer or a time is refused). Returns the stamps to add: with `stamped` (the
/// entity's hook says so) who decided and when.
/// Who pushes a possible review decision.
#[derive(Debug, Clone, Copy)]
pub struct Deciding<'a> {
    pub origin: &'a Origin,
    /// Whether their role reviews (the village secretary).
    pub reviewer: bool,
    pub user_id: &'a str,
}

pub fn review_on_device(
    def: &EntityDef,
    stamped: bool,
    who: Deciding<'_>,
    current: Option<&Map<String, Value>>,
    author: Option<&str>,
    fields: &Map<String, Value>,
    now: NaiveDateTime,
) -> Option<Result<Vec<(&'static str, Value)>, Refusal>> {
    let Deciding {
        origin,
        reviewer,
        user_id,
    } = who;
    if !matches!(origin, Origin::Device(_)) {
        return None;
    }
    let status = fields.get("review_status").and_then(Value::as_str);
    let reason = fields
        .get("review_reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let deciding = matches!(status, Some("approved" | "rejected")) || reason.is_some();
    // Only a record that exists is reviewed; a new one starts pending.
    if !deciding || current.is_none() {
        return None;
    }
    let decides = match status {
        Some("approved") => true,
        // A photo rejected says why; a visit has no reason field.
        Some("rejected") => reason.is_some() || !stamped,
        _ => false,
    };
    let pending = current.is_some_and(|c| {
        c.get("review_status")
            .and_then(Value::as_str)
            .is_none_or(|s| s == "pending")
    });
    let names_itself = ["reviewed_by", "reviewed_at"]
        .iter()
        .any(|f| fields.contains_key(*f));
    if reviewer && pending && decides && !names_itself && author != Some(user_id) {
        return Some(Ok(if stamped {
            vec![
                ("reviewed_by", Value::from(user_id)),
                (
                    "reviewed_at",
                    Value::from(now.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                ),
            ]
        } else {
            Vec::new()
        }));
    }
    Some(Err(refusal(
        Code::ReviewByReviewer,
        "review_status",
        Msg::new(
            format!(
                "{} 的审核只由村（第一）书记决定一次（决定接口或其手机），作者本人不能审核，决定后不能更改。",
                def.name
            ),
            format!(
                "a {}'s review is decided once, by the village secretary (the decision endpoint, or their phone), never by its author, and not changed afterwards",
                def.name
            ),
        ),
    )))
}

/// A change's fields with the ID numbers in their text masked.
pub struct Masked<'a> {
    /// Borrowed when there was none.
    pub fields: Cow<'a, Map<String, Value>>,
    /// (field, original text) of each field that held one, to be kept sealed.
    pub originals: Vec<(String, String)>,
}

/// The fields with every resident ID number in their text masked, and the original text
/// of each field that held one.
pub fn mask_id_numbers<'a>(def: &EntityDef, fields: &'a Map<String, Value>) -> Masked<'a> {
    let mut originals = Vec::new();
    let mut masked: Option<Map<String, Value>> = None;
    for (name, value) in fields {
        let ty = def.field(name).map(|f| f.ty);
        let replaced = match (ty, value) {
            (Some(FieldType::Text(_)), Value::String(s)) => {
                resident_id::mask_in(s).map(|m| (Value::String(m), s.clone()))
            }
            (Some(FieldType::Object), Value::Object(o)) => {
                let mut copy = o.clone();
                let mut any = false;
                for v in copy.values_mut() {
                    if let Some(m) = v.as_str().and_then(resident_id::mask_in) {
                        *v = Value::String(m);
                        any = true;
                    }
                }
                any.then(|| (Value::Object(copy), value.to_string()))
            }
            _ => None,
        };
        if let Some((new, original)) = replaced {
            masked
                .get_or_insert_with(|| fields.clone())
                .insert(name.clone(), new);
            originals.push((name.clone(), original));
        }
    }
    Masked {
        fields: masked.map_or(Cow::Borrowed(fields), Cow::Owned),
        originals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bangfu_sync::schema::{CORRECTION, PHOTO, VISIT};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn only_decisions_write_server_fields() {
        let device = Origin::Device("d".into());
        let approved = obj(json!({"review_status": "approved"}));
        assert!(server_only(&VISIT, &device, None, &approved).is_err());
        assert!(server_only(&VISIT, &Origin::Online, None, &approved).is_err());
        assert!(server_only(&VISIT, &Origin::Decision, None, &approved).is_ok());
        // A new record may start as pending, or say nothing.
        let pending = obj(json!({"review_status": "pending", "notes": "x"}));
        assert!(server_only(&VISIT, &device, None, &pending).is_ok());
        let current = obj(json!({"review_status": "pending"}));
        assert!(server_only(&VISIT, &device, Some(&current), &pending).is_ok());
        assert!(server_only(&VISIT, &device, Some(&current), &approved).is_err());
        // Decision times, reviewers and reasons have no initial value.
        for f in ["village_decided_at", "county_decided_at", "decision_reason"] {
            let m = obj(json!({ f: "2026-11-20T09:30:00Z" }));
            let e = server_only(&CORRECTION, &device, None, &m).err();
            assert_eq!(e.map(|p| p.errors[0].field.clone()), Some(f.to_owned()));
        }
        let cleared = obj(json!({"review_reason": null}));
        let decided = obj(json!({"review_status": "rejected", "review_reason": "重拍"}));
        assert!(server_only(&PHOTO, &device, Some(&decided), &cleared).is_err());
        assert!(server_only(&PHOTO, &device, None, &cleared).is_ok());
    }

    #[test]
    fn a_reviewers_phone_decides_once_and_the_server_stamps_it() {
        static PHONE: std::sync::LazyLock<Origin> =
            std::sync::LazyLock::new(|| Origin::Device("d".into()));
        let pending = obj(json!({"review_status": "pending"}));
        let approve = obj(json!({"review_status": "approved"}));
        let now = t("2026-11-20 09:30");
        let by = |reviewer: bool, origin: &'static Origin| Deciding {
            origin,
            reviewer,
            user_id: "sec",
        };
        let decide = |reviewer: bool,
                      author: Option<&str>,
                      current: Option<&Map<String, Value>>,
                      f: &Map<String, Value>| {
            review_on_device(&PHOTO, true, by(reviewer, &PHONE), current, author, f, now)
        };
        let stamps = decide(true, Some("helper"), Some(&pending), &approve);
        let stamped: Vec<&str> = stamps
            .and_then(Result::ok)
            .unwrap_or_default()
            .iter()
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(stamped, ["reviewed_by", "reviewed_at"]);
        // Not one's own, not by a helper, not twice, not with a named reviewer.
        assert!(matches!(
            decide(true, Some("sec"), Some(&pending), &approve),
            Some(Err(_))
        ));
        assert!(matches!(
            decide(false, Some("helper"), Some(&pending), &approve),
            Some(Err(_))
        ));
        assert!(matches!(
            decide(true, Some("helper"), Some(&approve), &approve),
            Some(Err(_))
        ));
        let forged = obj(json!({"review_status": "approved", "reviewed_by": "someone"}));
        assert!(matches!(
            decide(true, Some("helper"), Some(&pending), &forged),
            Some(Err(_))
        ));
        // A rejected photo says why.
        let bare = obj(json!({"review_status": "rejected"}));
        assert!(matches!(
            decide(true, Some("helper"), Some(&pending), &bare),
            Some(Err(_))
        ));
        // Anything else is for the server-only rule; online changes never decide this way.
        assert!(
            decide(
                true,
                Some("helper"),
                Some(&pending),
                &obj(json!({"caption": "x"}))
            )
            .is_none()
        );
        assert!(
            review_on_device(
                &PHOTO,
                true,
                by(true, &Origin::Online),
                Some(&pending),
                Some("h"),
                &approve,
                now
            )
            .is_none()
        );
        // Visits carry no stamps.
        let v = review_on_device(
            &VISIT,
            false,
            by(true, &PHONE),
            Some(&pending),
            Some("h"),
            &approve,
            now,
        );
        assert!(matches!(v, Some(Ok(s)) if s.is_empty()));
    }

    #[test]
    fn authors_are_the_pusher_or_someone_they_record_for() {
        let visit = obj(json!({"helper_id": "someone-else"}));
        assert!(authors(&VISIT, "me", |_| false, None, &visit).is_err());
        assert!(authors(&VISIT, "me", |u| u == "someone-else", None, &visit).is_ok());
        let mine = obj(json!({"helper_id": "me"}));
        assert!(authors(&VISIT, "me", |_| false, None, &mine).is_ok());
        // Editing a record someone else made leaves its author as it is.
        assert!(authors(&VISIT, "me", |_| false, Some(&visit), &visit).is_ok());
    }

    #[test]
    fn lost_scope_takes_only_what_an_old_phone_captured_before_it_learned() {
        let period = Held {
            path: "/c/t/v/",
            from: t("2026-10-01 08:00"),
            until: t("2026-11-01 08:00"),
        };
        let old = DeviceFacts {
            registered_at: Some(t("2026-10-02 08:00")),
            seen: vec![],
        };
        let now = t("2026-11-02 08:00");
        let path = "/c/t/v/h/";
        assert!(capture_allowed(
            period,
            &old,
            path,
            t("2026-10-20 08:00"),
            now
        ));
        // Captured after the move but before the phone heard of it.
        assert!(capture_allowed(
            period,
            &old,
            path,
            t("2026-11-01 12:00"),
            now
        ));
        // Once it pulled, what it captures afterwards is refused.
        let learned = DeviceFacts {
            seen: vec![(period.until, t("2026-11-01 10:00"))],
            ..old.clone()
        };
        assert!(capture_allowed(
            period,
            &learned,
            path,
            t("2026-11-01 09:00"),
            now
        ));
        assert!(!capture_allowed(
            period,
            &learned,
            path,
            t("2026-11-01 11:00"),
            now
        ));
        // A phone signed in after the move gets nothing of the old village.
        let new = DeviceFacts {
            registered_at: Some(t("2026-11-01 09:00")),
            seen: vec![],
        };
        assert!(!capture_allowed(
            period,
            &new,
            path,
            t("2026-10-20 08:00"),
            now
        ));
        // Nothing from before the period, nothing elsewhere, nothing after the window.
        assert!(!capture_allowed(
            period,
            &old,
            path,
            t("2026-09-20 08:00"),
            now
        ));
        assert!(!capture_allowed(
            period,
            &old,
            "/c/t/w/",
            t("2026-10-20 08:00"),
            now
        ));
        let late = t("2026-12-02 08:00");
        assert!(!capture_allowed(
            period,
            &old,
            path,
            t("2026-10-20 08:00"),
            late
        ));
        // The server's own changes are never taken through lost scope.
        assert!(!capture_allowed(
            period,
            &DeviceFacts::default(),
            path,
            t("2026-10-20 08:00"),
            now
        ));
    }

    #[test]
    fn id_numbers_in_text_are_masked_and_their_text_kept() {
        let id = "11010519491231002X";
        let fields = obj(json!({"field": "members.0.id_number", "current_value": id,
                                "reason": format!("新证 {id}"), "household_id": "h"}));
        let m = mask_id_numbers(&CORRECTION, &fields);
        assert_eq!(m.fields["current_value"], "110105********002X");
        assert_eq!(m.fields["reason"], "新证 110105********002X");
        assert_eq!(m.fields["household_id"], "h");
        let kept: Vec<&str> = m.originals.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(kept, ["current_value", "reason"]);
        let plain = obj(json!({"notes": "走访"}));
        assert!(matches!(
            mask_id_numbers(&VISIT, &plain).fields,
            Cow::Borrowed(_)
        ));
    }
}
