//! Likely duplicates in the registry. Exact ID numbers cannot repeat (a unique hash); these
//! are the people that match otherwise: same name and birth date, same name and address,
//! or same phone. Each pair is kept once for an officer to mark distinct or merge; a pair
//! is shown only to those whose jurisdiction holds both of its households.
//!
//! A registration refused because the person is registered outside the registering
//! office's jurisdiction becomes a referral to the lowest office holding both.

use std::collections::BTreeMap;

use bangfu_sync::Code;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::log as audit;
use crate::audit::log::{Action, Actor, Event};
use crate::domain::access::Scope;
use crate::households::queries::{HouseholdRow, MemberRow};
use crate::infra::clock::now;
use crate::infra::db::schema::{
    duplicate_candidates, household_members, households, registration_referrals,
};
use crate::infra::db::scoped::path_in_scope;
use crate::infra::db::{DbConn, insert_all, new_id};
use crate::infra::error::{Error, Msg, Result};

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = duplicate_candidates)]
pub struct CandidateRow {
    pub id: String,
    pub member_a: String,
    pub member_b: String,
    pub household_a: String,
    pub household_b: String,
    pub path_a: String,
    pub path_b: String,
    pub reasons: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// The lookups `detect` makes, each answered by an index at any size of the registry
/// (`tests/tests/e2e/households.rs` explains them on PostgreSQL and fails on a sequential
/// scan): members and their households, outside the new household `other_than`.
pub mod lookups {
    use diesel::dsl::auto_type;
    use diesel::prelude::*;

    use crate::infra::db::schema::{household_members, households};

    /// Members carrying one of the names and one of the birth dates, by the
    /// `(name, birth_date)` index; which name goes with which date is checked by the caller
    /// (a household's few names by its few dates).
    #[auto_type]
    pub fn name_birth_date<'a>(
        names: &'a [&'a str],
        dates: &'a [&'a str],
        other_than: &'a str,
    ) -> _ {
        household_members::table
            .inner_join(households::table)
            .filter(household_members::name.eq_any(names))
            .filter(household_members::birth_date.eq_any(dates))
            .filter(households::id.ne(other_than))
    }

    /// An address as duplicates compare it, in SQL: without ASCII, ideographic (U+3000)
    /// or no-break (U+00A0) spaces. The index `households_address_key` is on this very
    /// expression; [`super::address_key`] is the same in Rust.
    pub const ADDRESS_KEY_SQL: &str =
        "replace(replace(replace(households.address, ' ', ''), '\u{3000}', ''), '\u{a0}', '')";

    /// The condition "the household's address key is `key`".
    pub type AddressIs<'a> = diesel::expression::UncheckedBind<
        diesel::expression::SqlLiteral<diesel::sql_types::Bool>,
        diesel::dsl::AsExprOf<&'a str, diesel::sql_types::Text>,
    >;

    pub fn address_is(key: &str) -> AddressIs<'_> {
        diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("{ADDRESS_KEY_SQL} = "))
            .bind::<diesel::sql_types::Text, _>(key)
    }

    /// Members carrying one of the names in households of `region_id` (a village) at the
    /// address whose key is `key`: the `(region_id, address key)` index finds the
    /// households at that address, so the lookup reads them and not the whole village.
    #[auto_type]
    pub fn name_address<'a>(
        names: &'a [&'a str],
        region_id: &'a str,
        key: &'a str,
        other_than: &'a str,
    ) -> _ {
        let at_address: AddressIs<'a> = address_is(key);
        household_members::table
            .inner_join(households::table)
            .filter(household_members::name.eq_any(names))
            .filter(households::region_id.eq(region_id))
            .filter(at_address)
            .filter(households::id.ne(other_than))
    }

    /// Members whose own phone is one of the phones, by `household_members (phone)`.
    #[auto_type]
    pub fn member_phone<'a>(phones: &'a [&'a str], other_than: &'a str) -> _ {
        household_members::table
            .inner_join(households::table)
            .filter(household_members::phone.eq_any(phones))
            .filter(households::id.ne(other_than))
    }

    /// Members of households whose phone is one of the phones, by `households (phone)`.
    #[auto_type]
    pub fn household_phone<'a>(phones: &'a [&'a str], other_than: &'a str) -> _ {
        household_members::table
            .inner_join(households::table)
            .filter(households::phone.eq_any(phones))
            .filter(households::id.ne(other_than))
    }
}

