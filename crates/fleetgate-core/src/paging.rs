//! Stateless paging: page requests, page arithmetic and tamper-evident page tokens.
//!
//! The reference keeps no session state for paging: the `pageToken` it hands out carries the
//! whole context. Ours holds the offset and the page size, and is bound to the query it was
//! made for (the partner, the path and the filters, as a fingerprint) by an HMAC-SHA-256 tag
//! under a key shared by every node. A token altered by hand, or replayed by another partner
//! or on another query, fails verification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Default and largest `pageSize` of ordinary collections.
pub const DEFAULT_PAGE_SIZE: u32 = 60;

/// The token carries 8 bytes of offset and 4 of page size before its tag.
const PAYLOAD_LEN: usize = 12;

/// Only the first 16 bytes of the tag are kept: enough against forgery, shorter URLs.
const TAG_LEN: usize = 16;

/// A paging parameter that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// `pageSize` outside its range.
    #[error("pageSize must be an integer from 1 to {max}, found '{found}'")]
    PageSize {
        /// The value received.
        found: String,
        /// The largest size this collection allows.
        max: u32,
    },
    /// `pageToken` is not a token this platform made for this query.
    #[error(
        "pageToken is not valid for this request: use the links of a previous page \
         of the same query, unchanged"
    )]
    Token,
}

/// The secret key that signs page tokens; every node of a deployment holds the same one.
#[derive(Clone)]
pub struct PageTokenKey([u8; 32]);

impl PageTokenKey {
    /// Wraps 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn tag(&self, fingerprint: &[u8; 32], payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key size");
        mac.update(fingerprint);
        mac.update(payload);

        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

impl std::fmt::Debug for PageTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokenKey(<secret>)")
    }
}

/// Identifies one query: a token made for one fingerprint is refused for any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFingerprint([u8; 32]);

impl QueryFingerprint {
    /// Hashes the parts that define a query (partner, path, filters), in order.
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self(hasher.finalize().into())
    }
}

/// Which slice of a collection a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most.
    pub size: u32,
    /// How many items to skip.
    pub offset: u64,
}

impl PageRequest {
    /// Reads the `pageSize` and `pageToken` parameters of a request.
    ///
    /// A token sets offset and size; an explicit `pageSize` overrides the size it carries.
    pub fn from_parameters(
        page_size: Option<&str>,
        page_token: Option<&str>,
        max_size: u32,
        key: &PageTokenKey,
        query: &QueryFingerprint,
    ) -> Result<Self, PagingError> {
        let mut request = match page_token {
            Some(token) => decode_token(token, key, query)?,
            None => Self {
                size: max_size.min(DEFAULT_PAGE_SIZE),
                offset: 0,
            },
        };

        if let Some(raw) = page_size {
            request.size = parse_page_size(raw, max_size)?;
        }

        Ok(request)
    }

    /// The token that asks for this page of the same query.
    pub fn token(&self, key: &PageTokenKey, query: &QueryFingerprint) -> String {
        let mut raw = Vec::with_capacity(PAYLOAD_LEN + TAG_LEN);
        raw.extend_from_slice(&self.offset.to_be_bytes());
        raw.extend_from_slice(&self.size.to_be_bytes());

        let tag = key.tag(&query.0, &raw);
        raw.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }
}

fn parse_page_size(raw: &str, max: u32) -> Result<u32, PagingError> {
    let invalid = || PagingError::PageSize {
        found: raw.chars().take(20).collect(),
        max,
    };

    let size: u32 = raw.trim().parse().map_err(|_| invalid())?;
    if size == 0 || size > max {
        return Err(invalid());
    }
    Ok(size)
}

