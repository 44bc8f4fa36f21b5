//! HAL representations: links with absolute URLs, and the paged collection envelope.
//!
//! Links are absolute, built on the scheme and host the client used, and keep the query
//! parameters of the request (the `client_id` among them), so that a link followed with the
//! same certificate and credentials works as is.

use axum::http::{header, HeaderMap, Uri};
use fleetgate_core::paging::QueryFingerprint;
use fleetgate_core::{Page, PageRequest, PageTokenKey};
use serde_json::{json, Map, Value};

/// Builds the absolute URLs of one request's links.
pub struct Links<'a> {
    base: String,
    version: &'a str,
    kept: Vec<(&'a str, &'a str)>,
    client_id: &'a str,
}

impl<'a> Links<'a> {
    /// Links for a request to API `version` that named the server as `uri` (HTTP/2) or
    /// `headers`' `Host` (HTTP/1.1) shows.
    pub fn new(
        uri: &Uri,
        headers: &HeaderMap,
        version: &'a str,
        kept: Vec<(&'a str, &'a str)>,
        client_id: &'a str,
    ) -> Self {
        let host = uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost");
        Self {
            base: format!("https://{host}"),
            version,
            kept,
            client_id,
        }
    }

    /// `{"href": ...}` for a resource path below `/connectedcar/{version}`, carrying only
    /// the `client_id`.
    pub fn resource(&self, path: &str) -> Value {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", self.client_id)
            .finish();
        json!({ "href": format!("{}/connectedcar/{}{path}?{query}", self.base, self.version) })
    }

    /// `{"href": ...}` for a resource path with its own query parameters, then the
    /// `client_id`.
    pub fn resource_with(&self, path: &str, pairs: &[(&str, &str)]) -> Value {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        let query = query.append_pair("client_id", self.client_id).finish();
        json!({ "href": format!("{}/connectedcar/{}{path}?{query}", self.base, self.version) })
    }

    /// `{"href": ...}` for a page of the collection at `path`, with the request's own
    /// parameters and, past the first page, a page token.
    pub fn page(&self, path: &str, token: Option<&str>) -> Value {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.kept {
            query.append_pair(name, value);
        }
        if let Some(token) = token {
            query.append_pair("pageToken", token);
        }
        let query = query.finish();
        json!({ "href": format!("{}/connectedcar/{}{path}?{query}", self.base, self.version) })
    }
}

/// The collection envelope of the specification's `CollectionResult`: `_links` (self, first,
/// prev, next, last), `total`, `totalPage`, `currentPage` and `_embedded.<name>`.
pub fn collection(
    name: &str,
    page: &Page<Value>,
    path: &str,
    links: &Links<'_>,
    key: &PageTokenKey,
    query: &QueryFingerprint,
) -> Value {
    let mut body = envelope(page, path, links, key, query);
    body.insert("_embedded".into(), json!({ name: page.items }));
    Value::Object(body)
}

/// [`collection`] without its `_embedded` items, for the answers that serialize them
/// straight into the body.
pub fn envelope<T>(
    page: &Page<T>,
    path: &str,
    links: &Links<'_>,
    key: &PageTokenKey,
    query: &QueryFingerprint,
) -> Map<String, Value> {
    let token = |request: PageRequest| -> Option<String> {
        // The first page of the default size is linked without a token, like a fresh query.
        (request.offset != 0).then(|| request.token(key, query))
    };

    let mut link_map = Map::new();
    link_map.insert(
        "self".into(),
        links.page(path, token(page.request).as_deref()),
    );
    link_map.insert(
        "first".into(),
        links.page(path, token(page.first()).as_deref()),
    );
    if let Some(prev) = page.prev() {
        link_map.insert("prev".into(), links.page(path, token(prev).as_deref()));
    }
    if let Some(next) = page.next() {
        link_map.insert("next".into(), links.page(path, token(next).as_deref()));
    }
    link_map.insert(
        "last".into(),
        links.page(path, token(page.last()).as_deref()),
    );

    let mut body = Map::new();
    body.insert("_links".into(), Value::Object(link_map));
    body.insert("total".into(), json!(page.total));
    body.insert("totalPage".into(), json!(page.total_pages()));
    body.insert("currentPage".into(), json!(page.current_page()));
    body
}
