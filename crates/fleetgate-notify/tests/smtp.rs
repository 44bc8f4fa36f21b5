//! E-mail delivery against a real SMTP server (Python's aiosmtpd, started by the test and
//! writing what it receives to a Maildir), not a mock.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetgate_notify::{certificate_issued_mail, MailError, Mailer, SmtpSecurity, SmtpSettings};

/// A running aiosmtpd that stores each message it receives in a Maildir.
struct SmtpServer {
    child: Child,
    port: u16,
}

impl SmtpServer {
    /// Starts the server, or returns None (outside CI only) when aiosmtpd is not installed.
    fn start(maildir: &Path) -> Option<Self> {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "aiosmtpd is required in CI (pip install aiosmtpd)"
            );
            eprintln!("test skipped: aiosmtpd is not installed (pip install aiosmtpd)");
            return None;
        }

        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = Self { child, port };
        server.wait_until_listening();
        Some(server)
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security: SmtpSecurity::None,
            from: "fleetgate <noreply@fleetgate.test>".into(),
            username: None,
            password: None,
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The messages the Maildir received, waiting a little for the server to write them.
fn received(maildir: &Path, expected: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let new = maildir.join("new");
        let messages: Vec<String> = std::fs::read_dir(&new)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        if messages.len() >= expected || Instant::now() > deadline {
            return messages;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn certificate_issued_mail_reaches_the_partner_with_link_and_client_ids() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let Some(server) = SmtpServer::start(&maildir) else {
        return;
    };
    let mailer = Mailer::smtp(&server.settings()).unwrap();

    let mail = certificate_issued_mail(
        "it@partner.example",
        "MZP123456",
        "https://fleetgate.example:8443/onboarding/v1/csr/abc123",
        "https://fleetgate.example:8443/onboarding/v1/ca.pem",
        &["0123456789abcdef0123456789abcdef".to_owned()],
    );
    mailer
        .send(&mail)
        .await
        .expect("the SMTP server accepts the message");

    let messages = received(&maildir, 1);
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("To: it@partner.example"), "{message}");
    assert!(message.contains("Subject: Your fleetgate certificate for MZP123456"));
    assert!(message.contains("https://fleetgate.example:8443/onboarding/v1/csr/abc123"));
    assert!(message.contains("0123456789abcdef0123456789abcdef"));
}

#[tokio::test]
async fn unreachable_smtp_server_is_a_delivery_error_naming_the_host() {
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: free_port(),
        security: SmtpSecurity::None,
        from: "noreply@fleetgate.test".into(),
        username: None,
        password: None,
    };
    let mailer = Mailer::smtp(&settings).unwrap();
    let mail = certificate_issued_mail("a@b.example", "MZP1", "https://x/1", "https://x/ca", &[]);

    let error = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(error, MailError::Smtp { .. }));
    assert!(error.to_string().contains("127.0.0.1"));
}

#[tokio::test]
async fn log_only_mailer_succeeds_and_an_invalid_sender_is_refused() {
    let mailer = Mailer::log_only();
    let mail = certificate_issued_mail("a@b.example", "MZP1", "https://x/1", "https://x/ca", &[]);
    mailer
        .send(&mail)
        .await
        .expect("log-only mailer always succeeds");

    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: free_port(),
        security: SmtpSecurity::None,
        from: "not an address".into(),
        username: None,
        password: None,
    };
    assert!(matches!(
        Mailer::smtp(&settings),
        Err(MailError::Address { .. })
    ));
}
