//! The ledger against an in-memory model: random sequences of awards, deductions, transfers,
//! reversals, holds, captures, releases and idempotent retries must give exactly the outcomes,
//! balances and hold states that a few lines of integer arithmetic predict.
//!
//! Proptest's runner is synchronous, so each backend gets one service on a runtime built here,
//! every case runs inside `block_on` on a fresh village (bank), and a failing case is shrunk
//! to a short sequence of operations. `PROPTEST_CASES` overrides the number of cases.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::helpers::*;

/// Member POINTS wallets per bank: few, so operations collide on the same wallets.
const WALLETS: usize = 3;
const MAX_OPS: usize = 40;
const DEFAULT_CASES: u32 = 24;

#[test]
fn random_operation_sequences_match_the_model_on_sqlite() {
    check_against_the_model(Backend::Sqlite);
}

#[test]
#[cfg_attr(
    not(pb_postgres),
    ignore = "needs PostgreSQL: build and run with PB_TEST_POSTGRES_URL set"
)]
fn random_operation_sequences_match_the_model_on_postgres() {
    check_against_the_model(Backend::Postgres);
}

// ---------------------------------------------------------------------------------------------
// Operations, as generated. Indices into earlier results are resolved when the case runs.

#[derive(Debug, Clone)]
enum Op {
    Award {
        wallet: usize,
        minor: i64,
    },
    Deduct {
        wallet: usize,
        minor: i64,
    },
    Transfer {
        from: usize,
        to: usize,
        minor: i64,
    },
    /// Reverse one of the entries posted so far (award, deduct, transfer, redeem or reversal).
    Reverse {
        entry: Index,
    },
    PlaceHold {
        wallet: usize,
        minor: i64,
    },
    /// Capture one of the holds placed so far, all of it or `minor`.
    Capture {
        hold: Index,
        minor: Option<i64>,
    },
    Release {
        hold: Index,
    },
    /// Send an earlier request again: same Idempotency-Key, same body.
    Retry {
        request: Index,
    },
    /// Send an award under the Idempotency-Key of an earlier request.
    ReuseKey {
        request: Index,
        wallet: usize,
        minor: i64,
    },
}

/// Minor units of a spend, hold or capture: tiny ones ("0.01"), any cents, whole points.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => 1i64..=5,
        5 => 1i64..=3_000,
        3 => (1i64..=30).prop_map(|units| units * 100),
    ]
}

/// Awards are larger on average, so that spends both succeed and fail.
fn award_amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => 1i64..=5,
        4 => 1i64..=10_000,
        3 => (1i64..=100).prop_map(|units| units * 100),
    ]
}

fn operation() -> impl Strategy<Value = Op> {
    let wallet = 0..WALLETS;
    prop_oneof![
        4 => (wallet.clone(), award_amount())
            .prop_map(|(wallet, minor)| Op::Award { wallet, minor }),
        2 => (wallet.clone(), amount()).prop_map(|(wallet, minor)| Op::Deduct { wallet, minor }),
        2 => (wallet.clone(), wallet.clone(), amount())
            .prop_map(|(from, to, minor)| Op::Transfer { from, to, minor }),
        2 => any::<Index>().prop_map(|entry| Op::Reverse { entry }),
        3 => (wallet.clone(), amount()).prop_map(|(wallet, minor)| Op::PlaceHold { wallet, minor }),
        3 => (any::<Index>(), proptest::option::of(amount()))
            .prop_map(|(hold, minor)| Op::Capture { hold, minor }),
        1 => any::<Index>().prop_map(|hold| Op::Release { hold }),
        2 => any::<Index>().prop_map(|request| Op::Retry { request }),
        1 => (any::<Index>(), wallet, award_amount())
            .prop_map(|(request, wallet, minor)| Op::ReuseKey { request, wallet, minor }),
    ]
}

fn operations() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(operation(), 1..=MAX_OPS)
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acct {
    Wallet(usize),
    Issuance,
    Redemption,
}

