//! Operator commands for CSRs and certificates.

use anyhow::bail;
use fleetgate_api::onboarding::IssueError;
use fleetgate_store::CsrStatus;
use serde_json::json;

use super::Context;
use crate::cli::{CertCommand, CsrCommand, CsrStatusArg};
use crate::output;

/// Runs `csr ...`.
pub async fn csr(context: &Context, command: CsrCommand) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    let service = context.certificate_service(&config, &store)?;

    match command {
        CsrCommand::List {
            status,
            output: out,
        } => {
            let requests = store.csr_requests(status.map(csr_status)).await?;
            let rows: Vec<_> = requests
                .iter()
                .map(|r| {
                    let status = r.status.as_str();
                    json!({"id": r.id, "login": r.login, "status": status, "subject": r.subject})
                })
                .collect();
            output::print(out.json, &rows, || {
                let lines: Vec<_> = requests
                    .iter()
                    .map(|r| {
                        format!(
                            "{}  {}  {:<8}  {}",
                            r.id,
                            r.login,
                            r.status.as_str(),
                            r.subject
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    "no CSR requests".into()
                } else {
                    lines.join("\n")
                }
            })
        }
        CsrCommand::Approve { id, output: out } => {
            let issued = service.approve(&id).await.map_err(explain)?;
            let result = json!({"id": id, "status": "issued", "serial": issued.serial_hex});
            output::print(out.json, &result, || {
                format!(
                    "Approved CSR {id}: certificate {} issued for {}\n  valid until {}\n  \
                     the partner downloads it at {}",
                    issued.serial_hex,
                    issued.subject,
                    issued.not_after,
                    service.download_url(&id)
                )
            })
        }
        CsrCommand::Reject {
            id,
            reason,
            output: out,
        } => {
            if reason.trim().is_empty() {
                bail!("--reason must say why, for the partner");
            }
            service.reject(&id, &reason).await.map_err(explain)?;
            let result = json!({"id": id, "status": "rejected", "serial": null});
            output::print(out.json, &result, || format!("Rejected CSR {id}: {reason}"))
        }
    }
}

fn explain(error: IssueError) -> anyhow::Error {
    match error {
        IssueError::NotPending(id) => {
            anyhow::anyhow!("no pending CSR {id}: `fleetgate csr list --status pending` shows them")
        }
        other => anyhow::Error::new(other),
    }
}

fn csr_status(arg: CsrStatusArg) -> CsrStatus {
    match arg {
        CsrStatusArg::Pending => CsrStatus::Pending,
        CsrStatusArg::Issued => CsrStatus::Issued,
        CsrStatusArg::Rejected => CsrStatus::Rejected,
    }
}

/// Runs `cert ...`.
pub async fn cert(context: &Context, command: CertCommand) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;

    match command {
        CertCommand::List(out) => {
            let certificates = store.certificates().await?;
            let rows: Vec<_> = certificates
                .iter()
                .map(|c| {
                    json!({
                        "serial": c.serial,
                        "login": c.login,
                        "subject": c.subject,
                        "notBefore": fleetgate_api::error::timestamp(c.not_before),
                        "notAfter": fleetgate_api::error::timestamp(c.not_after),
                        "revoked": c.revoked_at.is_some(),
                        "revocationReason": c.revocation_reason,
                    })
                })
                .collect();
            output::print(out.json, &rows, || {
                let lines: Vec<_> = certificates
                    .iter()
                    .map(|c| {
                        let state = if c.revoked_at.is_some() {
                            "REVOKED"
                        } else {
                            "valid"
                        };
                        format!(
                            "{}  {}  {state:<7}  until {}  {}",
                            c.serial,
                            c.login,
                            c.not_after.date(),
                            c.subject
                        )
                    })
                    .collect();
                if lines.is_empty() {
                    "no certificates".into()
                } else {
                    lines.join("\n")
                }
            })
        }
        CertCommand::Revoke {
            serial,
            reason,
            output: out,
        } => {
            let serial = serial.to_ascii_lowercase().replace(':', "");
            if reason.trim().is_empty() {
                bail!("--reason must say why");
            }
            store.revoke_certificate(&serial, &reason).await?;
            tracing::info!(certificate.serial = %serial, "certificate revoked");
            let result = json!({"serial": serial, "revoked": true});
            output::print(out.json, &result, || {
                format!("Revoked certificate {serial}; running servers refuse it within seconds")
            })
        }
    }
}
