//! The CSR policy: what a partner's Certificate Signing Request must hold to be signed.
//!
//! [`validate_csr`] checks, in this order, stopping at the first failure of the first four:
//!
//! 1. [`CsrField::Encoding`]: a PEM `CERTIFICATE REQUEST` (openssl) or `NEW CERTIFICATE
//!    REQUEST` (keytool) block, or DER, holding a PKCS#10 request;
//! 2. [`CsrField::SignatureAlgorithm`]: no MD2, MD5 or SHA-1 signature;
//! 3. [`CsrField::Key`]: RSA of 2048 to 8192 bits, or ECDSA on P-256 or P-384;
//! 4. [`CsrField::SignatureAlgorithm`] again (an algorithm the verifier supports), then
//!    [`CsrField::Signature`]: the request's self-signature verifies;
//! 5. the subject, every problem reported at once, the first in this order:
//!    subject structure ([`CsrField::Encoding`]: one attribute per RDN, only the attribute
//!    types below), then C, ST, L, O, OU, CN, emailAddress.
//!
//! Subject rules: `C` two capital letters assigned by ISO 3166; `ST` optional but not
//! empty; `L` and `O` present and not empty; `OU` exactly `Programs Partners`; `CN` the
//! submitting partner's login; `emailAddress` (PKCS#9, what openssl's `emailAddress` and
//! keytool's `email=` write) a plausible `local@domain`. Each at most once, in any order,
//! as PrintableString, UTF8String or IA5String. Extensions requested in the CSR (keytool
//! asks for a subject key identifier) are ignored: the authority chooses the extensions.

mod input;
mod key;
mod rejection;
mod subject;

use std::fmt;

use fleetgate_core::Login;

pub use rejection::{CsrField, CsrRejection};

/// A CSR that passed the policy, ready to be signed.
#[derive(Clone)]
pub struct ValidatedCsr {
    der: Vec<u8>,
    subject: subject::Subject,
    key_description: String,
    public_key: rcgen::SubjectPublicKeyInfo,
    public_key_der: Vec<u8>,
}

impl ValidatedCsr {
    /// The subject, readable, in the CSR's order, e.g. `C=FR, ..., CN=MZP123456`.
    pub fn subject(&self) -> String {
        self.subject.readable.clone()
    }

    /// The CN, which is the submitting partner's login.
    pub fn common_name(&self) -> &str {
        &self.subject.common_name
    }

    /// The e-mail address of the subject.
    pub fn email(&self) -> &str {
        &self.subject.email
    }

    /// The request as DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The kind and size of the key, e.g. `RSA 2048` or `ECDSA P-256`.
    pub fn key_description(&self) -> String {
        self.key_description.clone()
    }

    /// The DER of the subject, which the issued certificate repeats byte for byte.
    pub(crate) fn subject_der(&self) -> &[u8] {
        &self.subject.raw
    }

    /// The subject as the certificate library writes it.
    pub(crate) fn carried_subject(&self) -> &rcgen::DistinguishedName {
        &self.subject.carried
    }

    /// The public key as the certificate library writes it.
    pub(crate) fn public_key(&self) -> &rcgen::SubjectPublicKeyInfo {
        &self.public_key
    }

    /// The DER of the request's SubjectPublicKeyInfo.
    pub(crate) fn public_key_der(&self) -> &[u8] {
        &self.public_key_der
    }
}

impl fmt::Debug for ValidatedCsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedCsr")
            .field("subject", &self.subject.readable)
            .field("key", &self.key_description)
            .finish_non_exhaustive()
    }
}

/// Reads a CSR (PEM or DER) and applies the policy for the partner `expected_login`.
///
/// See the [module documentation](self) for the rules and their order.
pub fn validate_csr(input: &[u8], expected_login: &Login) -> Result<ValidatedCsr, CsrRejection> {
    let der = input::decode(input)?;
    let request = input::parse(&der)?;

    let key_description = key::check(&request)?;
    let info = &request.certification_request_info;
    let subject = subject::check(&info.subject, expected_login)?;
    let public_key = key::carried_key(&request)?;

    let public_key_der = info.subject_pki.raw.to_vec();
    Ok(ValidatedCsr {
        der,
        subject,
        key_description,
        public_key,
        public_key_der,
    })
}

