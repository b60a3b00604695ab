//! 人员账号: the staff accounts of the caller's jurisdiction, filtered by role, region and
//! whether they may sign in, with phone numbers masked as `GET /v1/users` masks them; an
//! account's page with its phones; and, for those who manage accounts, creating one (a role
//! the caller may give, a region of their jurisdiction, a password the rules accept) and
//! disabling or enabling one. The same use cases as `/v1/users` and the device list of
//! `/v1/devices`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use bangfu_sync::Code;
use serde::Deserialize;

use crate::accounts::http::{UserOut, out};
use crate::accounts::queries::ListFilter;
use crate::accounts::service::{self, AccountChange, NewAccount};
use crate::auth::caller::perm;
use crate::console::choices::{self, RegionChoice};
use crate::console::format::date_time;
use crate::console::layout::role_name;
use crate::console::respond::{html, see_other};
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, Posted, Signed, errors};
use crate::devices::queries::DeviceRow;
use crate::devices::service as devices;
use crate::domain::role::{Permission, Role};
use crate::infra::error::{Error, Lang};
use crate::infra::http::utc;
use crate::infra::idempotency::{Made, Once, answer};
use crate::state::AppState;

/// Accounts per page of the list.
const PER_PAGE: i64 = 30;
/// Devices shown on an account's page (an account has at most 10 active ones).
const DEVICES_SHOWN: i64 = 50;

#[derive(Debug, Default, Clone, Deserialize)]
struct ListQuery {
    #[serde(default)]
    role: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    status: String,
    after: Option<String>,
}

impl ListQuery {
    /// The query string of this list, for the next page.
    fn with_after(&self, after: &str) -> String {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("role", &self.role),
            ("region", &self.region),
            ("status", &self.status),
        ] {
            if !v.is_empty() {
                qs.append_pair(k, v);
            }
        }
        qs.append_pair("after", after);
        format!("/users?{}", qs.finish())
    }

    fn filtered(&self) -> bool {
        !(self.role.is_empty() && self.region.is_empty() && self.status.is_empty())
    }
}

/// One line of the list.
struct Line {
    id: String,
    name: String,
    username: String,
    role: &'static str,
    region: String,
    phone: String,
    active: bool,
}

