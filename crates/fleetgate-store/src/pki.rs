//! The partner PKI's records: certificate signing requests and issued certificates.

use fleetgate_core::Login;
use time::OffsetDateTime;

use crate::applications::random_id;
use crate::{
    from_millis, on_pool, to_millis, Certificate, CsrRequest, CsrStatus, NewCertificate, Store,
    StoreError,
};

#[derive(sqlx::FromRow)]
struct CsrRow {
    id: String,
    partner_id: String,
    login: String,
    status: String,
    subject: String,
    email: String,
    csr_pem: String,
    reason: Option<String>,
    certificate_serial: Option<String>,
    created_at: i64,
}

impl CsrRow {
    fn into_request(self) -> Result<CsrRequest, StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            what: "csr_requests",
            detail,
        };
        let status = CsrStatus::parse(&self.status)
            .ok_or_else(|| corrupt(format!("unknown status {}", self.status)))?;
        let login = Login::parse(&self.login).map_err(|e| corrupt(e.to_string()))?;

        Ok(CsrRequest {
            id: self.id,
            partner_id: self.partner_id,
            login,
            status,
            subject: self.subject,
            email: self.email,
            csr_pem: self.csr_pem,
            reason: self.reason,
            certificate_serial: self.certificate_serial,
            created_at: from_millis(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    serial: String,
    partner_id: String,
    login: String,
    csr_id: Option<String>,
    subject: String,
    certificate_pem: String,
    not_before: i64,
    not_after: i64,
    revoked_at: Option<i64>,
    revocation_reason: Option<String>,
}

impl CertificateRow {
    fn into_certificate(self) -> Result<Certificate, StoreError> {
        let login = Login::parse(&self.login).map_err(|e| StoreError::Corrupt {
            what: "certificates",
            detail: e.to_string(),
        })?;
        Ok(Certificate {
            serial: self.serial,
            partner_id: self.partner_id,
            login,
            csr_id: self.csr_id,
            subject: self.subject,
            certificate_pem: self.certificate_pem,
            not_before: from_millis(self.not_before),
            not_after: from_millis(self.not_after),
            revoked_at: self.revoked_at.map(from_millis),
            revocation_reason: self.revocation_reason,
        })
    }
}

const SELECT_CSR: &str = "SELECT r.id, r.partner_id, p.login, r.status, r.subject, r.email, \
     r.csr_pem, r.reason, r.certificate_serial, r.created_at \
     FROM csr_requests r JOIN partners p ON p.id = r.partner_id";

const SELECT_CERTIFICATE: &str = "SELECT c.serial, c.partner_id, p.login, c.csr_id, c.subject, \
     c.certificate_pem, c.not_before, c.not_after, c.revoked_at, c.revocation_reason \
     FROM certificates c JOIN partners p ON p.id = c.partner_id";

impl Store {
    /// Records a validated CSR as pending and returns its id.
    pub async fn insert_csr_request(
        &self,
        partner_id: &str,
        subject: &str,
        email: &str,
        csr_pem: &str,
    ) -> Result<String, StoreError> {
        let id = random_id();
        let sql = "INSERT INTO csr_requests (id, partner_id, status, subject, email, csr_pem, \
                   created_at) VALUES ($1, $2, 'pending', $3, $4, $5, $6)";

        on_pool!(self, pool => sqlx::query(sql)
            .bind(&id)
            .bind(partner_id)
            .bind(subject)
            .bind(email)
            .bind(csr_pem)
            .bind(to_millis(OffsetDateTime::now_utc()))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("record CSR", String::new))?;

        Ok(id)
    }

    /// The CSR request with this id, if any.
    pub async fn csr_request(&self, id: &str) -> Result<Option<CsrRequest>, StoreError> {
        let sql = format!("{SELECT_CSR} WHERE r.id = $1");
        let row: Option<CsrRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find CSR", String::new))?;

        row.map(CsrRow::into_request).transpose()
    }

    /// CSR requests, oldest first, optionally only those with one status.
    pub async fn csr_requests(
        &self,
        status: Option<CsrStatus>,
    ) -> Result<Vec<CsrRequest>, StoreError> {
        let sql =
            format!("{SELECT_CSR} WHERE ($1 = '' OR r.status = $1) ORDER BY r.created_at, r.id");
        let filter = status.map(CsrStatus::as_str).unwrap_or("");
        let rows: Vec<CsrRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(filter)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::query("list CSRs", String::new))?;

        rows.into_iter().map(CsrRow::into_request).collect()
    }

    /// Marks a pending CSR rejected. Fails if it is not pending.
    pub async fn reject_csr(&self, id: &str, reason: &str) -> Result<(), StoreError> {
        let sql = "UPDATE csr_requests SET status = 'rejected', reason = $2, decided_at = $3 \
                   WHERE id = $1 AND status = 'pending'";
        let updated = on_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(reason)
            .bind(to_millis(OffsetDateTime::now_utc()))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("reject CSR", String::new))?;

        if updated == 0 {
            return Err(StoreError::NotFound {
                what: format!("pending CSR {id}"),
            });
        }
        Ok(())
    }

    /// Records an issued certificate and, when it comes from a pending CSR, marks that CSR
    /// issued, in one transaction. Fails if the CSR was no longer pending.
    pub async fn record_certificate(&self, new: NewCertificate<'_>) -> Result<(), StoreError> {
        let now = to_millis(OffsetDateTime::now_utc());
        let insert = "INSERT INTO certificates (serial, partner_id, csr_id, subject, \
                      certificate_pem, not_before, not_after, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let mark = "UPDATE csr_requests SET status = 'issued', certificate_serial = $2, \
                    decided_at = $3 WHERE id = $1 AND status = 'pending'";
        let failed = |operation| StoreError::query(operation, String::new);

        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(failed("record certificate"))?;
            sqlx::query(insert)
                .bind(new.serial)
                .bind(new.partner_id)
                .bind(new.csr_id)
                .bind(new.subject)
                .bind(new.certificate_pem)
                .bind(to_millis(new.not_before))
                .bind(to_millis(new.not_after))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(failed("record certificate"))?;
            if let Some(csr_id) = new.csr_id {
                let marked = sqlx::query(mark)
                    .bind(csr_id)
                    .bind(new.serial)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("mark CSR issued"))?
                    .rows_affected();
                if marked == 0 {
                    return Err(StoreError::NotFound { what: format!("pending CSR {csr_id}") });
                }
            }
            tx.commit().await.map_err(failed("record certificate"))?;
        });

        Ok(())
    }

    /// The certificate with this serial, if any.
    pub async fn certificate(&self, serial: &str) -> Result<Option<Certificate>, StoreError> {
        let sql = format!("{SELECT_CERTIFICATE} WHERE c.serial = $1");
        let row: Option<CertificateRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(serial)
            .fetch_optional(pool)
            .await)
        .map_err(StoreError::query("find certificate", String::new))?;

        row.map(CertificateRow::into_certificate).transpose()
    }

    /// Every issued certificate, oldest first.
    pub async fn certificates(&self) -> Result<Vec<Certificate>, StoreError> {
        let sql = format!("{SELECT_CERTIFICATE} ORDER BY c.created_at, c.serial");
        let rows: Vec<CertificateRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::query("list certificates", String::new))?;

        rows.into_iter()
            .map(CertificateRow::into_certificate)
            .collect()
    }

    /// Revokes a certificate. Revoking one already revoked keeps the first reason.
    pub async fn revoke_certificate(&self, serial: &str, reason: &str) -> Result<(), StoreError> {
        let sql = "UPDATE certificates SET revoked_at = $2, revocation_reason = $3 \
                   WHERE serial = $1 AND revoked_at IS NULL";
        let updated = on_pool!(self, pool => sqlx::query(sql)
            .bind(serial)
            .bind(to_millis(OffsetDateTime::now_utc()))
            .bind(reason)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(StoreError::query("revoke certificate", String::new))?;

        if updated == 0 && self.certificate(serial).await?.is_none() {
            return Err(StoreError::NotFound {
                what: format!("certificate {serial}"),
            });
        }
        Ok(())
    }
}