#[cfg(test)]
mod tests {
    use rcgen::string::BmpString;
    use rcgen::{DnType, DnValue, KeyPair};

    use super::*;
    use crate::test_support::{
        csr_der, email_type, ia5, login, openssl_subject, printable, validated, with, LOGIN,
    };

    fn refused(subject: &[(DnType, DnValue)]) -> CsrRejection {
        let key = KeyPair::generate().expect("key");
        validate_csr(&csr_der(subject, &key), &login()).expect_err("refused")
    }

    fn refused_field(subject: Vec<(DnType, DnValue)>) -> CsrField {
        refused(&subject).field
    }

    #[test]
    fn accepts_the_guide_subject_and_reports_its_facts() {
        let csr = validated();

        assert_eq!(
            csr.subject(),
            "C=FR, ST=Ile de France, L=Paris, O=Free2Move, OU=Programs Partners, CN=MZP123456, \
             emailAddress=it@partner.com"
        );
        assert_eq!(csr.common_name(), LOGIN);
        assert_eq!(csr.email(), "it@partner.com");
        assert_eq!(csr.key_description(), "ECDSA P-256");
        assert_eq!(csr.der().first(), Some(&0x30));
    }

    #[test]
    fn debug_shows_subject_and_key_but_not_the_der() {
        let csr = validated();

        let debug = format!("{csr:?}");

        assert!(
            debug.contains("CN=MZP123456") && debug.contains("ECDSA P-256"),
            "{debug}"
        );
        assert!(debug.len() < 300, "{debug}");
        assert!(
            !debug.contains(&format!("{:?}", &csr.der()[..8])),
            "{debug}"
        );
    }

    #[test]
    fn accepts_keytool_order_and_string_types_without_state() {
        let subject = vec![
            (email_type(), ia5("it@partner.com")),
            (DnType::CountryName, printable("FR")),
            (DnType::LocalityName, printable("Paris")),
            (DnType::OrganizationName, printable("PartnerName")),
            (
                DnType::OrganizationalUnitName,
                printable("Programs Partners"),
            ),
            (DnType::CommonName, printable(LOGIN)),
        ];
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");

        let csr = validate_csr(&csr_der(&subject, &key), &login()).expect("accepted");

        assert!(csr
            .subject()
            .starts_with("emailAddress=it@partner.com, C=FR"));
        assert_eq!(csr.key_description(), "ECDSA P-384");
    }

