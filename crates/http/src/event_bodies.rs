//! The JSON bodies of event reads, rendered once per copy of an event kept in memory:
//! reads answered from the same copy send the same bytes and `ETag`.

use crate::dto::EventDto;
use actix_web::http::header::EntityTag;
use actix_web::web::Bytes;
use boxoffice_domain::EventId;
use boxoffice_domain::event::Event;
use boxoffice_domain::services::Versioned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Bodies kept at most; past that they are dropped and rendered again.
const MAX_BODIES: usize = 10_000;

/// One rendered body, and the copy it was rendered from.
struct Body {
    copy: Arc<Versioned<Event>>,
    bytes: Bytes,
    etag: EntityTag,
}

/// The last body rendered for each event.
#[derive(Default)]
pub struct EventBodies {
    bodies: Mutex<HashMap<EventId, Body>>,
}

impl EventBodies {
    /// The body and `ETag` of `read`: the ones rendered before when `read` is the same
    /// copy (the same allocation, so the same figures), else rendered now.
    ///
    /// # Errors
    /// When the event cannot be serialised.
    pub fn render(&self, read: &Arc<Versioned<Event>>) -> anyhow::Result<(Bytes, EntityTag)> {
        let id = read.value.id;
        if let Some(body) = self
            .bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .filter(|b| Arc::ptr_eq(&b.copy, read))
        {
            return Ok((body.bytes.clone(), body.etag.clone()));
        }
        let bytes = Bytes::from(serde_json::to_vec(&EventDto::from(read.value.clone()))?);
        let etag = EntityTag::new_strong(tag_of(&bytes));
        let mut bodies = self.bodies.lock().unwrap_or_else(PoisonError::into_inner);
        if bodies.len() >= MAX_BODIES && !bodies.contains_key(&id) {
            bodies.clear();
        }
        bodies.insert(
            id,
            Body {
                copy: read.clone(),
                bytes: bytes.clone(),
                etag: etag.clone(),
            },
        );
        Ok((bytes, etag))
    }
}

/// The `ETag` of a body: the start of its SHA-256, in hex.
fn tag_of(body: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(body);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
