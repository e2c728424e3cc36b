//! Access tokens: HS256 JWTs carrying `sub`, `role`, `exp`, `iat` and `jti`. A token
//! that also carries `nbf` is refused before that instant.

use boxoffice_domain::ports::{AccessClaims, AccessToken, AccessTokens, InvalidAccessToken};
use boxoffice_domain::user::User;
use boxoffice_domain::{Timestamp, UserId};
use chrono::{DateTime, Duration};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: String,
    exp: i64,
    iat: i64,
    jti: Uuid,
    /// Not made by us, but honoured when a token carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// Signs and checks access tokens with one shared secret. Only HS256 is accepted:
/// `alg: none` and every other algorithm are refused.
pub struct JwtAccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl JwtAccessTokens {
    /// Tokens signed with `secret` that live for `ttl`.
    #[must_use]
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the Clock port in `verify`, not the system clock.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["sub", "exp", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }
}

impl AccessTokens for JwtAccessTokens {
    fn issue(&self, user: &User, now: Timestamp) -> anyhow::Result<AccessToken> {
        let claims = Claims {
            sub: user.id.as_uuid(),
            role: user.role.as_str().to_owned(),
            exp: (now + self.ttl).timestamp(),
            iat: now.timestamp(),
            jti: Uuid::new_v4(),
            nbf: None,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(AccessToken {
            token,
            expires_in: u64::try_from(self.ttl.num_seconds()).unwrap_or(0),
        })
    }

    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, InvalidAccessToken> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| InvalidAccessToken)?
            .claims;
        let now = now.timestamp();
        if claims.exp <= now || claims.nbf.is_some_and(|nbf| nbf > now) {
            return Err(InvalidAccessToken);
        }
        Ok(AccessClaims {
            user_id: UserId::from_uuid(claims.sub),
            role: claims.role.parse().map_err(|_| InvalidAccessToken)?,
            issued_at: DateTime::from_timestamp(claims.iat, 0).ok_or(InvalidAccessToken)?,
            expires_at: DateTime::from_timestamp(claims.exp, 0).ok_or(InvalidAccessToken)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use boxoffice_domain::user::Role;
    use chrono::Utc;

    fn user() -> User {
        User {
            id: UserId::generate(),
            name: "Ann".into(),
            email: "ann@example.org".into(),
            role: Role::Organizer,
            active: true,
            created_at: Utc::now(),
            tokens_valid_from: None,
        }
    }

    const SECRET: &[u8] = b"a-test-secret-of-sufficient-length!";

    fn tokens() -> JwtAccessTokens {
        JwtAccessTokens::new(SECRET, Duration::minutes(15))
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let (tokens, user, now) = (tokens(), user(), Utc::now());
        let issued = tokens.issue(&user, now).expect("issue");
        assert_eq!(issued.expires_in, 900);
        let claims = tokens.verify(&issued.token, now).expect("valid");
        assert_eq!(claims.user_id, user.id);
        assert_eq!(claims.role, Role::Organizer);
        assert_eq!(claims.issued_at.timestamp(), now.timestamp());
        assert!(
            tokens
                .verify(&issued.token, now + Duration::minutes(15))
                .is_err()
        );
    }

    #[test]
    fn tokens_are_refused_before_their_not_before() {
        let now = Utc::now();
        let signed = |nbf: i64| {
            let claims = Claims {
                sub: Uuid::new_v4(),
                role: "attendee".into(),
                exp: now.timestamp() + 600,
                iat: now.timestamp(),
                jti: Uuid::new_v4(),
                nbf: Some(nbf),
            };
            let key = EncodingKey::from_secret(SECRET);
            encode(&Header::new(Algorithm::HS256), &claims, &key).expect("sign")
        };
        let tokens = tokens();
        assert!(tokens.verify(&signed(now.timestamp() + 60), now).is_err());
        assert!(tokens.verify(&signed(now.timestamp()), now).is_ok());
        assert!(tokens.verify(&signed(now.timestamp() - 60), now).is_ok());
    }

    #[test]
    fn tokens_carry_the_standard_claims() {
        let issued = tokens().issue(&user(), Utc::now()).expect("issue");
        let payload = issued.token.split('.').nth(1).expect("three parts");
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64"))
                .expect("json");
        for claim in ["sub", "role", "exp", "iat", "jti"] {
            assert!(json.get(claim).is_some(), "missing {claim}");
        }
    }

    #[test]
    fn tampered_foreign_and_unsigned_tokens_are_refused() {
        let (tokens, now) = (tokens(), Utc::now());
        let issued = tokens.issue(&user(), now).expect("issue");
        let mut tampered = issued.token.clone();
        tampered.pop();
        tampered.push(if issued.token.ends_with('A') {
            'B'
        } else {
            'A'
        });
        assert!(tokens.verify(&tampered, now).is_err());

        let other =
            JwtAccessTokens::new(b"another-secret-another-secret-!!", Duration::minutes(15));
        assert!(other.verify(&issued.token, now).is_err());

        let parts: Vec<&str> = issued.token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(tokens.verify(&unsigned, now).is_err());
        assert!(tokens.verify("not a token", now).is_err());
    }
}
