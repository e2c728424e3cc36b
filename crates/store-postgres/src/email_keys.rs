//! Folding the email keys that the migration adding them could not fold.
//!
//! The migration keys existing accounts with SQL's `lower(email)`, which agrees with the
//! domain's [`EmailKey`] on ASCII addresses but not always beyond (`ß`, the Kelvin
//! sign, or any letter in a database with the C collation). After migrations are
//! applied, the few non-ASCII addresses get the domain's key.

use crate::schema::users;
use anyhow::Context as _;
use boxoffice_domain::user::EmailKey;
use diesel::connection::LoadConnection;
use diesel::pg::Pg;
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
pub(crate) fn fold<C>(conn: &mut C) -> anyhow::Result<()>
where
    C: Connection<Backend = Pg> + LoadConnection,
{
    let rows: Vec<(uuid::Uuid, String, String)> = users::table
        .filter(diesel::dsl::sql::<Bool>(
            "length(email) <> octet_length(email)",
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
        let updated = diesel::update(users::table.find(id))
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
