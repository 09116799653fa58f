//! Many buyers, one hot goods: exactly the stock is sold, the rest refused, every wallet exact.

use super::*;

/// What the race for the hot goods showed.
pub(crate) struct RaceRow {
    pub(crate) backend: Backend,
    pub(crate) buyers: usize,
    pub(crate) racers: usize,
    pub(crate) stock: i64,
    pub(crate) won: usize,
    pub(crate) sold_out: usize,
    /// Successful orders per second, until the last item was ordered.
    pub(crate) orders_per_second: f64,
    /// Every buyer's answer, per second of the whole race.
    pub(crate) answers_per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) pickups_per_second: f64,
}

/// One buyer's order in the race.
pub(crate) struct Attempt {
    pub(crate) buyer: usize,
    pub(crate) status: u16,
    pub(crate) answer: Value,
    pub(crate) finished: Instant,
    pub(crate) nanos: u64,
}

/// `racers` clients work through `jobs` (0..count), `job(i)` each, as fast as they can.
pub(crate) async fn race_through<F, Fut, T>(
    count: usize,
    racers: usize,
    job: F,
) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let done = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let tasks: Vec<_> = (0..racers)
        .map(|_| {
            let (next, job, done) = (next.clone(), job.clone(), done.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let outcome = job(i).await;
                    done.lock().unwrap_or_else(|p| p.into_inner()).push(outcome);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| anyhow!("a racer failed: {e}"))?;
    }
    let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
    Ok(std::mem::take(&mut *done))
}

#[derive(QueryableByName)]
pub(crate) struct WalletState {
    #[diesel(sql_type = BigInt)]
    pub(crate) id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) balance: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) held: i64,
}

#[derive(QueryableByName)]
pub(crate) struct ShelfState {
    #[diesel(sql_type = BigInt)]
    pub(crate) stock: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) reserved: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) logged: i64,
}

/// Every member wallet of the bank: balance and held.
pub(crate) async fn wallets(pool: &db::Pool, bank: i64) -> anyhow::Result<Vec<WalletState>> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        Ok(sql_query(format!(
            "SELECT id, balance, held FROM accounts \
             WHERE bank_id = {bank} AND kind = 'member' AND asset = 'POINTS'"
        ))
        .load(&mut pool.get()?)?)
    })
    .await?
}

/// Stock, reserved and what the stock log adds up to, summed over `goods`.
pub(crate) async fn shelf(pool: &db::Pool, goods: &[i64]) -> anyhow::Result<(i64, i64, i64)> {
    let pool = pool.clone();
    let ids = goods
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let row: ShelfState = sql_query(format!(
            "SELECT CAST(COALESCE(SUM(stock), 0) AS BIGINT) AS stock, \
             CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS reserved, \
             (SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM stock_movements \
              WHERE goods_id IN ({ids})) AS logged FROM goods WHERE id IN ({ids})"
        ))
        .get_result(&mut pool.get()?)?;
        Ok((row.stock, row.reserved, row.logged))
    })
    .await?
}

/// Checks every buyer's wallet: the winners' `price` held (or spent, once `picked_up`), the
/// others' untouched.
pub(crate) async fn check_buyers(
    pool: &db::Pool,
    world: &World,
    winners: &HashSet<i64>,
    picked_up: bool,
) -> anyhow::Result<()> {
    let buyers: HashSet<i64> = world.buyers.iter().map(|b| b.wallet).collect();
    let price = world.hot.price;
    let mut held_total = 0;
    for wallet in wallets(pool, world.bank).await? {
        if !buyers.contains(&wallet.id) {
            continue;
        }
        let won = winners.contains(&wallet.id);
        let expected = match (won, picked_up) {
            (true, false) => (BUYER_MINOR, price),
            (true, true) => (BUYER_MINOR - price, 0),
            (false, _) => (BUYER_MINOR, 0),
        };
        ensure!(
            (wallet.balance, wallet.held) == expected,
            "buyer wallet {} shows balance {} held {}, expected {} and {}",
            wallet.id,
            wallet.balance,
            wallet.held,
            expected.0,
            expected.1
        );
        held_total += wallet.held;
    }
    let expected_held = if picked_up {
        0
    } else {
        winners.len() as i64 * price
    };
    ensure!(
        held_total == expected_held,
        "buyers hold {held_total} in total, expected {expected_held}"
    );
    Ok(())
}

