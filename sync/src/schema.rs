//! The synced entities, declared: each names its fields, their types, and the rule that
//! settles a field changed on two devices at once. Adding an entity is adding a
//! declaration here; the server's merge, scoping and validation follow from it.

use serde_json::Value;

/// How a field's value is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldType {
    /// A string of at most this many characters.
    Text(usize),
    /// A UUID string.
    Id,
    /// An RFC 3339 instant.
    Instant,
    /// A `YYYY-MM-DD` date.
    Date,
    Bool,
    /// A whole number in this range.
    Int(i64, i64),
    /// A number in this range.
    Number(f64, f64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A set of strings from this list (an empty list allows any short string).
    SetOf(&'static [&'static str]),
    /// `{"lat": …, "lng": …, "accuracy_m": …}`.
    Geo,
    /// A JSON object whose keys are these names and values are these strings.
    Checklist(&'static [&'static str], &'static [&'static str]),
    /// A JSON object of short strings (e.g. where a child studies now).
    Object,
}

/// How a field changed on two sides is settled (the losing value is kept as a conflict).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MergeRule {
    /// The change with the later hybrid-clock time wins.
    LastWriterWins,
    /// A state that only moves forward: the value further along wins; a tie falls back to
    /// the later change. Each entry is (value, rank).
    ForwardOnly(&'static [(&'static str, u8)]),
    /// Sets merge by union: nothing is lost, nothing conflicts.
    Union,
    /// Set when the record is created, never changed (evidence, append-only records).
    Immutable,
}

/// Who may set a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Any device whose user reaches the record.
    Device,
    /// The person the record is by (a visit's helper, an attempt's caller): the pushing
    /// user, or someone of their jurisdiction they record for.
    Author,
    /// Only the server's own decisions (a review, a level's acceptance) set it. A device
    /// creating the record may give `initial` (or leave it out), and nothing else.
    Server { initial: Option<&'static str> },
}

#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
    pub rule: MergeRule,
    /// Must be present when the record is created.
    pub required: bool,
    pub writer: Writer,
}

