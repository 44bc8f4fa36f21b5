//! The certification authority: its own self-signed certificate and key, the partners'
//! client certificates it signs from validated CSRs, and the HTTPS server's certificate.

use std::fmt;
use std::net::IpAddr;

use rand::RngCore;
use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use zeroize::Zeroizing;

use fleetgate_core::Vin;

use crate::client_cert::{parse_certificate, serial_hex};
use crate::csr::ValidatedCsr;
use crate::error::PkiError;
use crate::{dn, pem, time_bounds};

/// The PEM label of certificates.
const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// The platform's certification authority (an ECDSA P-256 key when generated here).
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    certificate_der: Vec<u8>,
    subject: String,
}

/// The organisation named in every device certificate's subject.
pub const DEVICE_ORGANIZATION: &str = "fleetgate vehicles";

/// A vehicle's device certificate and its new private key.
pub struct DeviceCredentials {
    /// The device certificate, PEM.
    pub certificate_pem: String,
    /// The device's private key, PKCS#8 PEM.
    pub private_key_pem: Zeroizing<String>,
    /// The certificate's serial number, hexadecimal.
    pub serial_hex: String,
}

impl fmt::Debug for DeviceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCredentials")
            .field("serial_hex", &self.serial_hex)
            .finish_non_exhaustive()
    }
}

/// A TLS server certificate signed by the authority, with its new private key.
pub struct ServerCredentials {
    /// The server certificate, PEM.
    pub certificate_pem: String,
    /// The server's private key, PKCS#8 PEM.
    pub private_key_pem: Zeroizing<String>,
}

/// A client certificate signed from a partner's CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The serial number, lower-case hex without colons (as in
    /// [`ClientCertificate::serial_hex`](crate::ClientCertificate::serial_hex)).
    pub serial_hex: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The subject, readable, in the CSR's order, e.g. `C=FR, ST=..., CN=MZP123456`.
    pub subject: String,
    /// Start of validity, as written in the certificate.
    pub not_before: OffsetDateTime,
    /// End of validity, as written in the certificate.
    pub not_after: OffsetDateTime,
}

impl CertificateAuthority {
    /// A new self-signed authority (ECDSA P-256) named `common_name`, valid for
    /// `validity_days` from five minutes ago.
    pub fn generate(common_name: &str, validity_days: u32) -> Result<Self, PkiError> {
        if common_name.trim().is_empty() {
            return Err(PkiError::EmptyCommonName);
        }
        let (not_before, not_after) = time_bounds::from_now(validity_days)?;

        let key = new_key("generate the CA key")?;
        let params = authority_params(common_name, not_before, not_after);
        let certificate = params
            .self_signed(&key)
            .map_err(PkiError::certificate("self-sign the CA certificate"))?;

        let certificate_der = certificate.der().to_vec();
        let subject = readable_subject(&certificate_der, "CA certificate")?;
        let issuer = Issuer::new(params, key);
        Ok(Self {
            issuer,
            certificate_der,
            subject,
        })
    }

    /// Loads an authority from its certificate and PKCS#8 private key, both PEM (as
    /// written by [`certificate_pem`](Self::certificate_pem) and
    /// [`private_key_pem`](Self::private_key_pem)).
    pub fn from_pem(certificate_pem: &str, private_key_pem: &str) -> Result<Self, PkiError> {
        let certificate_der =
            pem::decode_labelled(certificate_pem, CERTIFICATE_LABEL).map_err(|source| {
                PkiError::Pem {
                    what: "CA certificate",
                    source,
                }
            })?;
        let key = KeyPair::from_pem(private_key_pem)
            .map_err(PkiError::certificate("read the CA private key"))?;

        let subject = check_authority(&certificate_der, &key)?;

        let issuer =
            Issuer::from_ca_cert_der(&CertificateDer::from(certificate_der.as_slice()), key)
                .map_err(PkiError::certificate("load the CA certificate"))?;
        Ok(Self {
            issuer,
            certificate_der,
            subject,
        })
    }

