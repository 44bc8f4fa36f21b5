//! Why a CSR is refused, told so that the partner can fix it alone: the field, what was
//! found, what is expected, and what to do with openssl and with keytool.

use std::fmt;

/// The part of a CSR a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsrField {
    /// The file itself: not a PEM or DER certificate request, or a subject whose
    /// structure (unknown attribute types, multi-valued RDNs) the policy does not allow.
    Encoding,
    /// The request's self-signature does not verify.
    Signature,
    /// `C`, the ISO 3166 two-letter country code.
    Country,
    /// `ST`, the state or province (optional).
    State,
    /// `L`, the locality (city).
    Locality,
    /// `O`, the organization.
    Organization,
    /// `OU`, which must be `Programs Partners`.
    OrganizationalUnit,
    /// `CN`, which must be the submitting partner's login.
    CommonName,
    /// `emailAddress`, where the certificate is announced.
    Email,
    /// The public key: RSA of 2048 bits at least, or ECDSA P-256 / P-384.
    Key,
    /// The algorithm of the request's self-signature (no MD5, no SHA-1).
    SignatureAlgorithm,
}

impl CsrField {
    /// A short machine-readable name: the attribute's short name for subject fields
    /// (`C`, `ST`, `L`, `O`, `OU`, `CN`, `emailAddress`), otherwise `encoding`,
    /// `signature`, `key` or `signatureAlgorithm`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Encoding => "encoding",
            Self::Signature => "signature",
            Self::Country => "C",
            Self::State => "ST",
            Self::Locality => "L",
            Self::Organization => "O",
            Self::OrganizationalUnit => "OU",
            Self::CommonName => "CN",
            Self::Email => "emailAddress",
            Self::Key => "key",
            Self::SignatureAlgorithm => "signatureAlgorithm",
        }
    }

    /// A readable name, e.g. `OU (organizational unit)`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Encoding => "CSR file format",
            Self::Signature => "CSR signature",
            Self::Country => "C (country)",
            Self::State => "ST (state or province)",
            Self::Locality => "L (locality)",
            Self::Organization => "O (organization)",
            Self::OrganizationalUnit => "OU (organizational unit)",
            Self::CommonName => "CN (common name)",
            Self::Email => "emailAddress (e-mail address)",
            Self::Key => "public key",
            Self::SignatureAlgorithm => "signature algorithm",
        }
    }

    /// Where the field stands in the checking order (see [`crate::validate_csr`]).
    fn rank(self) -> u8 {
        match self {
            Self::Encoding => 0,
            Self::SignatureAlgorithm => 1,
            Self::Key => 2,
            Self::Signature => 3,
            Self::Country => 4,
            Self::State => 5,
            Self::Locality => 6,
            Self::Organization => 7,
            Self::OrganizationalUnit => 8,
            Self::CommonName => 9,
            Self::Email => 10,
        }
    }
}

impl fmt::Display for CsrField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A refused CSR: the first field that fails the policy, with what to do about it.
///
/// The subject fields are all checked, so a CSR with several wrong subject fields is
/// refused once with every problem: the first in [`CsrField`] checking order is in the
/// main fields, the others in `other_problems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrRejection {
    /// The field refused.
    pub field: CsrField,
    /// What the CSR holds, e.g. `'Programs Partner'` or `no e-mail address`.
    pub found: String,
    /// What the policy expects.
    pub expected: String,
    /// How to fix it when the CSR is made with `openssl req`.
    pub fix_openssl: String,
    /// How to fix it when the CSR is made with `keytool -certreq`.
    pub fix_keytool: String,
    /// Other fields refused in the same CSR, in checking order (empty most of the time).
    pub other_problems: Box<[CsrRejection]>,
}

impl CsrRejection {
    /// A refusal with the usual fixes for `field`; `login` is the submitting partner's.
    pub(crate) fn new(
        field: CsrField,
        found: impl Into<String>,
        expected: impl Into<String>,
        login: &str,
    ) -> Self {
        let (fix_openssl, fix_keytool) = standard_fixes(field, login);
        Self::with_fixes(field, found, expected, fix_openssl, fix_keytool)
    }

    /// A refusal with particular fixes.
    pub(crate) fn with_fixes(
        field: CsrField,
        found: impl Into<String>,
        expected: impl Into<String>,
        fix_openssl: impl Into<String>,
        fix_keytool: impl Into<String>,
    ) -> Self {
        Self {
            field,
            found: found.into(),
            expected: expected.into(),
            fix_openssl: fix_openssl.into(),
            fix_keytool: fix_keytool.into(),
            other_problems: Box::default(),
        }
    }

    /// The first problem in checking order, carrying the others; `None` if there is none.
    pub(crate) fn gather(mut problems: Vec<CsrRejection>) -> Option<Self> {
        problems.sort_by_key(|problem| problem.field.rank());

        let mut problems = problems.into_iter();
        let first = problems.next()?;
        let other_problems = problems.collect();
        Some(Self {
            other_problems,
            ..first
        })
    }

    /// Every field refused, the main one first.
    pub fn fields(&self) -> Vec<CsrField> {
        let others = self.other_problems.iter().map(|problem| problem.field);
        std::iter::once(self.field).chain(others).collect()
    }

    fn write_one(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: found {}, expected {}. With openssl: {}. With keytool: {}.",
            self.field.label(),
            self.found,
            self.expected,
            self.fix_openssl,
            self.fix_keytool
        )
    }
}

