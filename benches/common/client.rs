//! The API as a client sees it.

use super::*;

/// Where the service listens, and a staff token.
pub struct Api {
    pub base: String,
    pub token: String,
}

pub async fn login(
    client: &reqwest::Client,
    base: &str,
    phone: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"phone": phone, "password": password}))
        .send()
        .await?;
    ensure!(
        response.status().as_u16() == 200,
        "login: {}",
        response.status()
    );
    let body: Value = response.json().await?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("login answered without a token"))
}

/// POSTs a JSON body with a bearer token (and a fresh `Idempotency-Key` if asked); answers the
/// status and the body. Only a broken connection is an error here.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
    idempotency_key: bool,
) -> Result<(u16, Vec<u8>), String> {
    let mut request = client
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body);
    if idempotency_key {
        request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the answer failed: {e}"))?;
    Ok((status, bytes.to_vec()))
}

pub async fn get_json(client: &reqwest::Client, api: &Api, path: &str) -> anyhow::Result<Value> {
    let response = client
        .get(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    ensure!(status.as_u16() == 200, "GET {path}: {status} {body}");
    Ok(body)
}

/// Waits until every entry of the bank is sealed; every report on the way must say `ok: true`.
/// Returns the final report and how long it waited.
pub async fn wait_verified(
    client: &reqwest::Client,
    api: &Api,
    bank: i64,
) -> anyhow::Result<(Value, f64)> {
    let waited = Instant::now();
    loop {
        let report = get_json(client, api, &format!("/api/v1/banks/{bank}/verify")).await?;
        ensure!(report["ok"] == true, "verify found problems: {report}");
        if report["unsealed_entries"] == 0 {
            return Ok((report, waited.elapsed().as_secs_f64()));
        }
        ensure!(
            waited.elapsed() < Duration::from_secs(120),
            "entries stayed unsealed: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `POST path` with a JSON body as the staff member of `api`; any status but `expect` is an
/// error. Answers the body.
pub async fn post_json(
    client: &reqwest::Client,
    api: &Api,
    path: &str,
    body: &Value,
    expect: u16,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", api.base);
    let (status, bytes) = post(client, &url, &api.token, body.to_string(), false)
        .await
        .map_err(|e| anyhow!("POST {path}: {e}"))?;
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    ensure!(status == expect, "POST {path}: {status} {answer}");
    Ok(answer)
}