    /// The authority's certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        pem::encode(CERTIFICATE_LABEL, &self.certificate_der)
    }

    /// The authority's certificate, DER.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate_der.clone()
    }

    /// The authority's private key, PKCS#8 PEM, wiped from memory when dropped.
    pub fn private_key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.issuer.key().serialize_pem())
    }

    /// A TLS server certificate and a new ECDSA P-256 key for `hosts` (DNS names, or IP
    /// addresses which become IP subject alternative names), for the serverAuth usage.
    pub fn issue_server_credentials(
        &self,
        hosts: &[String],
        validity_days: u32,
    ) -> Result<ServerCredentials, PkiError> {
        let first_host = hosts.first().ok_or(PkiError::NoHosts)?;
        let names = hosts
            .iter()
            .map(|host| alternative_name(host))
            .collect::<Result<_, _>>()?;
        let (not_before, not_after) = time_bounds::from_now(validity_days)?;

        let mut params = end_entity_params(not_before, not_after);
        params.distinguished_name = common_name_only(first_host.trim());
        params.subject_alt_names = names;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];

        let key = new_key("generate the server key")?;
        let certificate = params
            .signed_by(&key, &self.issuer)
            .map_err(PkiError::certificate("sign the server certificate"))?;

        Ok(ServerCredentials {
            certificate_pem: pem::encode(CERTIFICATE_LABEL, certificate.der()),
            private_key_pem: Zeroizing::new(key.serialize_pem()),
        })
    }

    /// A device certificate and a new ECDSA P-256 key for the vehicle `vin`: subject
    /// `CN=<VIN>, O=fleetgate vehicles`, for the clientAuth usage. Used by the device CA
    /// only, whose certificates the partner API never accepts.
    pub fn issue_device_credentials(
        &self,
        vin: &Vin,
        validity_days: u32,
    ) -> Result<DeviceCredentials, PkiError> {
        let issued = self.issue_named_client(vin.as_str(), validity_days)?;
        tracing::info!(
            vin = %vin.as_str(),
            serial = %issued.serial_hex,
            "issued a device certificate"
        );
        Ok(issued)
    }

    /// A client certificate and key for a fleetgate node that consumes an external broker
    /// (`CN=<name>, O=fleetgate vehicles`); its name is the broker user the ACL grants.
    pub fn issue_node_credentials(
        &self,
        name: &str,
        validity_days: u32,
    ) -> Result<DeviceCredentials, PkiError> {
        if name.trim().is_empty() {
            return Err(PkiError::EmptyCommonName);
        }
        self.issue_named_client(name, validity_days)
    }

    fn issue_named_client(
        &self,
        common_name: &str,
        validity_days: u32,
    ) -> Result<DeviceCredentials, PkiError> {
        let (not_before, not_after) = time_bounds::from_now(validity_days)?;

        let mut params = end_entity_params(not_before, not_after);
        let mut subject = DistinguishedName::new();
        subject.push(DnType::OrganizationName, DEVICE_ORGANIZATION);
        subject.push(DnType::CommonName, common_name);
        params.distinguished_name = subject;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];

        let key = new_key("generate the device key")?;
        let certificate = params
            .signed_by(&key, &self.issuer)
            .map_err(PkiError::certificate("sign the device certificate"))?;

        let parsed = parse_certificate(certificate.der(), "device certificate")?;
        Ok(DeviceCredentials {
            certificate_pem: pem::encode(CERTIFICATE_LABEL, certificate.der()),
            private_key_pem: Zeroizing::new(key.serialize_pem()),
            serial_hex: serial_hex(&parsed),
        })
    }

    /// Signs a validated partner CSR for `validity_days` from five minutes ago.
    ///
    /// The certificate repeats the CSR's subject byte for byte and its public key, with
    /// the clientAuth extended key usage, the digitalSignature key usage, basic constraints
    /// `cA=false`, subject and authority key identifiers, and a random positive 16-byte
    /// serial number. Extensions requested in the CSR are not copied.
    pub fn sign_client_csr(
        &self,
        csr: &ValidatedCsr,
        validity_days: u32,
    ) -> Result<IssuedCertificate, PkiError> {
        let (not_before, not_after) = time_bounds::from_now(validity_days)?;
        self.sign_client_csr_between(csr, not_before, not_after)
    }

    /// Same as [`sign_client_csr`](Self::sign_client_csr), valid between the bounds given
    /// (converted to UTC, fractions of a second dropped).
    pub fn sign_client_csr_between(
        &self,
        csr: &ValidatedCsr,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCertificate, PkiError> {
        let (not_before, not_after) = time_bounds::checked(not_before, not_after)?;

        let mut params = end_entity_params(not_before, not_after);
        params.distinguished_name = csr.carried_subject().clone();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];

        let certificate = params
            .signed_by(csr.public_key(), &self.issuer)
            .map_err(PkiError::certificate("sign the client certificate"))?;

        let issued = describe_issued(csr, certificate.der())?;
        tracing::info!(
            serial = %issued.serial_hex,
            subject = %issued.subject,
            not_after = %issued.not_after,
            "issued a client certificate"
        );
        Ok(issued)
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ServerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCredentials")
            .field("certificate_pem", &self.certificate_pem)
            .field("private_key_pem", &"[secret]")
            .finish()
    }
}

