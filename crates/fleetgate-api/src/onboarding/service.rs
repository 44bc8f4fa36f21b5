//! The certificate service: the pipeline from a partner's CSR to an issued certificate.
//!
//! intake (validate against the CSR policy, record as pending) → decision (operator
//! approval, or automatic when configured) → sign with the partner CA → record the
//! certificate and mark the CSR issued in one transaction → e-mail the partner.
//! Renewal runs the same steps at once, for a partner that proves itself with its current
//! certificate.

use std::sync::Arc;

use fleetgate_core::{ClientId, ErrorCode};
use fleetgate_notify::{certificate_issued_mail, Mailer};
use fleetgate_pki::{CertificateAuthority, IssuedCertificate, ValidatedCsr};
use fleetgate_store::{CsrRequest, CsrStatus, NewCertificate, Partner, Store, StoreError};

use crate::error::{error_chain, ApiError};

/// Operator choices that shape issuing.
#[derive(Debug, Clone)]
pub struct IssuancePolicy {
    /// Sign CSRs that pass validation without waiting for the operator.
    pub auto_approve: bool,
    /// Validity of issued client certificates, in days.
    pub validity_days: u32,
    /// The base URL partners reach the platform at, for links in e-mails.
    pub public_url: String,
}

/// Issuing failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The CSR request does not exist or is not pending.
    #[error("no pending CSR with id {0}")]
    NotPending(String),
    /// The stored CSR no longer passes the policy (or cannot be read).
    #[error("the stored CSR {id} cannot be signed: {reason}")]
    Invalid {
        /// The CSR request id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The CA failed to sign.
    #[error("signing failed")]
    Sign(#[from] fleetgate_pki::PkiError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// CSR intake, decisions and issuing, shared by the HTTP routes and the operator commands.
#[derive(Clone)]
pub struct CertificateService {
    ca: Arc<CertificateAuthority>,
    store: Store,
    mailer: Mailer,
    policy: IssuancePolicy,
}

impl CertificateService {
    /// Assembles the service.
    pub fn new(
        ca: CertificateAuthority,
        store: Store,
        mailer: Mailer,
        policy: IssuancePolicy,
    ) -> Self {
        Self {
            ca: Arc::new(ca),
            store,
            mailer,
            policy,
        }
    }

    /// The partner CA certificate, PEM.
    pub fn ca_certificate_pem(&self) -> String {
        self.ca.certificate_pem()
    }

    /// The issuing policy.
    pub fn policy(&self) -> &IssuancePolicy {
        &self.policy
    }

    /// Validates a CSR submitted by `partner` and records it; signs it at once under
    /// auto-approval. A CSR that breaks the policy is a 400 naming the field.
    pub async fn submit(&self, partner: &Partner, csr: &[u8]) -> Result<CsrRequest, ApiError> {
        let validated = validate(csr, partner)?;
        let pem = to_pem(&validated);

        let id = self
            .store
            .insert_csr_request(&partner.id, &validated.subject(), validated.email(), &pem)
            .await?;
        tracing::info!(csr.id = %id, partner.login = %partner.login, "CSR received");

        if self.policy.auto_approve {
            self.approve(&id)
                .await
                .map_err(|e| ApiError::internal(error_chain(&e)))?;
        }
        self.require_request(&id).await
    }

    /// Signs a pending CSR, records the certificate, and notifies the partner.
    pub async fn approve(&self, id: &str) -> Result<IssuedCertificate, IssueError> {
        let request = self.store.csr_request(id).await?;
        let Some(request) = request.filter(|r| r.status == CsrStatus::Pending) else {
            return Err(IssueError::NotPending(id.to_owned()));
        };

        let validated = fleetgate_pki::validate_csr(request.csr_pem.as_bytes(), &request.login)
            .map_err(|e| IssueError::Invalid {
                id: id.to_owned(),
                reason: e.to_string(),
            })?;
        let issued = self
            .ca
            .sign_client_csr(&validated, self.policy.validity_days)?;
        self.store
            .record_certificate(new_certificate(&issued, &request.partner_id, Some(id)))
            .await?;
        tracing::info!(csr.id = %id, certificate.serial = %issued.serial_hex, "certificate issued");

        self.notify_issued(&request).await;
        Ok(issued)
    }

    /// Rejects a pending CSR with a reason the partner will read.
    pub async fn reject(&self, id: &str, reason: &str) -> Result<(), IssueError> {
        self.store
            .reject_csr(id, reason)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => IssueError::NotPending(id.to_owned()),
                other => IssueError::Store(other),
            })?;
        tracing::info!(csr.id = %id, "CSR rejected");
        Ok(())
    }

    /// Issues a certificate at once for a partner already holding a valid one.
    pub async fn renew(
        &self,
        partner: &Partner,
        csr: &[u8],
    ) -> Result<(CsrRequest, IssuedCertificate), ApiError> {
        let validated = validate(csr, partner)?;
        let pem = to_pem(&validated);

        let id = self
            .store
            .insert_csr_request(&partner.id, &validated.subject(), validated.email(), &pem)
            .await?;
        let issued = self
            .ca
            .sign_client_csr(&validated, self.policy.validity_days)
            .map_err(|e| ApiError::internal(error_chain(&e)))?;
        self.store
            .record_certificate(new_certificate(&issued, &partner.id, Some(&id)))
            .await?;
        tracing::info!(
            csr.id = %id,
            certificate.serial = %issued.serial_hex,
            partner.login = %partner.login,
            "certificate renewed"
        );

        let request = self.require_request(&id).await?;
        self.notify_issued(&request).await;
        Ok((request, issued))
    }

    /// The link a partner follows to download what a CSR produced.
    pub fn download_url(&self, csr_id: &str) -> String {
        format!(
            "{}/onboarding/v1/csr/{csr_id}",
            self.policy.public_url.trim_end_matches('/')
        )
    }

    async fn require_request(&self, id: &str) -> Result<CsrRequest, ApiError> {
        self.store
            .csr_request(id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("CSR {id} vanished after insert")))
    }

    async fn notify_issued(&self, request: &CsrRequest) {
        let client_ids = match self.store.applications_of(&request.partner_id).await {
            Ok(apps) => apps
                .into_iter()
                .map(|a| String::from(a.client_id))
                .collect(),
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "cannot list client ids for e-mail");
                Vec::new()
            }
        };
        let ca_url = format!(
            "{}/onboarding/v1/ca.pem",
            self.policy.public_url.trim_end_matches('/')
        );
        let mail = certificate_issued_mail(
            &request.email,
            request.login.as_str(),
            &self.download_url(&request.id),
            &ca_url,
            &client_ids,
        );

        // The certificate is issued and downloadable whatever happens to the e-mail.
        if let Err(error) = self.mailer.send(&mail).await {
            tracing::warn!(csr.id = %request.id, error = %error_chain(&error), "e-mail not sent");
        }
    }
}

/// The client ids of a partner as strings.
pub(crate) fn client_id_strings(ids: impl IntoIterator<Item = ClientId>) -> Vec<String> {
    ids.into_iter().map(String::from).collect()
}

fn validate(csr: &[u8], partner: &Partner) -> Result<ValidatedCsr, ApiError> {
    fleetgate_pki::validate_csr(csr, &partner.login).map_err(|rejection| {
        let field = rejection.field.code();
        tracing::debug!(partner.login = %partner.login, csr.field = field, "CSR refused");
        ApiError::new(ErrorCode::InvalidCsr, rejection.to_string())
    })
}

fn to_pem(csr: &ValidatedCsr) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(csr.der());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        lines.join("\n")
    )
}

fn new_certificate<'a>(
    issued: &'a IssuedCertificate,
    partner_id: &'a str,
    csr_id: Option<&'a str>,
) -> NewCertificate<'a> {
    NewCertificate {
        serial: &issued.serial_hex,
        partner_id,
        csr_id,
        subject: &issued.subject,
        certificate_pem: &issued.certificate_pem,
        not_before: issued.not_before,
        not_after: issued.not_after,
    }
}