pub(crate) async fn run_race(
    world: &Arc<World>,
    counter: &Arc<Counter>,
    pool: &db::Pool,
    options: &Options,
    backend: Backend,
) -> anyhow::Result<RaceRow> {
    let client = common::http_client(options.racers)?;
    let started = Instant::now();
    let attempts = {
        let (client, world, counter) = (client.clone(), world.clone(), counter.clone());
        race_through(world.buyers.len(), options.racers, move |buyer| {
            let (client, world, counter) = (client.clone(), world.clone(), counter.clone());
            async move {
                let sent = Instant::now();
                let answered = api_order(
                    &client,
                    &counter,
                    world.shop,
                    &world.buyers[buyer],
                    &world.hot,
                )
                .await;
                let finished = Instant::now();
                let (status, answer) = answered.unwrap_or_else(|err| (0, json!(err)));
                Attempt {
                    buyer,
                    status,
                    answer,
                    finished,
                    nanos: (finished - sent).as_nanos() as u64,
                }
            }
        })
        .await?
    };
    let all_seconds = started.elapsed().as_secs_f64();

    let mut winners = Vec::new();
    let mut sold_out = 0;
    let mut last_win = started;
    for attempt in &attempts {
        match (attempt.status, attempt.answer["code"].as_str()) {
            (201, _) => {
                winners.push((
                    attempt.buyer,
                    pickup_token_of(&attempt.answer).map_err(|e| anyhow!(e))?,
                ));
                last_win = last_win.max(attempt.finished);
            }
            (409, Some("out_of_stock")) => sold_out += 1,
            (status, _) => bail!(
                "buyer {} got {status} {} instead of an order or out_of_stock",
                attempt.buyer,
                attempt.answer
            ),
        }
    }
    ensure!(
        winners.len() as i64 == options.stock,
        "{} orders succeeded for {} items",
        winners.len(),
        options.stock
    );
    ensure!(
        winners.len() + sold_out == world.buyers.len(),
        "answers lost: {} won, {sold_out} out_of_stock, {} buyers",
        winners.len(),
        world.buyers.len()
    );
    let stock = options.stock;
    ensure!(
        shelf(pool, &[world.hot.id]).await? == (stock, stock, stock),
        "after the race the hot goods show (stock, reserved, logged) = {:?}, expected ({stock}, {stock}, {stock})",
        shelf(pool, &[world.hot.id]).await?
    );
    let winning_wallets: HashSet<i64> = winners
        .iter()
        .map(|(buyer, _)| world.buyers[*buyer].wallet)
        .collect();
    ensure!(winning_wallets.len() == winners.len(), "a buyer won twice");
    check_buyers(pool, world, &winning_wallets, false).await?;

    // Every winner picks up.
    let picking = Instant::now();
    let tokens = Arc::new(winners.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    let pickups = {
        let (client, counter, tokens) = (client.clone(), counter.clone(), tokens.clone());
        race_through(tokens.len(), options.racers, move |i| {
            let (client, counter, tokens) = (client.clone(), counter.clone(), tokens.clone());
            async move { api_pickup(&client, &counter, &tokens[i]).await }
        })
        .await?
    };
    let pickup_seconds = picking.elapsed().as_secs_f64();
    if let Some(Err(err)) = pickups.iter().find(|p| p.is_err()) {
        bail!("a winner's pickup failed: {err}");
    }
    ensure!(
        shelf(pool, &[world.hot.id]).await? == (0, 0, 0),
        "after the pickups the hot goods show (stock, reserved, logged) = {:?}, expected (0, 0, 0)",
        shelf(pool, &[world.hot.id]).await?
    );
    check_buyers(pool, world, &winning_wallets, true).await?;

    let mut latencies: Vec<u64> = attempts.iter().map(|a| a.nanos).collect();
    latencies.sort_unstable();
    Ok(RaceRow {
        backend,
        buyers: world.buyers.len(),
        racers: options.racers,
        stock,
        won: winners.len(),
        sold_out,
        orders_per_second: winners.len() as f64 / (last_win - started).as_secs_f64(),
        answers_per_second: attempts.len() as f64 / all_seconds,
        p50_ms: common::percentile(&latencies, 50) as f64 / 1e6,
        p99_ms: common::percentile(&latencies, 99) as f64 / 1e6,
        pickups_per_second: winners.len() as f64 / pickup_seconds,
    })
}