/// Finds registered people who look like the new household's members and records each
/// pair once. Four indexed lookups for the whole household: none reads more than the
/// people sharing a name and birth date, a name and an address, or a phone.
pub fn detect(conn: &mut DbConn, new: &HouseholdRow, members: &[MemberRow]) -> Result<usize> {
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let dates: Vec<&str> = members.iter().map(|m| m.birth_date.as_str()).collect();
    let mut phones: Vec<&str> = members.iter().filter_map(|m| m.phone.as_deref()).collect();
    phones.extend(new.phone.as_deref());
    // (existing member, its household) for each match, with the reasons.
    let mut found: BTreeMap<(String, String), (String, String, Vec<&'static str>)> =
        BTreeMap::new();
    let mut note = |new_member: &str, m: &MemberRow, h: &HouseholdRow, reason: &'static str| {
        let e = found
            .entry((new_member.to_owned(), m.id.clone()))
            .or_insert_with(|| (h.id.clone(), h.path.clone(), Vec::new()));
        if !e.2.contains(&reason) {
            e.2.push(reason);
        }
    };
    let same_birth: Vec<(MemberRow, HouseholdRow)> =
        lookups::name_birth_date(&names, &dates, &new.id)
            .select((MemberRow::as_select(), HouseholdRow::as_select()))
            .load(conn)?;
    for (m, h) in &same_birth {
        for n in members
            .iter()
            .filter(|n| n.name == m.name && n.birth_date == m.birth_date)
        {
            note(&n.id, m, h, "name_birth_date");
        }
    }
    let key = address_key(&new.address);
    let same_address: Vec<(MemberRow, HouseholdRow)> =
        lookups::name_address(&names, &new.region_id, &key, &new.id)
            .select((MemberRow::as_select(), HouseholdRow::as_select()))
            .load(conn)?;
    for (m, h) in &same_address {
        for n in members.iter().filter(|n| n.name == m.name) {
            note(&n.id, m, h, "name_address");
        }
    }
    if !phones.is_empty() {
        // Two lookups, one per index, merged here: an OR across the two tables would be
        // answered by reading them whole.
        let mut by_phone: BTreeMap<String, (MemberRow, HouseholdRow)> = BTreeMap::new();
        for (m, h) in lookups::member_phone(&phones, &new.id)
            .select((MemberRow::as_select(), HouseholdRow::as_select()))
            .load::<(MemberRow, HouseholdRow)>(conn)?
            .into_iter()
            .chain(
                lookups::household_phone(&phones, &new.id)
                    .select((MemberRow::as_select(), HouseholdRow::as_select()))
                    .load::<(MemberRow, HouseholdRow)>(conn)?,
            )
        {
            by_phone.entry(m.id.clone()).or_insert((m, h));
        }
        for (m, h) in by_phone.values() {
            for n in members {
                let theirs = [m.phone.as_deref(), h.phone.as_deref()];
                let ours = [n.phone.as_deref(), new.phone.as_deref()];
                let shared = ours.iter().flatten().any(|p| theirs.contains(&Some(p)));
                // A shared household phone alone matches heads, not every child.
                if shared && (n.phone.is_some() || n.relation == "head" && m.relation == "head") {
                    note(&n.id, m, h, "phone");
                }
            }
        }
    }
    let t = now();
    let rows: Vec<CandidateRow> = found
        .into_iter()
        .map(
            |((new_member, old_member), (old_household, old_path, reasons))| CandidateRow {
                id: new_id(),
                member_a: old_member,
                member_b: new_member,
                household_a: old_household,
                household_b: new.id.clone(),
                path_a: old_path,
                path_b: new.path.clone(),
                reasons: json!(reasons).to_string(),
                status: "open".into(),
                decided_by: None,
                decided_at: None,
                created_at: t,
            },
        )
        .collect();
    insert_all!(conn, duplicate_candidates::table, &rows)?;
    Ok(rows.len())
}

/// An address as duplicates compare it: without ASCII, ideographic or no-break spaces
/// ("二组 3 号" and "二组3号" are one address). Other characters count as they are, so the
/// database's index on [`lookups::ADDRESS_KEY_SQL`] gives the same key on both backends.
pub fn address_key(a: &str) -> String {
    a.chars()
        .filter(|c| !matches!(c, ' ' | '\u{3000}' | '\u{a0}'))
        .collect()
}

/// Pairs with both households inside the scope: a pair reaching outside it would tell
/// about someone the caller may not see.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    status: Option<&str>,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<CandidateRow>> {
    let mut q = duplicate_candidates::table
        .select(CandidateRow::as_select())
        .filter(path_in_scope(duplicate_candidates::path_a, scope))
        .filter(path_in_scope(duplicate_candidates::path_b, scope))
        .order(duplicate_candidates::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(duplicate_candidates::status.eq(s.to_owned()));
    }
    if let Some(a) = after_id {
        q = q.filter(duplicate_candidates::id.gt(a));
    }
    Ok(q.load(conn)?)
}

