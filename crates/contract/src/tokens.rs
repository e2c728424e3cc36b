//! Contract of [`TokenStore`](boxoffice_domain::ports::TokenStore).
//!
//! Later calls pass later instants, so no test depends on how a store treats an operation
//! at the very instant of a revocation.

use crate::Stores;
use crate::fixtures::{now, refresh_token, reset_token, saved_reset, session, user};
use boxoffice_domain::ports::{RefreshSession, RotateError};
use boxoffice_domain::secret::{SecretToken, TokenHash};
use boxoffice_domain::{Timestamp, TokenFamilyId, UserId};
use chrono::Duration;
use futures_util::future::join_all;

/// Rotates `presented` to a fresh token that works for a day after `at`.
async fn rotate(
    stores: &Stores,
    presented: &SecretToken,
    at: Timestamp,
) -> (Result<RefreshSession, RotateError>, SecretToken) {
    let next = SecretToken::generate();
    let result = stores
        .tokens
        .rotate_refresh(&presented.hash(), &next.hash(), at, at + Duration::days(1))
        .await;
    (result, next)
}

fn assert_invalid(result: &Result<RefreshSession, RotateError>, what: &str) {
    assert!(
        matches!(result, Err(RotateError::Invalid)),
        "{what}: expected Invalid, got {result:?}"
    );
}

/// Rotation names the session and stores a successor that rotates in turn.
pub async fn rotation_issues_a_working_successor(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let t = now();
    let (first, family) = session(&stores, ann.id, t).await;
    let want = RefreshSession {
        user_id: ann.id,
        family,
    };

    let (result, second) = rotate(&stores, &first, t + Duration::seconds(1)).await;
    assert_eq!(result.expect("first rotation"), want);
    let (result, third) = rotate(&stores, &second, t + Duration::seconds(2)).await;
    assert_eq!(result.expect("successor rotates"), want);
    let (result, _) = rotate(&stores, &third, t + Duration::seconds(3)).await;
    assert_eq!(result.expect("and its successor too"), want);
}

/// Presenting a rotated token again is `Reused`, and then its whole family is dead.
pub async fn reuse_of_rotated_token_revokes_family(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let t = now();
    let (stolen, _) = session(&stores, ann.id, t).await;
    let (other_session, _) = session(&stores, ann.id, t).await;
    let (result, successor) = rotate(&stores, &stolen, t + Duration::seconds(1)).await;
    result.expect("first rotation");

    let (reuse, thief_next) = rotate(&stores, &stolen, t + Duration::seconds(2)).await;
    assert!(
        matches!(reuse, Err(RotateError::Reused { user }) if user == ann.id),
        "expected Reused, got {reuse:?}"
    );
    let (result, _) = rotate(&stores, &successor, t + Duration::seconds(3)).await;
    assert_invalid(&result, "successor after reuse");
    let (result, _) = rotate(&stores, &thief_next, t + Duration::seconds(3)).await;
    assert_invalid(&result, "token offered with the reused one");
    let (result, _) = rotate(&stores, &other_session, t + Duration::seconds(4)).await;
    result.expect("another session of the same user is untouched");
}

/// Expired (`now >= expires_at`) and unknown tokens are `Invalid`; `next_expires_at` is kept.
pub async fn expired_and_unknown_tokens_are_invalid(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let t = now();
    let ttl = Duration::minutes(10);
    let (late, late_token) = refresh_token(ann.id, TokenFamilyId::generate(), t, ttl);
    let (just_in_time, on_time_token) = refresh_token(ann.id, TokenFamilyId::generate(), t, ttl);
    stores.tokens.save_refresh(&late_token).await.expect("save");
    stores
        .tokens
        .save_refresh(&on_time_token)
        .await
        .expect("save");

    let (result, _) = rotate(&stores, &late, late_token.expires_at).await;
    assert_invalid(&result, "at expires_at");
    let last_moment = on_time_token.expires_at - Duration::microseconds(1);
    let next = SecretToken::generate();
    let next_expires_at = last_moment + Duration::minutes(5);
    let result = stores
        .tokens
        .rotate_refresh(
            &just_in_time.hash(),
            &next.hash(),
            last_moment,
            next_expires_at,
        )
        .await;
    result.expect("a microsecond before expiry");
    let (result, _) = rotate(&stores, &next, next_expires_at).await;
    assert_invalid(&result, "successor at its own expires_at");

    let (result, _) = rotate(&stores, &SecretToken::generate(), t).await;
    assert_invalid(&result, "unknown token");
}

