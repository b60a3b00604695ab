//! The household registry's use cases: one function each, owning its transaction, taking
//! the caller and typed input, checking it, and answering typed rows or the one error.

use bangfu_sync::Code;

use crate::audit::log::Actor;
use crate::audit::unmask::{self, Found};
use crate::domain::access::Scope;
use crate::domain::caller::Caller;
use crate::domain::validate::Checks;
use crate::households::duplicates::{self, CandidateRow, ReferralRow};
use crate::households::queries::{
    self, Household, HouseholdChange, ListFilter, MemberRow, NewHousehold,
};
use crate::households::rules::{self as household, ItemInput, MemberInput};
use crate::infra::db::{Db, DbConn};
use crate::infra::error::{Error, FieldError, Msg, Result};
use crate::infra::idempotency::{self, Made, Once};
use crate::infra::sealing::DataKey;
use crate::photos::evidence_rules::Place;

/// A household to register, as its registrar gives it.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The village the household lives in.
    pub region_id: String,
    pub address: String,
    pub phone: Option<String>,
    pub members: Vec<MemberInput>,
    pub items: Vec<ItemInput>,
    pub location: Option<Place>,
}

fn check_place(c: &mut Checks, field: &str, p: &Place) {
    c.rule(
        p.lat.is_finite()
            && p.lng.is_finite()
            && (-90.0..=90.0).contains(&p.lat)
            && (-180.0..=180.0).contains(&p.lng),
        field,
        Code::OutOfRange,
        Msg::fixed(
            "位置须为纬度 −90…90、经度 −180…180（WGS 84）。",
            "A location is a latitude within −90…90 and a longitude within −180…180 (WGS 84).",
        ),
    );
}

/// Registers a household (R-FILE-2), every deficiency listed in one answer. A person
/// already registered is refused with 409: naming their household when it lies in the
/// caller's jurisdiction, else without a word about where, the attempt referred to the
/// lowest office holding both (written after the refusal rolled back).
pub async fn register(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    new: Registration,
    once: Once<Household>,
) -> Result<Made<Household>> {
    let mut c = Checks::default();
    c.text("address", &new.address, 2, 200);
    c.phone("phone", new.phone.as_deref());
    if let Some(l) = &new.location {
        check_place(&mut c, "location", l);
    }
    let members = household::check(
        &mut c,
        &new.members,
        &new.items,
        crate::infra::clock::now().date(),
    );
    c.finish()?;
    let (actor, scope, key) = (caller.actor(), caller.scope.clone(), key.clone());
    let attempts: Vec<(String, String, String)> = members
        .iter()
        .map(|m| {
            (
                m.input.name.trim().to_owned(),
                key.lookup_hash(&m.id_number),
                crate::domain::resident_id::mask(&m.id_number),
            )
        })
        .collect();
    let region_id = new.region_id.clone();
    let created = {
        let (actor, scope) = (actor.clone(), scope.clone());
        idempotency::run(db, once, move |conn| {
            register_in(
                conn,
                &actor,
                &scope,
                &key,
                NewHousehold {
                    region_id: &new.region_id,
                    address: &new.address,
                    phone: new.phone.as_deref(),
                    members: &members,
                    items: &new.items,
                    location: new.location,
                },
            )
        })
        .await
    };
    if let Err(Error::Conflict {
        code: Code::PersonNotRegistrable,
        ..
    }) = &created
    {
        db.write(move |c| {
            let village = crate::regions::queries::find(c, Some(&scope), &region_id)?;
            let people: Vec<duplicates::Attempt<'_>> = attempts
                .iter()
                .map(|(name, hash, masked)| duplicates::Attempt {
                    region_id: &village.id,
                    region_path: &village.path,
                    name,
                    id_hash: hash,
                    id_masked: masked,
                })
                .collect();
            duplicates::refer(c, &actor, &people)
        })
        .await?;
    }
    created
}

