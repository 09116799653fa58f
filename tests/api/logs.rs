//! The log carries no personal data and no secrets, even at its most verbose level: the real
//! binary runs with `PB_LOG=trace` through sign-ins, refreshes, registrations, WeChat binding and
//! card scans, and everything it printed is searched for what it was given.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_backends;
use crate::wechat::{spawn_wechat, APPID, SECRET};

const PASSWORD: &str = "log-test-Passw0rd!";
const WRONG_PASSWORD: &str = "wrong-Passw0rd-guess";
const STAFF_PHONE: &str = "13911112222";
const MEMBER_PHONE: &str = "13812345678";
const MEMBER_NAME: &str = "赵小梅";
const ID_CARD: &str = "11010519491231002X";
const JWT_SECRET: &str = "log-test-jwt-secret-that-is-long-enough";
const CARD_SECRET: &str = "log-test-card-secret-that-is-long-enough";
const OPENID: &str = "oLogTest8c2Vz";
/// What our jscode2session stand-in answers as the session key for every code.
const SESSION_KEY: &str = "c2Vzc2lvbg==";

/// The real binary, serving, with everything it prints collected.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl Read + Send + 'static, output: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut all = output.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
}

fn pointsbank(database: &TestDatabase, wechat: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pointsbank"));
    command
        .env("DATABASE_URL", &database.url)
        .env("PB_DATA_DIR", database.dir.path())
        .env("PB_LOG", "trace")
        .env("PB_BIND", "127.0.0.1:0")
        .env("PB_WORKERS", "2")
        .env("PB_JWT_SECRET", JWT_SECRET)
        .env("PB_CARD_SECRET", CARD_SECRET)
        .env("PB_WECHAT_API_BASE", wechat)
        .env("PB_WECHAT_APPID", APPID)
        .env("PB_WECHAT_SECRET", SECRET);
    command
}

