//! The cryptographic part of the policy: signature hash, public key, self-signature.
//!
//! Checked in this order, each refusal ending the checks: a weak hash (MD2, MD5, SHA-1)
//! first, then the key (a key the platform does not accept cannot be verified anyway),
//! then that the signature algorithm is one the verifier supports, then the signature.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::oid_registry::Oid;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use super::rejection::{CsrField, CsrRejection};

/// Smallest and largest RSA modulus accepted, in bits (the verifier stops at 8192).
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// What the signature algorithm is worth.
enum Hash {
    /// SHA-256 or stronger, supported by the verifier.
    Accepted,
    /// MD2, MD5 or SHA-1: refused whatever the key.
    Weak(String),
    /// Not weak, but not one the verifier supports (or not a signature algorithm).
    Unsupported(String),
}

/// Checks the hash, the key and the self-signature; returns e.g. `RSA 2048`.
pub(super) fn check(request: &X509CertificationRequest<'_>) -> Result<String, CsrRejection> {
    let hash = classify(&request.signature_algorithm);
    if let Hash::Weak(name) = &hash {
        return Err(weak_hash(name));
    }

    let key_description = check_key(&request.certification_request_info.subject_pki)?;

    if let Hash::Unsupported(name) = hash {
        return Err(unsupported_hash(&name));
    }

    if request.verify_signature().is_err() {
        return Err(bad_signature());
    }
    Ok(key_description)
}

/// The public key in the form the certificate library writes into certificates.
pub(super) fn carried_key(
    request: &X509CertificationRequest<'_>,
) -> Result<rcgen::SubjectPublicKeyInfo, CsrRejection> {
    let spki = request.certification_request_info.subject_pki.raw;

    rcgen::SubjectPublicKeyInfo::from_der(spki)
        .map_err(|_| key_refusal("a key that cannot be carried into a certificate".to_owned()))
}

/// The worth of a signature algorithm, by OID (and hash parameter for RSA-PSS).
fn classify(algorithm: &AlgorithmIdentifier<'_>) -> Hash {
    let oid = algorithm.algorithm.to_id_string();
    let named = |name: &str| name.to_owned();

    match oid.as_str() {
        "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.12" | "1.2.840.113549.1.1.13" => {
            Hash::Accepted
        }
        "1.2.840.10045.4.3.2" | "1.2.840.10045.4.3.3" | "1.3.101.112" => Hash::Accepted,
        "1.2.840.113549.1.1.10" => classify_pss(algorithm),
        "1.2.840.113549.1.1.2" => Hash::Weak(named("md2WithRSAEncryption (MD2)")),
        "1.2.840.113549.1.1.4" => Hash::Weak(named("md5WithRSAEncryption (MD5)")),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => {
            Hash::Weak(named("sha1WithRSAEncryption (SHA-1)"))
        }
        "1.2.840.10045.4.1" => Hash::Weak(named("ecdsa-with-SHA1 (SHA-1)")),
        "1.2.840.10040.4.3" => Hash::Weak(named("dsa-with-SHA1 (SHA-1)")),
        "1.2.840.113549.1.1.14" => Hash::Unsupported(named("sha224WithRSAEncryption")),
        "1.2.840.10045.4.3.1" => Hash::Unsupported(named("ecdsa-with-SHA224")),
        "1.2.840.10045.4.3.4" => Hash::Unsupported(named("ecdsa-with-SHA512")),
        _ => Hash::Unsupported(format!("the algorithm {oid}")),
    }
}

/// RSA-PSS is accepted with SHA-256, SHA-384 or SHA-512; its default hash is SHA-1.
fn classify_pss(algorithm: &AlgorithmIdentifier<'_>) -> Hash {
    let Some(parameters) = algorithm.parameters.as_ref() else {
        return Hash::Weak("RSASSA-PSS with its default hash (SHA-1)".to_owned());
    };
    let Ok(parameters) = RsaSsaPssParams::try_from(parameters) else {
        return Hash::Unsupported("RSASSA-PSS with unreadable parameters".to_owned());
    };

    match parameters.hash_algorithm_oid().to_id_string().as_str() {
        "2.16.840.1.101.3.4.2.1" | "2.16.840.1.101.3.4.2.2" | "2.16.840.1.101.3.4.2.3" => {
            Hash::Accepted
        }
        "1.3.14.3.2.26" => Hash::Weak("RSASSA-PSS with SHA-1".to_owned()),
        other => Hash::Unsupported(format!("RSASSA-PSS with the hash {other}")),
    }
}

