//! How the contract names its operations and links them. Handlers are named for what they
//! do within their module (`list`, `create`), so the contract prefixes each with its
//! resource (`households_list`) to make every `operationId` unique, as OpenAPI requires.
//! Links say which answer feeds which request (a created household's `id` is the path of
//! its page; a push is followed by a pull), so clients and stateful fuzzers can chain them.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi as Doc, RefOr};

/// The resource an operation belongs to: the first path segment after `/v1`, snake-cased.
fn resource(path: &str) -> String {
    path.trim_start_matches('/')
        .trim_start_matches("v1/")
        .split('/')
        .next()
        .unwrap_or_default()
        .replace('-', "_")
}

/// `households` + `list` is `households_list`; a name that already starts with its
/// resource (`work_list`, `health`) stays as it is.
pub fn operation_id(path: &str, handler: &str) -> String {
    let resource = resource(path);
    if resource.is_empty() || handler.starts_with(&resource) {
        handler.to_owned()
    } else {
        format!("{resource}_{handler}")
    }
}

/// (operation, answer status, link name, target operation, target's path parameter).
pub const LINKS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("sync_push", "200", "pull", "sync_pull", None),
    ("sync_push", "200", "devices", "sync_devices", None),
    (
        "households_create",
        "201",
        "get",
        "households_get",
        Some("id"),
    ),
    (
        "households_create",
        "201",
        "update",
        "households_update",
        Some("id"),
    ),
    ("users_create", "201", "get", "users_get", Some("id")),
    ("users_create", "201", "update", "users_update", Some("id")),
    ("regions_create", "201", "get", "regions_get", Some("id")),
    (
        "regions_create",
        "201",
        "update",
        "regions_update",
        Some("id"),
    ),
    (
        "campaigns_create",
        "201",
        "get",
        "campaigns_get",
        Some("id"),
    ),
    (
        "campaigns_create",
        "201",
        "progress",
        "campaigns_progress",
        Some("id"),
    ),
    (
        "uploads_create",
        "201",
        "progress",
        "uploads_progress",
        Some("id"),
    ),
    (
        "uploads_create",
        "201",
        "append",
        "uploads_append",
        Some("id"),
    ),
    (
        "uploads_create",
        "201",
        "cancel",
        "uploads_cancel",
        Some("id"),
    ),
    (
        "devices_register",
        "201",
        "revoke",
        "devices_revoke",
        Some("id"),
    ),
    (
        "access_grants_create",
        "201",
        "revoke",
        "access_grants_revoke",
        Some("id"),
    ),
    ("programs_create", "201", "get", "programs_get", Some("id")),
    (
        "applications_create",
        "201",
        "get",
        "applications_get",
        Some("id"),
    ),
    (
        "applications_create",
        "201",
        "update",
        "applications_update",
        Some("id"),
    ),
    (
        "applications_create",
        "201",
        "submit",
        "applications_submit",
        Some("id"),
    ),
    (
        "applications_revise",
        "201",
        "submit",
        "applications_submit",
        Some("id"),
    ),
    (
        "access_grants_create",
        "201",
        "review",
        "access_grants_review",
        Some("id"),
    ),
];

/// Every operation of the document, with its path.
pub fn operations(doc: &mut Doc) -> impl Iterator<Item = (&String, &mut Operation)> {
    doc.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
            &mut item.head,
            &mut item.options,
        ]
        .into_iter()
        .flatten()
        .map(move |op| (path, op))
    })
}

/// Names every operation uniquely and adds the links.
pub fn name_and_link(doc: &mut Doc) {
    for (path, op) in operations(doc) {
        let handler = op.operation_id.clone().unwrap_or_default();
        op.operation_id = Some(operation_id(path, &handler));
    }
    for (_, op) in operations(doc) {
        let id = op.operation_id.clone().unwrap_or_default();
        for (_, status, name, target, param) in LINKS.iter().filter(|l| l.0 == id) {
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(*status) else {
                continue;
            };
            let mut link = LinkBuilder::new().operation_id(*target);
            if let Some(p) = param {
                link = link.parameter(*p, "$response.body#/id");
            }
            response
                .links
                .insert((*name).to_owned(), RefOr::T(link.build()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_prefixed_by_their_resource() {
        assert_eq!(operation_id("/v1/households", "list"), "households_list");
        assert_eq!(operation_id("/v1/case-files/{id}", "get"), "case_files_get");
        assert_eq!(operation_id("/v1/work-list", "work_list"), "work_list");
        assert_eq!(operation_id("/health", "health"), "health");
        assert_eq!(operation_id("/v1/sync/push", "push"), "sync_push");
    }
}
