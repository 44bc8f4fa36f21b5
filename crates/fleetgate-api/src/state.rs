//! What every request handler shares: the store, the certificate service, the page-token
//! key, the authentication cache and the password verifier.

use std::sync::Arc;

use fleetgate_core::PageTokenKey;
use fleetgate_store::Store;

use crate::auth::DecisionCache;
use crate::onboarding::CertificateService;
use crate::password::Verifier;
use crate::rate_limit::RateLimiter;

/// The shared state of the HTTP edge; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    certificates: CertificateService,
    page_key: PageTokenKey,
    decisions: DecisionCache,
    passwords: Verifier,
    rate_limiter: RateLimiter,
}

impl AppState {
    /// Assembles the state.
    pub fn new(store: Store, certificates: CertificateService, page_key: PageTokenKey) -> Self {
        let inner = Inner {
            store,
            certificates,
            page_key,
            decisions: DecisionCache::new(),
            passwords: Verifier::new(),
            rate_limiter: RateLimiter::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The certificate service (CSR intake, issuing, e-mail).
    pub fn certificates(&self) -> &CertificateService {
        &self.inner.certificates
    }

    /// The key that signs page tokens.
    pub fn page_key(&self) -> &PageTokenKey {
        &self.inner.page_key
    }

    pub(crate) fn decisions(&self) -> &DecisionCache {
        &self.inner.decisions
    }

    pub(crate) fn passwords(&self) -> &Verifier {
        &self.inner.passwords
    }

    /// This node's rate limit counts; [`RateLimiter::synchronise`] shares them.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.rate_limiter
    }
}
