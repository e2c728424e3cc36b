//! Folding the email keys that the migration adding them could not fold.
//!
//! The migration keys existing accounts with SQL's `lower(email)`, which in SQLite folds
//! ASCII letters only. After migrations are applied, the few non-ASCII addresses get
//! the domain's [`EmailKey`].

use crate::schema::users;
use anyhow::Context as _;
use boxoffice_domain::user::EmailKey;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::Bool;

/// Rewrites the key of every non-ASCII address that differs from the domain's. Where two
/// accounts fold to one key, the one that has it already keeps it (else the older one
/// gets it); the other keeps its old key, and a warning names it for an admin to
/// settle (its owner can no longer log in by email until then).
///
/// # Errors
/// When the store fails.
pub(crate) fn fold(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    let rows: Vec<(String, String, String)> = users::table
        .filter(diesel::dsl::sql::<Bool>(
            "length(email) <> length(CAST(email AS BLOB))",
        ))
        .select((users::id, users::email, users::email_key))
        .order(users::id.asc())
        .load(conn)
        .context("cannot read the non-ASCII email addresses")?;
    for (id, email, stored) in rows {
        let key = EmailKey::of(&email);
        if key.as_str() == stored {
            continue;
        }
        let updated = diesel::update(users::table.find(&id))
            .set(users::email_key.eq(key.as_str()))
            .execute(conn);
        match updated {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                tracing::warn!(user_id = %id, "another account has the same email ignoring case; this one keeps its old key");
            }
            Err(error) => return Err(error).context("cannot fold an email key"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use boxoffice_domain::ports::UserRepository;
    use diesel::sql_query;

    /// Keys SQLite's `lower()` left unfolded are folded; where two accounts fold to one
    /// key, the one that has it already keeps it.
    #[tokio::test]
    async fn keys_sql_could_not_fold_are_folded_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.db");
        let store = SqliteStore::open(path.to_str().expect("utf-8"))
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        // As the migration left them: `lower()` folds ASCII only.
        let rows = [
            (
                "01a2505a-0000-7000-8000-000000000001",
                "ÜNA@EXAMPLE.ORG",
                "Üna@example.org",
            ),
            (
                "01a2505a-0000-7000-8000-000000000002",
                "üna@example.org",
                "üna@example.org",
            ),
            (
                "01a2505a-0000-7000-8000-000000000003",
                "\u{212A}IM@EXAMPLE.ORG",
                "\u{212A}im@example.org",
            ),
        ];
        store
            .write(move |c| {
                for (id, email, key) in rows {
                    sql_query(format!(
                        "INSERT INTO users (id, name, email, password_hash, role, active, created_at, version, email_key) \
                         VALUES ('{id}', 'N', '{email}', 'h', 'attendee', 1, 0, 0, '{key}')"
                    ))
                    .execute(c)?;
                }
                fold(c)
            })
            .await
            .expect("fold");
        let found = |email: &'static str| {
            let store = store.clone();
            async move {
                store
                    .credentials_by_email(&EmailKey::of(email))
                    .await
                    .expect("lookup")
                    .map(|c| c.user.email)
            }
        };
        assert_eq!(
            found("ÜNA@example.org").await.as_deref(),
            Some("üna@example.org"),
            "the account that had the key keeps it"
        );
        assert_eq!(
            found("kim@example.org").await.as_deref(),
            Some("\u{212A}IM@EXAMPLE.ORG")
        );
    }
}
