//! TLS of the vehicle channel: the endpoint demands a device certificate chaining to the
//! device CA, and the vehicle's identity is the VIN in that certificate's CN.

use std::sync::Arc;

use fleetgate_core::Vin;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why the endpoint's TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM input holds no usable item.
    #[error("cannot read the {what}: {detail}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the material.
    #[error("cannot build the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier cannot be built.
    #[error("cannot use the device CA certificate: {0}")]
    Verifier(String),
}

/// The PEM material of the endpoint.
pub struct EndpointTls<'a> {
    /// The endpoint's certificate (signed by the device CA), PEM.
    pub certificate_pem: &'a str,
    /// Its private key, PEM.
    pub key_pem: &'a str,
    /// The device CA certificate that vehicles' certificates must chain to, PEM.
    pub device_ca_pem: &'a str,
}

/// A server configuration that requires a device certificate from every client.
pub fn endpoint_config(material: &EndpointTls<'_>) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(material.certificate_pem, "endpoint certificate")?;
    let key = PrivateKeyDer::from_pem_slice(material.key_pem.as_bytes()).map_err(|e| {
        TlsSetupError::Pem {
            what: "endpoint key",
            detail: e.to_string(),
        }
    })?;

    let mut roots = RootCertStore::empty();
    for certificate in certificates(material.device_ca_pem, "device CA certificate")? {
        roots
            .add(certificate)
            .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;

    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

fn certificates(
    pem: &str,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let parsed: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    let parsed = parsed.map_err(|e| TlsSetupError::Pem {
        what,
        detail: e.to_string(),
    })?;
    if parsed.is_empty() {
        return Err(TlsSetupError::Pem {
            what,
            detail: "no CERTIFICATE block".into(),
        });
    }
    Ok(parsed)
}

/// The VIN a verified device certificate names in its CN, if it names a valid one.
pub fn vin_of_certificate(der: &[u8]) -> Option<Vin> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let common_name = certificate.subject().iter_common_name().next()?;
    Vin::parse(common_name.as_str().ok()?).ok()
}