/// The members of each pair, for showing both side by side: one query for a whole page.
pub fn with_members(
    conn: &mut DbConn,
    pairs: Vec<CandidateRow>,
) -> Result<Vec<(CandidateRow, MemberRow, MemberRow)>> {
    let ids: Vec<&str> = pairs
        .iter()
        .flat_map(|c| [c.member_a.as_str(), c.member_b.as_str()])
        .collect();
    let members: std::collections::HashMap<String, MemberRow> = household_members::table
        .filter(household_members::id.eq_any(&ids))
        .select(MemberRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    pairs
        .into_iter()
        .map(|c| {
            let a = members.get(&c.member_a).cloned().ok_or(Error::NotFound)?;
            let b = members.get(&c.member_b).cloned().ok_or(Error::NotFound)?;
            Ok((c, a, b))
        })
        .collect()
}

/// Settles a pair: `distinct`, or `merge` keeping one record (`keep_a`) and removing the
/// other from its household. A household left without members is closed as merged; the
/// head of a household with others cannot be merged away.
pub fn decide(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    merge: bool,
    keep_a: bool,
) -> Result<CandidateRow> {
    let c: CandidateRow = duplicate_candidates::table
        .find(id)
        .select(CandidateRow::as_select())
        .first(conn)?;
    // Both households must be the caller's to merge; either to look.
    if !(scope.contains(&c.path_a) && scope.contains(&c.path_b)) {
        return Err(Error::NotFound);
    }
    if c.status != "open" {
        return Err(Error::Conflict {
            code: Code::AlreadyDecided,
            detail: Msg::fixed("该疑似重复已处理。", "This pair has already been settled."),
        });
    }
    let status = if merge { "merged" } else { "distinct" };
    if merge {
        let (drop_member, drop_household) = if keep_a {
            (&c.member_b, &c.household_b)
        } else {
            (&c.member_a, &c.household_a)
        };
        let relation: String = household_members::table
            .find(drop_member)
            .select(household_members::relation)
            .first(conn)?;
        let others: i64 = household_members::table
            .filter(household_members::household_id.eq(drop_household))
            .filter(household_members::id.ne(drop_member))
            .count()
            .get_result(conn)?;
        if relation == "head" && others > 0 {
            return Err(Error::Conflict {
                code: Code::HeadOfHousehold,
                detail: Msg::fixed(
                    "要删除的是另有成员的户主，请先更换户主或保留此条记录。",
                    "The record to remove heads a household with other members; keep it or change the head first.",
                ),
            });
        }
        diesel::delete(household_members::table.find(drop_member)).execute(conn)?;
        if others == 0 {
            diesel::update(households::table.find(drop_household))
                .set((
                    households::status.eq("merged"),
                    households::seq.eq(crate::infra::db::feed::take(conn, 1)?),
                    households::version.eq(households::version + 1),
                    households::updated_at.eq(now()),
                ))
                .execute(conn)?;
        }
        // Pairs that named the removed record are settled with it.
        diesel::update(
            duplicate_candidates::table
                .filter(duplicate_candidates::status.eq("open"))
                .filter(duplicate_candidates::id.ne(id))
                .filter(
                    duplicate_candidates::member_a
                        .eq(drop_member)
                        .or(duplicate_candidates::member_b.eq(drop_member)),
                ),
        )
        .set((
            duplicate_candidates::status.eq("merged"),
            duplicate_candidates::decided_by.eq(actor.user_id.clone()),
            duplicate_candidates::decided_at.eq(now()),
        ))
        .execute(conn)?;
    }
    diesel::update(duplicate_candidates::table.find(id))
        .set((
            duplicate_candidates::status.eq(status),
            duplicate_candidates::decided_by.eq(actor.user_id.clone()),
            duplicate_candidates::decided_at.eq(now()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "duplicate_candidate",
            entity_id: id,
            region_path: &c.path_b,
            changes: json!({"status": {"before": "open", "after": status},
                            "kept": if merge { Some(if keep_a { &c.member_a } else { &c.member_b }) } else { None }}),
            reason: None,
        },
    )?;
    Ok(duplicate_candidates::table
        .find(id)
        .select(CandidateRow::as_select())
        .first(conn)?)
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = registration_referrals)]
pub struct ReferralRow {
    pub id: String,
    pub member_id: String,
    pub household_id: String,
    pub household_path: String,
    pub attempted_region_id: String,
    pub attempted_path: String,
    pub office_path: String,
    pub attempted_by: String,
    pub name: String,
    pub id_masked: String,
    pub status: String,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A person someone tried to register in `attempted` (a village: id, path).
pub struct Attempt<'a> {
    pub region_id: &'a str,
    pub region_path: &'a str,
    pub name: &'a str,
    pub id_hash: &'a str,
    pub id_masked: &'a str,
}

/// Refers refused registrations of people registered elsewhere to the lowest office whose
/// jurisdiction holds both places; one open referral per person and attempted village.
/// Returns how many were recorded.
pub fn refer(conn: &mut DbConn, actor: &Actor, attempts: &[Attempt<'_>]) -> Result<usize> {
    let mut made = 0;
    for a in attempts {
        let found: Option<(MemberRow, HouseholdRow)> = household_members::table
            .inner_join(households::table)
            .filter(household_members::id_hash.eq(a.id_hash))
            .select((MemberRow::as_select(), HouseholdRow::as_select()))
            .first(conn)
            .optional()?;
        let Some((member, home)) = found else {
            continue;
        };
        if a.region_path.starts_with(&home.path) || home.path.starts_with(a.region_path) {
            continue;
        }
        let open: i64 = registration_referrals::table
            .filter(registration_referrals::member_id.eq(&member.id))
            .filter(registration_referrals::attempted_region_id.eq(a.region_id))
            .filter(registration_referrals::status.eq("open"))
            .count()
            .get_result(conn)?;
        if open > 0 {
            continue;
        }
        let row = ReferralRow {
            id: new_id(),
            member_id: member.id,
            household_id: home.id.clone(),
            office_path: crate::domain::region::common_ancestor(&home.path, a.region_path),
            household_path: home.path,
            attempted_region_id: a.region_id.to_owned(),
            attempted_path: a.region_path.to_owned(),
            attempted_by: actor.user_id.clone().unwrap_or_default(),
            name: a.name.to_owned(),
            id_masked: a.id_masked.to_owned(),
            status: "open".into(),
            note: None,
            decided_by: None,
            decided_at: None,
            created_at: now(),
        };
        diesel::insert_into(registration_referrals::table)
            .values(&row)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Event {
                action: Action::Create,
                entity: "registration_referral",
                entity_id: &row.id,
                region_path: &row.office_path,
                changes: audit::diff(
                    &serde_json::Value::Null,
                    &json!({"household_id": row.household_id, "attempted_region_id": row.attempted_region_id,
                            "name": row.name, "id_number": row.id_masked}),
                ),
                reason: None,
            },
        )?;
        made += 1;
    }
    Ok(made)
}

/// Referrals whose office lies inside the scope: for that office and those above it.
pub fn referrals(
    conn: &mut DbConn,
    scope: &Scope,
    status: &str,
    after_id: Option<String>,
    limit: i64,
) -> Result<Vec<ReferralRow>> {
    let mut q = registration_referrals::table
        .filter(path_in_scope(registration_referrals::office_path, scope))
        .filter(registration_referrals::status.eq(status.to_owned()))
        .select(ReferralRow::as_select())
        .order(registration_referrals::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after_id {
        q = q.filter(registration_referrals::id.gt(a));
    }
    Ok(q.load(conn)?)
}

/// Settles a referral with a note of what was found and done.
pub fn settle_referral(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    note: &str,
) -> Result<ReferralRow> {
    let r: ReferralRow = registration_referrals::table
        .find(id)
        .select(ReferralRow::as_select())
        .first(conn)?;
    if !scope.contains(&r.office_path) {
        return Err(Error::NotFound);
    }
    if r.status != "open" {
        return Err(Error::Conflict {
            code: Code::AlreadyDecided,
            detail: Msg::fixed("该转办已处理。", "This referral has already been settled."),
        });
    }
    let t = now();
    diesel::update(registration_referrals::table.find(id))
        .set((
            registration_referrals::status.eq("settled"),
            registration_referrals::note.eq(note),
            registration_referrals::decided_by.eq(actor.user_id.clone()),
            registration_referrals::decided_at.eq(t),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        Event {
            action: Action::Update,
            entity: "registration_referral",
            entity_id: id,
            region_path: &r.office_path,
            changes: audit::diff(
                &json!({"status": "open"}),
                &json!({"status": "settled", "note": note}),
            ),
            reason: Some(note),
        },
    )?;
    Ok(ReferralRow {
        status: "settled".into(),
        note: Some(note.to_owned()),
        decided_by: actor.user_id.clone(),
        decided_at: Some(t),
        ..r
    })
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn an_address_key_drops_the_spaces_people_type_and_nothing_else() {
        assert_eq!(address_key("二组 3 号"), "二组3号");
        assert_eq!(address_key("二组\u{3000}3\u{a0}号"), "二组3号");
        assert_ne!(address_key("二组3号A座"), address_key("二组3号a座"));
        assert_ne!(address_key("二组3号"), address_key("二组4号"));
    }
}
