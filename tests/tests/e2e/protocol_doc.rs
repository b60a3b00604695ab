//! `sync/PROTOCOL.md` agrees with the contract: every JSON example in it is valid against
//! the component its section describes. A new example in a section not named here fails
//! the test until it is.

use bangfu_e2e::contract;
use serde_json::{Value, json};

/// The component each section's examples are instances of.
const SECTIONS: [(&str, &str); 3] = [
    ("Push", "PushRequest"),
    ("Pull", "PullResponse"),
    ("Conflicts", "ResolveBody"),
];

/// The JSON blocks of a Markdown text, each with the heading of its section.
fn json_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut section, mut block): (String, Option<String>) = (String::new(), None);
    for line in text.lines() {
        match (&mut block, line.trim_start()) {
            (None, l) if l.starts_with("## ") => section = l[3..].trim().to_owned(),
            (None, "```json") => block = Some(String::new()),
            (Some(b), "```") => {
                out.push((section.clone(), std::mem::take(b)));
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

/// A block's JSON values: the block as one value, or one value a line (`// …` after a
/// line's value is a comment).
fn values(block: &str) -> Result<Vec<Value>, String> {
    if let Ok(v) = serde_json::from_str(block) {
        return Ok(vec![v]);
    }
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let end = l.rfind('}').map_or(l.len(), |i| i + 1);
            serde_json::from_str(&l[..end]).map_err(|e| format!("{l}: {e}"))
        })
        .collect()
}

#[test]
fn every_example_of_the_protocol_fits_the_contract() {
    let doc = contract::document();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../sync/PROTOCOL.md"))
        .expect("sync/PROTOCOL.md");
    let blocks = json_blocks(&text);
    assert!(blocks.len() >= 3, "the examples are found: {blocks:?}");
    let mut errors = Vec::new();
    for (section, block) in &blocks {
        let Some((_, component)) = SECTIONS.iter().find(|(s, _)| section.as_str() == *s) else {
            errors.push(format!(
                "## {section}: which component do its examples show?"
            ));
            continue;
        };
        let schema = json!({"$ref": format!("#/components/schemas/{component}")});
        match values(block) {
            Ok(vs) => {
                for v in vs {
                    let mut found = Vec::new();
                    contract::validate(doc, &schema, &v, "", &mut found);
                    errors.extend(
                        found
                            .into_iter()
                            .map(|e| format!("## {section} ({component}) {v}: {e}")),
                    );
                }
            }
            Err(e) => errors.push(format!("## {section}: not JSON: {e}")),
        }
    }
    assert!(
        errors.is_empty(),
        "PROTOCOL.md against the contract:\n  {}",
        errors.join("\n  ")
    );
}

#[test]
fn a_wrong_example_is_caught() {
    let doc = contract::document();
    let schema = json!({"$ref": "#/components/schemas/ResolveBody"});
    let mut found = Vec::new();
    contract::validate(doc, &schema, &json!({"kept": "lost"}), "", &mut found);
    assert!(!found.is_empty());
    let blocks = json_blocks("## Pull\n```json\n{\"changes\": 3}\n```\n");
    assert_eq!(blocks.len(), 1);
    let mut found = Vec::new();
    let v = values(&blocks[0].1).expect("JSON");
    contract::validate(
        doc,
        &json!({"$ref": "#/components/schemas/PullResponse"}),
        &v[0],
        "",
        &mut found,
    );
    assert!(!found.is_empty());
}