/// Who may see and change a record besides those whose jurisdiction holds its region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    /// Only through its region.
    Region,
    /// Also the helpers assigned to the household this field names; the household must
    /// exist and lie in the record's region.
    Household(&'static str),
    /// Also the staff of the school this field names (teachers of its pupils).
    School(&'static str),
}

impl Reach {
    /// The field that names the household or school, if any.
    pub fn field(self) -> Option<&'static str> {
        match self {
            Reach::Region => None,
            Reach::Household(f) | Reach::School(f) => Some(f),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct EntityDef {
    pub name: &'static str,
    pub fields: &'static [FieldDef],
    /// Records that are never changed or deleted once made; they never conflict.
    pub append_only: bool,
    /// The scope rule: besides its region, who else may see the record.
    pub reach: Reach,
}

impl EntityDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Every synced record carries the region it belongs to; it decides who may see it.
pub const REGION_FIELD: &str = "region_id";

const fn f(name: &'static str, ty: FieldType, rule: MergeRule, required: bool) -> FieldDef {
    FieldDef {
        name,
        ty,
        rule,
        required,
        writer: Writer::Device,
    }
}

/// A field naming the person the record is by.
const fn by(name: &'static str, rule: MergeRule) -> FieldDef {
    FieldDef {
        writer: Writer::Author,
        ..f(name, FieldType::Id, rule, true)
    }
}

/// A field only the server's decisions set; devices may create the record with `initial`.
const fn decided(
    name: &'static str,
    ty: FieldType,
    rule: MergeRule,
    initial: Option<&'static str>,
) -> FieldDef {
    FieldDef {
        writer: Writer::Server { initial },
        ..f(name, ty, rule, false)
    }
}

use FieldType as T;
use MergeRule as M;

const REVIEW: &[(&str, u8)] = &[("pending", 0), ("approved", 1), ("rejected", 1)];
const BASIC_NEEDS: &[&str] = &[
    "food",
    "clothing",
    "compulsory_education",
    "basic_medical",
    "safe_housing",
];
const CHECK_VALUES: &[&str] = &["met", "not_met", "unknown"];

/// A helper's home visit (R-VISIT-1/2), with the basic-needs check (两不愁三保障).
pub const VISIT: EntityDef = EntityDef {
    name: "visit",
    append_only: false,
    reach: Reach::Household("household_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::LastWriterWins, true),
        f("household_id", T::Id, M::Immutable, true),
        by("helper_id", M::Immutable),
        f(
            "kind",
            T::OneOf(&["routine", "look_back", "verification"]),
            M::LastWriterWins,
            true,
        ),
        f("visited_at", T::Instant, M::LastWriterWins, true),
        f("location", T::Geo, M::LastWriterWins, false),
        f(
            "basic_needs",
            T::Checklist(BASIC_NEEDS, CHECK_VALUES),
            M::LastWriterWins,
            false,
        ),
        f("notes", T::Text(4000), M::LastWriterWins, false),
        decided(
            "review_status",
            T::OneOf(&["pending", "approved", "rejected"]),
            M::ForwardOnly(REVIEW),
            Some("pending"),
        ),
    ],
};

/// Evidence photo metadata; the bytes come through the photo upload, named by hash.
pub const PHOTO: EntityDef = EntityDef {
    name: "photo",
    append_only: false,
    reach: Reach::Household("household_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("sha256", T::Text(64), M::Immutable, true),
        f(
            "subject_entity",
            T::OneOf(&[
                "visit",
                "retrieval_attempt",
                "teaching_session",
                "household",
                "dropout_document",
                "pupil_check",
                "pair_session",
            ]),
            M::Immutable,
            true,
        ),
        f("subject_id", T::Id, M::Immutable, true),
        // The household the evidence concerns, when it concerns one: its helpers see it.
        f("household_id", T::Id, M::Immutable, false),
        // What the app recorded at capture, apart from the file's EXIF: time, place with
        // its accuracy, and the device (make and model) that took it.
        f("taken_at", T::Instant, M::Immutable, true),
        f("location", T::Geo, M::Immutable, false),
        f("capture_device", T::Text(200), M::Immutable, false),
        f("caption", T::Text(500), M::LastWriterWins, false),
        // Set by the reviewer's decision (`/v1/photo-reviews`, or the reviewer's own phone
        // deciding once, checked and stamped by the server), never by any other device.
        decided(
            "review_status",
            T::OneOf(&["pending", "approved", "rejected"]),
            M::ForwardOnly(REVIEW),
            Some("pending"),
        ),
        decided("review_reason", T::Text(500), M::LastWriterWins, None),
        decided("reviewed_by", T::Id, M::LastWriterWins, None),
        decided("reviewed_at", T::Instant, M::LastWriterWins, None),
    ],
};

/// A child aged 6–15 in the dropout-control registry (R-DROP-1).
pub const CHILD: EntityDef = EntityDef {
    name: "child",
    append_only: false,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::LastWriterWins, true),
        f("school_id", T::Id, M::LastWriterWins, false),
        f("name", T::Text(50), M::LastWriterWins, true),
        f(
            "gender",
            T::OneOf(&["female", "male"]),
            M::LastWriterWins,
            false,
        ),
        f("birth_date", T::Date, M::LastWriterWins, true),
        f("guardian_name", T::Text(50), M::LastWriterWins, false),
        f("guardian_phone", T::Text(20), M::LastWriterWins, false),
        f("has_student_status", T::Bool, M::LastWriterWins, false),
        f(
            "enrollment",
            T::OneOf(&[
                "in_school",
                "not_in_school",
                "studying_elsewhere",
                "deferred",
                "exempted",
                "home_teaching",
            ]),
            M::LastWriterWins,
            false,
        ),
        f(
            "at_risk",
            T::SetOf(&["poor", "left_behind", "disabled", "struggling"]),
            M::Union,
            false,
        ),
    ],
};

/// The eight legal steps of dropout control (R-DROP-3), in order.
pub const DROPOUT_STAGES: &[(&str, u8)] = &[
    ("enrollment_notice", 0),
    ("registration", 1),
    ("dropout_confirmed", 2),
    ("persuasion", 3),
    ("reported", 4),
    ("return_urged", 5),
    ("penalty", 6),
    ("court_enforcement", 7),
];

/// One child's dropout case (R-DROP-2/3/5).
pub const DROPOUT_CASE: EntityDef = EntityDef {
    name: "dropout_case",
    append_only: false,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::LastWriterWins, true),
        f("child_id", T::Id, M::Immutable, true),
        // The child's school: its teachers work the case with the village (三帮一).
        f("school_id", T::Id, M::LastWriterWins, false),
        f("opened_at", T::Instant, M::Immutable, true),
        f(
            "stage",
            T::OneOf(&[
                "enrollment_notice",
                "registration",
                "dropout_confirmed",
                "persuasion",
                "reported",
                "return_urged",
                "penalty",
                "court_enforcement",
            ]),
            M::ForwardOnly(DROPOUT_STAGES),
            true,
        ),
        f(
            "state",
            T::OneOf(&["open", "closed"]),
            M::ForwardOnly(&[("open", 0), ("closed", 1)]),
            true,
        ),
        f(
            "outcome",
            T::OneOf(&[
                "returned",
                "studying_elsewhere",
                "illness_deferral",
                "illness_exemption",
                "home_teaching",
                "whereabouts_unknown",
            ]),
            M::LastWriterWins,
            false,
        ),
        f("studying_elsewhere", T::Object, M::LastWriterWins, false),
        // 三帮一: the user ids of the retrieval team (school, teacher, village cadre).
        f("team", T::SetOf(&[]), M::Union, false),
        // Human-readable number from a block the device reserved (`/v1/case-number-blocks`).
        f("case_no", T::Text(40), M::Immutable, false),
        // When the case was closed out (销号); the evidence decides whether it counts.
        f("closed_at", T::Instant, M::LastWriterWins, false),
        f("notes", T::Text(4000), M::LastWriterWins, false),
    ],
};