/// A new ECDSA P-256 key.
fn new_key(action: &'static str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(PkiError::certificate(action))
}

/// A random positive serial number: 16 random bytes, the top bit cleared.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);

    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// A subject holding only a CN.
fn common_name_only(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// The authority's own certificate: a CA that signs end-entity certificates only.
fn authority_params(
    common_name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_only(common_name.trim());
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

/// What every end-entity certificate has: `cA=false` with a subject key identifier,
/// an authority key identifier, digitalSignature, a random serial, the validity.
fn end_entity_params(not_before: OffsetDateTime, not_after: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.serial_number = Some(random_serial());
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

/// An IP address or DNS name subject alternative name.
fn alternative_name(host: &str) -> Result<SanType, PkiError> {
    let host = host.trim();
    let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = unbracketed.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(address));
    }

    let invalid = || PkiError::InvalidHost {
        host: host.to_owned(),
    };
    if !is_dns_name(host) {
        return Err(invalid());
    }
    Ia5String::try_from(host)
        .map(SanType::DnsName)
        .map_err(|_| invalid())
}

/// A DNS name of letters, digits and hyphens, possibly a `*.` wildcard.
fn is_dns_name(host: &str) -> bool {
    let name = host.strip_prefix("*.").unwrap_or(host);
    let name = name.strip_suffix('.').unwrap_or(name);

    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Checks that `der` is a CA certificate for `key`; returns its readable subject.
fn check_authority(der: &[u8], key: &KeyPair) -> Result<String, PkiError> {
    let certificate = parse_certificate(der, "CA certificate")?;

    let is_authority = matches!(
        certificate.basic_constraints(),
        Ok(Some(constraints)) if constraints.value.ca
    );
    if !is_authority {
        return Err(PkiError::NotAnAuthority);
    }

    let certified_key: &[u8] = &certificate.public_key().subject_public_key.data;
    if certified_key != key.public_key_raw() {
        return Err(PkiError::KeyMismatch);
    }
    Ok(dn::readable(certificate.subject()))
}

/// The readable subject of a DER certificate.
fn readable_subject(der: &[u8], what: &'static str) -> Result<String, PkiError> {
    let certificate = parse_certificate(der, what)?;
    Ok(dn::readable(certificate.subject()))
}

/// Reads back the issued certificate, checking it carries the CSR's subject and key.
fn describe_issued(csr: &ValidatedCsr, der: &[u8]) -> Result<IssuedCertificate, PkiError> {
    let certificate = parse_certificate(der, "issued certificate")?;
    check_carried(csr, &certificate)?;

    let validity = certificate.validity();
    Ok(IssuedCertificate {
        serial_hex: serial_hex(&certificate),
        certificate_pem: pem::encode(CERTIFICATE_LABEL, der),
        subject: dn::readable(certificate.subject()),
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
    })
}

/// The issued subject and public key must be the CSR's, byte for byte.
fn check_carried(csr: &ValidatedCsr, certificate: &X509Certificate<'_>) -> Result<(), PkiError> {
    if certificate.subject().as_raw() != csr.subject_der() {
        return Err(PkiError::IssuedMismatch { what: "subject" });
    }
    if certificate.public_key().raw != csr.public_key_der() {
        return Err(PkiError::IssuedMismatch { what: "public key" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::Duration;
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    use x509_parser::prelude::FromDer;

    use super::*;
    use crate::client_cert::inspect_client_certificate;
    use crate::test_support::validated;

    fn authority() -> CertificateAuthority {
        CertificateAuthority::generate("fleetgate test CA", 30).expect("generated")
    }

    fn der_of(pem_text: &str) -> Vec<u8> {
        pem::decode_labelled(pem_text, CERTIFICATE_LABEL).expect("certificate PEM")
    }

    fn key_identifier(certificate: &X509Certificate<'_>, authority: bool) -> Option<Vec<u8>> {
        certificate
            .extensions()
            .iter()
            .find_map(|extension| match extension.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) if !authority => Some(id.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(aki) if authority => {
                    aki.key_identifier.as_ref().map(|id| id.0.to_vec())
                }
                _ => None,
            })
    }

    #[test]
    fn generated_authority_is_a_self_signed_ca() {
        let ca = authority();

        let der = ca.certificate_der();
        let certificate = parse_certificate(&der, "CA").expect("parses");

        assert_eq!(dn::readable(certificate.subject()), "CN=fleetgate test CA");
        assert!(
            certificate
                .basic_constraints()
                .expect("ok")
                .expect("present")
                .value
                .ca
        );
        assert!(certificate.verify_signature(None).is_ok());
        assert!(ca
            .private_key_pem()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(format!("{ca:?}").contains("fleetgate test CA"));
    }

    #[test]
    fn authority_reloaded_from_pem_signs_like_the_original() {
        let ca = authority();

        let reloaded = CertificateAuthority::from_pem(&ca.certificate_pem(), &ca.private_key_pem())
            .expect("reloaded");
        let issued = reloaded.sign_client_csr(&validated(), 10).expect("signed");

        assert_eq!(reloaded.certificate_der(), ca.certificate_der());
        let ca_der = ca.certificate_der();
        let ca_certificate = parse_certificate(&ca_der, "CA").expect("CA");
        let der = der_of(&issued.certificate_pem);
        let certificate = parse_certificate(&der, "issued").expect("issued");
        assert!(certificate
            .verify_signature(Some(ca_certificate.public_key()))
            .is_ok());
        assert_eq!(
            key_identifier(&certificate, true),
            key_identifier(&ca_certificate, false)
        );
    }

    #[test]
    fn from_pem_refuses_a_foreign_key_a_non_ca_and_garbage() {
        let ca = authority();
        let other = authority();
        let server = ca
            .issue_server_credentials(&["localhost".to_owned()], 1)
            .expect("server");

        let foreign =
            CertificateAuthority::from_pem(&ca.certificate_pem(), &other.private_key_pem());
        let not_ca =
            CertificateAuthority::from_pem(&server.certificate_pem, &server.private_key_pem);
        let garbage = CertificateAuthority::from_pem("nope", &ca.private_key_pem());

        assert!(matches!(foreign, Err(PkiError::KeyMismatch)));
        assert!(matches!(not_ca, Err(PkiError::NotAnAuthority)));
        assert!(matches!(garbage, Err(PkiError::Pem { .. })));
    }

    #[test]
    fn client_certificate_repeats_the_subject_and_has_the_client_extensions() {
        let ca = authority();
        let csr = validated();
        let before = OffsetDateTime::now_utc();

        let issued = ca.sign_client_csr(&csr, 365).expect("signed");

        let der = der_of(&issued.certificate_pem);
        let certificate = parse_certificate(&der, "issued").expect("parses");
        assert_eq!(certificate.subject().as_raw(), csr.subject_der());
        assert_eq!(issued.subject, csr.subject());
        let eku = certificate
            .extended_key_usage()
            .expect("ok")
            .expect("present")
            .value;
        assert!(eku.client_auth && !eku.server_auth);
        let usage = certificate.key_usage().expect("ok").expect("present").value;
        assert!(usage.digital_signature() && !usage.key_cert_sign());
        assert!(
            !certificate
                .basic_constraints()
                .expect("ok")
                .expect("present")
                .value
                .ca
        );
        assert!(key_identifier(&certificate, false).is_some());
        assert!(key_identifier(&certificate, true).is_some());
        let lag = before - issued.not_before;
        assert!(
            lag > Duration::minutes(4) && lag < Duration::minutes(6),
            "{lag}"
        );
        assert_eq!(issued.not_after - issued.not_before, Duration::days(365));
    }

    #[test]
    fn device_certificates_name_the_vin_and_chain_to_their_authority() {
        let devices = authority();
        let vin = Vin::parse("VF3ABCDE0FG123456").expect("vin");

        let issued = devices.issue_device_credentials(&vin, 30).expect("issued");

        let der = der_of(&issued.certificate_pem);
        let certificate = parse_certificate(&der, "device").expect("parses");
        let inspected = inspect_client_certificate(&der).expect("inspected");
        assert_eq!(inspected.common_name.as_deref(), Some(vin.as_str()));
        assert_eq!(inspected.serial_hex, issued.serial_hex);
        let eku = certificate
            .extended_key_usage()
            .expect("ok")
            .expect("present")
            .value;
        assert!(eku.client_auth && !eku.server_auth);
        let devices_der = devices.certificate_der();
        let (_, authority_certificate) =
            X509Certificate::from_der(&devices_der).expect("authority parses");
        assert!(certificate
            .verify_signature(Some(authority_certificate.public_key()))
            .is_ok());
        use rcgen::PublicKeyData as _;
        let key = KeyPair::from_pem(&issued.private_key_pem).expect("key parses");
        assert_eq!(key.subject_public_key_info(), certificate.public_key().raw);
        assert!(!format!("{issued:?}").contains("PRIVATE"));
    }

    #[test]
    fn serials_are_random_positive_and_match_what_inspection_reads() {
        let ca = authority();
        let csr = validated();

        let first = ca.sign_client_csr(&csr, 1).expect("signed");
        let second = ca.sign_client_csr(&csr, 1).expect("signed");

        assert_ne!(first.serial_hex, second.serial_hex);
        let der = der_of(&first.certificate_pem);
        let inspected = inspect_client_certificate(&der).expect("inspected");
        assert_eq!(inspected.serial_hex, first.serial_hex);
        assert!(first.serial_hex.len() <= 32);
        assert!(u8::from_str_radix(&first.serial_hex[..2], 16).expect("hex") < 0x80);
        assert_eq!(inspected.common_name.as_deref(), Some("MZP123456"));
        assert_eq!(inspected.issuer_subject, "CN=fleetgate test CA");
    }

    #[test]
    fn explicit_bounds_in_the_past_give_an_expired_certificate() {
        let ca = authority();
        let not_before = datetime!(2020-01-01 0:00 UTC);
        let not_after = datetime!(2021-01-01 0:00 UTC);

        let issued = ca
            .sign_client_csr_between(&validated(), not_before, not_after)
            .expect("ok");

        let inspected = inspect_client_certificate(&der_of(&issued.certificate_pem)).expect("ok");
        assert_eq!(inspected.not_after, not_after);
        assert!(inspected.not_after < OffsetDateTime::now_utc());
        assert_eq!(issued.not_before, not_before);
    }

    #[test]
    fn empty_validity_is_refused() {
        let ca = authority();
        let moment = datetime!(2020-01-01 0:00 UTC);

        let reversed = ca.sign_client_csr_between(&validated(), moment, moment);

        assert!(matches!(reversed, Err(PkiError::EmptyValidity { .. })));
        assert!(matches!(
            ca.sign_client_csr(&validated(), 0),
            Err(PkiError::EmptyValidity { .. })
        ));
    }

    #[test]
    fn server_credentials_name_dns_and_ip_hosts() {
        let ca = authority();
        let hosts = [
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];

        let credentials = ca.issue_server_credentials(&hosts, 30).expect("issued");

        let der = der_of(&credentials.certificate_pem);
        let certificate = parse_certificate(&der, "server").expect("parses");
        let names = &certificate
            .subject_alternative_name()
            .expect("ok")
            .expect("SAN")
            .value;
        assert!(names
            .general_names
            .contains(&GeneralName::DNSName("localhost")));
        assert!(names
            .general_names
            .contains(&GeneralName::IPAddress(&[127, 0, 0, 1])));
        assert_eq!(names.general_names.len(), 3);
        let eku = certificate
            .extended_key_usage()
            .expect("ok")
            .expect("present")
            .value;
        assert!(eku.server_auth && !eku.client_auth);
        let key = KeyPair::from_pem(&credentials.private_key_pem).expect("key");
        let certified: &[u8] = &certificate.public_key().subject_public_key.data;
        assert_eq!(certified, key.public_key_raw());
        assert!(!format!("{credentials:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn bad_hosts_and_names_are_refused() {
        let ca = authority();
        let bad = ["exa mple.com".to_owned()];

        assert!(matches!(
            ca.issue_server_credentials(&[], 1),
            Err(PkiError::NoHosts)
        ));
        assert!(matches!(
            ca.issue_server_credentials(&bad, 1),
            Err(PkiError::InvalidHost { .. })
        ));
        assert!(matches!(
            CertificateAuthority::generate(" ", 1),
            Err(PkiError::EmptyCommonName)
        ));
        assert!(is_dns_name("*.fleet.example.com") && !is_dns_name("-a.com") && !is_dns_name(""));
    }

    #[test]
    fn authority_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<CertificateAuthority>();
        shared::<ValidatedCsr>();
    }
}
