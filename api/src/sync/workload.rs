//! Today's work: what a helper's freshly installed phone needs before the history, so that
//! they can start at the first doorstep while the rest arrives. Their assigned households
//! with the records still being worked on, and the open dropout cases they are on the
//! retrieval team of (or that belong to their school), with the children concerned.

use serde_json::{Map, Value};

/// Whether a synced record is still being worked on, rather than history: a visit or photo
/// not yet reviewed, a correction not yet settled at the county, an open dropout case.
/// Other entities (attempts, sessions, children) are history, except as a case's child.
pub fn is_open(entity: &str, data: &Map<String, Value>) -> bool {
    let text = |f: &str| data.get(f).and_then(Value::as_str);
    match entity {
        "visit" | "photo" => matches!(text("review_status"), None | Some("pending")),
        "correction" => !matches!(text("review_status"), Some("county_accepted" | "rejected")),
        "dropout_case" => text("state") == Some("open"),
        _ => false,
    }
}

/// Whether `user_id` works this dropout case: on its retrieval team (三帮一), or on the staff
/// of its school (`own_school`: the user's region, when that is a school).
pub fn works_case(data: &Map<String, Value>, user_id: &str, own_school: Option<&str>) -> bool {
    let on_team = data
        .get("team")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|m| m.as_str() == Some(user_id)));
    let at_school =
        own_school.is_some_and(|s| data.get("school_id").and_then(Value::as_str) == Some(s));
    is_open("dropout_case", data) && (on_team || at_school)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn records_still_worked_on_are_open() {
        assert!(is_open("visit", &obj(json!({"notes": "x"}))));
        assert!(is_open("visit", &obj(json!({"review_status": "pending"}))));
        assert!(!is_open(
            "visit",
            &obj(json!({"review_status": "approved"}))
        ));
        assert!(!is_open(
            "photo",
            &obj(json!({"review_status": "rejected"}))
        ));
        assert!(is_open(
            "correction",
            &obj(json!({"review_status": "township_accepted"}))
        ));
        assert!(!is_open(
            "correction",
            &obj(json!({"review_status": "county_accepted"}))
        ));
        assert!(is_open("dropout_case", &obj(json!({"state": "open"}))));
        assert!(!is_open("dropout_case", &obj(json!({"state": "closed"}))));
        assert!(!is_open("retrieval_attempt", &obj(json!({}))));
    }

    #[test]
    fn a_case_is_worked_by_its_team_and_its_school() {
        let case = obj(json!({"state": "open", "team": ["u1", "u2"], "school_id": "s1"}));
        assert!(works_case(&case, "u1", None));
        assert!(!works_case(&case, "u3", None));
        assert!(works_case(&case, "u3", Some("s1")));
        assert!(!works_case(&case, "u3", Some("s2")));
        let closed = obj(json!({"state": "closed", "team": ["u1"]}));
        assert!(!works_case(&closed, "u1", None));
    }
}