fn decode_token(
    token: &str,
    key: &PageTokenKey,
    query: &QueryFingerprint,
) -> Result<PageRequest, PagingError> {
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| PagingError::Token)?;
    if raw.len() != PAYLOAD_LEN + TAG_LEN {
        return Err(PagingError::Token);
    }

    let (payload, tag) = raw.split_at(PAYLOAD_LEN);
    let expected = key.tag(&query.0, payload);
    if !constant_time_eq(&expected, tag) {
        return Err(PagingError::Token);
    }

    let offset = u64::from_be_bytes(payload[..8].try_into().expect("8 bytes"));
    let size = u32::from_be_bytes(payload[8..].try_into().expect("4 bytes"));
    Ok(PageRequest { size, offset })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One page of a collection, with what the HAL envelope needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items the whole collection holds.
    pub total: u64,
    /// The request that produced it.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// The 1-based number of this page.
    pub fn current_page(&self) -> u64 {
        self.request.offset / u64::from(self.request.size) + 1
    }

    /// How many pages the collection spans; an empty collection still has one, empty, page.
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.size)).max(1)
    }

    /// The request for the first page.
    pub fn first(&self) -> PageRequest {
        PageRequest {
            offset: 0,
            ..self.request
        }
    }

    /// The request for the last page.
    pub fn last(&self) -> PageRequest {
        let size = u64::from(self.request.size);
        PageRequest {
            offset: (self.total_pages() - 1) * size,
            ..self.request
        }
    }

    /// The request for the previous page, if this is not the first.
    pub fn prev(&self) -> Option<PageRequest> {
        let size = u64::from(self.request.size);
        (self.request.offset > 0).then(|| PageRequest {
            offset: self.request.offset.saturating_sub(size),
            ..self.request
        })
    }

    /// The request for the next page, if there are items after this one.
    pub fn next(&self) -> Option<PageRequest> {
        let offset = self.request.offset + u64::from(self.request.size);
        (offset < self.total).then_some(PageRequest {
            offset,
            ..self.request
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageTokenKey {
        PageTokenKey::new([7; 32])
    }

    #[test]
    fn token_round_trips_for_the_same_query() {
        let query = QueryFingerprint::of(["MZP1", "/fleets"]);
        let request = PageRequest {
            size: 10,
            offset: 40,
        };

        let token = request.token(&key(), &query);
        let back = PageRequest::from_parameters(None, Some(&token), 60, &key(), &query);

        assert_eq!(back, Ok(request));
    }

    #[test]
    fn token_is_refused_for_another_query_or_key_or_when_altered() {
        let query = QueryFingerprint::of(["MZP1", "/fleets"]);
        let other = QueryFingerprint::of(["MZP2", "/fleets"]);
        let token = PageRequest {
            size: 10,
            offset: 40,
        }
        .token(&key(), &query);

        let refused = |t: &str, q: &QueryFingerprint, k: &PageTokenKey| {
            PageRequest::from_parameters(None, Some(t), 60, k, q) == Err(PagingError::Token)
        };
        assert!(refused(&token, &other, &key()));
        assert!(refused(&token, &query, &PageTokenKey::new([8; 32])));

        let mut altered = token.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        assert!(refused(
            std::str::from_utf8(&altered).unwrap(),
            &query,
            &key()
        ));
        assert!(refused("not a token", &query, &key()));
    }

    #[test]
    fn page_size_outside_range_is_refused() {
        let query = QueryFingerprint::of(["q"]);
        for bad in ["0", "61", "-1", "ten", ""] {
            let result = PageRequest::from_parameters(Some(bad), None, 60, &key(), &query);
            assert!(
                matches!(result, Err(PagingError::PageSize { max: 60, .. })),
                "{bad}"
            );
        }
        let ok = PageRequest::from_parameters(Some("2000"), None, 2000, &key(), &query);
        assert_eq!(
            ok,
            Ok(PageRequest {
                size: 2000,
                offset: 0
            })
        );
    }

    #[test]
    fn page_arithmetic_covers_first_middle_last_and_empty() {
        let page = |offset, total| Page::<()> {
            items: vec![],
            total,
            request: PageRequest { size: 10, offset },
        };

        let middle = page(10, 25);
        assert_eq!((middle.current_page(), middle.total_pages()), (2, 3));
        assert_eq!(middle.prev().map(|r| r.offset), Some(0));
        assert_eq!(middle.next().map(|r| r.offset), Some(20));
        assert_eq!(middle.last().offset, 20);

        let last = page(20, 25);
        assert_eq!(last.next(), None);

        let empty = page(0, 0);
        assert_eq!((empty.current_page(), empty.total_pages()), (1, 1));
        assert_eq!((empty.prev(), empty.next()), (None, None));
    }
}
