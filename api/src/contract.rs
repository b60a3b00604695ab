//! The OpenAPI contract. Paths come from the same `configure` call that routes requests
//! (see `crate::routes::configure`), so an endpoint cannot be served without being documented.
//! The error answers every operation can give are added here, once, by rule.

use actix_web::App;
use actix_web::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Doc, Ref, RefOr};
use utoipa_actix_web::AppExt;

use crate::infra::http::problem::{CONTENT_TYPE, Problem, ProblemField};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bangfu",
        description = "Central server for public assistance case work (帮扶): case files, \
            applications, home visits with photo evidence, dropout control and offline sync.\n\n\
            Errors are `application/problem+json` (RFC 9457) with a stable `code`; titles and \
            messages are Chinese unless `Accept-Language` prefers English. Lists take `limit` \
            and `cursor`. Creations accept an `Idempotency-Key`; updates need `If-Match`.\n\n\
            Each operation for staff names in `x-bangfu-permission` the permission its \
            caller's role needs (`signed_in`: any signed-in staff account); data is further \
            limited to the caller's jurisdiction.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem, ProblemField)),
    tags(
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "auth", description = "Sign-in, token refresh, sign-out"),
        (name = "users", description = "Staff accounts"),
        (name = "regions", description = "The jurisdiction tree and local dibao standards"),
        (name = "devices", description = "Phones bound to staff accounts"),
        (name = "access", description = "Temporary access outside one's region (break the glass)"),
        (name = "audit", description = "The append-only audit trail"),
        (name = "households", description = "The household registry (一户一档) and assigned helpers"),
        (name = "programs", description = "Assistance programs, their materials checklists, and the working-day calendar"),
        (name = "applications", description = "Run-at-most-once applications from the mini-program and app, and their review"),
        (name = "calculations", description = "Difficulty classification and aid standards, explained (stores nothing)"),
        (name = "sync", description = "Delta sync for offline devices: push, pull, conflicts (see sync/PROTOCOL.md)"),
        (name = "uploads", description = "Resumable uploads of photos and documents, verified by SHA-256: tus 1.0.0 (creation, creation-with-upload, expiration, termination), the JSON form of the same, and multipart forms (`wx.uploadFile`)"),
        (name = "photos", description = "Stored photos and documents, served by SHA-256 within the caller's scope"),
        (name = "photo-reviews", description = "Review of evidence photos by the village (first) secretary, with integrity flags"),
        (name = "field_work", description = "Work lists and deadlines, campaigns, dropout cases judged from their evidence, home teaching, corrections, supervision metrics"),
        (name = "ledgers", description = "Ledgers (台账) exported as XLSX or CSV, streamed, within the caller's scope"),
    )
)]
struct ApiDoc;

/// Reusable error answers, referenced by every operation they apply to.
const STANDARD: [(&str, &str, &str); 13] = [
    (
        "400",
        "BadRequest",
        "Malformed request (bad JSON, bad path parameter)",
    ),
    (
        "401",
        "Unauthorized",
        "Missing, expired, forged or revoked token",
    ),
    ("403", "Forbidden", "The caller's role lacks the permission"),
    (
        "404",
        "NotFound",
        "No such record within the caller's jurisdiction (named in the path, body or query)",
    ),
    (
        "412",
        "PreconditionFailed",
        "If-Match names a version that is no longer current",
    ),
    (
        "408",
        "BodyTooSlow",
        "The body arrived below the minimum rate and was cut off",
    ),
    ("413", "PayloadTooLarge", "Request body over the limit"),
    (
        "415",
        "UnsupportedMediaType",
        "Body is not application/json",
    ),
    (
        "422",
        "ValidationFailed",
        "Every invalid field, listed at once",
    ),
    (
        "428",
        "PreconditionRequired",
        "The update needs If-Match with the ETag read",
    ),
    (
        "500",
        "InternalError",
        "Unexpected failure (logged with the request id)",
    ),
    (
        "503",
        "ServiceUnavailable",
        "Database unreachable; retry later",
    ),
    (
        "507",
        "StorageFull",
        "The disk under the database or the photo store is full; nothing was half-written, retry once space is freed",
    ),
];

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            CONTENT_TYPE,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

