//! The prefecture's frame: its regions, its staff's accounts and the field workers' phones,
//! with the columns the regions' and accounts' use cases fill.

use bangfu::domain::username;

use crate::prefecture::copy::{Copy, F};
use crate::prefecture::plan::{self, Plan, Region};

/// Rows written per table.
#[derive(Debug, Default)]
pub struct Counts {
    pub regions: usize,
    pub users: usize,
    pub devices: usize,
}

pub fn write(plan: &Plan) -> Counts {
    let mut counts = Counts::default();
    let mut regions = Copy::start(
        &plan.url,
        "regions",
        "id, parent_id, level, code, name, path, dibao_fen, created_at, updated_at, version, seq",
    );
    let all = std::iter::once(&plan.city)
        .chain(&plan.counties)
        .chain(&plan.townships)
        .chain(&plan.schools)
        .chain(&plan.villages);
    for r in all {
        // Counties set the minimum living standard.
        let dibao = (r.level == "county").then_some(plan::DIBAO_FEN);
        regions.row(&[
            F::T(&r.id),
            r.parent.as_deref().map_or(F::N, F::T),
            F::T(r.level),
            F::T(&r.code),
            F::T(&r.name),
            F::T(&r.path),
            dibao.map_or(F::N, F::I),
            F::Ts(plan.start),
            F::Ts(plan.start),
            F::I(1),
            F::I(0),
        ]);
    }
    counts.regions = regions.finish();

    let hash = bangfu::accounts::password::hash(bangfu::demo::DEMO_PASSWORD).expect("hash");
    let mut users = Copy::start(
        &plan.url,
        "users",
        "id, username, display_name, password_hash, role, region_id, phone, active, created_at, updated_at, version, username_key",
    );
    let mut user = |id: &str, name: &str, display: &str, role: &str, region: &Region| {
        users.row(&[
            F::T(id),
            F::T(name),
            F::T(display),
            F::T(&hash),
            F::T(role),
            F::T(&region.id),
            F::N,
            F::B(true),
            F::Ts(plan.start),
            F::Ts(plan.start),
            F::I(1),
            F::T(&username::key(name)),
        ]);
    };
    user(
        &plan.city_auditor_id(),
        plan::CITY_AUDITOR,
        "市纪委监督员",
        "auditor",
        &plan.city,
    );
    for (c, r) in plan.counties.iter().enumerate() {
        let display = format!("{}民政局", r.name);
        user(
            &plan.county_officer_id(c),
            &Plan::county_officer_username(c),
            &display,
            "county_officer",
            r,
        );
        let display = format!("{}纪委监督员", r.name);
        user(
            &plan.county_auditor_id(c),
            &Plan::county_auditor_username(c),
            &display,
            "auditor",
            r,
        );
    }
    for (t, r) in plan.townships.iter().enumerate() {
        let display = format!("{}民政办", r.name);
        user(
            &plan.township_officer_id(t),
            &Plan::township_officer_username(t),
            &display,
            "township_officer",
            r,
        );
    }
    for (s, r) in plan.schools.iter().enumerate() {
        let display = format!("{}控辍保学专干", r.name);
        user(
            &plan.teacher_id(s),
            &Plan::teacher_username(s),
            &display,
            "helper",
            r,
        );
    }
    for (v, r) in plan.villages.iter().enumerate() {
        let display = format!("{}第一书记", r.name);
        user(
            &plan.secretary_id(v),
            &Plan::secretary_username(v),
            &display,
            "village_secretary",
            r,
        );
    }
    for i in 0..plan.helpers() {
        let r = &plan.villages[plan.village_of_helper(i)];
        let display = format!("{}帮扶责任人{}", r.name, i % plan.helpers_per_village() + 1);
        user(
            &plan.helper_id(i),
            &Plan::helper_username(i),
            &display,
            "helper",
            r,
        );
    }
    counts.users = users.finish();

    let mut devices = Copy::start(
        &plan.url,
        "devices",
        "id, user_id, name, platform, app_version, created_at, last_seen_at, revoked_at",
    );
    let phones = (0..plan.helpers())
        .map(|i| (plan.device_of_helper(i), plan.helper_id(i)))
        .chain((0..plan.schools.len()).map(|s| (plan.device_of_teacher(s), plan.teacher_id(s))));
    for (device, user) in phones {
        devices.row(&[
            F::T(&device),
            F::T(&user),
            F::T("华为 nova 12"),
            F::T("android"),
            F::T("1.4.0"),
            F::Ts(plan.start),
            F::Ts(plan.now),
            F::N,
        ]);
    }
    counts.devices = devices.finish();
    counts
}
