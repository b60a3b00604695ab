//! The demo county's fixed tables: its villages with their staff and where they lie.

/// The township's central primary school (青山镇中心小学).
pub const SCHOOL: &str = "2153012301";

/// A village of the demo, the staff who work it, and how many households it has.
#[derive(Debug, Clone, Copy)]
pub struct Village {
    pub code: &'static str,
    pub name: &'static str,
    pub households: usize,
    /// The township officer who registers its households.
    pub officer: &'static str,
    /// The helper (帮扶责任人) assigned to its households.
    pub helper: &'static str,
    /// Its village (first) secretary, who reviews its evidence photos, if it has one.
    pub reviewer: Option<&'static str>,
    /// The village centre (WGS 84).
    pub lat: f64,
    pub lng: f64,
}

pub const VILLAGES: &[Village] = &[
    Village {
        code: "530123101001",
        name: "青山村",
        households: 90,
        officer: "qingshan_officer",
        helper: "qingshan_helper",
        reviewer: Some("qingshan_secretary"),
        lat: 25.040,
        lng: 102.710,
    },
    Village {
        code: "530123101002",
        name: "石桥村",
        households: 60,
        officer: "qingshan_officer",
        helper: "qingshan_helper",
        reviewer: None,
        lat: 25.061,
        lng: 102.744,
    },
    Village {
        code: "530123102001",
        name: "河口村",
        households: 75,
        officer: "hekou_officer",
        helper: "hekou_helper",
        reviewer: None,
        lat: 24.981,
        lng: 102.652,
    },
    Village {
        code: "530123102002",
        name: "柳树村",
        households: 55,
        officer: "hekou_officer",
        helper: "hekou_helper",
        reviewer: None,
        lat: 24.956,
        lng: 102.689,
    },
];

/// The helpers who work from phones, with the phone each syncs from.
pub struct Phone {
    pub helper: &'static str,
    /// The app's install id (a UUID), fixed so loading again finds the same device.
    pub id: &'static str,
    pub name: &'static str,
    /// Days since it last synced, and changes waiting in its outbox then.
    pub last_sync_days: i64,
    pub pending: i64,
}

pub const PHONES: &[Phone] = &[
    Phone {
        helper: "qingshan_helper",
        id: "01938000-0000-7000-8000-00000000a001",
        name: "华为 nova 12",
        last_sync_days: 0,
        pending: 0,
    },
    Phone {
        helper: "hekou_helper",
        id: "01938000-0000-7000-8000-00000000a002",
        name: "小米 Redmi Note 13",
        last_sync_days: 9,
        pending: 14,
    },
];

/// The school teacher's and the village secretary's phones: dropout control, home
/// teaching and pairs; the secretary's edits.
pub const TEACHER_PHONE: Phone = Phone {
    helper: "school_teacher",
    id: "01938000-0000-7000-8000-00000000a003",
    name: "荣耀 X50",
    last_sync_days: 2,
    pending: 0,
};
pub const SECRETARY_PHONE: Phone = Phone {
    helper: "qingshan_secretary",
    id: "01938000-0000-7000-8000-00000000a004",
    name: "vivo Y78",
    last_sync_days: 0,
    pending: 0,
};
