//! Helpers of the unit tests: partner CSRs made in-process with the certificate library.

use fleetgate_core::Login;
use rcgen::string::{Ia5String, PrintableString};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair};

use crate::csr::{validate_csr, ValidatedCsr};

/// The partner of the tests.
pub(crate) const LOGIN: &str = "MZP123456";

/// The PKCS#9 emailAddress attribute type.
pub(crate) fn email_type() -> DnType {
    DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1])
}

/// [`LOGIN`] parsed.
pub(crate) fn login() -> Login {
    Login::parse(LOGIN).expect("valid login")
}

/// A PrintableString value.
pub(crate) fn printable(text: &str) -> DnValue {
    DnValue::PrintableString(PrintableString::try_from(text).expect("printable"))
}

/// An IA5String value.
pub(crate) fn ia5(text: &str) -> DnValue {
    DnValue::Ia5String(Ia5String::try_from(text).expect("ascii"))
}

/// A subject as openssl writes it from the guide's configuration.
pub(crate) fn openssl_subject() -> Vec<(DnType, DnValue)> {
    vec![
        (DnType::CountryName, printable("FR")),
        (DnType::StateOrProvinceName, "Ile de France".into()),
        (DnType::LocalityName, "Paris".into()),
        (DnType::OrganizationName, "Free2Move".into()),
        (DnType::OrganizationalUnitName, "Programs Partners".into()),
        (DnType::CommonName, LOGIN.into()),
        (email_type(), ia5("it@partner.com")),
    ]
}

/// `subject` with the value of `kind` replaced (or removed when `value` is `None`).
pub(crate) fn with(
    mut subject: Vec<(DnType, DnValue)>,
    kind: DnType,
    value: Option<DnValue>,
) -> Vec<(DnType, DnValue)> {
    let position = subject.iter().position(|(k, _)| *k == kind);
    match (position, value) {
        (Some(index), Some(value)) => subject[index].1 = value,
        (Some(index), None) => {
            subject.remove(index);
        }
        (None, Some(value)) => subject.push((kind, value)),
        (None, None) => {}
    }
    subject
}

/// A CSR (DER) for `subject`, signed by `key`.
pub(crate) fn csr_der(subject: &[(DnType, DnValue)], key: &KeyPair) -> Vec<u8> {
    let mut name = DistinguishedName::new();
    for (kind, value) in subject {
        name.push(kind.clone(), value.clone());
    }

    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params
        .serialize_request(key)
        .expect("request")
        .der()
        .to_vec()
}

/// A validated CSR of [`openssl_subject`] with a new P-256 key.
pub(crate) fn validated() -> ValidatedCsr {
    let key = KeyPair::generate().expect("key");
    let der = csr_der(&openssl_subject(), &key);
    validate_csr(&der, &login()).expect("valid CSR")
}