/// One attempt to bring a child back (R-DROP-5): evidence, so it is never changed.
pub const RETRIEVAL_ATTEMPT: EntityDef = EntityDef {
    name: "retrieval_attempt",
    append_only: true,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("case_id", T::Id, M::Immutable, true),
        f("school_id", T::Id, M::Immutable, false),
        f(
            "method",
            T::OneOf(&["phone_call", "letter", "home_visit"]),
            M::Immutable,
            true,
        ),
        f("attempted_at", T::Instant, M::Immutable, true),
        by("by_user_id", M::Immutable),
        // Who persuaded: two-way persuasion (双向劝学) needs the school and the village.
        f(
            "party",
            T::OneOf(&["school", "village", "township"]),
            M::Immutable,
            false,
        ),
        f(
            "result",
            T::OneOf(&["no_contact", "refused", "promised", "returned"]),
            M::Immutable,
            true,
        ),
        f("location", T::Geo, M::Immutable, false),
        f("notes", T::Text(4000), M::Immutable, false),
    ],
};

/// A home-teaching session for a disabled child (R-DROP-7).
pub const TEACHING_SESSION: EntityDef = EntityDef {
    name: "teaching_session",
    append_only: false,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::LastWriterWins, true),
        f("child_id", T::Id, M::Immutable, true),
        f("school_id", T::Id, M::Immutable, false),
        by("teacher_id", M::Immutable),
        f("held_at", T::Instant, M::LastWriterWins, true),
        f("class_hours", T::Number(0.0, 12.0), M::LastWriterWins, true),
        f("lesson_plan_signed", T::Bool, M::LastWriterWins, false),
        f("notes", T::Text(4000), M::LastWriterWins, false),
    ],
};