    #[test]
    fn accepts_pem_with_either_label_crlf_and_surrounding_blanks() {
        let key = KeyPair::generate().expect("key");
        let der = csr_der(&openssl_subject(), &key);

        for label in ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"] {
            let pem = crate::pem::encode(label, &der).replace('\n', "\r\n");
            let input = format!("\r\n  \n{pem}\r\n\r\n");

            let csr = validate_csr(input.as_bytes(), &login()).expect("accepted");

            assert_eq!(csr.der(), der.as_slice());
        }
    }

    #[test]
    fn each_subject_field_is_checked() {
        let cases = [
            (
                DnType::CountryName,
                Some("France".into()),
                CsrField::Country,
            ),
            (DnType::CountryName, None, CsrField::Country),
            (
                DnType::StateOrProvinceName,
                Some(" ".into()),
                CsrField::State,
            ),
            (DnType::LocalityName, None, CsrField::Locality),
            (DnType::OrganizationName, None, CsrField::Organization),
            (
                DnType::OrganizationalUnitName,
                Some("Programs Partner".into()),
                CsrField::OrganizationalUnit,
            ),
            (
                DnType::OrganizationalUnitName,
                None,
                CsrField::OrganizationalUnit,
            ),
            (
                DnType::CommonName,
                Some("MZPXXXX".into()),
                CsrField::CommonName,
            ),
            (
                DnType::CommonName,
                Some("MZP999".into()),
                CsrField::CommonName,
            ),
            (DnType::CommonName, None, CsrField::CommonName),
            (email_type(), None, CsrField::Email),
            (email_type(), Some(ia5("it.partner.com")), CsrField::Email),
        ];

        for (kind, value, field) in cases {
            let subject = with(openssl_subject(), kind.clone(), value.clone());
            assert_eq!(refused_field(subject), field, "{kind:?} = {value:?}");
        }
    }

    #[test]
    fn state_may_be_absent() {
        let key = KeyPair::generate().expect("key");
        let subject = with(openssl_subject(), DnType::StateOrProvinceName, None);

        assert!(validate_csr(&csr_der(&subject, &key), &login()).is_ok());
    }

    #[test]
    fn another_partners_login_is_refused_saying_whose_it_must_be() {
        let subject = with(
            openssl_subject(),
            DnType::CommonName,
            Some("MZP654321".into()),
        );

        let rejection = refused(&subject);

        assert_eq!(rejection.field, CsrField::CommonName);
        assert!(rejection.found.contains("MZP654321"), "{rejection}");
        assert!(rejection.expected.contains("submitting"), "{rejection}");
        assert!(rejection.expected.contains(LOGIN), "{rejection}");
    }

    #[test]
    fn several_wrong_fields_are_all_reported_in_order() {
        let subject = with(
            openssl_subject(),
            DnType::CommonName,
            Some("MZPXXXX".into()),
        );
        let subject = with(
            subject,
            DnType::OrganizationalUnitName,
            Some("Programs Partner".into()),
        );
        let subject = with(subject, email_type(), None);

        let rejection = refused(&subject);

        assert_eq!(
            rejection.fields(),
            [
                CsrField::OrganizationalUnit,
                CsrField::CommonName,
                CsrField::Email
            ]
        );
        let text = rejection.to_string();
        assert!(
            text.contains("'Programs Partner'") && text.contains("'MZPXXXX'"),
            "{text}"
        );
    }

    #[test]
    fn duplicate_unknown_and_badly_typed_attributes_are_refused() {
        let second_unit = DnType::CustomDnType(vec![2, 5, 4, 11]);
        let duplicate = with(openssl_subject(), second_unit, Some("Other".into()));
        assert_eq!(refused_field(duplicate), CsrField::OrganizationalUnit);

        let street = DnType::CustomDnType(vec![2, 5, 4, 9]);
        let unknown = refused(&with(openssl_subject(), street, Some("1 rue".into())));
        assert_eq!(unknown.field, CsrField::Encoding);
        assert!(unknown.found.contains("STREET"), "{unknown}");

        let bmp = DnValue::BmpString(BmpString::try_from("Paris").expect("bmp"));
        let typed = refused(&with(openssl_subject(), DnType::LocalityName, Some(bmp)));
        assert_eq!(typed.field, CsrField::Locality);
        assert!(typed.found.contains("BMPString"), "{typed}");
    }

    #[test]
    fn ed25519_keys_are_refused() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");

        let rejection = validate_csr(&csr_der(&openssl_subject(), &key), &login());

        let rejection = rejection.expect_err("refused");
        assert_eq!(rejection.field, CsrField::Key);
        assert!(rejection.found.contains("Ed25519"), "{rejection}");
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let key = KeyPair::generate().expect("key");
        let mut der = csr_der(&openssl_subject(), &key);
        let last = der.len() - 3;
        der[last] ^= 0x01;

        let rejection = validate_csr(&der, &login()).expect_err("refused");

        assert_eq!(rejection.field, CsrField::Signature);
    }

    #[test]
    fn a_tampered_subject_is_refused_by_the_signature() {
        let key = KeyPair::generate().expect("key");
        let mut der = csr_der(&openssl_subject(), &key);
        let at = der
            .windows(5)
            .position(|w| w == b"Paris")
            .expect("locality");
        der[at] = b'B';

        let rejection = validate_csr(&der, &login()).expect_err("refused");

        assert_eq!(rejection.field, CsrField::Signature);
    }

    #[test]
    fn garbage_is_refused_as_encoding() {
        for input in [&b""[..], b"hello", b"\x30\x03abc", &[0u8; 20]] {
            let rejection = validate_csr(input, &login()).expect_err("refused");
            assert_eq!(rejection.field, CsrField::Encoding, "{input:?}");
        }
    }
}
