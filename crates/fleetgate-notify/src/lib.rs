//! fleetgate's outgoing notifications to partners.
//!
//! For now, e-mail: when a partner's certificate is issued, the platform writes to the
//! address of the CSR with the download link and the client ids, as the onboarding guide
//! describes. With no SMTP server configured, the message is not sent and the server logs
//! that it would have sent one. Webhook delivery will live here too.

pub mod mail;

pub use mail::{
    certificate_issued_mail, MailError, Mailer, OutgoingMail, SmtpSecurity, SmtpSettings,
};
