//! The `Idempotency-Key` request header of the IETF draft
//! (draft-ietf-httpapi-idempotency-key-header): a Structured Field string, such as
//! `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};

/// The header's name.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The longest key kept.
const MAX_KEY: usize = 255;

/// A request's `Idempotency-Key`, if it sent one: repeats with the same key (and the
/// same request) have no second effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    /// The key.
    #[must_use]
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(key_of(req).map(IdempotencyKey))
    }
}

/// The key of `req`. A quoted value is parsed as a Structured Field string (RFC 8941);
/// a bare one (what clients sent before the draft) is taken as it is, so `"abc"` and
/// `abc` are one key. Two headers are ambiguous (which one would a repeat mean?): 400.
fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Send at most one Idempotency-Key header.",
        ));
    }
    let invalid = |message: &str| ApiError::invalid_field(IDEMPOTENCY_KEY, message);
    let raw = value.as_bytes();
    let key = if raw.first() == Some(&b'"') {
        let item: sfv::Item = sfv::Parser::new(raw)
            .parse_item()
            .map_err(|_| invalid("must be a Structured Field string, such as \"a1b2c3\""))?;
        item.bare_item
            .as_string()
            .map(|s| s.as_str().to_owned())
            .ok_or_else(|| invalid("must be a Structured Field string"))?
    } else {
        String::from_utf8_lossy(raw).into_owned()
    };
    if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("must be 1 to 255 printable ASCII characters"));
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn key(values: &[&str]) -> Result<Option<String>, &'static str> {
        let mut request = TestRequest::default();
        for value in values {
            request = request.append_header((IDEMPOTENCY_KEY, *value));
        }
        key_of(&request.to_http_request()).map_err(|e| e.code())
    }

    #[test]
    fn keys_are_structured_field_strings_or_bare() {
        assert_eq!(key(&[]), Ok(None));
        assert_eq!(
            key(&["\"8e03978e-40d5\""]),
            Ok(Some("8e03978e-40d5".into()))
        );
        assert_eq!(key(&["8e03978e-40d5"]), Ok(Some("8e03978e-40d5".into())));
        assert_eq!(key(&[r#""a\"b""#]), Ok(Some("a\"b".into())));
        assert_eq!(
            key(&["\"k\";v=1"]),
            Ok(Some("k".into())),
            "parameters are ignored"
        );
        for bad in ["\"unterminated", "\"\"", "\"a b\"", "a b", ""] {
            assert_eq!(key(&[bad]), Err("validation_failed"), "{bad:?}");
        }
        assert_eq!(key(&["a", "b"]), Err("bad_request"));
        assert_eq!(key(&[&"x".repeat(256)]), Err("validation_failed"));
    }
}