/// A correction to a household's data proposed during a visit (R-VISIT-4): the proposal is
/// evidence and never changes; its review moves upward and only forward.
pub const CORRECTION: EntityDef = EntityDef {
    name: "correction",
    append_only: false,
    reach: Reach::Household("household_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("household_id", T::Id, M::Immutable, true),
        f("field", T::Text(100), M::Immutable, true),
        f("current_value", T::Text(1000), M::Immutable, false),
        f("proposed_value", T::Text(1000), M::Immutable, true),
        f("reason", T::Text(1000), M::Immutable, false),
        // Each level decides in turn through `/v1/corrections/{id}/decision`; no device.
        decided(
            "review_status",
            T::OneOf(&[
                "pending",
                "village_accepted",
                "township_accepted",
                "county_accepted",
                "rejected",
            ]),
            M::ForwardOnly(&[
                ("pending", 0),
                ("village_accepted", 1),
                ("township_accepted", 2),
                ("county_accepted", 3),
                ("rejected", 3),
            ]),
            Some("pending"),
        ),
        // When each level decided: each level's review clock runs from the decision below.
        decided("village_decided_at", T::Instant, M::Immutable, None),
        decided("township_decided_at", T::Instant, M::Immutable, None),
        decided("county_decided_at", T::Instant, M::Immutable, None),
        decided("decision_reason", T::Text(1000), M::LastWriterWins, None),
    ],
};

/// The kinds of dropout-control documents: the legal steps' papers (R-DROP-3/4) and the
/// evidence each other outcome needs (R-DROP-2/5/7).
pub const DROPOUT_DOCUMENT_KINDS: &[&str] = &[
    "enrollment_notice",
    "registration",
    "dropout_confirmation",
    "upward_report",
    "return_deadline_notice",
    "penalty_decision",
    "court_application",
    "return_confirmation",
    "elsewhere_proof",
    "guardian_application",
    "county_approval",
    "home_teaching_agreement",
    "investigation_report",
    "letter_sent",
];

/// A paper in a child's dropout-control file: a notice, a decision, a confirmation, an
/// agreement. Evidence: never changed once made; the case's progress is judged from them.
pub const DROPOUT_DOCUMENT: EntityDef = EntityDef {
    name: "dropout_document",
    append_only: true,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("child_id", T::Id, M::Immutable, true),
        // The case it belongs to; a home-teaching agreement may belong to the child alone.
        f("case_id", T::Id, M::Immutable, false),
        f("school_id", T::Id, M::Immutable, false),
        f("kind", T::OneOf(DROPOUT_DOCUMENT_KINDS), M::Immutable, true),
        // The date the document bears (a notice's issue date, a decision's date).
        f("issued_on", T::Date, M::Immutable, true),
        // A return deadline notice: the day by which the child must be back (R-DROP-4).
        f("deadline_on", T::Date, M::Immutable, false),
        f(
            "issued_by",
            T::OneOf(&[
                "school",
                "village",
                "township",
                "county",
                "court",
                "guardian",
                "other_school",
            ]),
            M::Immutable,
            true,
        ),
        f("document_no", T::Text(60), M::Immutable, false),
        by("by_user_id", M::Immutable),
        f("notes", T::Text(4000), M::Immutable, false),
    ],
};

/// A start-of-term check of one pupil (R-DROP-6): seen at school, visited at home, or
/// reached by phone, and what was found. Append-only.
pub const PUPIL_CHECK: EntityDef = EntityDef {
    name: "pupil_check",
    append_only: true,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("child_id", T::Id, M::Immutable, true),
        f("school_id", T::Id, M::Immutable, false),
        f("checked_at", T::Instant, M::Immutable, true),
        by("by_user_id", M::Immutable),
        f(
            "method",
            T::OneOf(&["at_school", "home_visit", "phone_call"]),
            M::Immutable,
            true,
        ),
        f(
            "finding",
            T::OneOf(&[
                "in_school",
                "not_in_school",
                "studying_elsewhere",
                "home_teaching",
            ]),
            M::Immutable,
            true,
        ),
        f("notes", T::Text(2000), M::Immutable, false),
    ],
};