impl fmt::Display for CsrRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_one(f)?;

        for other in self.other_problems.iter() {
            f.write_str("\nAlso refused: ")?;
            other.write_one(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for CsrRejection {}

/// The fixes for a field, with openssl and with keytool.
fn standard_fixes(field: CsrField, login: &str) -> (String, String) {
    let (openssl, keytool) = match field {
        CsrField::Encoding => return encoding_fixes(),
        CsrField::Signature => (
            "run openssl req again and send the CSRName.csr file unchanged, as an attachment \
             (check it first with: openssl req -in CSRName.csr -noout -verify)",
            "run keytool -certreq again and send the CSRName.csr file unchanged, as an \
             attachment",
        ),
        CsrField::SignatureAlgorithm => (
            "leave -sha1 / -md5 out of the openssl req command (OpenSSL signs with SHA-256 by \
             default) or add -sha256",
            "add -sigalg SHA256withRSA (SHA256withECDSA for an EC key) to keytool -certreq",
        ),
        CsrField::Key => (
            "make a new key with the CSR: the guide's command with its CSRConfig.conf \
             (default_bits = 2048) makes an RSA 2048 key; with -newkey use rsa:2048, or ec \
             with -pkeyopt ec_paramgen_curve:P-256",
            "make a new key pair with keytool -genkey -keyalg RSA -keysize 2048 (or -keyalg EC \
             -groupname secp256r1), then run keytool -certreq again",
        ),
        CsrField::Country => (
            "answer your country's two capital letters (e.g. FR) at the COUNTRY NAME (C) prompt",
            "write C=<two capital letters>, e.g. C=FR, in -dname",
        ),
        CsrField::State => (
            "type your state or region at the STATE OR PROVINCE (S) prompt, or press Enter to \
             leave it out",
            "write ST=<state or region> in -dname, or leave ST out",
        ),
        CsrField::Locality => (
            "type your city (e.g. Paris) at the LOCALITY NAME (L) prompt",
            "write L=<city>, e.g. L=Paris, in -dname",
        ),
        CsrField::Organization => (
            "type your company's name (e.g. Free2Move) at the ORGANIZATION NAME (O) prompt",
            "write O=<company name> in -dname",
        ),
        CsrField::OrganizationalUnit => (
            "answer 'Programs Partners' at the ORGANIZATIONAL UNIT (OU) prompt (or press Enter \
             to take the default of the guide's CSRConfig.conf)",
            "write OU=Programs Partners in -dname",
        ),
        CsrField::CommonName => {
            return (
                format!("answer your login ({login}) at the COMMON NAME (CN) prompt"),
                format!("write CN={login} in -dname"),
            )
        }
        CsrField::Email => (
            "type the address that will receive the certificate (e.g. it@partner.com) at the \
             EMAIL ADDRESS prompt; pressing Enter there leaves the e-mail out",
            "add email=<address>, e.g. email=it@partner.com, to -dname",
        ),
    };
    (openssl.to_owned(), keytool.to_owned())
}

/// The fixes for a file that is not a certificate request.
pub(crate) fn encoding_fixes() -> (String, String) {
    (
        "send the file written by -out (CSRName.csr), which starts with -----BEGIN CERTIFICATE \
         REQUEST-----; never the -keyout file, which is your private key"
            .to_owned(),
        "send the file written by keytool -certreq -file CSRName.csr, which starts with \
         -----BEGIN NEW CERTIFICATE REQUEST-----"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_attribute_short_names() {
        assert_eq!(CsrField::OrganizationalUnit.code(), "OU");
        assert_eq!(CsrField::CommonName.code(), "CN");
        assert_eq!(CsrField::Country.code(), "C");
        assert_eq!(CsrField::State.code(), "ST");
        assert_eq!(CsrField::Email.code(), "emailAddress");
        assert_eq!(CsrField::SignatureAlgorithm.code(), "signatureAlgorithm");
    }

    #[test]
    fn display_names_field_found_expected_and_both_fixes() {
        let rejection = CsrRejection::new(
            CsrField::OrganizationalUnit,
            "'Programs Partner'",
            "'Programs Partners'",
            "MZP123456",
        );

        let text = rejection.to_string();

        assert!(
            text.starts_with("OU (organizational unit): found 'Programs Partner'"),
            "{text}"
        );
        assert!(text.contains("expected 'Programs Partners'"), "{text}");
        assert!(
            text.contains("With openssl: answer 'Programs Partners'"),
            "{text}"
        );
        assert!(
            text.contains("With keytool: write OU=Programs Partners in -dname"),
            "{text}"
        );
    }

    #[test]
    fn common_name_fixes_quote_the_login() {
        let rejection = CsrRejection::new(CsrField::CommonName, "'MZPXXXX'", "x", "MZP42");

        assert!(rejection.fix_openssl.contains("(MZP42) at the COMMON NAME"));
        assert_eq!(rejection.fix_keytool, "write CN=MZP42 in -dname");
    }

    #[test]
    fn gather_puts_the_first_field_in_checking_order_first_and_keeps_the_others() {
        let email = CsrRejection::new(CsrField::Email, "a", "b", "MZP1");
        let ou = CsrRejection::new(CsrField::OrganizationalUnit, "a", "b", "MZP1");
        let cn = CsrRejection::new(CsrField::CommonName, "a", "b", "MZP1");

        let gathered = CsrRejection::gather(vec![email, cn, ou]).expect("some");

        assert_eq!(
            gathered.fields(),
            [
                CsrField::OrganizationalUnit,
                CsrField::CommonName,
                CsrField::Email
            ]
        );
        assert_eq!(gathered.to_string().matches("\nAlso refused: ").count(), 2);
        assert!(CsrRejection::gather(Vec::new()).is_none());
    }
}
