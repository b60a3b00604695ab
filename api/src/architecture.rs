//! The shape of the code, checked on every test run: the modules form no circle,
//! infrastructure and the shared domain know no capability, and no HTTP adapter touches
//! the database itself (its capability's service does).
//!
//! The graph is read from the source: every `crate::…` path outside a `mod tests` is an
//! edge from the file that names it to the deepest module file the path reaches. Two
//! graphs are checked: the units (a capability such as `households`, or one part of
//! `infra` or `domain`) must form no circle; and within a unit the files must not either,
//! leaving out the edges between a module and its own parent folder's `mod.rs` (which
//! declares its parts and holds what they share).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module path (`households::queries`, `` for lib.rs) → its source.
fn sources() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(root).unwrap_or(&p).with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                let text = fs::read_to_string(&p).unwrap_or_default();
                out.insert(parts.join("::"), without_tests(&without_comments(&text)));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string (a URL) keeps its line: `use` lines hold no strings.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text before `#[cfg(test)] mod tests` (test modules come last in every file, and
/// may reach anything).
fn without_tests(text: &str) -> String {
    let mut at = 0;
    while let Some(i) = text[at..].find("#[cfg(test)]") {
        let start = at + i;
        let rest = text[start + "#[cfg(test)]".len()..].trim_start();
        if rest.starts_with("mod tests") {
            return text[..start].to_owned();
        }
        at = start + 1;
    }
    text.to_owned()
}

/// Every full path named after `crate::`, use-trees expanded (`crate::a::{b, c::d}` gives
/// `a::b` and `a::c::d`).
fn crate_paths(text: &str) -> Vec<String> {
    fn ident(s: &[u8], i: &mut usize) -> String {
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        String::from_utf8_lossy(&s[start..*i]).into_owned()
    }
    fn skip_ws(s: &[u8], i: &mut usize) {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    // Reads `seg::seg::{…}` from `i`, prefixed by `prefix`.
    fn tree(s: &[u8], i: &mut usize, prefix: &str, out: &mut Vec<String>) {
        let mut path = prefix.to_owned();
        loop {
            skip_ws(s, i);
            if *i < s.len() && s[*i] == b'{' {
                *i += 1;
                loop {
                    skip_ws(s, i);
                    if *i >= s.len() || s[*i] == b'}' {
                        *i += 1;
                        return;
                    }
                    let at = *i;
                    tree(s, i, &path, out);
                    // Something not a path (a macro's `$name`): step over it.
                    if *i == at {
                        *i += 1;
                        ident(s, i);
                    }
                    skip_ws(s, i);
                    if *i < s.len() && s[*i] == b',' {
                        *i += 1;
                    }
                }
            }
            let seg = ident(s, i);
            if seg.is_empty() {
                out.push(path);
                return;
            }
            if seg != "self" {
                path = if path.is_empty() {
                    seg
                } else {
                    format!("{path}::{seg}")
                };
            }
            if s[*i..].starts_with(b"::") {
                *i += 2;
            } else {
                out.push(path);
                // `as alias` and the rest of the item are not paths.
                while *i < s.len() && !matches!(s[*i], b',' | b'}' | b';' | b'(' | b')') {
                    if s[*i].is_ascii_whitespace() {
                        skip_ws(s, i);
                        let save = *i;
                        if ident(s, i) != "as" {
                            *i = save;
                            return;
                        }
                        skip_ws(s, i);
                        ident(s, i);
                    } else {
                        return;
                    }
                }
                return;
            }
        }
    }
    let s = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(k) = text[at..].find("crate::") {
        let mut i = at + k + "crate::".len();
        // `bangfu_sync::crate::` does not occur; `$crate::` (macros) is the crate too.
        tree(s, &mut i, "", &mut out);
        at = i.max(at + k + 1);
    }
    out
}

/// The deepest module file a path lies in.
fn module_of<'a>(path: &str, modules: &'a BTreeSet<String>) -> Option<&'a String> {
    let segs: Vec<&str> = path.split("::").collect();
    (1..=segs.len())
        .rev()
        .find_map(|n| modules.get(&segs[..n].join("::")))
}

/// File-level edges: module → modules it names (itself excluded).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = sources();
    let modules: BTreeSet<String> = src.keys().cloned().collect();
    src.iter()
        .map(|(m, text)| {
            let to = crate_paths(text)
                .iter()
                .filter_map(|p| module_of(p, &modules))
                .filter(|t| *t != m)
                .cloned()
                .collect();
            (m.clone(), to)
        })
        .collect()
}

/// Strongly connected components of more than one module (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                c.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                c.sort();
                t.out.push(c);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