/// Accepts RSA 2048 to 8192 bits and ECDSA on P-256 or P-384.
fn check_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, CsrRejection> {
    let algorithm = spki.algorithm.algorithm.to_id_string();

    match algorithm.as_str() {
        "1.2.840.113549.1.1.1" => check_rsa(spki),
        "1.2.840.10045.2.1" => check_ec(spki),
        "1.3.101.112" => Err(key_refusal("an Ed25519 key".to_owned())),
        "1.3.101.113" => Err(key_refusal("an Ed448 key".to_owned())),
        "1.2.840.10040.4.1" => Err(key_refusal("a DSA key".to_owned())),
        "1.2.840.113549.1.1.10" => Err(key_refusal("an RSA key restricted to PSS".to_owned())),
        other => Err(key_refusal(format!("a key of type {other}"))),
    }
}

fn check_rsa(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, CsrRejection> {
    let Ok(PublicKey::RSA(key)) = spki.parsed() else {
        return Err(key_refusal("an unreadable RSA key".to_owned()));
    };

    let bits = modulus_bits(key.modulus);
    if !RSA_BITS.contains(&bits) {
        return Err(key_refusal(format!("an RSA key of {bits} bits")));
    }
    Ok(format!("RSA {bits}"))
}

fn check_ec(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, CsrRejection> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|parameters| parameters.as_oid().ok())
        .as_ref()
        .map(Oid::to_id_string);

    match curve.as_deref() {
        Some("1.2.840.10045.3.1.7") => Ok("ECDSA P-256".to_owned()),
        Some("1.3.132.0.34") => Ok("ECDSA P-384".to_owned()),
        Some("1.3.132.0.35") => Err(key_refusal("an ECDSA key on curve P-521".to_owned())),
        Some("1.3.132.0.10") => Err(key_refusal("an ECDSA key on curve secp256k1".to_owned())),
        Some(other) => Err(key_refusal(format!("an ECDSA key on curve {other}"))),
        None => Err(key_refusal("an ECDSA key without a named curve".to_owned())),
    }
}

/// The size of an RSA modulus given as big-endian bytes, leading zeros ignored.
fn modulus_bits(modulus: &[u8]) -> usize {
    let significant: &[u8] = match modulus.iter().position(|&byte| byte != 0) {
        Some(start) => &modulus[start..],
        None => &[],
    };

    match significant.first() {
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn key_refusal(found: String) -> CsrRejection {
    let expected =
        "an RSA key of 2048 bits or more (up to 8192), or an ECDSA key on P-256 or P-384";
    CsrRejection::new(CsrField::Key, found, expected, "")
}

fn weak_hash(name: &str) -> CsrRejection {
    let expected = "a signature with SHA-256 or stronger (e.g. sha256WithRSAEncryption)";
    CsrRejection::new(
        CsrField::SignatureAlgorithm,
        format!("a signature with {name}"),
        expected,
        "",
    )
}

fn unsupported_hash(name: &str) -> CsrRejection {
    let expected = "sha256, sha384 or sha512 WithRSAEncryption, RSASSA-PSS with one of these \
                    hashes, or ECDSA with SHA-256 or SHA-384";
    CsrRejection::new(
        CsrField::SignatureAlgorithm,
        format!("a signature with {name}"),
        expected,
        "",
    )
}

fn bad_signature() -> CsrRejection {
    CsrRejection::new(
        CsrField::Signature,
        "a signature that does not match the request's content and public key (altered or \
         truncated file?)",
        "a request signed with the private key of its own public key, sent unchanged",
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_ignores_the_sign_byte_and_counts_the_top_byte() {
        let mut rsa_2048 = vec![0x00, 0xc1];
        rsa_2048.extend([0xab; 255]);
        let mut rsa_2047 = vec![0x00, 0x41];
        rsa_2047.extend([0xab; 255]);

        assert_eq!(modulus_bits(&rsa_2048), 2048);
        assert_eq!(modulus_bits(&rsa_2047), 2047);
        assert_eq!(modulus_bits(&[0x00, 0x00]), 0);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