fn serve(database: &TestDatabase, wechat: &str, output: Arc<Mutex<String>>) -> Server {
    let child = pointsbank(database, wechat)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pointsbank serve starts");
    // Owned by the guard at once: a failed start below still stops the process.
    let mut server = Server { child, port: 0 };
    collect(server.child.stdout.take().unwrap(), output.clone());
    collect(server.child.stderr.take().unwrap(), output.clone());
    let started = Instant::now();
    server.port = loop {
        let text = output.lock().unwrap().clone();
        // `points bank listening` carries `port=<n>`.
        if let Some(line) = text.lines().find(|l| l.contains("points bank listening")) {
            let digits: String = line[line.find("port=").expect("port logged") + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            break digits.parse().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    server
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> Reply {
    let url = format!("{base}{path}");
    let mut request = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&body),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.send().await.expect("request")).await
}

fn text_of(value: &Value) -> String {
    value.as_str().expect("a string").to_string()
}

on_both_backends!(
    the_log_carries_no_personal_data_or_secrets_even_at_trace_level,
    |backend| async move {
        let database = TestDatabase::new(backend);
        let wechat = spawn_wechat().await;
        let output = Arc::new(Mutex::new(String::new()));
        let created = pointsbank(&database, &wechat)
            .args([
                "admin",
                "create",
                "--phone",
                STAFF_PHONE,
                "--name",
                "日志管理员",
            ])
            .env("PB_ADMIN_PASSWORD", PASSWORD)
            .output()
            .expect("admin create runs");
        assert!(created.status.success(), "{created:?}");
        for stream in [&created.stdout, &created.stderr] {
            output
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(stream));
        }
        let server = serve(&database, &wechat, output.clone());
        let base = format!("http://127.0.0.1:{}", server.port);
        let client = reqwest::Client::new();
        let mut secrets: Vec<(String, String)> = Vec::new();
        let mut keep = |what: &str, value: String| secrets.push((what.to_string(), value));

        // Staff: sign in with a password, refresh, register a unit, a bank and a member.
        let signed_in = send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"phone": STAFF_PHONE, "password": PASSWORD}),
        )
        .await;
        let signed_in = signed_in.ok(200).clone();
        keep("first refresh token", text_of(&signed_in["refresh_token"]));
        let refreshed = send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": signed_in["refresh_token"]}),
        )
        .await;
        let refreshed = refreshed.ok(200).clone();
        let token = text_of(&refreshed["access_token"]);
        keep("first access token", text_of(&signed_in["access_token"]));
        keep("access token", token.clone());
        keep("refresh token", text_of(&refreshed["refresh_token"]));
        let staff = Some(token.as_str());
        let unit = send(
            &client,
            &base,
            "POST",
            "/api/v1/orgs",
            staff,
            json!({"code": "log-village", "name": "日志村"}),
        )
        .await;
        let unit = unit.ok(201)["id"].clone();
        send(
            &client,
            &base,
            "POST",
            "/api/v1/banks",
            staff,
            json!({"org_id": unit, "name": "日志村积分银行"}),
        )
        .await
        .ok(201);
        let member = send(
            &client,
            &base,
            "POST",
            "/api/v1/members",
            staff,
            json!({"org_id": unit, "name": MEMBER_NAME, "phone": MEMBER_PHONE,
                   "id_card": ID_CARD.to_lowercase()}),
        )
        .await;
        let member_id = member.ok(201)["id"].as_i64().unwrap();
        send(
            &client,
            &base,
            "POST",
            "/api/v1/members",
            staff,
            json!({"org_id": unit, "name": "重复", "phone": MEMBER_PHONE}),
        )
        .await
        .problem(409, "already_exists");

        // The volunteer: WeChat sign-in, binding by phone and name, then straight in.
        let code = format!("code-{OPENID}");
        let first = send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/wechat",
            None,
            json!({"code": code}),
        )
        .await;
        let ticket = text_of(&first.ok(200)["binding_ticket"]);
        keep("binding ticket", ticket.clone());
        let bound = send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/wechat/bind",
            None,
            json!({"binding_ticket": ticket, "phone": MEMBER_PHONE, "name": MEMBER_NAME}),
        )
        .await;
        keep(
            "member token at binding",
            text_of(&bound.ok(200)["access_token"]),
        );
        let again = send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/wechat",
            None,
            json!({"code": code}),
        )
        .await;
        let again = again.ok(200).clone();
        keep(
            "member refresh token at binding",
            text_of(&bound.body["refresh_token"]),
        );
        keep("member refresh token", text_of(&again["refresh_token"]));
        let renewed = send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/wechat/refresh",
            None,
            json!({"refresh_token": again["refresh_token"]}),
        )
        .await;
        let renewed = renewed.ok(200).clone();
        keep(
            "renewed member refresh token",
            text_of(&renewed["refresh_token"]),
        );
        keep("renewed member token", text_of(&renewed["access_token"]));
        let member_token = text_of(&again["access_token"]);
        keep("member token", member_token.clone());
        send(
            &client,
            &base,
            "GET",
            "/api/v1/me",
            Some(&member_token),
            Value::Null,
        )
        .await
        .ok(200);

        // The counter scans the member's card.
        let card = send(
            &client,
            &base,
            "GET",
            &format!("/api/v1/members/{member_id}/card/payload"),
            staff,
            Value::Null,
        )
        .await;
        let card_token = text_of(&card.ok(200)["token"]);
        keep("card token", card_token.clone());
        send(
            &client,
            &base,
            "POST",
            "/api/v1/members/lookup",
            staff,
            json!({"card": card_token}),
        )
        .await
        .ok(200);

        // Someone guesses a password.
        send(
            &client,
            &base,
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"phone": STAFF_PHONE, "password": WRONG_PASSWORD}),
        )
        .await
        .problem(401, "invalid_credentials");

        // Each request is logged before its response is sent; give the reader threads a moment.
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(server);
        let log = output.lock().unwrap().clone();
        assert!(
            log.contains("TRACE") || log.contains("DEBUG"),
            "the log is verbose: {log}"
        );
        assert!(
            log.contains("/api/v1/members/lookup"),
            "requests are logged"
        );
        let id_card_digits = &ID_CARD[..17];
        let mut given = vec![
            ("password".to_string(), PASSWORD.to_string()),
            ("wrong password".into(), WRONG_PASSWORD.into()),
            ("staff phone".into(), STAFF_PHONE.into()),
            ("member phone".into(), MEMBER_PHONE.into()),
            ("member name".into(), MEMBER_NAME.into()),
            ("ID number".into(), id_card_digits.into()),
            ("WeChat code".into(), code.clone()),
            ("WeChat openid".into(), OPENID.into()),
            ("WeChat session key".into(), SESSION_KEY.into()),
            ("WeChat AppSecret".into(), SECRET.into()),
            ("JWT secret".into(), JWT_SECRET.into()),
            ("card secret".into(), CARD_SECRET.into()),
        ];
        for (what, value) in secrets {
            // A token's signature alone is as good as the token: look for that too.
            let tail = value
                .rsplit(['.', '_'])
                .next()
                .unwrap_or_default()
                .to_string();
            given.push((format!("{what} (signature)"), tail));
            given.push((what, value));
        }
        for (what, value) in given {
            assert!(!value.is_empty());
            assert!(
                !log.contains(&value),
                "the log contains the {what} `{value}`:\n{}",
                log.lines()
                    .filter(|l| l.contains(&value))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
);