/// A teacher paired with a pupil (R-PAIR-1, "four ones") or a class teacher with a
/// left-behind child (R-PAIR-2).
pub const PAIR: EntityDef = EntityDef {
    name: "pair",
    append_only: false,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::LastWriterWins, true),
        f("school_id", T::Id, M::LastWriterWins, false),
        by("teacher_id", M::Immutable),
        f("child_id", T::Id, M::Immutable, true),
        f(
            "program",
            T::OneOf(&["four_ones", "left_behind"]),
            M::Immutable,
            true,
        ),
        // Four ones: each teacher takes one pupil of each kind of difficulty.
        f(
            "difficulty",
            T::OneOf(&["moral", "learning", "poverty"]),
            M::LastWriterWins,
            false,
        ),
        // Left-behind children: the proxy parent (代理家长).
        f("proxy_parent", T::Text(50), M::LastWriterWins, false),
        f("starts_on", T::Date, M::LastWriterWins, true),
        f("ends_on", T::Date, M::LastWriterWins, false),
        f("notes", T::Text(2000), M::LastWriterWins, false),
    ],
};

/// One recorded session of a pair (每次辅导有记载). Append-only.
pub const PAIR_SESSION: EntityDef = EntityDef {
    name: "pair_session",
    append_only: true,
    reach: Reach::School("school_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("pair_id", T::Id, M::Immutable, true),
        f("school_id", T::Id, M::Immutable, false),
        f(
            "kind",
            T::OneOf(&[
                "talk",
                "study_check",
                "joint_activity",
                "home_visit",
                "guardians_meeting",
            ]),
            M::Immutable,
            true,
        ),
        f("held_at", T::Instant, M::Immutable, true),
        by("by_user_id", M::Immutable),
        f("notes", T::Text(4000), M::Immutable, false),
    ],
};

/// A one-on-one employment plan (R-PAIR-3) for a person in a household.
pub const EMPLOYMENT_PLAN: EntityDef = EntityDef {
    name: "employment_plan",
    append_only: false,
    reach: Reach::Household("household_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("household_id", T::Id, M::Immutable, true),
        f("person_name", T::Text(50), M::LastWriterWins, true),
        f(
            "category",
            T::OneOf(&["zero_employment_family", "age_4050", "college_graduate"]),
            M::Immutable,
            true,
        ),
        by("helper_id", M::LastWriterWins),
        f("agreement_signed_on", T::Date, M::LastWriterWins, false),
        // The placement clock runs from here.
        f("opened_at", T::Instant, M::Immutable, true),
        // Stable employment reached: follow-ups end.
        f("stable_on", T::Date, M::LastWriterWins, false),
        f("case_no", T::Text(40), M::Immutable, false),
        f("notes", T::Text(4000), M::LastWriterWins, false),
    ],
};

/// An event of an employment plan: an offer, a refusal, the placement, a follow-up.
/// Append-only.
pub const EMPLOYMENT_EVENT: EntityDef = EntityDef {
    name: "employment_event",
    append_only: true,
    reach: Reach::Household("household_id"),
    fields: &[
        f(REGION_FIELD, T::Id, M::Immutable, true),
        f("plan_id", T::Id, M::Immutable, true),
        f("household_id", T::Id, M::Immutable, true),
        f(
            "kind",
            T::OneOf(&["offer_made", "offer_refused", "placed", "follow_up"]),
            M::Immutable,
            true,
        ),
        f("at", T::Instant, M::Immutable, true),
        by("by_user_id", M::Immutable),
        f("employer", T::Text(200), M::Immutable, false),
        f("notes", T::Text(4000), M::Immutable, false),
    ],
};

/// Every synced entity.
pub const ENTITIES: &[EntityDef] = &[
    VISIT,
    PHOTO,
    CHILD,
    DROPOUT_CASE,
    RETRIEVAL_ATTEMPT,
    TEACHING_SESSION,
    CORRECTION,
    DROPOUT_DOCUMENT,
    PUPIL_CHECK,
    PAIR,
    PAIR_SESSION,
    EMPLOYMENT_PLAN,
    EMPLOYMENT_EVENT,
];

