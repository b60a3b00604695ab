//! The frame of every signed-in page: the navigation by task, shown per role (only what the
//! role may do), the region breadcrumb, who is signed in, and the form token.

use crate::console::respond::CSRF_HEADER;
use crate::console::session::Signed;
use crate::domain::role::{Permission, Role};
use crate::regions::names::{self, Named};
use crate::state::AppState;

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// The tasks, in the order offices think of them, with what each needs. A task joins this
/// list when its pages exist.
const TASKS: &[(&str, &str, Permission)] = &[
    ("今日工作", "/", Permission::ReadFieldWork),
    ("申请审核", "/applications", Permission::ReadApplications),
    ("户档", "/households", Permission::ReadHouseholds),
    ("户情更正", "/corrections", Permission::DecideCorrections),
    ("控辍保学", "/dropout", Permission::ReadFieldWork),
    ("走访活动", "/campaigns", Permission::ReadFieldWork),
    ("照片审核", "/photo-reviews", Permission::ReadPhotoReviews),
    ("同步管理", "/sync/conflicts", Permission::SuperviseSync),
    ("人员账号", "/users", Permission::ReadUsers),
    ("督导统计", "/supervision", Permission::ReadMetrics),
    ("台账下载", "/ledgers", Permission::ReadLedgers),
    ("工作日历", "/calendar", Permission::ReadRegions),
    ("审计日志", "/audit", Permission::ReadAudit),
];

/// What every page's frame shows.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    /// `hx-headers`: htmx sends the form token with every request it makes.
    pub hx_headers: String,
    pub nav: Vec<NavItem>,
    pub crumbs: Vec<Named>,
    pub css: &'static str,
    pub js: &'static str,
}

/// A role as offices name it.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Helper => "帮扶责任人",
        Role::VillageSecretary => "村第一书记",
        Role::TownshipOfficer => "乡镇干部",
        Role::CountyOfficer => "县级干部",
        Role::Auditor => "审计人员",
        Role::Admin => "系统管理员",
    }
}

impl Layout {
    /// The frame for `title`, with `task` (a navigation href) marked as the current one.
    pub async fn new(state: &AppState, s: &Signed, title: &str, task: &str) -> Layout {
        let role = s.caller.role;
        // A breadcrumb that cannot be read is left out rather than failing the page.
        let crumbs = names::lineage(&state.db, &s.caller)
            .await
            .unwrap_or_default();
        Layout {
            title: title.to_owned(),
            user: s.caller.display_name.clone(),
            role: role_name(role),
            hx_headers: serde_json::Value::Object(
                [(CSRF_HEADER.to_owned(), s.csrf.clone().into())]
                    .into_iter()
                    .collect(),
            )
            .to_string(),
            csrf: s.csrf.clone(),
            nav: TASKS
                .iter()
                .filter(|(_, _, p)| role.has(*p))
                .map(|(label, href, _)| NavItem {
                    label,
                    href,
                    current: *href == task,
                })
                .collect(),
            crumbs,
            css: &crate::console::assets::CSS.url,
            js: &crate::console::assets::HTMX.url,
        }
    }
}
