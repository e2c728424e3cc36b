//! JSON bodies rendered once per copy kept in memory (an event, a page of events):
//! reads answered from the same copy send the same bytes and `ETag`.

use actix_web::http::header::EntityTag;
use actix_web::web::Bytes;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// Bodies kept at most; past that they are dropped and rendered again.
const MAX_BODIES: usize = 10_000;

/// One rendered body, and the copy it was rendered from.
struct Body<T> {
    copy: Arc<T>,
    bytes: Bytes,
    etag: EntityTag,
}

/// The last body rendered under each key.
pub struct Bodies<K, T> {
    bodies: Mutex<HashMap<K, Body<T>>>,
}

impl<K, T> Default for Bodies<K, T> {
    fn default() -> Self {
        Self {
            bodies: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, T> Bodies<K, T> {
    /// The body of `copy` and its `ETag`: the ones rendered before under `key` when
    /// `copy` is the same copy (the same allocation, so the same content), else
    /// `render(copy)` now.
    ///
    /// # Errors
    /// When `render` fails.
    pub fn render(
        &self,
        key: K,
        copy: &Arc<T>,
        render: impl FnOnce(&T) -> serde_json::Result<Vec<u8>>,
    ) -> anyhow::Result<(Bytes, EntityTag)> {
        if let Some(body) = self
            .bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|b| Arc::ptr_eq(&b.copy, copy))
        {
            return Ok((body.bytes.clone(), body.etag.clone()));
        }
        let bytes = Bytes::from(render(copy)?);
        let etag = EntityTag::new_strong(tag_of(&bytes));
        let mut bodies = self.bodies.lock().unwrap_or_else(PoisonError::into_inner);
        if bodies.len() >= MAX_BODIES && !bodies.contains_key(&key) {
            bodies.clear();
        }
        let body = Body {
            copy: copy.clone(),
            bytes: bytes.clone(),
            etag: etag.clone(),
        };
        bodies.insert(key, body);
        Ok((bytes, etag))
    }
}

/// The `ETag` of a body: the start of its SHA-256, in hex.
fn tag_of(body: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(body);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
