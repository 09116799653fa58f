//! A real SMTP server process for the mail tests: Python's aiosmtpd with a small handler
//! (tests/smtp/recording_smtpd.py) that keeps every accepted message in a Maildir.
//! `PB_TEST_SMTP_PYTHON` names a Python with aiosmtpd installed (`.ci/run` makes one); built
//! without it, the mail tests are reported as ignored, never as passed.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A mail test on both backends, run only where an SMTP server can be started.
#[macro_export]
macro_rules! with_smtp_on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(pb_smtp),
                ignore = "needs aiosmtpd: build and run with PB_TEST_SMTP_PYTHON set"
            )]
            async fn sqlite() {
                let run = $body;
                run($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                any(not(pb_smtp), not(pb_postgres)),
                ignore = "needs aiosmtpd and PostgreSQL: PB_TEST_SMTP_PYTHON and PB_TEST_POSTGRES_URL"
            )]
            async fn postgres() {
                let run = $body;
                run($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

/// The Python that runs aiosmtpd.
pub fn smtp_python() -> String {
    std::env::var("PB_TEST_SMTP_PYTHON")
        .expect("PB_TEST_SMTP_PYTHON names a Python with aiosmtpd (the tests were built with it)")
}

pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    python: String,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpServer {
    /// A server on a free port that is not started yet (to test a server that is down).
    pub fn stopped(python: &str) -> SmtpServer {
        SmtpServer {
            port: free_port(),
            maildir: tempfile::tempdir().expect("maildir"),
            python: python.to_string(),
            child: None,
        }
    }

    pub fn running(python: &str) -> SmtpServer {
        let mut server = SmtpServer::stopped(python);
        server.start();
        server
    }

    pub fn start(&mut self) {
        let handlers = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp");
        let child = Command::new(&self.python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "recording_smtpd.Recorder"])
            .arg(self.maildir.path().join("mail"))
            .env("PYTHONPATH", handlers)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut child = child;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("aiosmtpd exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not listen in 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message the server accepted, as it arrived on the wire.
    pub fn received(&self) -> Vec<String> {
        let new: PathBuf = self.maildir.path().join("mail").join("new");
        let mut messages: Vec<String> = std::fs::read_dir(new)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|entry| std::fs::read_to_string(entry.path()).expect("message readable"))
                    .collect()
            })
            .unwrap_or_default();
        messages.sort();
        messages
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
