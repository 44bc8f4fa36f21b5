//! What every request handler shares: the store, the certificate service, the page-token
//! key, the authentication cache and the password verifier.

use std::sync::Arc;

use fleetgate_core::vehicle::VehicleState;
use fleetgate_core::{FleetId, PageTokenKey, Vin};
use fleetgate_store::{Fleet, Store, Vehicle};

use crate::auth::DecisionCache;
use crate::onboarding::CertificateService;
use crate::password::Verifier;
use crate::rate_limit::RateLimiter;
use fleetgate_core::recent::Recent;

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
    paths: PathCache,
}

/// How long the fleets and vehicles that paths name are trusted without reading them
/// again: a vehicle removed from a fleet, or a fleet deleted, stops answering within it.
pub const PATH_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The most fleets, and vehicles, remembered.
const PATH_CAPACITY: usize = 100_000;

/// How long a vehicle's state, once read, answers for it: data committed by this or
/// another node is visible through the API within this time.
pub const STATE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The most vehicle states remembered (a few KB each).
const STATE_CAPACITY: usize = 20_000;

/// The fleets (by id) and the vehicles (by fleet and path id) read recently, and the
/// vehicles' states.
pub(crate) struct PathCache {
    pub(crate) fleets: Recent<FleetId, Fleet>,
    pub(crate) vehicles: Recent<(FleetId, String), Vehicle>,
    pub(crate) states: Recent<Vin, Option<Arc<VehicleState>>>,
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
            paths: PathCache {
                fleets: Recent::new(PATH_TTL, PATH_CAPACITY),
                vehicles: Recent::new(PATH_TTL, PATH_CAPACITY),
                states: Recent::new(STATE_TTL, STATE_CAPACITY),
            },
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

    pub(crate) fn paths(&self) -> &PathCache {
        &self.inner.paths
    }

    /// The state of vehicle `vin` (none before its first message), read at most
    /// [`STATE_TTL`] ago.
    pub(crate) async fn vehicle_state(
        &self,
        vin: &Vin,
    ) -> Result<Option<Arc<VehicleState>>, fleetgate_store::StoreError> {
        if let Some(state) = self.inner.paths.states.get(vin) {
            return Ok(state);
        }
        let state = self.store().vehicle_state(vin).await?.map(Arc::new);
        self.inner.paths.states.insert(vin.clone(), state.clone());
        Ok(state)
    }

    /// This node's rate limit counts; [`RateLimiter::synchronise`] shares them.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.rate_limiter
    }
}
