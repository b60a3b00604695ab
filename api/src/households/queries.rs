//! The household registry: households, members (ID numbers hashed for lookup and sealed),
//! income and expense items, and assigned helpers. Every read is scoped; every write is
//! audited and takes a feed position, because households travel to devices as reference
//! data.

use std::collections::HashMap;

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::{Grants, Scope, Subject, Via};
use crate::domain::region::RegionLevel;
use crate::domain::role::Role;
use crate::domain::{access, resident_id};
use crate::households::rules::{CheckedMember, ItemInput};
use crate::infra::clock::now;
use crate::infra::db::schema::{
    case_files, household_helpers, household_items, household_members, households, users,
};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::db::{DbConn, feed, new_id};
use crate::infra::error::{Error, Msg, Result};
use crate::infra::sealing::DataKey;
use crate::photos::evidence_rules::Place;
use crate::records::reach;
use crate::regions::queries as regions;
use crate::regions::queries::RegionRow;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: String,
    pub region_id: String,
    pub path: String,
    pub address: String,
    pub phone: Option<String>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub seq: i64,
    /// Where the household lives (WGS 84), if recorded: photos of it are checked against it.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

impl HouseholdRow {
    pub fn location(&self) -> Option<Place> {
        Some(Place {
            lat: self.lat?,
            lng: self.lng?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = household_members)]
pub struct MemberRow {
    pub id: String,
    pub household_id: String,
    pub name: String,
    pub relation: String,
    pub id_hash: String,
    pub id_sealed: String,
    pub id_masked: String,
    pub birth_date: String,
    pub gender: String,
    pub phone: Option<String>,
    pub position: i32,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = household_items)]
pub struct ItemRow {
    pub id: String,
    pub household_id: String,
    pub kind: String,
    pub category: String,
    pub amount_fen: i64,
    pub year: i32,
    pub note: Option<String>,
}

/// A household with everything that belongs to it.
#[derive(Debug, Clone)]
pub struct Household {
    pub row: HouseholdRow,
    pub region_name: String,
    pub members: Vec<MemberRow>,
    pub items: Vec<ItemRow>,
    pub helper_ids: Vec<String>,
}

impl Household {
    /// What the audit log keeps: masked numbers only, never the sealed or plain ones.
    fn audit_view(&self) -> Value {
        json!({
            "region_id": self.row.region_id, "address": self.row.address,
            "phone": self.row.phone, "status": self.row.status,
            "location": self.row.location().map(|p| json!({"lat": p.lat, "lng": p.lng})),
            "members": self.members.iter().map(|m| json!({
                "name": m.name, "relation": m.relation, "id_number": m.id_masked,
                "birth_date": m.birth_date, "gender": m.gender,
            })).collect::<Vec<_>>(),
            "items": self.items.iter().map(|i| json!({
                "category": i.category, "amount_fen": i.amount_fen, "year": i.year,
            })).collect::<Vec<_>>(),
            "helper_ids": self.helper_ids,
        })
    }
}

pub struct NewHousehold<'a> {
    pub region_id: &'a str,
    pub address: &'a str,
    pub phone: Option<&'a str>,
    pub members: &'a [CheckedMember],
    pub items: &'a [ItemInput],
    pub location: Option<Place>,
}

fn village_in_scope(conn: &mut DbConn, scope: &Scope, region_id: &str) -> Result<RegionRow> {
    let region = regions::find(conn, Some(scope), region_id).map_err(|e| match e {
        Error::NotFound => Error::validation(
            "region_id",
            Code::NotFound,
            Msg::fixed(
                "区域不存在或不在管辖范围内。",
                "The region does not exist or is outside your jurisdiction.",
            ),
        ),
        other => other,
    })?;
    if region.level()? != RegionLevel::Village {
        return Err(Error::validation(
            "region_id",
            Code::NotAVillage,
            Msg::fixed(
                "户籍须登记在村（社区）。",
                "A household is registered in a village (or community).",
            ),
        ));
    }
    Ok(region)
}

