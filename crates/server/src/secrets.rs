//! Signing secrets: the configured ones, or with the embedded SQLite store ones generated
//! once and kept beside the database file (mode 0600), so `make run` needs no setup.
//! With Postgres they are required: every instance must sign alike.

use crate::config::Database;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// The shortest JWT signing secret accepted.
const MIN_SECRET_BYTES: usize = 32;

/// The JWT signing secret.
///
/// # Errors
/// When the secret is too short, missing with Postgres, or its file cannot be used.
pub fn jwt_secret(configured: Option<&str>, database: &Database) -> anyhow::Result<Vec<u8>> {
    let check = |secret: &str| {
        if secret.len() < MIN_SECRET_BYTES {
            bail!("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long")
        }
        Ok(())
    };
    let generate = || {
        use rand::RngCore;
        let mut bytes = [0u8; 48];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let secret = configured_or_stored(
        "JWT_SECRET",
        ".jwt-secret",
        configured,
        database,
        check,
        generate,
    )?;
    Ok(secret.into_bytes())
}

/// The ticket signing keys: base64 Ed25519 seeds separated by commas, the signing key
/// first (older keys after it keep verifying the codes they signed).
///
/// # Errors
/// When a key is malformed, the keys are missing with Postgres, or their file cannot be used.
pub fn ticket_signer(
    configured: Option<&str>,
    database: &Database,
) -> anyhow::Result<boxoffice_auth::Ed25519Signer> {
    let parse = |text: &str| {
        let seeds: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        boxoffice_auth::Ed25519Signer::from_seeds(&seeds)
            .context("TICKET_SIGNING_KEYS holds base64 Ed25519 seeds separated by commas")
    };
    let keys = configured_or_stored(
        "TICKET_SIGNING_KEYS",
        ".ticket-keys",
        configured,
        database,
        |text| parse(text).map(drop),
        boxoffice_auth::generate_seed,
    )?;
    parse(&keys)
}

/// `configured` when set (after `check`), else with SQLite the secret in the file named
/// by the database's path and `suffix`, made by `generate` the first time.
fn configured_or_stored(
    variable: &str,
    suffix: &str,
    configured: Option<&str>,
    database: &Database,
    check: impl Fn(&str) -> anyhow::Result<()>,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    match (configured, database) {
        (Some(secret), _) => {
            check(secret)?;
            Ok(secret.to_owned())
        }
        (None, Database::Postgres(_)) => bail!(
            "{variable} is required with a Postgres DATABASE_URL: every instance must sign with the same secret"
        ),
        (None, Database::Sqlite(path)) => {
            let path = beside(path, suffix);
            let secret = stored(&path, variable, generate)?;
            check(&secret).with_context(|| format!("the secret in {}", path.display()))?;
            Ok(secret)
        }
    }
}

fn beside(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn stored(
    path: &Path,
    variable: &str,
    generate: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if path.exists() {
        let secret = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the secret file {}", path.display()))?;
        tracing::warn!(file = %path.display(), "{variable} is not set; using the secret stored beside the database");
        return Ok(secret.trim().to_owned());
    }
    let secret = generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create the secret file {}", path.display()))?;
    file.write_all(secret.as_bytes())
        .with_context(|| format!("cannot write the secret file {}", path.display()))?;
    tracing::warn!(
        file = %path.display(),
        "{variable} is not set; generated it and stored it beside the database (mode 0600). Set {variable} in production"
    );
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::ports::TicketSigner;

    #[test]
    fn secrets_are_checked_generated_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::Sqlite(dir.path().join("b.db"));
        assert!(jwt_secret(Some("short"), &db).is_err());
        assert!(jwt_secret(None, &Database::Postgres("postgres://x".into())).is_err());
        let first = jwt_secret(None, &db).expect("generated");
        let second = jwt_secret(None, &db).expect("reused");
        assert_eq!(first, second);
        let mode = std::fs::metadata(dir.path().join("b.db.jwt-secret"))
            .expect("file")
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    #[test]
    fn ticket_keys_are_checked_generated_kept_and_rotated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::Sqlite(dir.path().join("b.db"));
        let postgres = Database::Postgres("postgres://x".into());
        assert!(ticket_signer(None, &postgres).is_err());
        assert!(ticket_signer(Some("not base64!"), &db).is_err());
        let first = ticket_signer(None, &db).expect("generated");
        let again = ticket_signer(None, &db).expect("reused");
        assert_eq!(first.signing_key(), again.signing_key());
        let stored = std::fs::read_to_string(dir.path().join("b.db.ticket-keys")).expect("kept");
        let rotated = format!("{}, {stored}", boxoffice_auth::generate_seed());
        let signer = ticket_signer(Some(&rotated), &postgres).expect("two keys");
        let keys = signer.verifying_keys();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].key_id, first.signing_key());
    }
}
