//! Reading the certificate a TLS client presents: who it names, who issued it, when it
//! is valid, and its serial number (to look it up among the issued certificates).

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use crate::dn;
use crate::error::PkiError;

/// The facts of a client certificate the API needs to identify and admit a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The serial number, lower-case hex without colons nor leading zero bytes, as in
    /// [`IssuedCertificate::serial_hex`](crate::IssuedCertificate::serial_hex).
    pub serial_hex: String,
    /// The subject's first CN, if it has one as text (a partner's login).
    pub common_name: Option<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The issuer, readable, e.g. `CN=fleetgate partner CA`.
    pub issuer_subject: String,
}

/// Reads an end-entity certificate (DER) presented by a TLS client.
///
/// Only reads: the chain is verified by the TLS layer against the authority.
pub fn inspect_client_certificate(der: &[u8]) -> Result<ClientCertificate, PkiError> {
    let certificate = parse_certificate(der, "client certificate")?;

    let common_name = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|attribute| attribute.as_str().ok())
        .map(str::to_owned);

    let validity = certificate.validity();
    Ok(ClientCertificate {
        serial_hex: serial_hex(&certificate),
        common_name,
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
        issuer_subject: dn::readable(certificate.issuer()),
    })
}

/// Parses a DER certificate that must hold nothing else.
pub(crate) fn parse_certificate<'a>(
    der: &'a [u8],
    what: &'static str,
) -> Result<X509Certificate<'a>, PkiError> {
    let (rest, certificate) =
        x509_parser::parse_x509_certificate(der).map_err(PkiError::parse(what))?;

    if !rest.is_empty() {
        let source = x509_parser::error::X509Error::InvalidCertificate;
        return Err(PkiError::Parse { what, source });
    }
    Ok(certificate)
}

/// The serial number as lower-case hex, without the leading zero bytes of its encoding.
pub(crate) fn serial_hex(certificate: &X509Certificate<'_>) -> String {
    let raw = certificate.raw_serial();
    let start = raw.iter().position(|&byte| byte != 0).unwrap_or(raw.len());

    match &raw[start..] {
        [] => "00".to_owned(),
        significant => hex::encode(significant),
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, KeyPair, SerialNumber};
    use time::macros::datetime;

    use super::*;

    fn self_signed(serial: &[u8]) -> Vec<u8> {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "MZP123456");
        params.serial_number = Some(SerialNumber::from_slice(serial));
        params.not_before = datetime!(2024-01-02 03:04:05 UTC);
        params.not_after = datetime!(2025-01-02 03:04:05 UTC);
        params
            .self_signed(&key)
            .expect("certificate")
            .der()
            .to_vec()
    }

    #[test]
    fn reads_serial_common_name_validity_and_issuer() {
        let der = self_signed(&[0x00, 0x8a, 0x01]);

        let certificate = inspect_client_certificate(&der).expect("reads");

        assert_eq!(certificate.serial_hex, "8a01");
        assert_eq!(certificate.common_name.as_deref(), Some("MZP123456"));
        assert_eq!(certificate.not_before, datetime!(2024-01-02 03:04:05 UTC));
        assert_eq!(certificate.not_after, datetime!(2025-01-02 03:04:05 UTC));
        assert_eq!(certificate.issuer_subject, "CN=MZP123456");
    }

    #[test]
    fn refuses_garbage_and_trailing_bytes() {
        let mut der = self_signed(&[1]);
        der.push(0);

        assert!(matches!(
            inspect_client_certificate(&der),
            Err(PkiError::Parse { .. })
        ));
        assert!(matches!(
            inspect_client_certificate(b"nope"),
            Err(PkiError::Parse { .. })
        ));
        assert!(matches!(
            inspect_client_certificate(&[]),
            Err(PkiError::Parse { .. })
        ));
    }
}