/// Stores a new household. A person already in the registry is refused, naming the
/// household that holds them (R-FILE-2: no duplicates). Callers register through
/// [`crate::households::service::register_in`], which also looks for likely duplicates.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    key: &DataKey,
    new: NewHousehold<'_>,
) -> Result<Household> {
    let region = village_in_scope(conn, scope, new.region_id)?;
    let hashes: Vec<String> = new
        .members
        .iter()
        .map(|m| key.lookup_hash(&m.id_number))
        .collect();
    // A person already registered: named when the caller may see where; otherwise refused
    // without a word about where (the route refers the match upward).
    let existing: Vec<(String, String)> = household_members::table
        .inner_join(households::table)
        .filter(household_members::id_hash.eq_any(&hashes))
        .select((households::id, households::path))
        .load(conn)?;
    if let Some((other, path)) = existing.first() {
        return Err(if scope.contains(path) {
            already_registered(Some(other))
        } else {
            not_registrable()
        });
    }
    let id = new_id();
    let t = now();
    let row = HouseholdRow {
        path: format!("{}{}/", region.path, id),
        id: id.clone(),
        region_id: region.id.clone(),
        address: new.address.trim().to_owned(),
        phone: new.phone.map(str::to_owned),
        status: "active".into(),
        created_at: t,
        updated_at: t,
        version: 1,
        seq: feed::take(conn, 1)?,
        lat: new.location.map(|p| p.lat),
        lng: new.location.map(|p| p.lng),
    };
    let members = new
        .members
        .iter()
        .zip(hashes)
        .enumerate()
        .map(|(i, (m, hash))| {
            Ok(MemberRow {
                id: new_id(),
                household_id: id.clone(),
                name: m.input.name.trim().to_owned(),
                relation: enum_str(&m.input.relation)?,
                id_hash: hash,
                id_sealed: key.seal(&m.id_number)?,
                id_masked: resident_id::mask(&m.id_number),
                birth_date: m.input.birth_date.to_string(),
                gender: enum_str(&m.input.gender)?,
                phone: m.input.phone.clone(),
                position: i as i32,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let items = new
        .items
        .iter()
        .map(|it| {
            Ok(ItemRow {
                id: new_id(),
                household_id: id.clone(),
                kind: enum_str(&it.category.kind())?,
                category: enum_str(&it.category)?,
                amount_fen: it.amount_fen,
                year: it.year,
                note: it.note.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    diesel::insert_into(households::table)
        .values(&row)
        .execute(conn)?;
    // A concurrent registration of the same person loses on the unique hash.
    crate::infra::db::insert_all!(conn, household_members::table, &members).map_err(|e| {
        match Error::from(e) {
            Error::Conflict { .. } => already_registered(None),
            other => other,
        }
    })?;
    crate::infra::db::insert_all!(conn, household_items::table, &items)?;
    let h = Household {
        row,
        region_name: region.name,
        members,
        items,
        helper_ids: Vec::new(),
    };
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Create,
            entity: "household",
            entity_id: &h.row.id,
            region_path: &h.row.path,
            changes: audit::diff(&Value::Null, &h.audit_view()),
            reason: None,
        },
    )?;
    Ok(h)
}

/// Names the household that already holds the person, when known (a registration racing
/// this one is caught by the unique hash, after which nothing more can be read).
fn already_registered(household_id: Option<&str>) -> Error {
    let detail = match household_id {
        Some(h) => Msg::new(
            format!("该身份证号码已登记在户 {h} 中，一人只能在一户。"),
            format!(
                "This ID number is already registered in household {h}; a person belongs to one household."
            ),
        ),
        None => Msg::fixed(
            "该身份证号码刚刚被另一次登记使用，一人只能在一户。",
            "This ID number was just registered by another request; a person belongs to one household.",
        ),
    };
    Error::Conflict {
        code: Code::PersonAlreadyRegistered,
        detail,
    }
}

/// The answer when the person is registered outside the caller's jurisdiction: nothing
/// about where, or that it is a household at all.
pub fn not_registrable() -> Error {
    Error::Conflict {
        code: Code::PersonNotRegistrable,
        detail: Msg::fixed(
            "该身份证号码无法在本辖区登记，已转上级核查。",
            "This ID number cannot be registered here; the case has been referred upward for checking.",
        ),
    }
}

fn enum_str<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| Error::Internal("enum without a name".into()))
}

/// Adds members, items, helpers and region names to household rows: four queries for any
/// number of households.
fn complete(conn: &mut DbConn, rows: Vec<HouseholdRow>) -> Result<Vec<Household>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut members: HashMap<String, Vec<MemberRow>> = HashMap::new();
    for m in household_members::table
        .filter(household_members::household_id.eq_any(&ids))
        .order((household_members::household_id, household_members::position))
        .select(MemberRow::as_select())
        .load(conn)?
    {
        members.entry(m.household_id.clone()).or_default().push(m);
    }
    let mut items: HashMap<String, Vec<ItemRow>> = HashMap::new();
    for it in household_items::table
        .filter(household_items::household_id.eq_any(&ids))
        .order((household_items::household_id, household_items::id))
        .select(ItemRow::as_select())
        .load(conn)?
    {
        items.entry(it.household_id.clone()).or_default().push(it);
    }
    let mut helpers: HashMap<String, Vec<String>> = HashMap::new();
    for (h, u) in household_helpers::table
        .filter(household_helpers::household_id.eq_any(&ids))
        .order((household_helpers::household_id, household_helpers::user_id))
        .select((household_helpers::household_id, household_helpers::user_id))
        .load::<(String, String)>(conn)?
    {
        helpers.entry(h).or_default().push(u);
    }
    let mut region_ids: Vec<&str> = rows.iter().map(|r| r.region_id.as_str()).collect();
    region_ids.sort_unstable();
    region_ids.dedup();
    let names: HashMap<String, String> = crate::infra::db::schema::regions::table
        .filter(crate::infra::db::schema::regions::id.eq_any(&region_ids))
        .select((
            crate::infra::db::schema::regions::id,
            crate::infra::db::schema::regions::name,
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| Household {
            region_name: names.get(&row.region_id).cloned().unwrap_or_default(),
            members: members.remove(&row.id).unwrap_or_default(),
            items: items.remove(&row.id).unwrap_or_default(),
            helper_ids: helpers.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// One household, if inside the scope (a region, or an assignment).
pub fn find(conn: &mut DbConn, scope: &Scope, id: &str) -> Result<Household> {
    let row: HouseholdRow = households::table
        .find(id)
        .select(HouseholdRow::as_select())
        .first(conn)?;
    if !scope.contains(&row.path) {
        return Err(Error::NotFound);
    }
    complete(conn, vec![row])?.pop().ok_or(Error::NotFound)
}

/// One household for a reader: through their standing scope, or (read-only, masked) a
/// grant naming it.
pub fn find_reading(
    conn: &mut DbConn,
    scope: &Scope,
    grants: &Grants,
    id: &str,
) -> Result<(Household, Via)> {
    let row: HouseholdRow = households::table
        .find(id)
        .select(HouseholdRow::as_select())
        .first(conn)?;
    let via = access::reach(scope, grants, &row.path, &[(Subject::Household, id)])
        .ok_or(Error::NotFound)?;
    let h = complete(conn, vec![row])?.pop().ok_or(Error::NotFound)?;
    Ok((h, via))
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub region_id: Option<String>,
    /// Keyed hash of an ID number: households with that person.
    pub id_hash: Option<String>,
    pub name: Option<String>,
    /// `active` or `exited`.
    pub status: Option<String>,
    /// Households with an active case file of this category (`deep`, `relative`,
    /// `accidental`).
    pub category: Option<String>,
    pub after_id: Option<String>,
}

/// Households inside the scope, by id.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<Household>> {
    let mut q = households::table
        .select(HouseholdRow::as_select())
        .filter(path_in_scope(households::path, scope))
        .order(households::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(r) = &filter.region_id {
        q = q.filter(households::region_id.eq(r.clone()));
    }
    if let Some(a) = &filter.after_id {
        q = q.filter(households::id.gt(a.clone()));
    }
    if let Some(st) = &filter.status {
        q = q.filter(households::status.eq(st.clone()));
    }
    // Member filters go through a plain id list: diesel's multi-backend connection cannot
    // box a subquery.
    let mut wanted: Option<Vec<String>> = None;
    if let Some(h) = &filter.id_hash {
        let ids: Vec<String> = household_members::table
            .filter(household_members::id_hash.eq(h))
            .select(household_members::household_id)
            .load(conn)?;
        wanted = Some(ids);
    }
    if let Some(n) = &filter.name {
        let ids: Vec<String> = household_members::table
            .filter(household_members::name.eq(n.trim()))
            .select(household_members::household_id)
            .distinct()
            .load(conn)?;
        wanted = Some(match wanted {
            Some(prev) => prev.into_iter().filter(|i| ids.contains(i)).collect(),
            None => ids,
        });
    }
    if let Some(cat) = &filter.category {
        let ids: Vec<String> = case_files::table
            .filter(case_files::category.eq(cat.clone()))
            .filter(case_files::status.eq("active"))
            .filter(path_in_scope(case_files::region_path, scope))
            .select(case_files::household_id)
            .distinct()
            .load(conn)?;
        wanted = Some(match wanted {
            Some(prev) => prev.into_iter().filter(|i| ids.contains(i)).collect(),
            None => ids,
        });
    }
    if let Some(ids) = wanted {
        q = q.filter(households::id.eq_any(ids));
    }
    let rows = q.load(conn)?;
    complete(conn, rows)
}

/// The categories of the active case files of these households inside the scope, by
/// household.
pub fn categories(
    conn: &mut DbConn,
    scope: &Scope,
    ids: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String)> = case_files::table
            .filter(case_files::household_id.eq_any(chunk))
            .filter(case_files::status.eq("active"))
            .filter(path_in_scope(case_files::region_path, scope))
            .select((case_files::household_id, case_files::category))
            .load(conn)?;
        for (h, c) in rows {
            let cats = out.entry(h).or_default();
            if !cats.contains(&c) {
                cats.push(c);
            }
        }
    }
    Ok(out)
}

/// The households with these ids, wherever they are (callers check the scope).
pub fn with_ids(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Household>> {
    let rows = households::table
        .filter(households::id.eq_any(ids))
        .select(HouseholdRow::as_select())
        .load(conn)?;
    complete(conn, rows)
}

/// Households inside the scope changed after feed position `after`, in feed order.
pub fn changed_since(
    conn: &mut DbConn,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<Household>> {
    let rows = households::table
        .select(HouseholdRow::as_select())
        .filter(households::seq.gt(after))
        .filter(path_in_scope(households::path, scope))
        .order(households::seq.asc())
        .limit(limit)
        .load(conn)?;
    complete(conn, rows)
}

/// A change to a household's own fields; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct HouseholdChange {
    pub address: Option<String>,
    pub phone: Option<Option<String>>,
    pub location: Option<Option<Place>>,
}

/// Changes a household read at `expected_version` (412 if it moved on since). It moves in
/// the feed, so devices learn of it; a new location has its photos checked again.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    expected_version: i64,
    change: HouseholdChange,
) -> Result<Household> {
    let seq = feed::take(conn, 1)?;
    let before = find(conn, scope, id)?;
    if before.row.version != expected_version {
        return Err(Error::PreconditionFailed);
    }
    let mut row = before.row.clone();
    if let Some(a) = change.address {
        row.address = a.trim().to_owned();
    }
    if let Some(p) = change.phone {
        row.phone = p;
    }
    let moved = change.location.is_some_and(|l| l != before.row.location());
    if let Some(l) = change.location {
        row.lat = l.map(|p| p.lat);
        row.lng = l.map(|p| p.lng);
    }
    row.version += 1;
    row.seq = seq;
    row.updated_at = now();
    let n = diesel::update(
        households::table
            .find(id)
            .filter(households::version.eq(expected_version)),
    )
    .set((
        households::address.eq(&row.address),
        households::phone.eq(&row.phone),
        households::lat.eq(row.lat),
        households::lng.eq(row.lng),
        households::version.eq(row.version),
        households::seq.eq(row.seq),
        households::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(Error::PreconditionFailed);
    }
    let after = Household {
        row,
        ..before.clone()
    };
    if moved {
        crate::photos::evidence::household_moved(conn, id)?;
    }
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "household",
            entity_id: id,
            region_path: &after.row.path,
            changes: audit::diff(&before.audit_view(), &after.audit_view()),
            reason: None,
        },
    )?;
    Ok(after)
}

/// The paths of the households a user is assigned to: part of their scope.
pub fn assigned_paths(conn: &mut DbConn, user_id: &str) -> Result<Vec<String>> {
    Ok(household_helpers::table
        .inner_join(households::table)
        .filter(household_helpers::user_id.eq(user_id))
        .select(households::path)
        .load(conn)?)
}

/// Region id and scope path of each of these households.
pub fn paths(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, (String, String)>> {
    Ok(households::table
        .filter(households::id.eq_any(ids))
        .select((households::id, households::region_id, households::path))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, region, path)| (id, (region, path)))
        .collect())
}

/// Assigns (`assign = true`) or releases a helper, for a manager whose own region's subtree
/// is `jurisdiction`: the household and the helper must both lie in it (an assignment
/// widens the helper's scope, so it is an administrative act). The household moves in the
/// feed, so devices learn its new helpers; the helper's own devices receive the
/// household's records, or are told to drop them (see [`reach`]).
pub fn set_helper(
    conn: &mut DbConn,
    actor: &Actor,
    jurisdiction: &Scope,
    household_id: &str,
    user_id: &str,
    assign: bool,
) -> Result<Household> {
    let before = find(conn, jurisdiction, household_id)?;
    let helper: Option<(String, String)> = users::table
        .inner_join(crate::infra::db::schema::regions::table)
        .filter(users::id.eq(user_id))
        .filter(users::active.eq(true))
        .select((users::role, crate::infra::db::schema::regions::path))
        .first(conn)
        .optional()?;
    let present = before.helper_ids.iter().any(|u| u == user_id);
    let assignable = helper.as_ref().is_some_and(|(role, path)| {
        jurisdiction.contains(path)
            && matches!(
                Role::parse(role),
                Some(Role::Helper | Role::VillageSecretary)
            )
    });
    if assign && !assignable {
        return Err(Error::validation(
            "user_id",
            Code::NotAHelper,
            Msg::fixed(
                "只能指派本辖区在职的帮扶责任人或村书记。",
                "Only an active helper or village secretary of your jurisdiction can be assigned.",
            ),
        ));
    }
    // Releasing works for anyone assigned, active or not; repeating either changes nothing.
    if present == assign {
        return Ok(before);
    }
    let scope_before = reach::sync_scope(conn, user_id)?;
    if assign {
        diesel::insert_into(household_helpers::table)
            .values((
                household_helpers::household_id.eq(household_id),
                household_helpers::user_id.eq(user_id),
                household_helpers::assigned_at.eq(now()),
            ))
            .execute(conn)?;
    } else {
        let since: NaiveDateTime = household_helpers::table
            .find((household_id, user_id))
            .select(household_helpers::assigned_at)
            .first(conn)?;
        diesel::delete(household_helpers::table.find((household_id, user_id))).execute(conn)?;
        // Edits the helper's phones made while assigned are still accepted.
        reach::end_period(
            conn,
            &reach::Period {
                user_id: user_id.to_owned(),
                path: before.row.path.clone(),
                kind: "household".into(),
                started_at: since,
                ended_at: now(),
            },
        )?;
    }
    // The household's records arrive on the helper's devices, or leave them.
    let scope_after = reach::sync_scope(conn, user_id)?;
    reach::scope_changed(conn, user_id, &scope_before, &scope_after)?;
    let seq = feed::take(conn, 1)?;
    diesel::update(households::table.find(household_id))
        .set((
            households::version.eq(households::version + 1),
            households::seq.eq(seq),
            households::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let after = find(conn, jurisdiction, household_id)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "household",
            entity_id: household_id,
            region_path: &after.row.path,
            changes: audit::diff(
                &json!({"helper_ids": before.helper_ids}),
                &json!({"helper_ids": after.helper_ids}),
            ),
            reason: None,
        },
    )?;
    Ok(after)
}
