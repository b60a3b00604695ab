//! The contract as the tests hold the server to it: every answer the end-to-end suite
//! receives is looked up in `openapi/openapi.json` by method and path template, and its
//! status, content type and body are checked against what is documented there.
//!
//! The schema check covers the JSON Schema the contract uses (`type`, `$ref`, `properties`,
//! `required`, `additionalProperties`, `propertyNames`, `items`, `enum`, `const`, `minimum`,
//! `maximum`, `oneOf`, `anyOf`, `allOf`); `format` is an annotation and is not checked.

use std::sync::OnceLock;

use serde_json::Value;

/// The committed contract, read once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(&bangfu::contract::document_json()).expect("the contract is JSON")
    })
}

/// The documented operation for a method and a concrete path (query string removed), with
/// its path template.
pub fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    let method = method.to_ascii_lowercase();
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in doc["paths"].as_object()? {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != segs.len() {
            continue;
        }
        let mut literal = 0;
        let fits = t.iter().zip(&segs).all(|(t, s)| {
            if t.starts_with('{') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if fits && item.get(&method).is_some() && best.is_none_or(|(n, _, _)| literal > n) {
            best = Some((literal, template, &item[&method]));
        }
    }
    best.map(|(_, t, op)| (t, op))
}

/// Follows `$ref`s (to schemas or responses) to what they name.
pub fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                v = r
                    .strip_prefix("#/")
                    .map(|p| p.split('/').fold(doc, |v, seg| &v[seg]))
                    .unwrap_or(&Value::Null)
            }
            None => return v,
        }
    }
    v
}

