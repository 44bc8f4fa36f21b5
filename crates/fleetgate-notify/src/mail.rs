//! E-mail over SMTP with lettre, or a log line when no SMTP server is configured.

use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where and how to send e-mail.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// The SMTP server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Connection protection.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The sender address, e.g. `fleetgate <noreply@example.com>`.
    pub from: String,
    /// User name, when the server requires authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// Password, when the server requires authentication.
    #[serde(default)]
    pub password: Option<String>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An e-mail could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address is not a valid mailbox.
    #[error("invalid e-mail address '{address}'")]
    Address {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: lettre::address::AddressError,
    },
    /// The message cannot be assembled.
    #[error("cannot build the e-mail")]
    Build(#[from] lettre::error::Error),
    /// The SMTP exchange failed.
    #[error("SMTP delivery to {host} failed")]
    Smtp {
        /// The server.
        host: String,
        /// Why.
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

/// A message for one recipient.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Sends e-mail, or says in the log what it would have sent.
#[derive(Clone)]
pub enum Mailer {
    /// Sends through an SMTP server.
    Smtp {
        /// The connection pool to the server.
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// The sender.
        from: Mailbox,
        /// The server, for messages.
        host: String,
    },
    /// No server configured: log only.
    LogOnly,
}

impl Mailer {
    /// A mailer for the configured SMTP server.
    pub fn smtp(settings: &SmtpSettings) -> Result<Self, MailError> {
        let from = parse_mailbox(&settings.from)?;
        let builder = match settings.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(|source| smtp_error(settings, source))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|source| smtp_error(settings, source))?,
        };

        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            let password = Zeroizing::new(password.clone());
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
        }

        Ok(Self::Smtp {
            transport: Box::new(builder.build()),
            from,
            host: settings.host.clone(),
        })
    }

    /// A mailer that only logs.
    pub fn log_only() -> Self {
        Self::LogOnly
    }

    /// Sends one message.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let Self::Smtp {
            transport,
            from,
            host,
        } = self
        else {
            tracing::info!(
                mail.to = %mail.to,
                mail.subject = %mail.subject,
                "SMTP is not configured: would have sent this e-mail"
            );
            return Ok(());
        };

        let message = Message::builder()
            .from(from.clone())
            .to(parse_mailbox(&mail.to)?)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        transport
            .send(message)
            .await
            .map_err(|source| MailError::Smtp {
                host: host.clone(),
                source,
            })?;

        tracing::info!(mail.to = %mail.to, mail.subject = %mail.subject, "e-mail sent");
        Ok(())
    }
}

fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|source| MailError::Address {
        address: address.to_owned(),
        source,
    })
}

fn smtp_error(settings: &SmtpSettings, source: lettre::transport::smtp::Error) -> MailError {
    MailError::Smtp {
        host: settings.host.clone(),
        source,
    }
}

/// The e-mail a partner receives when its certificate is issued: the download link, the CA
/// certificate link and its client ids, as in the onboarding guide.
pub fn certificate_issued_mail(
    to: &str,
    login: &str,
    download_url: &str,
    ca_url: &str,
    client_ids: &[String],
) -> OutgoingMail {
    let ids = if client_ids.is_empty() {
        "  (none yet: your operator will send it)".to_owned()
    } else {
        client_ids
            .iter()
            .map(|id| format!("  {id}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let body = format!(
        "Hello,\n\n\
         The certification authority has signed the certificate requested for {login}.\n\n\
         Download your certificate (authenticate with your login and password):\n  \
         {download_url}\n\n\
         Platform CA certificate, to verify the server:\n  {ca_url}\n\n\
         Your client id(s), to send as the client_id query parameter:\n{ids}\n\n\
         Keep your private key secret. To renew the certificate before it expires, send a \
         new CSR to /onboarding/v1/renew with your current certificate.\n"
    );
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("Your fleetgate certificate for {login}"),
        body,
    }
}