fn line(u: UserOut) -> Line {
    Line {
        name: u.display_name,
        username: u.username,
        role: role_name(u.role),
        region: u.region_name,
        phone: u.phone.unwrap_or_else(|| "未登记".to_owned()),
        active: u.active,
        id: u.id,
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct ListPage {
    layout: Layout,
    q: ListQuery,
    roles: Vec<(&'static str, &'static str)>,
    regions: Vec<RegionChoice>,
    lines: Vec<Line>,
    next: Option<String>,
    may_create: bool,
}

async fn list(
    state: web::Data<AppState>,
    page: Page<perm::ReadUsers>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let q = q.into_inner();
    let caller = &page.caller;
    let filter = ListFilter {
        role: Role::parse(&q.role),
        region_id: Some(q.region.trim().to_owned()).filter(|r| !r.is_empty()),
        active: match q.status.as_str() {
            "active" => Some(true),
            "disabled" => Some(false),
            _ => None,
        },
        after_id: q.after.clone(),
    };
    let mut rows = service::list(&state.db, caller, filter, PER_PAGE + 1).await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|u| out(u, caller, false).map(line))
        .collect::<Result<_, Error>>()?;
    let next = more
        .then(|| lines.last().map(|l| q.with_after(&l.id)))
        .flatten();
    let body = ListPage {
        layout: Layout::new(&state, &page, "人员账号", "/users").await,
        roles: Role::ALL
            .into_iter()
            .map(|r| (r.as_str(), role_name(r)))
            .collect(),
        regions: choices::regions(&state, caller).await?,
        lines,
        next,
        may_create: caller.role.has(Permission::ManageUsers),
        q,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

/// One phone of an account.
struct DeviceLine {
    name: String,
    platform: String,
    app: String,
    registered: String,
    last_seen: String,
    revoked: Option<String>,
}

fn device_line(d: DeviceRow) -> DeviceLine {
    DeviceLine {
        platform: match d.platform.as_str() {
            "android" => "安卓".to_owned(),
            "ios" => "苹果".to_owned(),
            "wechat_mini_program" => "微信小程序".to_owned(),
            "web" => "网页".to_owned(),
            other => other.to_owned(),
        },
        app: d.app_version.unwrap_or_else(|| "未报告".to_owned()),
        registered: date_time(utc(d.created_at)),
        last_seen: d
            .last_seen_at
            .map(|t| date_time(utc(t)))
            .unwrap_or_else(|| "从未".to_owned()),
        revoked: d.revoked_at.map(|t| date_time(utc(t))),
        name: d.name,
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    user: UserOut,
    role: &'static str,
    created: String,
    updated: String,
    /// The account's phones, for callers who manage devices.
    devices: Option<Vec<DeviceLine>>,
    /// Whether the caller may disable or enable this account.
    may_switch: bool,
    done: Option<&'static str>,
    problem: Option<(String, String)>,
}

async fn user_page(
    state: &AppState,
    s: &Signed,
    id: &str,
    status: StatusCode,
    done: Option<&'static str>,
    problem: Option<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let caller = &s.caller;
    let account = service::get(&state.db, caller, id, None).await?;
    let may_switch = service::may_change(caller, &account);
    let user = out(account, caller, false)?;
    let devices = if caller.role.has(Permission::ManageDevices) {
        let rows = devices::of_user(&state.db, caller, &user.id, DEVICES_SHOWN).await?;
        Some(rows.into_iter().map(device_line).collect())
    } else {
        None
    };
    let body = UserPage {
        layout: Layout::new(state, s, "人员账号", "/users").await,
        role: role_name(user.role),
        created: date_time(user.created_at),
        updated: date_time(user.updated_at),
        devices,
        may_switch,
        done,
        problem,
        user,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    state: web::Data<AppState>,
    page: Page<perm::ReadUsers>,
    id: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let done = match q.done.as_deref() {
        Some("disabled") => Some("账号已停用，此人在各设备上的登录都已结束。"),
        Some("enabled") => Some("账号已恢复使用，此人可以重新登录。"),
        Some("created") => Some("账号已创建。请把用户名和初始密码当面或通过安全渠道交给本人。"),
        _ => None,
    };
    user_page(&state, &page, &id, StatusCode::OK, done, None).await
}

#[derive(Debug, Deserialize)]
struct SwitchForm {
    /// The account's version when the page was read (the JSON route's `If-Match`).
    version: i64,
    /// `true` to enable, `false` to disable, as the JSON route's `active`.
    active: bool,
}

async fn switch(
    state: web::Data<AppState>,
    posted: Posted<perm::ManageUsers, SwitchForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let f = &posted.form;
    let change = AccountChange {
        active: Some(f.active),
        ..AccountChange::default()
    };
    match service::update(&state.db, &posted.caller, &id, f.version, change).await {
        Ok(_) => {
            let done = if f.active { "enabled" } else { "disabled" };
            Ok(see_other(&format!("/users/{id}?done={done}")))
        }
        Err(e) => {
            let shown = errors::in_form(e, &[])?;
            user_page(&state, &posted, &id, shown.status, None, shown.problem).await
        }
    }
}

/// The new-account form as typed (the password is never sent back).
#[derive(Debug, Default, Deserialize)]
struct NewForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    phone: String,
}

/// The fields of the form, as the service names them.
const NEW_FIELDS: [&str; 6] = [
    "username",
    "display_name",
    "password",
    "role",
    "region_id",
    "phone",
];

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewPage {
    layout: Layout,
    form: NewForm,
    roles: Vec<(&'static str, &'static str)>,
    regions: Vec<RegionChoice>,
    errors: std::collections::HashMap<String, String>,
    problem: Option<(String, String)>,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

async fn new_page(
    state: &AppState,
    s: &Signed,
    form: NewForm,
    status: StatusCode,
    errors: std::collections::HashMap<String, String>,
    problem: Option<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let role = s.caller.role;
    let body = NewPage {
        layout: Layout::new(state, s, "新建账号", "/users").await,
        roles: Role::ALL
            .into_iter()
            .filter(|r| role.may_assign(*r))
            .map(|r| (r.as_str(), role_name(r)))
            .collect(),
        regions: choices::regions(state, &s.caller).await?,
        form: NewForm {
            password: String::new(),
            ..form
        },
        errors,
        problem,
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(status, body))
}

async fn new_form(
    state: web::Data<AppState>,
    page: Page<perm::ManageUsers>,
) -> Result<HttpResponse, PageError> {
    let form = NewForm {
        key: uuid::Uuid::now_v7().to_string(),
        ..NewForm::default()
    };
    new_page(
        &state,
        &page,
        form,
        StatusCode::OK,
        Default::default(),
        None,
    )
    .await
}

async fn create(
    state: web::Data<AppState>,
    posted: Posted<perm::ManageUsers, NewForm>,
) -> Result<HttpResponse, PageError> {
    let f = posted.form;
    let page = posted.page;
    let Some(role) = Role::parse(&f.role) else {
        let errors = [("role".to_owned(), "请选择角色。".to_owned())].into();
        return new_page(
            &state,
            &page,
            f,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            None,
        )
        .await;
    };
    let phone = Some(f.phone.trim().to_owned()).filter(|p| !p.is_empty());
    // As the JSON route: the request's fingerprint keeps no password.
    let fingerprint = serde_json::json!({
        "username": f.username, "display_name": f.display_name, "role": role,
        "region_id": f.region_id, "phone": phone,
    });
    let render = |u: &crate::accounts::queries::UserWithRegion| {
        answer(StatusCode::CREATED, &serde_json::json!({"id": u.user.id}))
    };
    let once = Once::of_form(
        &f.key,
        &page.caller.user_id,
        "POST /users",
        &fingerprint,
        render,
    )?;
    let new = NewAccount {
        username: f.username.trim().to_owned(),
        display_name: f.display_name.clone(),
        password: f.password.clone(),
        role,
        region_id: f.region_id.clone(),
        phone,
    };
    let id = match service::create(&state.db, &page.caller, new, once).await {
        Ok(Made::New(u)) => u.user.id,
        Ok(Made::Replayed(r)) => r.body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Internal("a replayed answer without its id".into()))?,
        // The refusals that concern one field are shown beside it.
        Err(Error::Conflict {
            code: Code::UsernameTaken,
            detail,
        }) => {
            let errors = [("username".to_owned(), detail.get(Lang::Zh).to_owned())].into();
            return new_page(&state, &page, f, StatusCode::CONFLICT, errors, None).await;
        }
        Err(Error::Forbidden {
            code: Code::RoleNotAssignable,
            detail,
        }) => {
            let errors = [("role".to_owned(), detail.get(Lang::Zh).to_owned())].into();
            return new_page(&state, &page, f, StatusCode::FORBIDDEN, errors, None).await;
        }
        Err(e) => {
            let shown = errors::in_form(e, &NEW_FIELDS)?;
            return new_page(&state, &page, f, shown.status, shown.at, shown.problem).await;
        }
    };
    Ok(see_other(&format!("/users/{id}?done=created")))
}

pub fn configure(r: &mut impl Register) {
    r.get("/users", list)
        .post("/users", create)
        .get("/users/new", new_form)
        .get("/users/{id}", show)
        .post("/users/{id}/active", switch);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filters() {
        let q = ListQuery {
            role: "helper".into(),
            status: "disabled".into(),
            ..ListQuery::default()
        };
        assert_eq!(
            q.with_after("u1"),
            "/users?role=helper&status=disabled&after=u1"
        );
        assert!(q.filtered() && !ListQuery::default().filtered());
    }
}
