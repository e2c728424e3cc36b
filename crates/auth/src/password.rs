//! bcrypt password hashing, run on tokio's blocking pool.

use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::ports::PasswordHasher;
use boxoffice_domain::user::{Password, PasswordHash};
use tokio::sync::OnceCell;

/// Hashes passwords with bcrypt at a fixed cost.
pub struct BcryptHasher {
    cost: u32,
    /// A hash of a random password, verified against when an email is unknown.
    decoy: OnceCell<String>,
}

impl BcryptHasher {
    /// A hasher of the given cost (4 to 31; each step doubles the time).
    ///
    /// # Errors
    /// When `cost` is outside bcrypt's range.
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (4..=31).contains(&cost),
            "bcrypt cost must be between 4 and 31, got {cost}"
        );
        Ok(Self {
            cost,
            decoy: OnceCell::new(),
        })
    }

    async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> anyhow::Result<T> {
        Ok(tokio::task::spawn_blocking(f).await??)
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let (plaintext, cost) = (password.expose().to_owned(), self.cost);
        let hash = Self::blocking(move || bcrypt::hash(plaintext, cost))
            .await
            .context("bcrypt hashing failed")?;
        Ok(PasswordHash::new(hash))
    }

    async fn verify(&self, plaintext: &str, hash: &PasswordHash) -> anyhow::Result<bool> {
        let (plaintext, hash) = (plaintext.to_owned(), hash.as_str().to_owned());
        Self::blocking(move || bcrypt::verify(plaintext, &hash))
            .await
            .context("stored password hash is not bcrypt")
    }

    async fn verify_decoy(&self, plaintext: &str) {
        let cost = self.cost;
        let decoy = self
            .decoy
            .get_or_try_init(|| {
                Self::blocking(move || bcrypt::hash(uuid::Uuid::new_v4().to_string(), cost))
            })
            .await;
        if let Ok(decoy) = decoy {
            let _ = self
                .verify(plaintext, &PasswordHash::new(decoy.clone()))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let hasher = BcryptHasher::new(4).expect("cost 4 is valid");
        let password = Password::parse("correct horse").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.as_str().starts_with("$2"));
        assert!(hasher.verify("correct horse", &hash).await.expect("verify"));
        assert!(!hasher.verify("wrong horse", &hash).await.expect("verify"));
        assert!(
            hasher
                .verify("x", &PasswordHash::new("not bcrypt".into()))
                .await
                .is_err()
        );
    }

    #[test]
    fn cost_is_bounded() {
        assert!(BcryptHasher::new(3).is_err());
        assert!(BcryptHasher::new(32).is_err());
        assert!(BcryptHasher::new(12).is_ok());
    }
}
