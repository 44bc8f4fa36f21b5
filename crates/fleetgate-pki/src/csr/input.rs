//! Reading the CSR file: PEM (`CERTIFICATE REQUEST` as openssl writes it, `NEW CERTIFICATE
//! REQUEST` as keytool writes it) or raw DER, then the PKCS#10 structure.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use super::rejection::{encoding_fixes, CsrField, CsrRejection};
use crate::pem::{self, PemError};

/// Larger files are not CSRs (an RSA 8192 request is about 2 KiB).
const MAX_INPUT_BYTES: usize = 64 * 1024;

/// The PEM labels of a certificate request.
const REQUEST_LABELS: [&str; 2] = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];

/// What a valid request file looks like.
const EXPECTED: &str = "a certificate request: PEM starting with -----BEGIN CERTIFICATE \
                        REQUEST----- (or -----BEGIN NEW CERTIFICATE REQUEST-----), or DER";

/// The DER bytes of the request in `input`.
pub(super) fn decode(input: &[u8]) -> Result<Vec<u8>, CsrRejection> {
    if input.len() > MAX_INPUT_BYTES {
        let found = format!("a file of {} bytes", input.len());
        return Err(refusal(found, "a CSR file of at most 64 KiB"));
    }

    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }

    let Ok(text) = std::str::from_utf8(input) else {
        return Err(refusal("binary data that is neither DER nor PEM", EXPECTED));
    };

    let block = pem::decode_first(text).map_err(pem_refusal)?;
    check_label(&block.label)?;
    Ok(block.contents)
}

/// The PKCS#10 structure of `der`, which must hold nothing else.
pub(super) fn parse(der: &[u8]) -> Result<X509CertificationRequest<'_>, CsrRejection> {
    let Ok((rest, request)) = X509CertificationRequest::from_der(der) else {
        return Err(refusal(
            "data that is not a PKCS#10 certificate request",
            EXPECTED,
        ));
    };

    if !rest.is_empty() {
        let found = format!("{} unexpected bytes after the request", rest.len());
        return Err(refusal(found, "the request alone"));
    }
    Ok(request)
}

/// Refuses PEM blocks that are not requests, saying what they are.
fn check_label(label: &str) -> Result<(), CsrRejection> {
    if REQUEST_LABELS.contains(&label) {
        return Ok(());
    }

    let found = if label.contains("PRIVATE KEY") {
        format!("a private key (PEM '{label}'): keep it secret, do not send it")
    } else if label == "CERTIFICATE" || label == "X509 CERTIFICATE" {
        "a certificate (PEM 'CERTIFICATE'), not a certificate request".to_owned()
    } else {
        format!("a PEM block labelled '{label}'")
    };
    Err(refusal(found, EXPECTED))
}

/// The refusal for PEM that cannot be decoded.
fn pem_refusal(error: PemError) -> CsrRejection {
    let found = match error {
        PemError::NoBeginLine => "text without a -----BEGIN ...----- line".to_owned(),
        PemError::NoEndLine { label } => {
            format!("a '{label}' block without its -----END {label}----- line (cut short?)")
        }
        PemError::Base64 { label, .. } => format!("a '{label}' block that is not valid base64"),
        PemError::UnexpectedLabel { found, .. } => format!("a PEM block labelled '{found}'"),
    };
    refusal(found, EXPECTED)
}

fn refusal(found: impl Into<String>, expected: &str) -> CsrRejection {
    let (fix_openssl, fix_keytool) = encoding_fixes();
    CsrRejection::with_fixes(
        CsrField::Encoding,
        found,
        expected,
        fix_openssl,
        fix_keytool,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(input: &[u8]) -> String {
        match decode(input) {
            Ok(_) => String::from("accepted"),
            Err(rejection) => {
                assert_eq!(rejection.field, CsrField::Encoding);
                rejection.found
            }
        }
    }

    #[test]
    fn der_and_both_pem_labels_are_decoded() {
        let openssl = "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n\
                       -----END CERTIFICATE REQUEST-----";
        let keytool =
            "\r\n-----BEGIN NEW CERTIFICATE REQUEST-----\r\nMAA=\r\n-----END NEW CERTIFICATE \
             REQUEST-----\r\n";

        assert_eq!(decode(openssl.as_bytes()), Ok(vec![0x30, 0]));
        assert_eq!(decode(keytool.as_bytes()), Ok(vec![0x30, 0]));
        assert_eq!(decode(&[0x30, 0]), Ok(vec![0x30, 0]));
    }

    #[test]
    fn other_files_are_refused_saying_what_they_are() {
        let key = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n\
                   -----END ENCRYPTED PRIVATE KEY-----";
        let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----";

        assert!(found(key.as_bytes()).contains("private key"));
        assert!(found(cert.as_bytes()).contains("a certificate"));
        assert!(found(b"hello").contains("without a -----BEGIN"));
        assert!(found(&[0xff, 0xfe, 0x00]).contains("binary data"));
        assert!(found(&[b' '; 70_000]).contains("70000 bytes"));
    }

    #[test]
    fn parse_refuses_garbage_and_trailing_bytes() {
        let refusal = parse(&[0x30, 0x03, 1, 2, 3]).expect_err("garbage");
        assert_eq!(refusal.field, CsrField::Encoding);
        assert!(refusal.found.contains("not a PKCS#10"));
    }
}
