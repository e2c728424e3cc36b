//! Keyset pagination: a page is "the next `limit` items after this key".

/// The most items one page may hold.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Which page to read: up to `limit` items strictly after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    /// Between 1 and [`MAX_PAGE_SIZE`].
    pub limit: u32,
    /// The key of the last item of the previous page.
    pub after: Option<K>,
}

impl<K> PageRequest<K> {
    /// Validates a client's `limit`.
    ///
    /// # Errors
    /// A message when `limit` is 0 or above [`MAX_PAGE_SIZE`].
    pub fn new(limit: Option<u32>, after: Option<K>) -> Result<Self, String> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if (1..=MAX_PAGE_SIZE).contains(&limit) {
            Ok(Self { limit, after })
        } else {
            Err(format!("must be between 1 and {MAX_PAGE_SIZE}"))
        }
    }

    /// The first page of the default size.
    #[must_use]
    pub fn first() -> Self {
        Self {
            limit: DEFAULT_PAGE_SIZE,
            after: None,
        }
    }
}

/// One page of items and the key to continue after, `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, K> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts.
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says more exist.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let limit = limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&key)
        } else {
            None
        };
        Self { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded() {
        assert!(PageRequest::<u32>::new(Some(0), None).is_err());
        assert!(PageRequest::<u32>::new(Some(101), None).is_err());
        assert_eq!(PageRequest::<u32>::new(None, None).map(|p| p.limit), Ok(20));
    }

    #[test]
    fn extra_row_means_a_next_page() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(2));
        let last = Page::from_rows(vec![1, 2], 2, |n| *n);
        assert_eq!(last.next, None);
    }
}