/// Registers a household (R-FILE-2) and records every registered person who looks like one
/// of its members, in the caller's transaction: either both are written or neither. For use
/// cases that register as one step of theirs (an approved application).
pub fn register_in(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    key: &DataKey,
    new: NewHousehold<'_>,
) -> Result<Household> {
    let household = queries::create(conn, actor, scope, key, new)?;
    duplicates::detect(conn, &household.row, &household.members)?;
    Ok(household)
}

/// What a registry search asks: `id_number` is the full 18-character number, matched
/// exactly by its keyed hash.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub region_id: Option<String>,
    pub id_number: Option<String>,
    pub name: Option<String>,
    /// `active` or `exited`.
    pub status: Option<String>,
    /// Households with an active case file of this category (R-FILE-3).
    pub category: Option<String>,
    pub after_id: Option<String>,
}

/// One household the caller reaches (in scope, or through a grant naming it). With
/// `unmask` (the reason stated), ID and phone numbers are opened: officers only, in their
/// own jurisdiction, the read and its reason audited in the same transaction
/// (`unmask_outside_jurisdiction` through a grant).
pub async fn get(db: &Db, caller: &Caller, id: &str, unmask: Option<String>) -> Result<Household> {
    unmask::read(
        db,
        caller,
        unmask,
        "household",
        PERSONAL,
        reading(caller, id),
    )
    .await
}

/// The fields of a household that hold personal data.
const PERSONAL: &[&str] = &["id_number", "phone"];

/// Finds a household for `caller`: through their scope, or a grant naming it.
fn reading(
    caller: &Caller,
    id: &str,
) -> impl FnOnce(&mut DbConn) -> Result<Found<Household>> + Send + 'static {
    let (scope, grants, id) = (caller.scope.clone(), caller.grants.clone(), id.to_owned());
    move |c| {
        let (h, via) = queries::find_reading(c, &scope, &grants, &id)?;
        Ok(Found {
            via,
            id: h.row.id.clone(),
            region_path: h.row.path.clone(),
            value: h,
        })
    }
}

/// The categories (R-FILE-3) of the active case files of these households, by household,
/// as far as they lie in the caller's scope.
pub async fn categories(
    db: &Db,
    caller: &Caller,
    ids: Vec<String>,
) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let scope = caller.scope.clone();
    db.read(move |c| queries::categories(c, &scope, &ids)).await
}

/// Households inside the caller's scope, by id, `limit` at most.
pub async fn search(
    db: &Db,
    key: &DataKey,
    caller: &Caller,
    q: Search,
    limit: i64,
) -> Result<Vec<Household>> {
    let id_hash = match &q.id_number {
        None => None,
        Some(n) => {
            let n = n.trim().to_ascii_uppercase();
            if n.len() != 18 {
                return Err(Error::Validation(vec![FieldError::new(
                    "id_number",
                    Code::InvalidFormat,
                    Msg::fixed(
                        "请输入完整的 18 位身份证号码。",
                        "Give the full 18-character ID number.",
                    ),
                )]));
            }
            Some(key.lookup_hash(&n))
        }
    };
    let filter = ListFilter {
        region_id: q.region_id,
        id_hash,
        name: q.name,
        status: q.status,
        category: q.category,
        after_id: q.after_id,
    };
    let scope = caller.scope.clone();
    db.read(move |c| queries::list(c, &scope, &filter, limit))
        .await
}

/// Changes a household's address, phone or location, read at `version` (412 if it moved
/// on since); a new location has its photos checked against it again.
pub async fn update(
    db: &Db,
    caller: &Caller,
    id: &str,
    version: i64,
    change: HouseholdChange,
) -> Result<Household> {
    let mut c = Checks::default();
    if let Some(a) = &change.address {
        c.text("address", a, 2, 200);
    }
    c.phone("phone", change.phone.as_ref().and_then(|p| p.as_deref()));
    if let Some(Some(l)) = &change.location {
        check_place(&mut c, "location", l);
    }
    c.finish()?;
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_owned());
    db.write(move |c| queries::update(c, &actor, &scope, &id, version, change))
        .await
}