#[derive(Debug)]
struct ModelEntry {
    id: i64,
    kind: &'static str,
    postings: Vec<(Acct, i64)>,
    reversed_by: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldState {
    Pending,
    Captured(i64),
    Released,
}

#[derive(Debug)]
struct ModelHold {
    id: i64,
    wallet: usize,
    minor: i64,
    state: HoldState,
}

/// A request that takes an Idempotency-Key. Indices point into the model's entries and holds,
/// so the same action always renders to the same path and body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Award { wallet: usize, minor: i64 },
    Deduct { wallet: usize, minor: i64 },
    Transfer { from: usize, to: usize, minor: i64 },
    Reverse { entry: usize },
    PlaceHold { wallet: usize, minor: i64 },
    Capture { hold: usize, minor: Option<i64> },
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Award { .. } => "award",
            Action::Deduct { .. } => "deduct",
            Action::Transfer { .. } => "transfer",
            Action::Reverse { .. } => "reversal",
            Action::PlaceHold { .. } => "hold",
            Action::Capture { .. } => "capture",
        }
    }
}

#[derive(Debug, Clone)]
struct Request {
    key: String,
    action: Action,
}

#[derive(Default)]
struct Model {
    balance: [i64; WALLETS],
    held: [i64; WALLETS],
    issuance: i64,
    redemption: i64,
    entries: Vec<ModelEntry>,
    holds: Vec<ModelHold>,
    /// Every keyed request sent, in order (what `Retry` and `ReuseKey` pick from).
    requests: Vec<Request>,
    /// Keys the service must remember: only those whose request succeeded (a failed request
    /// rolls its key back), with the action and the response it must replay.
    stored: HashMap<String, (Action, Value)>,
}

/// What the model says a request must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Success,
    Problem(u16, &'static str),
}

impl Model {
    fn available(&self, wallet: usize) -> i64 {
        self.balance[wallet] - self.held[wallet]
    }

    fn predict(&self, action: &Action) -> Expected {
        const INSUFFICIENT: Expected = Expected::Problem(409, "insufficient_funds");
        match *action {
            Action::Award { .. } => Expected::Success,
            Action::Deduct { wallet, minor } | Action::PlaceHold { wallet, minor } => {
                if self.available(wallet) >= minor {
                    Expected::Success
                } else {
                    INSUFFICIENT
                }
            }
            Action::Transfer { from, to, minor } => {
                if from == to {
                    Expected::Problem(422, "invalid_entry")
                } else if self.available(from) >= minor {
                    Expected::Success
                } else {
                    INSUFFICIENT
                }
            }
            Action::Reverse { entry } => {
                let entry = &self.entries[entry];
                if entry.kind == "reverse" {
                    return Expected::Problem(409, "not_reversible");
                }
                if entry.reversed_by.is_some() {
                    return Expected::Problem(409, "already_reversed");
                }
                // The reversal debits every wallet the original credited.
                let covered = entry.postings.iter().all(|&(acct, minor)| match acct {
                    Acct::Wallet(wallet) if minor > 0 => self.available(wallet) >= minor,
                    _ => true,
                });
                if covered {
                    Expected::Success
                } else {
                    INSUFFICIENT
                }
            }
            Action::Capture { hold, minor } => {
                let hold = &self.holds[hold];
                if hold.state != HoldState::Pending {
                    Expected::Problem(409, "hold_not_pending")
                } else if minor.is_some_and(|m| m > hold.minor) {
                    Expected::Problem(422, "capture_exceeds_hold")
                } else {
                    Expected::Success
                }
            }
        }
    }

