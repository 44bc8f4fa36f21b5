//! Paged collections of vehicle data: the page a request asks for (`pageSize`,
//! `pageToken`, `indexRange`), bound by its fingerprint to the partner, the path and the
//! filters, and the HAL envelope of the answer.

use axum::extract::Request;
use fleetgate_core::paging::QueryFingerprint;
use fleetgate_core::{Page, PageRequest};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::filters::{self, IndexRange};
use super::hal::{self, Links};
use super::params::QueryParams;
#[cfg(doc)]
use super::view::Seen;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Default and largest `pageSize` of ordinary collections.
pub const PAGE_SIZE: u32 = fleetgate_core::paging::DEFAULT_PAGE_SIZE;

/// Largest `pageSize` of high-frequency collections (telemetry, waypoints).
pub const HIGH_FREQUENCY_PAGE_SIZE: u32 = 2000;

/// The page of a collection one request asks for.
pub struct Listing {
    page: PageRequest,
    range: IndexRange,
    fingerprint: QueryFingerprint,
}

impl Listing {
    /// Reads the paging parameters of `request`, with pages of at most `max_size`.
    pub fn of_request(
        state: &AppState,
        caller: &Caller,
        request: &Request,
        params: &QueryParams,
        max_size: u32,
    ) -> Result<Self, ApiError> {
        let filters = params.filter_pairs();
        let mut parts = vec![caller.partner_id.as_str(), request.uri().path()];
        parts.extend(filters.iter().map(String::as_str));
        let fingerprint = QueryFingerprint::of(parts);

        let page = PageRequest::from_parameters(
            params.single("pageSize")?,
            params.single("pageToken")?,
            max_size,
            state.page_key(),
            &fingerprint,
        )
        .map_err(|e| ApiError::parameter(e.to_string()))?;
        let range = filters::index_range(params)?;
        Ok(Self {
            page,
            range,
            fingerprint,
        })
    }

    /// The offset and the limit to read from the whole (filtered) collection.
    pub fn window(&self) -> (u64, u32) {
        self.range.window(self.page.offset, self.page.size)
    }

    /// The collection envelope of `items`, the page of a collection of `count` results
    /// (before `indexRange`), at `path`, under `_embedded.{name}`.
    pub fn body(
        &self,
        state: &AppState,
        name: &str,
        items: Vec<Value>,
        count: u64,
        path: &str,
        links: &Links<'_>,
    ) -> Value {
        let page = Page {
            items,
            total: self.range.total(count),
            request: self.page,
        };
        hal::collection(
            name,
            &page,
            path,
            links,
            state.page_key(),
            &self.fingerprint,
        )
    }

    /// [`Listing::body`] without its items, which [`Seen::respond_page`] serializes
    /// straight into the answer.
    pub fn envelope(
        &self,
        state: &AppState,
        count: u64,
        path: &str,
        links: &Links<'_>,
    ) -> Map<String, Value> {
        let page = Page::<()> {
            items: Vec::new(),
            total: self.range.total(count),
            request: self.page,
        };
        hal::envelope(&page, path, links, state.page_key(), &self.fingerprint)
    }
}

/// A page of a collection whose items are serialized straight into the answer rather than
/// assembled as a `Value` tree: [`Listing::envelope`] with `items` under `_embedded.{name}`.
pub struct RawPage<'a, T> {
    /// The envelope.
    pub envelope: &'a Map<String, Value>,
    /// The name of the items.
    pub name: &'a str,
    /// The items.
    pub items: &'a [T],
}

impl<T: Serialize> Serialize for RawPage<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.envelope.len() + 1))?;
        for (key, value) in self.envelope {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry("_embedded", &Embedded(self.name, self.items))?;
        map.end()
    }
}

/// `{name: items}`.
struct Embedded<'a, T>(&'a str, &'a [T]);

impl<T: Serialize> Serialize for Embedded<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}