/// What is wrong with an answer, measured against the operation's documented responses;
/// empty when it matches. `body` is `None` when the body is not JSON.
pub fn check_answer(
    doc: &Value,
    op: &Value,
    status: u16,
    content_type: Option<&str>,
    body: Option<&Value>,
) -> Vec<String> {
    let responses = &op["responses"];
    let documented = responses
        .get(status.to_string())
        .or_else(|| responses.get(format!("{}XX", status / 100)))
        .or_else(|| responses.get("default"));
    let Some(response) = documented else {
        let known: Vec<&String> = responses
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        return vec![format!(
            "status {status} is not documented (documented: {known:?})"
        )];
    };
    let response = resolve(doc, response);
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return Vec::new();
    };
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let documented = content.get(&media).or_else(|| {
        content
            .iter()
            .find(|(k, _)| {
                k.ends_with("/*") && media.starts_with(k.trim_end_matches('*'))
                    || k.as_str() == "*/*"
            })
            .map(|(_, v)| v)
    });
    let Some(documented) = documented else {
        let known: Vec<&String> = content.keys().collect();
        return vec![format!(
            "content type {media:?} is not documented for {status} (documented: {known:?})"
        )];
    };
    let is_json = media == "application/json" || media.ends_with("+json");
    match (documented.get("schema"), is_json, body) {
        (Some(schema), true, Some(body)) => {
            let mut errors = Vec::new();
            validate(doc, schema, body, "", &mut errors);
            errors
        }
        (Some(_), true, None) => vec![format!("{status}: the body is not JSON")],
        _ => Vec::new(),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_fits(ty: &str, v: &Value) -> bool {
    let actual = type_of(v);
    ty == actual
        || (ty == "number" && actual == "integer")
        || (ty == "integer" && v.as_f64().is_some_and(|f| f.fract() == 0.0))
}

/// Checks `v` against `schema`, adding one line per mismatch with its JSON path.
pub fn validate(doc: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let here = if at.is_empty() { "(body)" } else { at };
    if let Some(r) = schema.get("$ref") {
        let target = resolve(doc, schema);
        if target.is_null() {
            errors.push(format!("{here}: dangling {r}"));
            return;
        }
        validate(doc, target, v, at, errors);
    }
    let Some(s) = schema.as_object() else {
        return;
    };
    if let Some(ty) = s.get("type") {
        let fits = match ty {
            Value::String(t) => type_fits(t, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_fits(t, v)),
            _ => true,
        };
        let nullable = s.get("nullable") == Some(&Value::Bool(true)) && v.is_null();
        if !fits && !nullable {
            errors.push(format!("{here}: expected type {ty}, got {}", type_of(v)));
            return;
        }
    }
    if let Some(choices) = s.get("enum").and_then(Value::as_array)
        && !choices.contains(v)
    {
        errors.push(format!(
            "{here}: {v} is not one of {}",
            Value::Array(choices.clone())
        ));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errors.push(format!("{here}: {v} is not {c}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        errors.push(format!("{here}: {n} is below the minimum {min}"));
    }
    if let (Some(max), Some(n)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64())
        && n > max
    {
        errors.push(format!("{here}: {n} is above the maximum {max}"));
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            validate(doc, sub, v, at, errors);
        }
    }
    for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = s.get(key).and_then(Value::as_array) {
            let mut reasons = Vec::new();
            let fitting = options
                .iter()
                .filter(|sub| {
                    let mut e = Vec::new();
                    validate(doc, sub, v, at, &mut e);
                    let ok = e.is_empty();
                    reasons.extend(e);
                    ok
                })
                .count();
            if fitting == 0 {
                errors.push(format!(
                    "{here}: fits none of {key}: {}",
                    reasons.join("; ")
                ));
            } else if exactly_one && fitting > 1 {
                errors.push(format!("{here}: fits {fitting} of oneOf, not exactly one"));
            }
        }
    }
    if let Value::Object(o) = v {
        let props = s.get("properties").and_then(Value::as_object);
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !o.contains_key(name)
            {
                errors.push(format!("{here}: `{name}` is required but absent"));
            }
        }
        for (k, val) in o {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            match props.and_then(|p| p.get(k)) {
                Some(sub) => validate(doc, sub, val, &path, errors),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{here}: `{k}` is not documented"))
                    }
                    Some(sub @ Value::Object(_)) => validate(doc, sub, val, &path, errors),
                    _ => {}
                },
            }
            if let Some(names) = s.get("propertyNames") {
                validate(doc, names, &Value::String(k.clone()), &path, errors);
            }
        }
    }
    if let (Value::Array(items), Some(sub)) = (v, s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(doc, sub, item, &format!("{here}[{i}]"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_are_checked_as_documented() {
        let doc = json!({"components": {"schemas": {
            "Kind": {"type": "string", "enum": ["a", "b"]},
            "Thing": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"}, "n": {"type": ["integer", "null"], "minimum": 0},
                "kind": {"$ref": "#/components/schemas/Kind"},
                "maybe": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Kind"}]},
                "list": {"type": "array", "items": {"type": "string"}}}}}}});
        let thing = json!({"$ref": "#/components/schemas/Thing"});
        let check = |v: Value| {
            let mut e = Vec::new();
            validate(&doc, &thing, &v, "", &mut e);
            e
        };
        assert!(
            check(json!({"id": "x", "n": null, "kind": "a", "maybe": null, "list": []})).is_empty()
        );
        assert_eq!(check(json!({"n": 1})).len(), 1);
        assert_eq!(check(json!({"id": "x", "n": -1})).len(), 1);
        assert_eq!(check(json!({"id": "x", "kind": "c"})).len(), 1);
        assert_eq!(check(json!({"id": "x", "maybe": "c"})).len(), 1);
        assert_eq!(check(json!({"id": "x", "list": [1]})).len(), 1);
        assert_eq!(check(json!({"id": 3})).len(), 1);
    }

    #[test]
    fn operations_are_found_by_their_template() {
        let doc = json!({"paths": {
            "/v1/ledgers/{ledger}": {"get": {"operationId": "export"}},
            "/v1/ledgers/workbook": {"get": {"operationId": "workbook"}}}});
        let id = |p: &str| operation(&doc, "GET", p).map(|(_, op)| op["operationId"].clone());
        assert_eq!(id("/v1/ledgers/workbook?x=1"), Some(json!("workbook")));
        assert_eq!(id("/v1/ledgers/visits"), Some(json!("export")));
        assert_eq!(id("/v1/ledgers"), None);
        assert!(operation(&doc, "POST", "/v1/ledgers/visits").is_none());
    }
}