fn add_standard_errors(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let params: Vec<&Parameter> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_params = !params.is_empty();
    let in_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let if_match = params
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case("if-match"));
    for (status, name, _) in STANDARD {
        let applies = match status {
            "401" | "403" => secured,
            // A path names a record; a body or a filter may name one (a region, a household).
            "404" => in_path || (secured && (has_body || has_params)),
            "412" | "428" => if_match,
            "408" | "413" | "415" => has_body,
            "400" | "422" => has_body || has_params,
            _ => true,
        };
        if applies && !op.responses.responses.contains_key(status) {
            op.responses
                .responses
                .insert(status.to_owned(), RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

/// `OPTIONS` (tus discovery: no sign-in, no database) has its one answer and no failure;
/// `HEAD` answers what a read does, its problems as headers alone (a `HEAD` answer has no
/// body), and never the failures of a body or a write.
fn bodiless_answers(doc: &mut Doc) {
    for item in doc.paths.paths.values_mut() {
        if let Some(op) = &mut item.options {
            op.responses.responses.retain(|s, _| s.starts_with('2'));
        }
        if let Some(op) = &mut item.head {
            op.responses.responses.retain(|s, _| {
                !matches!(s.as_str(), "408" | "413" | "415" | "422" | "428" | "507")
            });
        }
    }
}

/// The complete contract, as served at `/openapi.json` and committed in `openapi/`.
pub fn document() -> Doc {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "applicant",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An applicant's token from POST /v1/auth/wechat (audience bangfu-applicant)",
                ))
                .build(),
        ),
    );
    for (_, name, description) in STANDARD {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(problem_response(description)));
    }
    for (_, op) in crate::infra::http::operations::operations(&mut doc) {
        add_standard_errors(op);
    }
    bodiless_answers(&mut doc);
    crate::infra::http::operations::name_and_link(&mut doc);
    crate::infra::http::method_override::document(&mut doc);
    refer_to_page_items(&mut doc);
    doc
}

/// utoipa writes the item type of a generic `Page<T>` out in full inside `Page_T`; where
/// `T` is a component of its own, the page refers to it instead, so clients get one named
/// type for the items of a list and of a single read.
fn refer_to_page_items(doc: &mut Doc) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let json = |s: &RefOr<Schema>| serde_json::to_value(s).unwrap_or_default();
    let pages: Vec<(String, String)> = components
        .schemas
        .keys()
        .filter_map(|name| {
            let item = name.strip_prefix("Page_")?;
            components
                .schemas
                .contains_key(item)
                .then(|| (name.clone(), item.to_owned()))
        })
        .collect();
    for (page, item) in pages {
        let own = json(&components.schemas[&item]);
        let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(&page) else {
            continue;
        };
        if let Some(RefOr::T(Schema::Array(a))) = o.properties.get_mut("items")
            && let ArrayItems::RefOrSchema(inner) = &mut a.items
            && json(inner) == own
        {
            **inner = RefOr::Ref(Ref::from_schema_name(item));
        }
    }
}

/// The contract as pretty JSON with a trailing newline (the committed file's form).
pub fn document_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

/// Which methods each documented path takes, to answer 405 instead of 404.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

impl RouteTable {
    pub fn from_doc(doc: &Doc) -> RouteTable {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segs = path.split('/').map(str::to_owned).collect();
                let methods = [
                    (item.get.is_some(), Method::GET),
                    (item.head.is_some(), Method::HEAD),
                    (item.post.is_some(), Method::POST),
                    (item.put.is_some(), Method::PUT),
                    (item.patch.is_some(), Method::PATCH),
                    (item.delete.is_some(), Method::DELETE),
                    (item.options.is_some(), Method::OPTIONS),
                ]
                .into_iter()
                .filter_map(|(present, m)| present.then_some(m))
                .collect();
                (segs, methods)
            })
            .collect();
        RouteTable { routes }
    }

    /// Every method a concrete path is served with, for `Allow`: the documented ones, and
    /// `HEAD` wherever `GET` is (answered as the `GET` without its body), in a fixed order.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let documented = self.methods_for(path)?;
        let served = |m: &Method| {
            documented.contains(m) || (*m == Method::HEAD && documented.contains(&Method::GET))
        };
        Some(
            [
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ]
            .into_iter()
            .filter(served)
            .collect(),
        )
    }

    /// The documented methods of a concrete path, if it is a documented path.
    pub fn methods_for(&self, path: &str) -> Option<Vec<Method>> {
        let segs: Vec<&str> = path.split('/').collect();
        let mut found: Option<Vec<Method>> = None;
        for (tmpl, methods) in &self.routes {
            let matches = tmpl.len() == segs.len()
                && tmpl
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            if matches {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(methods.iter().cloned());
            }
        }
        found
    }
}