/// Assigns (or releases) a helper of the caller's jurisdiction to a household in it
/// (R-VISIT-1); repeating it changes nothing.
pub async fn set_helper(
    db: &Db,
    caller: &Caller,
    household_id: &str,
    user_id: &str,
    assign: bool,
) -> Result<Household> {
    let (actor, scope) = (caller.actor(), caller.jurisdiction());
    let (household_id, user_id) = (household_id.to_owned(), user_id.to_owned());
    db.write(move |c| queries::set_helper(c, &actor, &scope, &household_id, &user_id, assign))
        .await
}

/// Likely duplicate people with both households in the caller's scope, with both records.
pub async fn candidates(
    db: &Db,
    caller: &Caller,
    status: Option<String>,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<(CandidateRow, MemberRow, MemberRow)>> {
    let status = status.unwrap_or_else(|| "open".into());
    let scope = caller.scope.clone();
    db.read(move |c| {
        let rows = duplicates::list(c, &scope, Some(&status), after_id, limit)?;
        duplicates::with_members(c, rows)
    })
    .await
}

/// How a likely duplicate is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Two different people.
    Distinct,
    /// The same person; `keep_a`: the earlier record stays.
    Merge { keep_a: bool },
}

impl Settle {
    /// A decision as asked: a merge names the record kept, `a` or `b`.
    pub fn of(merge: bool, keep: Option<&str>) -> Result<Settle> {
        match (merge, keep) {
            (false, _) => Ok(Settle::Distinct),
            (true, Some("a")) => Ok(Settle::Merge { keep_a: true }),
            (true, Some("b")) => Ok(Settle::Merge { keep_a: false }),
            (true, _) => Err(Error::validation(
                "keep",
                Code::Required,
                Msg::fixed(
                    "合并须指明保留 a 或 b。",
                    "A merge names the record kept: a or b.",
                ),
            )),
        }
    }
}

/// Settles a likely duplicate (audited); a merge removes one record.
pub async fn decide_candidate(
    db: &Db,
    caller: &Caller,
    id: &str,
    settle: Settle,
) -> Result<CandidateRow> {
    let (merge, keep_a) = match settle {
        Settle::Distinct => (false, true),
        Settle::Merge { keep_a } => (true, keep_a),
    };
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_owned());
    db.write(move |c| duplicates::decide(c, &actor, &scope, &id, merge, keep_a))
        .await
}

/// Registrations refused because the person is registered elsewhere, put to the offices
/// in the caller's scope. `status`: `open` (default) or `settled`.
pub async fn referrals(
    db: &Db,
    caller: &Caller,
    status: Option<&str>,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<ReferralRow>> {
    let status = match status {
        None | Some("open") => "open",
        Some("settled") => "settled",
        Some(_) => {
            return Err(Error::validation(
                "status",
                Code::InvalidValue,
                Msg::fixed("status 为 open 或 settled。", "status is open or settled."),
            ));
        }
    };
    let scope = caller.scope.clone();
    db.read(move |c| duplicates::referrals(c, &scope, status, after_id, limit))
        .await
}

/// Settles a referral with what was found and done (2 to 500 characters; audited).
pub async fn settle_referral(
    db: &Db,
    caller: &Caller,
    id: &str,
    note: &str,
) -> Result<ReferralRow> {
    let mut c = Checks::default();
    c.text("note", note, 2, 500);
    c.finish()?;
    let note = note.trim().to_owned();
    let (actor, scope, id) = (caller.actor(), caller.scope.clone(), id.to_owned());
    db.write(move |c| duplicates::settle_referral(c, &actor, &scope, &id, &note))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_names_the_record_kept() {
        assert_eq!(Settle::of(false, None).ok(), Some(Settle::Distinct));
        assert_eq!(
            Settle::of(true, Some("b")).ok(),
            Some(Settle::Merge { keep_a: false })
        );
        for keep in [None, Some("c")] {
            let Err(Error::Validation(errors)) = Settle::of(true, keep) else {
                panic!("a merge without a: or b: is refused");
            };
            assert_eq!(errors[0].field, "keep");
        }
    }
}