pub fn entity(name: &str) -> Option<&'static EntityDef> {
    ENTITIES.iter().find(|e| e.name == name)
}

/// Why a value does not fit its field.
pub fn check_value(ty: FieldType, v: &Value) -> Result<(), &'static str> {
    let ok = match ty {
        _ if v.is_null() => true,
        T::Text(max) => v.as_str().is_some_and(|s| {
            s.chars().count() <= max && !s.chars().any(|c| c.is_control() && c != '\n')
        }),
        T::Id => v.as_str().is_some_and(is_uuid),
        T::Instant => v.as_str().is_some_and(is_instant),
        T::Date => v.as_str().is_some_and(is_date),
        T::Bool => v.is_boolean(),
        T::Int(lo, hi) => v.as_i64().is_some_and(|n| (lo..=hi).contains(&n)),
        T::Number(lo, hi) => v
            .as_f64()
            .is_some_and(|n| n.is_finite() && n >= lo && n <= hi),
        T::OneOf(allowed) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        T::SetOf(allowed) => v.as_array().is_some_and(|items| {
            items.len() <= 50
                && items.iter().all(|i| {
                    i.as_str().is_some_and(|s| {
                        if allowed.is_empty() {
                            !s.is_empty() && s.len() <= 64
                        } else {
                            allowed.contains(&s)
                        }
                    })
                })
        }),
        T::Geo => v.as_object().is_some_and(|o| {
            let num = |k: &str| o.get(k).and_then(Value::as_f64);
            o.keys()
                .all(|k| matches!(k.as_str(), "lat" | "lng" | "accuracy_m"))
                && num("lat").is_some_and(|x| (-90.0..=90.0).contains(&x))
                && num("lng").is_some_and(|x| (-180.0..=180.0).contains(&x))
                && o.get("accuracy_m")
                    .is_none_or(|a| a.as_f64().is_some_and(|x| (0.0..=100_000.0).contains(&x)))
        }),
        T::Checklist(keys, values) => v.as_object().is_some_and(|o| {
            o.iter().all(|(k, x)| {
                keys.contains(&k.as_str()) && x.as_str().is_some_and(|s| values.contains(&s))
            })
        }),
        T::Object => v.as_object().is_some_and(|o| {
            o.len() <= 20
                && o.iter().all(|(k, x)| {
                    k.len() <= 40 && x.as_str().is_some_and(|s| s.chars().count() <= 200)
                })
        }),
    };
    if ok { Ok(()) } else { Err(expected(ty)) }
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        T::Text(_) => "text within the length limit, without control characters",
        T::Id => "a UUID",
        T::Instant => "an RFC 3339 instant such as 2026-11-22T09:30:00Z",
        T::Date => "a date such as 2026-11-22",
        T::Bool => "true or false",
        T::Int(..) => "a whole number in range",
        T::Number(..) => "a number in range",
        T::OneOf(_) => "one of the listed values",
        T::SetOf(_) => "a list of allowed values",
        T::Geo => "{\"lat\": …, \"lng\": …, \"accuracy_m\": …} in range",
        T::Checklist(..) => "an object of listed items and values",
        T::Object => "an object of short texts",
    }
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            (1900..=2200).contains(&y) && (1..=12).contains(&m) && (1..=days_in(y, m)).contains(&d)
        }
        _ => false,
    }
}

