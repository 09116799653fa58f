//! Members (volunteers and residents) and their wallets.

use diesel::prelude::*;

use crate::db::ledger::accounts::AccountRow;
use crate::db::schema::{accounts, banks, members, orgs};
use crate::db::Db;
use crate::domain::ledger::{AccountKind, Asset};
use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub id_card: Option<String>,
    pub household: Option<String>,
    pub tags: String,
    pub status: String,
    pub allow_proxy: bool,
    pub card_version: i64,
    pub created_at: i64,
    pub merged_into: Option<i64>,
}

pub struct NewMember<'a> {
    pub org_id: i64,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub id_card: Option<&'a str>,
    pub household: Option<&'a str>,
    pub tags: &'a str,
    pub allow_proxy: bool,
}

/// A bank with the path of its unit.
#[derive(Debug, Clone, Queryable)]
pub struct BankAt {
    pub id: i64,
    pub name: String,
    pub path: String,
}

/// Every bank with its unit's path (a handful per township).
pub fn banks_at(conn: &mut Db) -> ServiceResult<Vec<BankAt>> {
    Ok(banks::table
        .inner_join(orgs::table)
        .select((banks::id, banks::name, orgs::path))
        .load(conn)?)
}

/// The bank that keeps the books of the unit at `path`: the nearest one at or above it.
pub fn nearest_bank<'a>(banks: &'a [BankAt], path: &str) -> Option<&'a BankAt> {
    banks
        .iter()
        .filter(|bank| path.starts_with(bank.path.as_str()))
        .max_by_key(|bank| (bank.path.len(), -bank.id))
}

/// The bank that keeps the books of a unit: the nearest one at or above it.
pub fn bank_for_path(conn: &mut Db, path: &str) -> ServiceResult<Option<(i64, String)>> {
    let banks = banks_at(conn)?;
    Ok(nearest_bank(&banks, path).map(|bank| (bank.id, bank.path.clone())))
}