/// The unit a module belongs to: its capability, or its part of `infra` or `domain`.
fn unit(m: &str) -> String {
    let segs: Vec<&str> = m.split("::").collect();
    match segs.as_slice() {
        ["infra" | "domain", part, ..] => format!("{}::{part}", segs[0]),
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}

/// Whether one module lies inside the other (`a` and `a::b`).
fn nested(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        outer.is_empty()
            || inner
                .strip_prefix(outer)
                .is_some_and(|r| r.starts_with("::"))
    };
    within(a, b) || within(b, a)
}

/// HTTP adapters (JSON routes, console pages, the console's shared web parts) and the
/// wiring above every capability (state, routes, the contract, the command): they may
/// reach any capability, and none reaches them.
fn adapter(m: &str) -> bool {
    web_adapter(m)
        || matches!(
            m,
            "" | "app" | "cli" | "contract" | "demo" | "routes" | "state"
        )
}

/// The modules held to the adapter rules: JSON routes (`http`, `…_http`), console pages
/// (`pages`) and the console's shared web parts (`console::…`).
fn web_adapter(m: &str) -> bool {
    let last = m.rsplit("::").next().unwrap_or(m);
    last == "http" || last.ends_with("_http") || last == "pages" || top(m) == "console"
}

/// What pure rules may name: the shared domain, the error vocabulary and China time.
fn beneath_rules(m: &str) -> bool {
    top(m) == "domain" || matches!(m, "infra::error" | "infra::clock")
}

/// A capability's pure rules: modules naming nothing but what rules may name and other
/// pure rules. Like the shared domain they are below every capability: any may use them
/// (a projector reads another capability's rules) without that making a circle.
fn pure_rules(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut pure: BTreeSet<String> = g
        .keys()
        .filter(|m| top(m) != "domain" && top(m) != "infra" && !adapter(m))
        .cloned()
        .collect();
    loop {
        let impure: Vec<String> = pure
            .iter()
            .filter(|m| {
                g[*m]
                    .iter()
                    .any(|t| !beneath_rules(t) && !pure.contains(t) && !nested(m, t))
            })
            .cloned()
            .collect();
        if impure.is_empty() {
            return pure;
        }
        for m in impure {
            pure.remove(&m);
        }
    }
}

fn unit_graph(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let pure = pure_rules(g);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in g.iter().filter(|(m, _)| !adapter(m)) {
        let u = unit(from);
        let entry = out.entry(u.clone()).or_default();
        entry.extend(
            to.iter()
                .filter(|t| !pure.contains(*t))
                .map(|t| unit(t))
                .filter(|t| *t != u),
        );
    }
    out
}

fn file_graph(g: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    g.iter()
        .map(|(from, to)| {
            let kept = to.iter().filter(|t| !nested(from, t)).cloned().collect();
            (from.clone(), kept)
        })
        .collect()
}

