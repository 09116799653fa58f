//! The email channel: a queued message as a MIME message (UTF-8 headers, plain text with an HTML
//! alternative, the outbox's stable Message-ID) delivered over SMTP by lettre on tokio, with TLS
//! by rustls.

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::db::notifications::outbox::OutboxRow;
use crate::domain::notifications::Delivery;

/// The message as it goes on the wire. A recipient that is not an email address can never be
/// delivered: that is a permanent failure, not a retry.
pub fn compose(message: &OutboxRow, from: &Mailbox) -> Result<Message, Delivery> {
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|e| Delivery::Permanent(format!("bad recipient address: {e}")))?;
    let builder = Message::builder()
        .message_id(Some(message.message_id.clone()))
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone());
    let built = match &message.body_html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            message.body_text.clone(),
            html.clone(),
        )),
        None => builder.body(message.body_text.clone()),
    };
    built.map_err(|e| Delivery::Permanent(format!("the message cannot be built: {e}")))
}

/// An SMTP relay and the sender's address (`PB_SMTP_URL`, `PB_MAIL_FROM`).
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpChannel {
    /// lettre's URL forms: `smtp://host:25` (no TLS: only for a relay on the same host),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (TLS from the start), with
    /// credentials as `smtps://user:password@host`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<SmtpChannel> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("PB_SMTP_URL is not a usable SMTP URL: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("PB_MAIL_FROM is not a mailbox: {e}"))?;
        Ok(SmtpChannel { transport, from })
    }

    /// One delivery attempt. The server's permanent refusals (5xx) end the message; everything
    /// else (no connection, 4xx, a timeout) may pass and is retried.
    pub async fn deliver(&self, message: &OutboxRow) -> Delivery {
        let composed = match compose(message, &self.from) {
            Ok(composed) => composed,
            Err(refusal) => return refusal,
        };
        match self.transport.send(composed).await {
            Ok(_) => Delivery::Delivered,
            Err(e) if e.is_permanent() => Delivery::Permanent(e.to_string()),
            Err(e) => Delivery::Transient(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn queued(html: Option<&str>) -> OutboxRow {
        OutboxRow {
            id: 1,
            channel: "email".into(),
            kind: "order_ready".into(),
            recipient: "王秀英 <wang@example.cn>".into(),
            dedup_key: "order_ready:order:42".into(),
            message_id: "<1780000000.abc@pointsbank.test>".into(),
            subject: "您的订单可以领取了".into(),
            body_text: "请到青山村积分超市领取。".into(),
            body_html: html.map(str::to_string),
            status: "sending".into(),
            attempts: 1,
            next_attempt_at: 0,
            lease_until: None,
            leased_by: None,
            last_error: None,
            created_at: 0,
            sent_at: None,
        }
    }

    fn wire(message: &Message) -> String {
        String::from_utf8(message.formatted()).expect("MIME is ASCII")
    }

    /// The text of an RFC 2047 `=?utf-8?b?…?=` header value.
    fn decoded(header: &str) -> String {
        let mut text = Vec::new();
        for word in header.split_whitespace() {
            let inner = word.trim_start_matches("=?utf-8?b?").trim_end_matches("?=");
            text.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(inner)
                    .expect("base64"),
            );
        }
        String::from_utf8(text).expect("UTF-8")
    }

    fn header<'a>(wire: &'a str, name: &str) -> &'a str {
        let start = wire
            .find(&format!("\r\n{name}: "))
            .map(|i| i + name.len() + 4)
            .expect(name);
        let rest = &wire[start..];
        let end = rest.find("\r\n").expect("header ends");
        &rest[..end]
    }

    #[test]
    fn chinese_subjects_and_names_are_encoded_and_decode_to_the_same_text() {
        let from: Mailbox = "青山村积分银行 <bank@pointsbank.test>"
            .parse()
            .expect("from");
        let message = compose(&queued(None), &from).expect("composed");
        let wire = format!("\r\n{}", wire(&message));
        assert!(wire.is_ascii());
        assert_eq!(decoded(header(&wire, "Subject")), "您的订单可以领取了");
        assert_eq!(
            header(&wire, "Message-ID"),
            "<1780000000.abc@pointsbank.test>"
        );
        assert!(header(&wire, "From").ends_with("<bank@pointsbank.test>"));
    }

    #[test]
    fn an_html_body_goes_as_an_alternative_to_the_plain_text() {
        let from: Mailbox = "bank@pointsbank.test".parse().expect("from");
        let message =
            compose(&queued(Some("<p>请到<b>积分超市</b>领取</p>")), &from).expect("composed");
        let wire = wire(&message);
        assert!(wire.contains("multipart/alternative"), "{wire}");
        assert!(wire.contains("text/plain") && wire.contains("text/html"));
    }

    #[test]
    fn a_recipient_that_is_no_address_is_a_permanent_failure() {
        let from: Mailbox = "bank@pointsbank.test".parse().expect("from");
        let mut message = queued(None);
        message.recipient = "not an address".into();
        assert!(matches!(
            compose(&message, &from),
            Err(Delivery::Permanent(_))
        ));
    }
}
