//! What a signed-in member reads about themselves: a wallet's statement, and the copy of all
//! their data that PIPL gives them a right to.

use crate::db;
use crate::db::ledger::accounts::{StatementFilter, StatementRow};
use crate::domain::ledger::Asset;
use crate::error::{ServiceError, ServiceResult};
use crate::service::members::{detail, MemberDetail};
use crate::service::Store;

/// Postings one page of the export reads; the export pages through all of them.
const EXPORT_PAGE: i64 = 1000;

/// Postings on one wallet.
#[derive(Debug, Clone)]
pub struct WalletStatement {
    pub account_id: i64,
    pub lines: Vec<StatementRow>,
}

/// Everything the points bank keeps about a member, read at one point in time.
#[derive(Debug, Clone)]
pub struct MyData {
    /// When the export was made (microseconds since the epoch).
    pub exported_at: i64,
    pub member: MemberDetail,
    /// Every posting on each wallet, oldest first.
    pub statements: Vec<WalletStatement>,
    pub wechat_bound: bool,
}

/// One page of the member's wallet of `asset`, newest first.
pub fn my_statement(
    store: &Store,
    member_id: i64,
    asset: Asset,
    filter: &StatementFilter,
) -> ServiceResult<WalletStatement> {
    store.read(|conn| {
        let wallet = db::members::wallets_of(conn, member_id)?
            .into_iter()
            .find(|w| w.asset == asset.as_str())
            .ok_or(ServiceError::NotFound("wallet"))?;
        let lines = db::ledger::accounts::statement(conn, wallet.id, filter)?;
        Ok(WalletStatement {
            account_id: wallet.id,
            lines,
        })
    })
}

/// The member's record, wallets, every posting and whether WeChat is bound, in one snapshot so
/// that the parts agree with each other.
pub fn my_export(store: &Store, member_id: i64) -> ServiceResult<MyData> {
    store.read(|conn| {
        db::snapshot_tx(conn, |conn| {
            let (row, _) = db::members::get_member(conn, member_id)?;
            let mut statements = Vec::new();
            for wallet in db::members::wallets_of(conn, member_id)? {
                let mut lines = Vec::new();
                let mut before = None;
                loop {
                    let filter = StatementFilter {
                        before_posting_id: before,
                        limit: EXPORT_PAGE,
                        ..StatementFilter::default()
                    };
                    let page = db::ledger::accounts::statement(conn, wallet.id, &filter)?;
                    let Some(last) = page.last() else { break };
                    before = Some(last.posting_id);
                    lines.extend(page);
                }
                lines.reverse();
                statements.push(WalletStatement {
                    account_id: wallet.id,
                    lines,
                });
            }
            Ok(MyData {
                exported_at: store.now(),
                wechat_bound: db::access::wechat::is_bound(conn, member_id)?,
                member: detail(conn, row)?,
                statements,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{points, Village};

    #[test]
    fn the_statement_is_newest_first_and_the_export_oldest_first() {
        let village = Village::fresh();
        let member = village.member("王秀英");
        village.earn(member, 5);
        village.earn(member, 3);

        let page = StatementFilter {
            limit: 10,
            ..StatementFilter::default()
        };
        let statement = my_statement(&village.store, member, Asset::Points, &page).expect("page");
        let newest: Vec<i64> = statement.lines.iter().map(|l| l.amount).collect();
        assert_eq!(newest, [points(3), points(5)]);

        let data = my_export(&village.store, member).expect("export");
        let points_wallet = data
            .statements
            .iter()
            .find(|s| s.account_id == statement.account_id)
            .expect("points wallet in the export");
        let oldest: Vec<i64> = points_wallet.lines.iter().map(|l| l.amount).collect();
        assert_eq!(oldest, [points(5), points(3)]);
        assert_eq!(data.member.member.id, member);
        assert!(!data.wechat_bound);
    }

    #[test]
    fn a_member_without_a_wallet_of_the_asset_gets_not_found() {
        let village = Village::fresh();
        let stranger = i64::MAX;
        let page = StatementFilter {
            limit: 10,
            ..StatementFilter::default()
        };
        let missing = my_statement(&village.store, stranger, Asset::Hours, &page);
        assert!(
            matches!(missing, Err(ServiceError::NotFound(_))),
            "{missing:?}"
        );
    }
}