fn explain(g: &BTreeMap<String, BTreeSet<String>>, found: &[Vec<String>]) -> String {
    found
        .iter()
        .map(|c| {
            let edges: Vec<String> = c
                .iter()
                .flat_map(|m| {
                    g[m].iter()
                        .filter(|t| c.contains(t))
                        .map(move |t| format!("  {m} → {t}"))
                })
                .collect();
            format!("{}\n{}", c.join(", "), edges.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The edges that break a rule, as `from → to` lines.
fn breaking(allowed: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let mut bad = Vec::new();
    for (from, to) in graph() {
        for t in to {
            if !allowed(&from, &t) {
                bad.push(format!("{from} → {t}"));
            }
        }
    }
    bad
}

#[test]
fn reads_use_trees() {
    let paths = crate_paths(
        "use crate::a::{b, c::{d, e as f}, self};\nlet x = crate::g::h(1);\nuse crate::i as j;",
    );
    assert_eq!(paths, ["a::b", "a::c::d", "a::c::e", "a", "g::h", "i"]);
    // A macro's use-tree of `$name`s is stepped over, not read forever.
    assert_eq!(crate_paths("use crate::a::{$x, b};"), ["a", "a::b"]);
    let text = "fn a() {}\n#[cfg(test)]\nmod tests { use crate::z; }";
    assert!(!without_tests(text).contains("crate::z"));
}

#[test]
fn finds_a_circle() {
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
}

#[test]
fn capabilities_form_no_circle() {
    let g = graph();
    assert!(
        g.len() > 100,
        "the source was not found: {} modules",
        g.len()
    );
    let units = unit_graph(&g);
    let found = circles(&units);
    assert!(
        found.is_empty(),
        "circles between units:\n{}",
        explain(&units, &found)
    );
}

#[test]
fn files_form_no_circle() {
    let files = file_graph(&graph());
    let found = circles(&files);
    assert!(
        found.is_empty(),
        "circles between files:\n{}",
        explain(&files, &found)
    );
}

#[test]
fn pure_rules_are_found() {
    let pure = pure_rules(&graph());
    for m in [
        "dropout::rules",
        "applications::rules",
        "households::rules",
        "sync::rules",
    ] {
        assert!(pure.contains(m), "{m} should be pure rules");
    }
    for m in ["households::queries", "sync::push", "dropout::http"] {
        assert!(!pure.contains(m), "{m} is not pure");
    }
}

#[test]
fn units_are_named_as_meant() {
    assert_eq!(unit("photos::uploads::queries"), "photos");
    assert_eq!(unit("infra::db::group_commit"), "infra::db");
    assert_eq!(unit("domain::access"), "domain::access");
    assert!(web_adapter("photo_reviews::pages") && web_adapter("console::session"));
    assert!(web_adapter("sync::supervision_http") && !web_adapter("photo_reviews::service"));
    assert!(nested("photos", "photos::worker") && nested("", "photos"));
    assert!(!nested("photos", "photo_reviews") && !nested("a::b", "a::c"));
}

#[test]
fn infrastructure_knows_no_capability() {
    let bad = breaking(|from, to| top(from) != "infra" || top(to) == "infra");
    assert!(
        bad.is_empty(),
        "infra imports above itself:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_shared_domain_is_pure() {
    // Rules may speak the error vocabulary and read China time; nothing else below them.
    let bad = breaking(|from, to| {
        top(from) != "domain"
            || top(to) == "domain"
            || matches!(to, "infra::error" | "infra::clock")
    });
    assert!(bad.is_empty(), "domain imports:\n{}", bad.join("\n"));
}

/// What an HTTP adapter does itself that is its capability's service's to do: open a
/// transaction, name the database or its schema, or build a query.
fn database_work(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for (needle, what) in [
        (".read(move |", "opens a read transaction"),
        (".read(|", "opens a read transaction"),
        (".write(move |", "opens a write transaction"),
        (".write(|", "opens a write transaction"),
        (".write_shared(", "opens a write transaction"),
        ("create_once", "opens a write transaction"),
        ("diesel", "builds a query"),
        ("DbConn", "holds a connection"),
    ] {
        if text.contains(needle) && !found.contains(&what) {
            found.push(what);
        }
    }
    if crate_paths(text)
        .iter()
        .any(|p| p == "infra::db" || p.starts_with("infra::db::"))
    {
        found.push("names the database");
    }
    found
}

#[test]
fn adapters_leave_the_database_to_services() {
    let mut bad = Vec::new();
    for (m, text) in sources() {
        if !web_adapter(&m) {
            continue;
        }
        let found = database_work(&text);
        if !found.is_empty() {
            bad.push(format!("{m}: {}", found.join(", ")));
        }
    }
    assert!(bad.is_empty(), "adapters:\n{}", bad.join("\n"));
}

#[test]
fn sees_database_work() {
    assert_eq!(
        database_work("let r = state.db.write(move |c| q(c)).await?;"),
        ["opens a write transaction"]
    );
    assert_eq!(
        database_work("use crate::infra::db::schema::users;"),
        ["names the database"]
    );
    assert!(database_work("service::register(&state.db, &caller, new).await").is_empty());
}

/// The row types that derive `Insertable` but leave an absent value to the column's
/// default. On SQLite diesel writes a batch of such rows one statement at a time inside a
/// savepoint, and every statement on a table with triggers then walks that savepoint's
/// whole journal: a 500-row push paid for it quadratically. An absent value is NULL (no
/// nullable column has another default), so every row type says so.
fn defaulting_insertables(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim();
        if !(l.starts_with("#[derive(") && l.contains("Insertable")) {
            continue;
        }
        let attrs: Vec<&str> = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("#["))
            .collect();
        if !attrs
            .iter()
            .any(|a| a.contains("treat_none_as_default_value = false"))
        {
            let name = lines[i + 1..]
                .iter()
                .find(|l| l.contains("struct "))
                .map_or("?", |l| l.trim());
            found.push(name.to_owned());
        }
    }
    found
}

#[test]
fn insertable_rows_write_none_as_null() {
    let mut bad = Vec::new();
    for (m, text) in sources() {
        for s in defaulting_insertables(&text) {
            bad.push(format!("{m}: {s}"));
        }
    }
    assert!(
        bad.is_empty(),
        "add #[diesel(treat_none_as_default_value = false)] to:\n{}",
        bad.join("\n")
    );
}

#[test]
fn sees_a_row_type_that_defaults() {
    let defaulting =
        "#[derive(Insertable)]\n#[diesel(table_name = t)]\nstruct A { x: Option<i32> }";
    assert_eq!(
        defaulting_insertables(defaulting),
        ["struct A { x: Option<i32> }"]
    );
    let explicit = "#[derive(Insertable)]\n#[diesel(treat_none_as_default_value = false)]\n#[diesel(table_name = t)]\nstruct B;";
    assert!(defaulting_insertables(explicit).is_empty());
}
