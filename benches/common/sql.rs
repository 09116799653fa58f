//! Rows the raw SQL loops read, the idempotency claim they share, and integer queries for checks.

use super::*;

/// Rows the raw SQL loops read back (`sql_query` fills the fields by column name).
#[derive(QueryableByName)]
pub struct IdRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

#[derive(QueryableByName)]
pub struct PathRow {
    #[diesel(sql_type = Text)]
    pub path: String,
}

#[derive(QueryableByName)]
pub struct StoredKey {
    #[diesel(sql_type = Text)]
    pub request_hash: String,
}

#[derive(QueryableByName)]
pub struct BalanceRow {
    #[diesel(sql_type = BigInt)]
    pub balance: i64,
}

/// `db::idempotency::once` before the effect, in raw SQL: look the key up, then claim it.
pub fn raw_claim_key(
    conn: &mut Db,
    bank: i64,
    key: &str,
    request_hash: &str,
    now: i64,
) -> anyhow::Result<()> {
    let stored: Vec<StoredKey> = sql_query(format!(
        "SELECT request_hash, response_body FROM idempotency_keys \
         WHERE bank_id = {bank} AND caller = 'bench' AND idem_key = '{key}'"
    ))
    .load(conn)?;
    if let Some(stored) = stored.first() {
        anyhow::bail!("key {key} already used (hash {})", stored.request_hash);
    }
    sql_query(format!(
        "INSERT INTO idempotency_keys (bank_id, caller, idem_key, request_hash, response_body, created_at) \
         VALUES ({bank}, 'bench', '{key}', '{request_hash}', '', {now})"
    ))
    .execute(conn)?;
    Ok(())
}

/// One row of `SELECT … AS total`.
#[derive(QueryableByName)]
pub struct Total {
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

/// Runs `SELECT <integer> AS total …` on a pooled connection, off the async runtime.
pub async fn total(pool: &db::Pool, sql: String) -> anyhow::Result<i64> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let mut conn = pool.get()?;
        let row: Total = sql_query(&sql)
            .get_result(&mut conn)
            .with_context(|| sql.clone())?;
        Ok(row.total)
    })
    .await?
}
