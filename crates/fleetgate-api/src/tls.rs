//! The server's TLS configuration and the client-certificate verifier.
//!
//! One port serves both the onboarding API (no client certificate yet) and the gateway
//! (client certificate required), so the handshake accepts clients without a certificate
//! and the HTTP layer decides, answering a JSON 401 that says a certificate is required.
//!
//! A certificate that chains to the partner CA but is outside its validity period is let
//! through the handshake too, for the same reason: the partner gets a JSON answer saying the
//! certificate expired instead of an opaque TLS alert. The chain and signatures are still
//! verified, at a moment inside the certificate's validity. A certificate from another CA
//! fails the handshake.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore};
use rustls::{Error as TlsError, ServerConfig, SignatureScheme};

/// The PEM inputs of the server's TLS configuration.
pub struct TlsMaterial<'a> {
    /// The server certificate (and any intermediates), PEM.
    pub server_certificate_pem: &'a str,
    /// The server's private key, PEM.
    pub server_key_pem: &'a str,
    /// The partner CA certificate that client certificates must chain to, PEM.
    pub client_ca_pem: &'a str,
}

/// The TLS configuration cannot be built from the material given.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A PEM input holds nothing usable.
    #[error("cannot read the {what} PEM")]
    Pem {
        /// Which input.
        what: &'static str,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the configuration.
    #[error("invalid TLS configuration")]
    Rustls(#[from] TlsError),
    /// The client verifier cannot be built.
    #[error("invalid partner CA for client verification")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Builds the server configuration: TLS 1.2 and 1.3, ALPN h2 and http/1.1, optional client
/// certificates checked against the partner CA.
pub fn server_config(material: &TlsMaterial<'_>) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let chain = CertificateDer::pem_slice_iter(material.server_certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsSetupError::Pem {
            what: "server certificate",
            source,
        })?;
    let key =
        PrivateKeyDer::from_pem_slice(material.server_key_pem.as_bytes()).map_err(|source| {
            TlsSetupError::Pem {
                what: "server key",
                source,
            }
        })?;
    let verifier = client_verifier(material.client_ca_pem, provider.clone())?;

    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    Ok(Arc::new(config))
}

// LIMITATION: no CRL is consulted or published; revocation is enforced after the handshake
// from the database (see `auth`), so a revoked certificate still completes the handshake.
fn client_verifier(
    ca_pem: &str,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let certificate = certificate.map_err(|source| TlsSetupError::Pem {
            what: "partner CA",
            source,
        })?;
        roots.add(certificate)?;
    }

    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()?;
    Ok(Arc::new(ExpiryTolerantVerifier { inner }))
}

/// Delegates to the WebPKI verifier, but lets a genuine certificate outside its validity
/// period complete the handshake so that the HTTP layer can explain the refusal.
struct ExpiryTolerantVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ExpiryTolerantVerifier {
    /// A moment inside the certificate's validity period, if it can be read.
    fn moment_inside_validity(end_entity: &CertificateDer<'_>) -> Option<UnixTime> {
        let certificate = fleetgate_pki::inspect_client_certificate(end_entity).ok()?;
        let middle: time::OffsetDateTime =
            certificate.not_before + (certificate.not_after - certificate.not_before) / 2;
        let seconds = u64::try_from(middle.unix_timestamp()).ok()?;
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            seconds,
        )))
    }
}

impl ClientCertVerifier for ExpiryTolerantVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        let error = match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(verified) => return Ok(verified),
            Err(error) => error,
        };

        if !is_validity_error(&error) {
            return Err(error);
        }
        // Verify everything else as of a moment when the certificate was valid; the HTTP
        // layer sees the real dates and refuses the request with a 401 that says why.
        let Some(moment) = Self::moment_inside_validity(end_entity) else {
            return Err(error);
        };
        self.inner
            .verify_client_cert(end_entity, intermediates, moment)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl fmt::Debug for ExpiryTolerantVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExpiryTolerantVerifier")
    }
}

fn is_validity_error(error: &TlsError) -> bool {
    matches!(
        error,
        TlsError::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
        )
    )
}
