//! The demo county's frame: one county with two townships, four villages and a school,
//! a user of every role and two aid programs. Loading it twice changes nothing.

use crate::accounts::password;
use crate::accounts::queries as users;
use crate::accounts::queries::NewUser;
use crate::applications::programs;
use crate::applications::programs::NewProgram;
use crate::applications::rules::ChecklistItem;
use crate::audit::log::Actor;
use crate::domain::region::RegionLevel;
use crate::domain::role::Role;
use crate::infra::db::{Db, DbConn, write_tx};
use crate::infra::error::{Error, Result};
use crate::regions::queries as regions;
use crate::regions::queries::{NewRegion, RegionRow};

/// The password of every demo account. Demo data is for trying bangfu out, never for use.
pub const DEMO_PASSWORD: &str = "bangfu-demo-2026";

/// (parent code, level, code, name, dibao in fen per person per month)
type DemoRegion = (
    Option<&'static str>,
    RegionLevel,
    &'static str,
    &'static str,
    Option<i64>,
);
const REGIONS: &[DemoRegion] = &[
    (None, RegionLevel::County, "530123", "示范县", Some(72_000)),
    (
        Some("530123"),
        RegionLevel::Township,
        "530123101",
        "青山镇",
        None,
    ),
    (
        Some("530123"),
        RegionLevel::Township,
        "530123102",
        "河口乡",
        Some(68_000),
    ),
    (
        Some("530123101"),
        RegionLevel::Village,
        "530123101001",
        "青山村",
        None,
    ),
    (
        Some("530123101"),
        RegionLevel::Village,
        "530123101002",
        "石桥村",
        None,
    ),
    (
        Some("530123102"),
        RegionLevel::Village,
        "530123102001",
        "河口村",
        None,
    ),
    (
        Some("530123102"),
        RegionLevel::Village,
        "530123102002",
        "柳树村",
        None,
    ),
    (
        Some("530123101"),
        RegionLevel::School,
        "2153012301",
        "青山镇中心小学",
        None,
    ),
];

/// (username, display name, role, region code, phone)
const USERS: &[(&str, &str, Role, &str, &str)] = &[
    ("admin", "系统管理员", Role::Admin, "530123", "13800000001"),
    (
        "county_officer",
        "县民政局 张明",
        Role::CountyOfficer,
        "530123",
        "13800000002",
    ),
    (
        "auditor",
        "县纪委监督员 赵敏",
        Role::Auditor,
        "530123",
        "13800000003",
    ),
    (
        "qingshan_officer",
        "青山镇 陈静",
        Role::TownshipOfficer,
        "530123101",
        "13800000004",
    ),
    (
        "hekou_officer",
        "河口乡 刘洋",
        Role::TownshipOfficer,
        "530123102",
        "13800000005",
    ),
    (
        "qingshan_secretary",
        "青山村第一书记 周涛",
        Role::VillageSecretary,
        "530123101001",
        "13800000006",
    ),
    (
        "qingshan_helper",
        "帮扶责任人 李芳",
        Role::Helper,
        "530123101001",
        "13800000007",
    ),
    (
        "hekou_helper",
        "帮扶责任人 王强",
        Role::Helper,
        "530123102001",
        "13800000008",
    ),
    (
        "school_teacher",
        "青山镇中心小学 孙老师",
        Role::Helper,
        "2153012301",
        "13800000009",
    ),
];

fn region(conn: &mut DbConn, code: &str) -> Result<Option<RegionRow>> {
    match regions::find_by_code(conn, code) {
        Ok(r) => Ok(Some(r)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Loads the demo data; returns how many regions and users were added.
pub fn load(db: &Db) -> Result<(usize, usize)> {
    let hash = password::hash(DEMO_PASSWORD)?;
    let actor = Actor::operator();
    write_tx(&mut *db.conn()?, |conn| {
        let mut added = (0, 0);
        for (parent, level, code, name, dibao) in REGIONS {
            if region(conn, code)?.is_some() {
                continue;
            }
            let parent_id = match parent {
                Some(p) => Some(region(conn, p)?.ok_or(Error::NotFound)?.id),
                None => None,
            };
            regions::create(
                conn,
                &actor,
                None,
                NewRegion {
                    parent_id: parent_id.as_deref(),
                    level: *level,
                    code,
                    name,
                    dibao_fen: *dibao,
                },
            )?;
            added.0 += 1;
        }
        for (username, display_name, role, code, phone) in USERS {
            match users::find_by_username(conn, username) {
                Ok(_) => continue,
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
            let r = region(conn, code)?.ok_or(Error::NotFound)?;
            users::create(
                conn,
                &actor,
                None,
                NewUser {
                    username,
                    display_name,
                    password_hash: hash.clone(),
                    role: *role,
                    region_id: &r.id,
                    phone: Some(phone),
                },
            )?;
            added.1 += 1;
        }
        let county = region(conn, "530123")?.ok_or(Error::NotFound)?;
        for p in demo_programs() {
            if programs::find_by_code(conn, p.code)?.is_none() {
                programs::create(conn, &actor, &county.path, p.as_new())?;
            }
        }
        Ok(added)
    })
}

struct DemoProgram {
    code: &'static str,
    name: &'static str,
    description: &'static str,
    category: &'static str,
    aid_kinds: Vec<String>,
    situations: Vec<String>,
    checklist: Vec<ChecklistItem>,
    fast_track: bool,
}

impl DemoProgram {
    fn as_new(&self) -> NewProgram<'_> {
        NewProgram {
            code: self.code,
            name: self.name,
            description: self.description,
            category: self.category,
            aid_kinds: &self.aid_kinds,
            checklist: &self.checklist,
            situations: &self.situations,
            notice_workdays: 5,
            fast_track: self.fast_track,
        }
    }
}

fn item(code: &str, name: &str, required_when: Option<&str>) -> ChecklistItem {
    ChecklistItem {
        code: code.into(),
        name: name.into(),
        required_when: required_when.map(str::to_owned),
        optional: false,
        accepts: vec!["image".into(), "pdf".into()],
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Two programs of the seed documents: difficult-worker aid and accidental-difficulty aid.
fn demo_programs() -> Vec<DemoProgram> {
    vec![
        DemoProgram {
            code: "worker_hardship",
            name: "困难职工帮扶",
            description: "深度、相对困难职工家庭的生活、医疗、子女教育救助",
            category: "any",
            aid_kinds: strings(&["living", "medical", "education"]),
            situations: strings(&["illness", "disability", "student"]),
            checklist: vec![
                item("id_cards", "家庭成员身份证", None),
                item("household_register", "户口簿", None),
                item("income_proof", "家庭收入证明", None),
                item("diagnosis", "医院诊断证明及医疗费票据", Some("illness")),
                item("disability_cert", "残疾证", Some("disability")),
                item("enrolment", "学校在读证明", Some("student")),
            ],
            fast_track: false,
        },
        DemoProgram {
            code: "accidental_aid",
            name: "意外致困救助",
            description: "突发事件、意外事故、重大疾病致困家庭的快速救助",
            category: "accidental",
            aid_kinds: strings(&["temporary", "medical"]),
            situations: strings(&["illness"]),
            checklist: vec![
                item("id_cards", "家庭成员身份证", None),
                item("accident_proof", "事故或疾病证明", None),
                item("expense_receipts", "刚性支出票据", None),
            ],
            fast_track: true,
        },
    ]
}