    fn post(&mut self, acct: Acct, minor: i64) {
        match acct {
            Acct::Wallet(wallet) => self.balance[wallet] += minor,
            Acct::Issuance => self.issuance += minor,
            Acct::Redemption => self.redemption += minor,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One case over HTTP.

/// The accounts of one case's bank.
struct Bank {
    village: Village,
    redemption: i64,
    wallets: [i64; WALLETS],
}

impl Bank {
    fn account_id(&self, acct: Acct) -> i64 {
        match acct {
            Acct::Wallet(wallet) => self.wallets[wallet],
            Acct::Issuance => self.village.issuance,
            Acct::Redemption => self.redemption,
        }
    }

    fn entries_path(&self) -> String {
        format!("/api/v1/banks/{}/entries", self.village.bank)
    }

    fn holds_path(&self) -> String {
        format!("/api/v1/banks/{}/holds", self.village.bank)
    }

    fn entry_body(&self, kind: &str, memo: &str, postings: &[(Acct, i64)]) -> Value {
        let lines: Vec<Value> = postings
            .iter()
            .map(
                |&(acct, minor)| json!({"account_id": self.account_id(acct), "amount": fmt(minor)}),
            )
            .collect();
        json!({"kind": kind, "memo": memo, "postings": lines})
    }

    /// The path and body an action is sent as; a function of the action alone.
    fn render(&self, model: &Model, action: &Action) -> (String, Value) {
        match *action {
            Action::Award { wallet, minor } => (
                self.entries_path(),
                self.entry_body(
                    "award",
                    "巡河",
                    &[(Acct::Issuance, -minor), (Acct::Wallet(wallet), minor)],
                ),
            ),
            Action::Deduct { wallet, minor } => (
                self.entries_path(),
                self.entry_body(
                    "deduct",
                    "违反村规民约",
                    &[(Acct::Wallet(wallet), -minor), (Acct::Issuance, minor)],
                ),
            ),
            Action::Transfer { from, to, minor } => (
                self.entries_path(),
                self.entry_body(
                    "transfer",
                    "家庭合并",
                    &[(Acct::Wallet(from), -minor), (Acct::Wallet(to), minor)],
                ),
            ),
            Action::Reverse { entry } => (
                format!(
                    "{}/{}/reversal",
                    self.entries_path(),
                    model.entries[entry].id
                ),
                json!({"memo": "录入错误，冲正"}),
            ),
            Action::PlaceHold { wallet, minor } => (
                self.holds_path(),
                json!({"account_id": self.wallets[wallet], "amount": fmt(minor), "memo": "订单"}),
            ),
            Action::Capture { hold, minor } => {
                let mut body = json!({"memo": "积分超市兑换"});
                if let Some(minor) = minor {
                    body["amount"] = json!(fmt(minor));
                }
                (
                    format!("{}/{}/capture", self.holds_path(), model.holds[hold].id),
                    body,
                )
            }
        }
    }

    /// Checks an entry in a response against the postings the model expects.
    fn check_entry(
        &self,
        entry: &Value,
        kind: &str,
        postings: &[(Acct, i64)],
    ) -> Result<i64, TestCaseError> {
        prop_assert_eq!(entry["kind"].as_str(), Some(kind), "entry: {}", entry);
        let mut expected: Vec<(i64, String)> = postings
            .iter()
            .map(|&(acct, minor)| (self.account_id(acct), fmt(minor)))
            .collect();
        expected.sort();
        let mut actual: Vec<(i64, String)> = entry["postings"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .map(|p| {
                        (
                            p["account_id"].as_i64().unwrap_or_default(),
                            p["amount"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        actual.sort();
        prop_assert_eq!(actual, expected, "postings of {}", entry);
        entry["id"]
            .as_i64()
            .ok_or_else(|| TestCaseError::fail(format!("entry without id: {entry}")))
    }

    /// Checks a successful response and applies its effect to the model.
    fn apply(&self, model: &mut Model, action: &Action, body: &Value) -> Result<(), TestCaseError> {
        let posted = |kind: &'static str, postings: Vec<(Acct, i64)>| (kind, postings);
        let (kind, postings) = match *action {
            Action::Award { wallet, minor } => posted(
                "award",
                vec![(Acct::Issuance, -minor), (Acct::Wallet(wallet), minor)],
            ),
            Action::Deduct { wallet, minor } => posted(
                "deduct",
                vec![(Acct::Wallet(wallet), -minor), (Acct::Issuance, minor)],
            ),
            Action::Transfer { from, to, minor } => posted(
                "transfer",
                vec![(Acct::Wallet(from), -minor), (Acct::Wallet(to), minor)],
            ),
            Action::Reverse { entry } => {
                let original = &model.entries[entry];
                prop_assert_eq!(
                    body["reverses_entry_id"].as_i64(),
                    Some(original.id),
                    "{}",
                    body
                );
                posted(
                    "reverse",
                    original.postings.iter().map(|&(a, m)| (a, -m)).collect(),
                )
            }
            Action::PlaceHold { wallet, minor } => {
                prop_assert_eq!(body["status"].as_str(), Some("pending"), "{}", body);
                prop_assert_eq!(body["account_id"].as_i64(), Some(self.wallets[wallet]));
                prop_assert_eq!(text(&body["amount"]), Some(fmt(minor)));
                let id = body["id"]
                    .as_i64()
                    .ok_or_else(|| TestCaseError::fail(format!("hold without id: {body}")))?;
                model.held[wallet] += minor;
                model.holds.push(ModelHold {
                    id,
                    wallet,
                    minor,
                    state: HoldState::Pending,
                });
                return Ok(());
            }
            Action::Capture { hold, minor } => {
                let (wallet, reserved) = (model.holds[hold].wallet, model.holds[hold].minor);
                let captured = minor.unwrap_or(reserved);
                let hold_body = &body["hold"];
                prop_assert_eq!(hold_body["status"].as_str(), Some("captured"), "{}", body);
                prop_assert_eq!(
                    text(&hold_body["captured_amount"]),
                    Some(fmt(captured)),
                    "{}",
                    body
                );
                prop_assert_eq!(
                    &hold_body["capture_entry_id"],
                    &body["entry"]["id"],
                    "{}",
                    body
                );
                // The whole reservation ends; only `captured` leaves the wallet.
                model.held[wallet] -= reserved;
                model.holds[hold].state = HoldState::Captured(captured);
                let postings = vec![
                    (Acct::Wallet(wallet), -captured),
                    (Acct::Redemption, captured),
                ];
                let id = self.check_entry(&body["entry"], "redeem", &postings)?;
                for &(acct, m) in &postings {
                    model.post(acct, m);
                }
                model.entries.push(ModelEntry {
                    id,
                    kind: "redeem",
                    postings,
                    reversed_by: None,
                });
                return Ok(());
            }
        };
        let id = self.check_entry(body, kind, &postings)?;
        prop_assert!(body["reversed_by_entry_id"].is_null(), "{}", body);
        for &(acct, m) in &postings {
            model.post(acct, m);
        }
        if let Action::Reverse { entry } = *action {
            model.entries[entry].reversed_by = Some(id);
        }
        model.entries.push(ModelEntry {
            id,
            kind,
            postings,
            reversed_by: None,
        });
        Ok(())
    }
}

/// Tally of outcomes over all cases, to show what the generated sequences exercised.
type Tally = RefCell<BTreeMap<String, usize>>;

fn count(tally: &Tally, what: String) {
    *tally.borrow_mut().entry(what).or_insert(0) += 1;
}

fn check_problem(reply: &Reply, status: u16, code: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        reply.status.as_u16(),
        status,
        "expected {} {}, got: {}",
        status,
        code,
        reply.body
    );
    prop_assert_eq!(
        reply.body["code"].as_str(),
        Some(code),
        "body: {}",
        reply.body
    );
    prop_assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    Ok(())
}

/// Sends a keyed request and checks its answer: a replay of the stored response, a conflict,
/// or whatever the model predicts for a fresh request (which then changes the model).
async fn send(
    app: &TestApp,
    bank: &Bank,
    model: &mut Model,
    request: &Request,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let (path, body) = bank.render(model, &request.action);
    let reply = app.post_with_key(&path, body, Some(&request.key)).await;
    let replayed = reply
        .headers
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok());
    match model.stored.get(&request.key) {
        Some((action, stored)) if *action == request.action => {
            count(tally, "replayed".into());
            prop_assert_eq!(reply.status.as_u16(), 201, "replay: {}", reply.body);
            prop_assert_eq!(replayed, Some("true"));
            prop_assert_eq!(
                &reply.body,
                stored,
                "a replay returns the original response"
            );
        }
        Some(_) => {
            count(tally, "idempotency_conflict".into());
            check_problem(&reply, 422, "idempotency_conflict")?;
        }
        None => match model.predict(&request.action) {
            Expected::Problem(status, code) => {
                count(tally, code.into());
                check_problem(&reply, status, code)?;
            }
            Expected::Success => {
                count(tally, format!("ok {}", request.action.name()));
                prop_assert_eq!(
                    reply.status.as_u16(),
                    201,
                    "expected success: {}",
                    reply.body
                );
                prop_assert_eq!(replayed, None, "a fresh request is not a replay");
                bank.apply(model, &request.action, &reply.body)?;
                model
                    .stored
                    .insert(request.key.clone(), (request.action.clone(), reply.body));
            }
        },
    }
    Ok(())
}

async fn send_new(
    app: &TestApp,
    bank: &Bank,
    model: &mut Model,
    action: Action,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let request = Request {
        key: uuid::Uuid::new_v4().to_string(),
        action,
    };
    model.requests.push(request.clone());
    send(app, bank, model, &request, tally).await
}

async fn release(
    app: &TestApp,
    bank: &Bank,
    model: &mut Model,
    hold: usize,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let path = format!("{}/{}/release", bank.holds_path(), model.holds[hold].id);
    let reply = app.post(&path, json!({})).await;
    if model.holds[hold].state == HoldState::Pending {
        count(tally, "ok release".into());
        prop_assert_eq!(reply.status.as_u16(), 200, "release: {}", reply.body);
        prop_assert_eq!(reply.body["status"].as_str(), Some("released"));
        model.holds[hold].state = HoldState::Released;
        model.held[model.holds[hold].wallet] -= model.holds[hold].minor;
    } else {
        count(tally, "hold_not_pending (release)".into());
        check_problem(&reply, 409, "hold_not_pending")?;
    }
    Ok(())
}

async fn step(
    app: &TestApp,
    bank: &Bank,
    model: &mut Model,
    op: &Op,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let action = match op.clone() {
        Op::Award { wallet, minor } => Action::Award { wallet, minor },
        Op::Deduct { wallet, minor } => Action::Deduct { wallet, minor },
        Op::Transfer { from, to, minor } => Action::Transfer { from, to, minor },
        Op::PlaceHold { wallet, minor } => Action::PlaceHold { wallet, minor },
        Op::Reverse { entry } => {
            if model.entries.is_empty() {
                return Ok(());
            }
            Action::Reverse {
                entry: entry.index(model.entries.len()),
            }
        }
        Op::Capture { hold, minor } => {
            if model.holds.is_empty() {
                return Ok(());
            }
            Action::Capture {
                hold: hold.index(model.holds.len()),
                minor,
            }
        }
        Op::Release { hold } => {
            if model.holds.is_empty() {
                return Ok(());
            }
            return release(app, bank, model, hold.index(model.holds.len()), tally).await;
        }
        Op::Retry { request } => {
            if model.requests.is_empty() {
                return Ok(());
            }
            let earlier = model.requests[request.index(model.requests.len())].clone();
            return send(app, bank, model, &earlier, tally).await;
        }
        Op::ReuseKey {
            request,
            wallet,
            minor,
        } => {
            if model.requests.is_empty() {
                return Ok(());
            }
            let reused = Request {
                key: model.requests[request.index(model.requests.len())]
                    .key
                    .clone(),
                action: Action::Award { wallet, minor },
            };
            model.requests.push(reused.clone());
            return send(app, bank, model, &reused, tally).await;
        }
    };
    send_new(app, bank, model, action, tally).await
}

/// Parses a decimal string of the API ("-12.50") into minor units.
fn minor_of(value: &Value) -> Result<i64, TestCaseError> {
    let text = value
        .as_str()
        .ok_or_else(|| TestCaseError::fail(format!("not an amount: {value}")))?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (units, cents) = digits
        .split_once('.')
        .filter(|(_, cents)| cents.len() == 2)
        .ok_or_else(|| TestCaseError::fail(format!("not a 2-decimal amount: {text}")))?;
    let parse = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| TestCaseError::fail(format!("not an amount: {text}")))
    };
    let minor = parse(units)? * 100 + parse(cents)?;
    Ok(if negative { -minor } else { minor })
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

/// Minor units as the API writes them: "0.01", "-12.50".
fn fmt(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// After a case: every balance, hold and entry the service reports equals the model, points
/// are conserved, and the bank verifies clean with exactly the model's entries.
async fn check_final_state(app: &TestApp, bank: &Bank, model: &Model) -> Result<(), TestCaseError> {
    let mut wallet_sum = 0;
    for wallet in 0..WALLETS {
        let account = app.account(&bank.village, bank.wallets[wallet]).await;
        let (balance, held) = (model.balance[wallet], model.held[wallet]);
        prop_assert!(balance >= 0 && held >= 0 && held <= balance, "model broke");
        prop_assert_eq!(
            (
                text(&account["balance"]),
                text(&account["held"]),
                text(&account["available"])
            ),
            (
                Some(fmt(balance)),
                Some(fmt(held)),
                Some(fmt(balance - held))
            ),
            "wallet {}",
            wallet
        );
        wallet_sum += minor_of(&account["balance"])?;
    }
    let issuance = minor_of(&app.account(&bank.village, bank.village.issuance).await["balance"])?;
    let redemption = minor_of(&app.account(&bank.village, bank.redemption).await["balance"])?;
    prop_assert_eq!(redemption, model.redemption, "redemption account");
    prop_assert_eq!(issuance, model.issuance, "issuance account");
    prop_assert_eq!(
        issuance,
        -(wallet_sum + redemption),
        "points are conserved: issuance = -(wallets + redemption)"
    );

    for hold in &model.holds {
        let reply = app.get(&format!("{}/{}", bank.holds_path(), hold.id)).await;
        prop_assert_eq!(reply.status.as_u16(), 200, "hold {}", hold.id);
        let (status, captured) = match hold.state {
            HoldState::Pending => ("pending", None),
            HoldState::Released => ("released", None),
            HoldState::Captured(minor) => ("captured", Some(fmt(minor))),
        };
        prop_assert_eq!(
            reply.body["status"].as_str(),
            Some(status),
            "{}",
            reply.body
        );
        prop_assert_eq!(
            reply.body["captured_amount"].as_str(),
            captured.as_deref(),
            "{}",
            reply.body
        );
    }
    for entry in &model.entries {
        let reply = app
            .get(&format!("{}/{}", bank.entries_path(), entry.id))
            .await;
        prop_assert_eq!(reply.status.as_u16(), 200, "entry {}", entry.id);
        prop_assert_eq!(
            reply.body["reversed_by_entry_id"].as_i64(),
            entry.reversed_by,
            "{}",
            reply.body
        );
    }

    let path = format!("/api/v1/banks/{}/verify", bank.village.bank);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = app.get(&path).await;
        prop_assert_eq!(report.status.as_u16(), 200, "verify: {}", report.body);
        prop_assert_eq!(
            &report.body["ok"],
            &json!(true),
            "verify found problems: {}",
            report.body
        );
        prop_assert_eq!(
            report.body["entries_checked"].as_u64(),
            Some(model.entries.len() as u64),
            "the bank holds exactly the model's entries: {}",
            report.body
        );
        if report.body["unsealed_entries"] == 0 {
            return Ok(());
        }
        prop_assert!(
            Instant::now() < deadline,
            "entries stayed unsealed: {}",
            report.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run_case(app: &TestApp, ops: Vec<Op>, tally: &Tally) -> Result<(), TestCaseError> {
    let village = app.village().await;
    let redemption = app
        .system_account(village.bank, "POINTS", "redemption")
        .await;
    let mut wallets = [0; WALLETS];
    for (i, wallet) in wallets.iter_mut().enumerate() {
        *wallet = app.wallet(&village, &format!("志愿者{i}")).await;
    }
    let bank = Bank {
        village,
        redemption,
        wallets,
    };
    let mut model = Model::default();
    for (index, op) in ops.iter().enumerate() {
        step(app, &bank, &mut model, op, tally)
            .await
            .map_err(|err| TestCaseError::fail(format!("at op {index} {op:?}: {err}")))?;
    }
    check_final_state(app, &bank, &model).await
}

fn check_against_the_model(backend: Backend) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let config = Config {
        cases,
        max_shrink_iters: 200,
        // No regression file: this crate does not keep proptest-regressions/ under version control.
        failure_persistence: None,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The server runs on the runtime's workers; each case drives it from `block_on` (this
    // function is not async, so block_on is never called from inside an async context).
    let app = runtime.block_on(spawn_app(backend));
    let tally = Tally::default();
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&operations(), |ops| {
        runtime.block_on(run_case(&app, ops, &tally))
    });
    eprintln!(
        "{backend:?}: {cases} cases in {:.1?}; outcomes: {:?}",
        started.elapsed(),
        tally.borrow()
    );
    runtime.block_on(async move { drop(app) });
    if let Err(err) = result {
        panic!("{backend:?}: the service disagrees with the model: {err}");
    }
}
