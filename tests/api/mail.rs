//! Mail end to end, against a real SMTP server process: what is queued in the outbox arrives
//! once, with its Chinese subject and sender name intact, both parts and its Message-ID; a server
//! that is down is tried again later; a mailbox the server refuses ends the message at once.

use std::time::Duration;

use base64::Engine;
use pointsbank::db::notifications::outbox::{self, NewMessage};
use pointsbank::domain::notifications::Channel;
use pointsbank::mail::email::SmtpChannel;
use pointsbank::mail::sender::{deliver_due, Round, SenderPlan};
use pointsbank::service::Store;

use crate::smtp::{smtp_python, SmtpServer};
use crate::store::migrated_store_on_shifted_clock;
use crate::with_smtp_on_both_backends;

fn plan() -> SenderPlan {
    SenderPlan {
        sender: "test-sender".into(),
        batch: 10,
        lease: Duration::from_secs(60),
        max_attempts: 5,
    }
}

/// A round that sent, put back for retry, and gave up on so many messages.
fn came_to(sent: usize, retrying: usize, dead: usize) -> Round {
    Round {
        sent,
        retrying,
        dead,
        lease_lost: 0,
    }
}

fn queue(store: &Store, recipient: &str, cause: &str) {
    let message = NewMessage {
        channel: Channel::Email,
        kind: "order_ready",
        recipient,
        dedup_key: cause,
        subject: "您的订单可以领取了",
        body_text: "王秀英您好：您在青山村积分超市的订单已备好，请凭取货码领取。",
        body_html: Some("<p>王秀英您好：您的订单已备好，请凭<b>取货码</b>领取。</p>"),
    };
    let now = store.now();
    store
        .write(|c| outbox::enqueue(c, &message, "pointsbank.test", now))
        .expect("queued");
}

fn channel(server: &SmtpServer) -> SmtpChannel {
    SmtpChannel::new(&server.url(), "青山村积分银行 <bank@pointsbank.test>").expect("channel")
}

/// A header's value with its folded lines joined.
fn header(message: &str, name: &str) -> String {
    let unfolded = message
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    unfolded
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} header in {message}"))
        .to_string()
}

/// The text of RFC 2047 `=?utf-8?b?…?=` words.
fn decoded(value: &str) -> String {
    let mut bytes = Vec::new();
    for word in value.split_whitespace() {
        let inner = word
            .strip_prefix("=?utf-8?b?")
            .and_then(|w| w.strip_suffix("?="))
            .unwrap_or_else(|| panic!("not an encoded word: {word}"));
        bytes.extend(
            base64::engine::general_purpose::STANDARD
                .decode(inner)
                .expect("base64"),
        );
    }
    String::from_utf8(bytes).expect("UTF-8")
}

with_smtp_on_both_backends!(a_queued_message_arrives_once_intact, |backend| async move {
    let python = smtp_python();
    let server = SmtpServer::running(&python);
    let (_db, store, _clock) = migrated_store_on_shifted_clock(backend);
    queue(&store, "王秀英 <wang@example.cn>", "order_ready:order:42");
    let email = channel(&server);

    let round = deliver_due(&store, &email, &plan()).await.expect("round");
    assert_eq!(round, came_to(1, 0, 0));
    assert_eq!(
        deliver_due(&store, &email, &plan()).await.expect("round"),
        came_to(0, 0, 0)
    );

    let received = server.received();
    assert_eq!(received.len(), 1, "delivered once");
    let message = &received[0];
    assert_eq!(decoded(&header(message, "Subject")), "您的订单可以领取了");
    assert!(header(message, "To").ends_with("<wang@example.cn>"));
    assert!(header(message, "From").ends_with("<bank@pointsbank.test>"));
    let sent = store
        .read(|c| {
            use diesel::prelude::*;
            use pointsbank::db::schema::outbox_messages::dsl::*;
            Ok(outbox_messages
                .select((message_id, status))
                .first::<(String, String)>(c)?)
        })
        .expect("row");
    assert_eq!(header(message, "Message-ID"), sent.0);
    assert_eq!(sent.1, "sent");
    assert!(message.contains("multipart/alternative") && message.contains("text/html"));
});

with_smtp_on_both_backends!(
    a_server_down_at_first_gets_the_message_once_when_it_is_back,
    |backend| async move {
        let python = smtp_python();
        let mut server = SmtpServer::stopped(&python);
        let (_db, store, clock) = migrated_store_on_shifted_clock(backend);
        queue(&store, "wang@example.cn", "order_ready:order:43");
        let email = channel(&server);

        let round = deliver_due(&store, &email, &plan()).await.expect("round");
        assert_eq!(round, came_to(0, 1, 0));
        server.start();
        assert_eq!(
            deliver_due(&store, &email, &plan()).await.expect("round"),
            came_to(0, 0, 0),
            "not tried again before its backoff"
        );
        clock.advance(Duration::from_secs(31));
        let round = deliver_due(&store, &email, &plan()).await.expect("round");
        assert_eq!(round, came_to(1, 0, 0));
        assert_eq!(server.received().len(), 1);
    }
);

with_smtp_on_both_backends!(
    a_mailbox_the_server_refuses_is_dead_after_one_try,
    |backend| async move {
        let python = smtp_python();
        let server = SmtpServer::running(&python);
        let (_db, store, clock) = migrated_store_on_shifted_clock(backend);
        queue(&store, "nobody@example.cn", "order_ready:order:44");
        let email = channel(&server);

        let round = deliver_due(&store, &email, &plan()).await.expect("round");
        assert_eq!(round, came_to(0, 0, 1));
        clock.advance(Duration::from_secs(24 * 3600));
        assert_eq!(
            deliver_due(&store, &email, &plan()).await.expect("round"),
            came_to(0, 0, 0)
        );
        let dead = store.read(|c| outbox::dead(c, 10)).expect("dead");
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("550")),
            "{dead:?}"
        );
        assert!(server.received().is_empty());
    }
);

with_smtp_on_both_backends!(
    the_running_service_delivers_what_is_queued,
    |backend| async move {
        let python = smtp_python();
        let server = SmtpServer::running(&python);
        let url = server.url();
        let app = crate::helpers::spawn_app_with(backend, |settings| {
            settings.smtp_url = url;
            settings.mail_from = "青山村积分银行 <bank@pointsbank.test>".into();
            settings.mail_poll_ms = 100;
        })
        .await;
        let message = NewMessage {
            channel: Channel::Email,
            kind: "order_ready",
            recipient: "wang@example.cn",
            dedup_key: "order_ready:order:45",
            subject: "您的订单可以领取了",
            body_text: "请到青山村积分超市领取。",
            body_html: None,
        };
        let mut conn = app.pool.get().expect("connection");
        outbox::enqueue(&mut conn, &message, "pointsbank.test", app.now()).expect("queued");
        drop(conn);
        // The sender polls every 100 ms; give a loaded CI machine ten seconds.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.received().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "nothing arrived within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(server.received().len(), 1, "delivered once");
    }
);
