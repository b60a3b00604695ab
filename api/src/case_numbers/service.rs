//! Case number blocks' use cases: one function each, owning its transaction, taking the
//! caller and typed input, and answering typed rows or the error.

use bangfu_sync::Code;

use crate::case_numbers::blocks::{self, BlockRow};
use crate::case_numbers::rules::Series;
use crate::deadlines::places::Places;
use crate::domain::caller::Caller;
use crate::infra::db::Db;
use crate::infra::error::{Error, Msg, Result};
use crate::infra::idempotency::{self, Made, Once};

fn device_required() -> Error {
    Error::Unprocessable {
        code: Code::DeviceRequired,
        detail: Msg::fixed(
            "编号段属于已登记的设备：请在设备上登录后预留。",
            "Number blocks belong to a registered device: sign in on it to reserve one.",
        ),
    }
}

/// The registered device the caller signed in on: blocks belong to one.
fn device_of(caller: &Caller) -> Result<String> {
    caller.device_id.clone().ok_or_else(device_required)
}

/// A block to reserve, for the device the caller signed in on.
#[derive(Debug, Clone)]
pub struct Reservation {
    device: String,
    pub series: Series,
    /// How many numbers, 1 to 500.
    pub size: i64,
}

impl Reservation {
    /// A reservation by the caller, refused unless they signed in on a registered device
    /// (checked before anything else about the request).
    pub fn new(caller: &Caller, series: Series, size: i64) -> Result<Reservation> {
        Ok(Reservation {
            device: device_of(caller)?,
            series,
            size,
        })
    }
}

/// Reserves a block of case numbers for the caller's device from its county's series of
/// this year (audited); blocks never overlap. A region in no county cannot number cases.
pub async fn reserve(
    db: &Db,
    caller: &Caller,
    r: Reservation,
    once: Once<BlockRow>,
) -> Result<Made<BlockRow>> {
    let (actor, user, path) = (
        caller.actor(),
        caller.user_id.clone(),
        caller.region_path.clone(),
    );
    idempotency::run(db, once, move |c| {
        let places = Places::load(c, [path.as_str()], &[])?;
        let county = places.county_code(&path).ok_or(Error::Unprocessable {
            code: Code::NoCounty,
            detail: Msg::fixed(
                "所在区域不属于任何县，无法编号。",
                "Your region lies in no county: cases cannot be numbered.",
            ),
        })?;
        blocks::reserve(
            c, &actor, &r.device, &user, &county, &path, r.series, r.size,
        )
    })
    .await
}

/// The blocks the caller's device holds, newest first.
pub async fn blocks(db: &Db, caller: &Caller) -> Result<Vec<BlockRow>> {
    let device = device_of(caller)?;
    db.read(move |c| blocks::blocks_of(c, &device)).await
}