/// Registers a member and opens their POINTS and HOURS wallets in the bank of their unit.
/// One phone number or ID number is one person: a second registration is refused.
pub fn create_member(
    conn: &mut Db,
    new: NewMember<'_>,
    now: i64,
) -> ServiceResult<(MemberRow, i64)> {
    let org = crate::db::access::orgs::get_org(conn, new.org_id)?;
    let (bank_id, _) = bank_for_path(conn, &org.path)?
        .ok_or_else(|| ServiceError::validation("org_id", "no points bank covers this unit yet"))?;
    if let Some(phone) = new.phone {
        let taken = members::table
            .filter(members::phone.eq(phone))
            .count()
            .get_result::<i64>(conn)?;
        if taken > 0 {
            return Err(ServiceError::AlreadyExists(
                "a member with this phone number",
            ));
        }
    }
    if let Some(id_card) = new.id_card {
        let taken = members::table
            .filter(members::id_card.eq(id_card))
            .count()
            .get_result::<i64>(conn)?;
        if taken > 0 {
            return Err(ServiceError::AlreadyExists("a member with this ID number"));
        }
    }
    let member: MemberRow = diesel::insert_into(members::table)
        .values((
            members::org_id.eq(new.org_id),
            members::name.eq(new.name),
            members::phone.eq(new.phone),
            members::id_card.eq(new.id_card),
            members::household.eq(new.household),
            members::tags.eq(new.tags),
            members::allow_proxy.eq(new.allow_proxy),
            members::created_at.eq(now),
        ))
        .returning(members::all_columns)
        .get_result(conn)?;
    for asset in Asset::ALL {
        diesel::insert_into(accounts::table)
            .values((
                accounts::bank_id.eq(bank_id),
                accounts::asset.eq(asset.as_str()),
                accounts::kind.eq(AccountKind::Member.as_str()),
                accounts::name.eq(new.name),
                accounts::owner_ref.eq(format!("member:{}", member.id)),
                accounts::member_id.eq(member.id),
                accounts::balance.eq(0),
                accounts::held.eq(0),
                accounts::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok((member, bank_id))
}

/// A member with the path of their home unit (for scope checks).
pub fn get_member(conn: &mut Db, member_id: i64) -> ServiceResult<(MemberRow, String)> {
    members::table
        .inner_join(orgs::table)
        .filter(members::id.eq(member_id))
        .select((MemberRow::as_select(), orgs::path))
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("member"))
}

pub fn wallets_of(conn: &mut Db, member_id: i64) -> ServiceResult<Vec<AccountRow>> {
    Ok(accounts::table
        .filter(accounts::member_id.eq(member_id))
        .order(accounts::id)
        .select(AccountRow::as_select())
        .load(conn)?)
}

/// Members whose home unit is at or below one of `paths`, by id.
pub fn list_under(
    conn: &mut Db,
    paths: &[String],
    after: Option<i64>,
    limit: i64,
) -> ServiceResult<Vec<MemberRow>> {
    let mut found = Vec::new();
    let mut cursor = after.unwrap_or(0);
    while (found.len() as i64) < limit {
        let page: Vec<(MemberRow, String)> = members::table
            .inner_join(orgs::table)
            .filter(members::id.gt(cursor))
            .order(members::id)
            .limit(500)
            .select((MemberRow::as_select(), orgs::path))
            .load(conn)?;
        let Some((last, _)) = page.last() else { break };
        cursor = last.id;
        found.extend(
            page.into_iter()
                .filter(|(_, path)| paths.iter().any(|p| path.starts_with(p.as_str())))
                .map(|(member, _)| member),
        );
    }
    found.truncate(limit as usize);
    Ok(found)
}

/// How many active members have their home unit at or below `path`.
pub fn count_active_under(conn: &mut Db, path: &str) -> ServiceResult<i64> {
    Ok(members::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{path}%")))
        .filter(members::status.eq("active"))
        .count()
        .get_result(conn)?)
}

/// Active members at or below `path` in card-number order (card numbers follow ids), `limit`
/// of them after skipping `skip`, each with their home unit's name and path.
pub fn active_under(
    conn: &mut Db,
    path: &str,
    skip: i64,
    limit: i64,
) -> ServiceResult<Vec<(MemberRow, String, String)>> {
    Ok(members::table
        .inner_join(orgs::table)
        .filter(orgs::path.like(format!("{path}%")))
        .filter(members::status.eq("active"))
        .order(members::id)
        .offset(skip)
        .limit(limit)
        .select((MemberRow::as_select(), orgs::name, orgs::path))
        .load(conn)?)
}

/// Issues a new card: the old card's QR code stops working at once.
pub fn reissue_card(conn: &mut Db, member_id: i64) -> ServiceResult<MemberRow> {
    diesel::update(members::table.find(member_id))
        .set(members::card_version.eq(members::card_version + 1))
        .returning(members::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("member"))
}

/// Merges `source` into `target` (one person registered twice): every wallet balance moves by a
/// `transfer` entry in the shared bank, the WeChat binding follows if the target has none, and the
/// source is marked `left` with `merged_into`. Both histories stay readable.
pub fn merge(
    conn: &mut Db,
    source: &MemberRow,
    target: &MemberRow,
    actor: &str,
    now: i64,
) -> ServiceResult<Vec<i64>> {
    use crate::db::ledger::{post_entry, NewEntry};
    use crate::domain::ledger::money::Amount;
    use crate::domain::ledger::{EntryKind, Line};
    if source.id == target.id {
        return Err(ServiceError::validation(
            "into_member_id",
            "a member cannot be merged into itself",
        ));
    }
    if source.merged_into.is_some() || target.merged_into.is_some() || target.status != "active" {
        return Err(ServiceError::validation(
            "into_member_id",
            "both members must be current and the target active",
        ));
    }
    let mut entries = Vec::new();
    let targets = wallets_of(conn, target.id)?;
    for wallet in wallets_of(conn, source.id)? {
        if wallet.held > 0 {
            return Err(ServiceError::validation(
                "member_id",
                "the member has pending holds (orders); finish or cancel them first",
            ));
        }
        let counterpart = targets
            .iter()
            .find(|t| t.bank_id == wallet.bank_id && t.asset == wallet.asset)
            .ok_or_else(|| {
                ServiceError::validation(
                    "into_member_id",
                    "the two members keep their points in different banks",
                )
            })?;
        if wallet.balance == 0 {
            continue;
        }
        let memo = format!(
            "会员合并：{}（{}）→ {}（{}）",
            source.name, source.id, target.name, target.id
        );
        let record = post_entry(
            conn,
            NewEntry {
                bank_id: wallet.bank_id,
                kind: EntryKind::Transfer,
                memo: &memo,
                reference: Some(&format!("merge:{}", source.id)),
                actor,
                reverses_entry_id: None,
                rule_id: None,
                origin: Some(crate::domain::ledger::Origin::Merge),
                lines: vec![
                    Line {
                        account: wallet.facts()?,
                        amount: Amount::from_minor(-wallet.balance),
                    },
                    Line {
                        account: counterpart.facts()?,
                        amount: Amount::from_minor(wallet.balance),
                    },
                ],
            },
            now,
        )?;
        entries.push(record.entry.id);
    }
    let moved = diesel::update(
        members::table
            .filter(members::id.eq(source.id))
            .filter(members::merged_into.is_null()),
    )
    .set((
        members::status.eq("left"),
        members::merged_into.eq(target.id),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Err(ServiceError::validation(
            "member_id",
            "the member was merged meanwhile",
        ));
    }
    crate::db::access::wechat::follow_merge(conn, source.id, target.id)?;
    Ok(entries)
}

/// The bank that keeps a member's wallets.
pub fn bank_of(conn: &mut Db, member_id: i64) -> ServiceResult<i64> {
    accounts::table
        .filter(accounts::member_id.eq(member_id))
        .select(accounts::bank_id)
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound("member"))
}