/// What one endpoint registers into the contract: its path and the components it brings.
type Sources = Vec<(
    String,
    Vec<(String, RefOr<utoipa::openapi::schema::Schema>)>,
)>;

/// Collects each mounted endpoint's components on their own, before utoipa merges them
/// into one map where the last type registered under a name silently wins.
#[derive(Default)]
pub struct ComponentSources(pub Sources);

impl crate::routes::Mount for ComponentSources {
    fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: actix_web::dev::HttpServiceFactory + utoipa_actix_web::OpenApiFactory + 'static,
    {
        let mut schemas = Vec::new();
        factory.schemas(&mut schemas);
        let path = factory
            .paths()
            .paths
            .keys()
            .next()
            .cloned()
            .unwrap_or_default();
        self.0.push((path, schemas));
        self
    }
}

/// Component names under which two different schemas (two Rust types) are registered, each
/// with the endpoints that bring one of them.
pub fn colliding_components(sources: &Sources) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<&str, Vec<(String, &str)>> = Default::default();
    for (path, schemas) in sources {
        for (name, schema) in schemas {
            let json = serde_json::to_string(schema).unwrap_or_default();
            let entry = seen.entry(name.as_str()).or_default();
            if !entry.iter().any(|(j, _)| *j == json) {
                entry.push((json, path.as_str()));
            }
        }
    }
    seen.into_iter()
        .filter(|(_, variants)| variants.len() > 1)
        .map(|(name, variants)| {
            let paths: Vec<&str> = variants.iter().map(|(_, p)| *p).collect();
            format!("{name}: {}", paths.join(", "))
        })
        .collect()
}