/// 16 simultaneous rotations of one token: exactly one wins.
pub async fn concurrent_rotations_of_one_token_succeed_once(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let t = now() + Duration::seconds(1);
    let (token, family) = session(&stores, ann.id, now()).await;
    let tasks = (0..16).map(|_| {
        let (stores, presented) = (stores.clone(), token.hash());
        tokio::spawn(async move {
            let next = SecretToken::generate().hash();
            stores
                .tokens
                .rotate_refresh(&presented, &next, t, t + Duration::days(1))
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        winners,
        [&RefreshSession {
            user_id: ann.id,
            family
        }],
        "results: {results:?}"
    );
    for result in &results {
        assert!(
            matches!(
                result,
                Ok(_) | Err(RotateError::Reused { .. } | RotateError::Invalid)
            ),
            "got {result:?}"
        );
    }
}

/// `revoke_family` logs out one session; the user's other sessions keep working.
pub async fn revoke_family_ends_one_session_only(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let t = now();
    let (phone, _) = session(&stores, ann.id, t).await;
    let (laptop, _) = session(&stores, ann.id, t).await;
    let (result, phone_now) = rotate(&stores, &phone, t + Duration::seconds(1)).await;
    result.expect("rotate");

    stores
        .tokens
        .revoke_family(&phone_now.hash(), t + Duration::seconds(2))
        .await
        .expect("revoke");
    let (result, _) = rotate(&stores, &phone_now, t + Duration::seconds(3)).await;
    assert_invalid(&result, "revoked session");
    let (result, _) = rotate(&stores, &laptop, t + Duration::seconds(3)).await;
    result.expect("other session still works");
    let unknown = SecretToken::generate().hash();
    stores
        .tokens
        .revoke_family(&unknown, t + Duration::seconds(4))
        .await
        .expect("unknown is ignored");
}

/// `revoke_all_refresh` ends every session of one user and no one else's.
pub async fn revoke_all_ends_every_session_of_a_user(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let bob = user(&stores, "bob@example.org").await;
    let t = now();
    let (first, _) = session(&stores, ann.id, t).await;
    let (second, _) = session(&stores, ann.id, t).await;
    let (bobs, bob_family) = session(&stores, bob.id, t).await;
    let (result, first_now) = rotate(&stores, &first, t + Duration::seconds(1)).await;
    result.expect("rotate");

    stores
        .tokens
        .revoke_all_refresh(ann.id, t + Duration::seconds(2))
        .await
        .expect("revoke all");
    for (token, what) in [(&first_now, "rotated session"), (&second, "second session")] {
        let (result, _) = rotate(&stores, token, t + Duration::seconds(3)).await;
        assert_invalid(&result, what);
    }
    let (result, _) = rotate(&stores, &bobs, t + Duration::seconds(3)).await;
    assert_eq!(
        result.expect("bob unaffected"),
        RefreshSession {
            user_id: bob.id,
            family: bob_family
        }
    );
    stores
        .tokens
        .revoke_all_refresh(UserId::generate(), t)
        .await
        .expect("unknown user is fine");
}

/// A reset token works once, names its user, and not at or after `expires_at`.
pub async fn reset_tokens_are_single_use_and_expire(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let bob = user(&stores, "bob@example.org").await;
    let cat = user(&stores, "cat@example.org").await;
    let t = now();
    let token = saved_reset(&stores, ann.id, t).await;
    let consume = |hash: TokenHash, at| {
        let stores = stores.clone();
        async move {
            stores
                .tokens
                .consume_reset(&hash, at)
                .await
                .expect("consume")
        }
    };
    assert_eq!(
        consume(token.hash(), t + Duration::seconds(1)).await,
        Some(ann.id)
    );
    assert_eq!(
        consume(token.hash(), t + Duration::seconds(2)).await,
        None,
        "second use"
    );

    let ttl = Duration::minutes(30);
    let (late, late_token) = reset_token(bob.id, t, ttl);
    let (on_time, on_time_token) = reset_token(cat.id, t, ttl);
    stores.tokens.save_reset(&late_token).await.expect("save");
    stores
        .tokens
        .save_reset(&on_time_token)
        .await
        .expect("save");
    assert_eq!(
        consume(late.hash(), late_token.expires_at).await,
        None,
        "at expires_at"
    );
    let last_moment = on_time_token.expires_at - Duration::microseconds(1);
    assert_eq!(
        consume(on_time.hash(), last_moment).await,
        Some(cat.id),
        "just before expiry"
    );
    assert_eq!(
        consume(SecretToken::generate().hash(), t).await,
        None,
        "unknown"
    );
}

/// Consuming one reset token uses up the user's other reset tokens, not other users'.
pub async fn consuming_a_reset_token_uses_up_its_siblings(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let bob = user(&stores, "bob@example.org").await;
    let t = now();
    let first = saved_reset(&stores, ann.id, t).await;
    let second = saved_reset(&stores, ann.id, t).await;
    let bobs = saved_reset(&stores, bob.id, t).await;
    let later = t + Duration::seconds(1);
    assert_eq!(
        stores
            .tokens
            .consume_reset(&second.hash(), later)
            .await
            .expect("consume"),
        Some(ann.id)
    );
    assert_eq!(
        stores
            .tokens
            .consume_reset(&first.hash(), later)
            .await
            .expect("consume"),
        None
    );
    assert_eq!(
        stores
            .tokens
            .consume_reset(&bobs.hash(), later)
            .await
            .expect("consume"),
        Some(bob.id)
    );
}

/// 16 simultaneous consumptions of one reset token: exactly one gets the user.
pub async fn concurrent_reset_consumption_succeeds_once(stores: Stores) {
    let ann = user(&stores, "ann@example.org").await;
    let t = now();
    let token = saved_reset(&stores, ann.id, t).await;
    let tasks = (0..16).map(|_| {
        let (stores, hash) = (stores.clone(), token.hash());
        tokio::spawn(async move {
            stores
                .tokens
                .consume_reset(&hash, t + Duration::seconds(1))
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("consume"))
        .collect();
    let winners: Vec<_> = results.iter().flatten().collect();
    assert_eq!(winners, [&ann.id], "results: {results:?}");
}
