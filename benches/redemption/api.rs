//! Redemptions through the HTTP API: a member's order, then the clerk's pickup.

use super::*;

/// `common::post` of a JSON value, with the answer read as JSON.
pub(crate) async fn post(
    client: &reqwest::Client,
    (url, token): (&str, &str),
    body: &Value,
    idempotency_key: bool,
) -> Result<(u16, Value), String> {
    let (status, bytes) =
        common::post(client, url, token, body.to_string(), idempotency_key).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// Where the API's shop endpoints are, and the clerk's token.
pub(crate) struct Counter {
    pub(crate) orders_url: String,
    pub(crate) pickups_url: String,
    pub(crate) clerk_token: String,
}

/// A member orders one item; answers the order's id and pickup token.
pub(crate) async fn api_order(
    client: &reqwest::Client,
    counter: &Counter,
    shop: i64,
    member: &Member,
    goods: &Goods,
) -> Result<(u16, Value), String> {
    let body = json!({"shop_id": shop, "lines": [{"goods_id": goods.id, "quantity": 1}]});
    post(client, (&counter.orders_url, &member.token), &body, true).await
}

/// The clerk scans the order's pickup token.
pub(crate) async fn api_pickup(
    client: &reqwest::Client,
    counter: &Counter,
    pickup_token: &str,
) -> Result<(), String> {
    let body = json!({ "pickup": pickup_token });
    let at = (counter.pickups_url.as_str(), counter.clerk_token.as_str());
    match post(client, at, &body, false).await? {
        (200, answer) if answer["order"]["status"] == "fulfilled" => Ok(()),
        (status, answer) => Err(format!("pickup: {status} {answer}")),
    }
}

pub(crate) fn pickup_token_of(answer: &Value) -> Result<String, String> {
    answer["pickup_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("an order without a pickup token: {answer}"))
}

pub(crate) async fn run_api(
    counter: &Arc<Counter>,
    world: &Arc<World>,
    counters: &Arc<Counters>,
    concurrency: usize,
    options: &Options,
) -> anyhow::Result<Figures> {
    let client = common::http_client(concurrency)?;
    let window = options.run.window();
    let (counter, world, counters) = (counter.clone(), world.clone(), counters.clone());
    common::measure_clients("api", concurrency, window, move || {
        let client = client.clone();
        let (counter, world, counters) = (counter.clone(), world.clone(), counters.clone());
        async move {
            let n = counters.next.fetch_add(1, Ordering::Relaxed);
            let (member, goods) = world.pick(n);
            let (status, answer) = api_order(&client, &counter, world.shop, member, goods).await?;
            if status != 201 {
                return Err(format!("order: {status} {answer}"));
            }
            counters.placed.fetch_add(1, Ordering::Relaxed);
            api_pickup(&client, &counter, &pickup_token_of(&answer)?).await?;
            counters.fulfilled.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    })
    .await
}
