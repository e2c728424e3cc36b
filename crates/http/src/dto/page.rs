use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use boxoffice_domain::page::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageDto<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageDto<T> {
    /// Converts a domain page, encoding its continuation key as an opaque cursor.
    pub fn from_page<D, K: CursorKey>(page: Page<D, K>, item: impl Fn(D) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(item).collect(),
            next_cursor: page
                .next
                .map(|k| URL_SAFE_NO_PAD.encode(k.to_cursor_text())),
        }
    }
}

/// A key a listing continues after, written into an opaque cursor.
pub trait CursorKey: Sized {
    /// The key as text.
    fn to_cursor_text(&self) -> String;
    /// The key back from text; `None` when it is not one.
    fn from_cursor_text(text: &str) -> Option<Self>;
}

/// `?limit=&cursor=` of every listing.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page to read.
    ///
    /// # Errors
    /// 422 for a limit out of range or a cursor that is not one of ours.
    pub fn to_request<K: CursorKey>(&self) -> Result<PageRequest<K>, ApiError> {
        let after = match &self.cursor {
            None => None,
            Some(cursor) => Some(
                URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .and_then(|text| K::from_cursor_text(&text))
                    .ok_or_else(|| {
                        ApiError::invalid_field("cursor", "is not a cursor from this listing")
                    })?,
            ),
        };
        PageRequest::new(self.limit, after)
            .map_err(|message| ApiError::invalid_field("limit", message))
    }
}

macro_rules! display_cursor {
    ($($key:ty),*) => {$(
        impl CursorKey for $key {
            fn to_cursor_text(&self) -> String {
                self.to_string()
            }

            fn from_cursor_text(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
    )*};
}

display_cursor!(
    boxoffice_domain::UserId,
    boxoffice_domain::BookingId,
    u64,
    uuid::Uuid
);

impl CursorKey for boxoffice_domain::event::EventCursor {
    fn to_cursor_text(&self) -> String {
        format!("{}|{}", self.starts_at.timestamp_micros(), self.id)
    }

    fn from_cursor_text(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('|')?;
        let starts_at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        boxoffice_domain::time::check_instant(starts_at).ok()?;
        Some(Self {
            starts_at,
            id: id.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::event::EventCursor;
    use boxoffice_domain::{Clock, EventId, SystemClock};

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = EventCursor {
            starts_at: SystemClock.now(),
            id: EventId::generate(),
        };
        let page = PageDto::from_page(
            Page {
                items: vec![1],
                next: Some(key),
            },
            |n: i32| n,
        );
        let params = PageParams {
            limit: Some(5),
            cursor: page.next_cursor,
        };
        let request = params.to_request::<EventCursor>().expect("valid cursor");
        assert_eq!(request.after, Some(key));
        assert_eq!(request.limit, 5);

        let garbage = PageParams {
            limit: None,
            cursor: Some("not-a-cursor".into()),
        };
        assert_eq!(
            garbage
                .to_request::<EventCursor>()
                .map_err(|e| e.code())
                .err(),
            Some("validation_failed")
        );
        let beyond_the_stores = PageParams {
            limit: None,
            cursor: Some(URL_SAFE_NO_PAD.encode(format!("{}|{}", i64::MAX, EventId::generate()))),
        };
        assert_eq!(
            beyond_the_stores
                .to_request::<EventCursor>()
                .map_err(|e| e.first_field().map(ToOwned::to_owned))
                .err(),
            Some(Some("cursor".to_owned()))
        );
    }
}