/// Components (schemas and responses) no operation reaches, directly or through another
/// component.
pub fn unreferenced_components(doc: &serde_json::Value) -> Vec<String> {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_owned());
                }
                o.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut reached = std::collections::BTreeSet::new();
    let mut todo = Vec::new();
    refs(&doc["paths"], &mut todo);
    while let Some(r) = todo.pop() {
        if !reached.insert(r.clone()) {
            continue;
        }
        let target = r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |v, seg| &v[seg]))
            .unwrap_or(&serde_json::Value::Null);
        refs(target, &mut todo);
    }
    let mut unreached = Vec::new();
    for kind in ["schemas", "responses"] {
        for name in doc["components"][kind]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let r = format!("#/components/{kind}/{name}");
            if !reached.contains(&r) {
                unreached.push(r);
            }
        }
    }
    unreached
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_component_is_one_type_and_referenced() {
        let mut sources = super::ComponentSources::default();
        crate::routes::mount(&mut sources);
        // The document's own components count as one more source.
        let own = super::ApiDoc::openapi()
            .components
            .map(|c| c.schemas.into_iter().collect())
            .unwrap_or_default();
        sources
            .0
            .push(("the document's own components".into(), own));
        let collisions = super::colliding_components(&sources.0);
        assert!(
            collisions.is_empty(),
            "two types share a component name (the contract keeps only one): {collisions:#?}"
        );
        let doc: serde_json::Value = serde_json::from_str(&super::document_json()).expect("json");
        let unreferenced = super::unreferenced_components(&doc);
        assert!(
            unreferenced.is_empty(),
            "components no operation uses: {unreferenced:#?}"
        );
    }

    #[test]
    fn two_types_under_one_name_are_found() {
        mod a {
            #[derive(utoipa::ToSchema)]
            #[allow(dead_code)]
            pub struct Body {
                pub decision: String,
            }
        }
        mod b {
            #[derive(utoipa::ToSchema)]
            #[allow(dead_code)]
            pub struct Body {
                pub action: String,
            }
        }
        let first = vec![(
            <a::Body as utoipa::ToSchema>::name().into_owned(),
            <a::Body as utoipa::PartialSchema>::schema(),
        )];
        let second = vec![(
            <b::Body as utoipa::ToSchema>::name().into_owned(),
            <b::Body as utoipa::PartialSchema>::schema(),
        )];
        let same = vec![(
            <a::Body as utoipa::ToSchema>::name().into_owned(),
            <a::Body as utoipa::PartialSchema>::schema(),
        )];
        let found = super::colliding_components(&vec![
            ("/v1/a".into(), first.clone()),
            ("/v1/a-again".into(), same),
        ]);
        assert!(found.is_empty(), "{found:?}");
        let found =
            super::colliding_components(&vec![("/v1/a".into(), first), ("/v1/b".into(), second)]);
        assert_eq!(found, ["Body: /v1/a, /v1/b"]);
        let doc = serde_json::json!({
            "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json":
                {"schema": {"$ref": "#/components/schemas/Used"}}}}}}}},
            "components": {"schemas": {"Used": {"properties": {"inner": {"$ref": "#/components/schemas/Inner"}}},
                                       "Inner": {}, "Orphan": {}}}
        });
        assert_eq!(
            super::unreferenced_components(&doc),
            ["#/components/schemas/Orphan"]
        );
    }

    #[test]
    fn operation_ids_are_unique_and_every_link_reaches_one_with_its_answer() {
        let doc: serde_json::Value = serde_json::from_str(&super::document_json()).expect("json");
        let mut ids = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let id = op["operationId"].as_str().expect("operationId").to_owned();
                let before = ids.insert(id.clone(), format!("{method} {path}"));
                assert!(before.is_none(), "{id}: {before:?} and {method} {path}");
            }
        }
        for (from, status, name, to, _) in crate::infra::http::operations::LINKS {
            assert!(ids.contains_key(*to), "link target {to}");
            let (method, path) = ids[*from].split_once(' ').expect("op");
            let link = &doc["paths"][path][method]["responses"][*status]["links"][*name];
            assert_eq!(link["operationId"], *to, "{from} {status} {name}");
        }
    }

    use super::*;

    #[test]
    fn route_table_matches_templates() {
        let table = RouteTable::from_doc(&document());
        let m = table.methods_for("/v1/regions/abc").unwrap_or_default();
        assert!(m.contains(&Method::GET) && m.contains(&Method::PATCH));
        assert!(table.methods_for("/v1/nothing").is_none());
        let allow = |p: &str| table.allowed(p).unwrap_or_default();
        assert_eq!(
            allow("/v1/regions/abc"),
            [Method::GET, Method::HEAD, Method::PATCH]
        );
        assert_eq!(
            allow("/v1/uploads"),
            [Method::GET, Method::HEAD, Method::POST, Method::OPTIONS]
        );
        assert_eq!(
            allow("/v1/uploads/abc"),
            [
                Method::GET,
                Method::HEAD,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS
            ]
        );
        assert!(table.methods_for("/v1/regions/").is_none());
    }

    #[test]
    fn every_staff_operation_names_its_permission() {
        let doc: serde_json::Value =
            serde_json::from_str(&document_json()).expect("the contract is JSON");
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let staff = op["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r.get("bearer").is_some());
                let named = op["x-bangfu-permission"].as_str().is_some();
                assert_eq!(staff, named, "{method} {path}: x-bangfu-permission");
            }
        }
    }

    #[test]
    fn secured_operations_document_401_and_403() {
        let doc = document();
        let op = doc
            .paths
            .paths
            .get("/v1/users")
            .and_then(|p| p.post.as_ref());
        let responses = op
            .map(|o| o.responses.responses.clone())
            .unwrap_or_default();
        for s in ["201", "401", "403", "415", "422", "500"] {
            assert!(responses.contains_key(s), "missing {s}");
        }
    }
}
