//! What a form's lists offer: the regions of the caller's jurisdiction, in tree order and
//! named as offices name them. The same use case as `GET /v1/regions`.

use crate::console::PageError;
use crate::domain::caller::Caller;
use crate::domain::region::RegionLevel;
use crate::regions::queries::ListFilter;
use crate::regions::service as regions;
use crate::state::AppState;

/// The most regions a list offers (a county has a few hundred villages at most).
const MOST: i64 = 1000;

/// A region as a form's list offers it.
#[derive(Debug, Clone)]
pub struct RegionChoice {
    pub id: String,
    /// `青山村（村）`
    pub label: String,
}

/// A level of the region tree in the office's words.
pub fn level_words(l: RegionLevel) -> &'static str {
    match l {
        RegionLevel::Province => "省",
        RegionLevel::City => "市",
        RegionLevel::County => "县",
        RegionLevel::Township => "乡镇",
        RegionLevel::Village => "村",
        RegionLevel::School => "学校",
    }
}

/// The regions of the caller's jurisdiction, in tree order.
pub async fn regions(state: &AppState, caller: &Caller) -> Result<Vec<RegionChoice>, PageError> {
    let rows = regions::list(&state.db, caller, ListFilter::default(), MOST).await?;
    Ok(rows
        .into_iter()
        .map(|v| RegionChoice {
            label: match v.row.level() {
                Ok(l) => format!("{}（{}）", v.row.name, level_words(l)),
                Err(_) => v.row.name.clone(),
            },
            id: v.row.id,
        })
        .collect())
}