fn days_in(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` or with a numeric offset.
fn is_instant(s: &str) -> bool {
    if s.len() < 20 || s.len() > 35 || !is_date(&s[..10]) || s.as_bytes()[10] != b'T' {
        return false;
    }
    let t = &s[11..];
    let (clock, zone) = match t.find(['Z', '+', '-']) {
        Some(i) => t.split_at(i),
        None => return false,
    };
    let hms = clock.split('.').next().unwrap_or("");
    let parts: Vec<_> = hms.split(':').collect();
    let valid_clock = parts.len() == 3
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0] < "24"
        && parts[1] < "60"
        && parts[2] < "61"
        && clock.split('.').nth(1).is_none_or(|frac| {
            !frac.is_empty() && frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit())
        });
    let valid_zone = zone == "Z" || (zone.len() == 6 && zone.as_bytes()[3] == b':');
    valid_clock && valid_zone
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_entity_declares_its_region_and_unique_fields() {
        for e in ENTITIES {
            assert!(
                e.field(REGION_FIELD).is_some_and(|f| f.required),
                "{}",
                e.name
            );
            let mut names: Vec<_> = e.fields.iter().map(|f| f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), e.fields.len(), "{}", e.name);
            if e.append_only {
                assert!(
                    e.fields.iter().all(|f| f.rule == MergeRule::Immutable),
                    "{}",
                    e.name
                );
            }
            for fd in e.fields {
                if let Writer::Server { initial: Some(v) } = fd.writer {
                    assert!(
                        check_value(fd.ty, &Value::from(v)).is_ok(),
                        "{}.{}",
                        e.name,
                        fd.name
                    );
                }
                if fd.writer == Writer::Author {
                    assert_eq!(fd.ty, FieldType::Id, "{}.{}", e.name, fd.name);
                }
            }
        }
    }

    #[test]
    fn decisions_and_authors_are_declared() {
        let writer = |e: &EntityDef, name: &str| e.field(name).map(|f| f.writer);
        assert_eq!(writer(&VISIT, "helper_id"), Some(Writer::Author));
        assert!(matches!(
            writer(&VISIT, "review_status"),
            Some(Writer::Server { .. })
        ));
        for f in [
            "review_status",
            "review_reason",
            "reviewed_by",
            "reviewed_at",
        ] {
            assert!(
                matches!(writer(&PHOTO, f), Some(Writer::Server { .. })),
                "{f}"
            );
        }
        for f in [
            "review_status",
            "village_decided_at",
            "township_decided_at",
            "county_decided_at",
            "decision_reason",
        ] {
            assert!(
                matches!(writer(&CORRECTION, f), Some(Writer::Server { .. })),
                "{f}"
            );
        }
        assert_eq!(
            writer(&RETRIEVAL_ATTEMPT, "by_user_id"),
            Some(Writer::Author)
        );
        assert_eq!(writer(&CHILD, "name"), Some(Writer::Device));
    }

    #[test]
    fn values_are_checked_by_type() {
        assert!(check_value(T::Id, &json!("0193b4a0-7c1e-7d2a-9c43-2f1e5b7a9d10")).is_ok());
        assert!(check_value(T::Id, &json!("0193B4A0-7C1E-7D2A-9C43-2F1E5B7A9D10")).is_err());
        assert!(check_value(T::Instant, &json!("2026-11-22T09:30:00Z")).is_ok());
        assert!(check_value(T::Instant, &json!("2026-11-22T09:30:00.123+08:00")).is_ok());
        assert!(check_value(T::Instant, &json!("2026-02-30T09:30:00Z")).is_err());
        assert!(check_value(T::Date, &json!("2024-02-29")).is_ok());
        assert!(check_value(T::Date, &json!("2023-02-29")).is_err());
        assert!(check_value(T::Geo, &json!({"lat": 25.0, "lng": 102.7, "accuracy_m": 8})).is_ok());
        assert!(check_value(T::Geo, &json!({"lat": 95.0, "lng": 102.7})).is_err());
        assert!(
            check_value(
                VISIT.field("basic_needs").map_or(T::Bool, |f| f.ty),
                &json!({"food": "met", "safe_housing": "not_met"})
            )
            .is_ok()
        );
        assert!(check_value(T::SetOf(&["poor"]), &json!(["poor", "rich"])).is_err());
        assert!(check_value(T::Text(3), &json!("四个汉字")).is_err());
        assert!(check_value(T::Text(5), &json!(5)).is_err());
        assert!(check_value(T::Text(5), &json!(null)).is_ok());
    }
}
