//! Contract of [`UserRepository`](boxoffice_domain::ports::UserRepository).

use crate::Stores;
use crate::fixtures::{new_user, now, user};
use boxoffice_domain::UserId;
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::ports::{CreateUserError, UpdateUserError};
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::user::{
    AccountChanges, ERASED_NAME, Email, EmailKey, NewUser, PasswordHash, PersonName,
    ProfileChanges, Role, Tombstone, User,
};
use chrono::Duration;
use futures_util::future::join_all;

/// The user a store should return for `new`.
fn expected(new: &NewUser) -> User {
    User {
        id: new.id,
        name: new.name.as_str().to_owned(),
        email: new.email.as_str().to_owned(),
        role: new.role,
        active: true,
        created_at: new.created_at,
        tokens_valid_from: None,
    }
}

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid email")
}

/// `raw` with the letters picked by the bits of `i` in upper case.
fn case_variant(raw: &str, i: usize) -> String {
    raw.chars()
        .enumerate()
        .map(|(j, c)| {
            if (i >> (j % 5)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// `create` returns the account as given, and `find`/`credentials_by_id` read it back.
pub async fn create_then_find(stores: Stores) {
    let mut new = new_user("Ann.Example@Example.org");
    new.role = Role::Admin;
    let created = stores.users.create(&new).await.expect("create");
    assert_eq!(created, expected(&new));
    assert_eq!(
        stores.users.find(new.id).await.expect("find"),
        Some(created.clone())
    );
    let credentials = stores
        .users
        .credentials_by_id(new.id)
        .await
        .expect("credentials")
        .expect("present");
    assert_eq!(credentials.user, created);
    assert_eq!(credentials.password_hash, new.password_hash);
    assert_eq!(
        stores
            .users
            .find(UserId::generate())
            .await
            .expect("find unknown"),
        None
    );
    assert!(
        stores
            .users
            .credentials_by_id(UserId::generate())
            .await
            .expect("unknown")
            .is_none()
    );
}

/// A second account with the same email in another case is refused; other emails are fine.
pub async fn email_unique_ignoring_case(stores: Stores) {
    let first = user(&stores, "ann@example.org").await;
    let clash = stores.users.create(&new_user("ANN@Example.ORG")).await;
    assert!(
        matches!(clash, Err(CreateUserError::EmailTaken)),
        "got {clash:?}"
    );
    stores
        .users
        .create(&new_user("ann2@example.org"))
        .await
        .expect("other email");
    assert_eq!(
        stores.users.find(first.id).await.expect("find"),
        Some(first)
    );
}

/// 20 simultaneous registrations of one email, in different cases, make one account.
pub async fn concurrent_registrations_of_one_email_create_one_account(stores: Stores) {
    let tasks = (0..20).map(|i| {
        let stores = stores.clone();
        tokio::spawn(async move {
            let new = new_user(&case_variant("race.condition@example.org", i));
            stores.users.create(&new).await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "exactly one registration succeeds: {results:?}");
    for result in &results {
        assert!(
            matches!(result, Ok(_) | Err(CreateUserError::EmailTaken)),
            "got {result:?}"
        );
    }
    let page = stores
        .users
        .list(&PageRequest {
            limit: 100,
            after: None,
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
}

/// Case is ignored across Unicode, as the domain folds it: `Ü` and `ü`, the Kelvin sign
/// and `k`, `ß` and `SS` name one account, on every store.
pub async fn email_unique_ignoring_unicode_case(stores: Stores) {
    let first = user(&stores, "jürgen.\u{212A}oß@exämple.com").await;
    for variant in [
        "JÜRGEN.KOSS@EXÄMPLE.COM",
        "jürgen.koss@exämple.com",
        "Ju\u{0308}rgen.Koß@Exa\u{0308}mple.com",
    ] {
        let clash = stores.users.create(&new_user(variant)).await;
        assert!(
            matches!(clash, Err(CreateUserError::EmailTaken)),
            "{variant}: got {clash:?}"
        );
        let found = stores
            .users
            .credentials_by_email(&EmailKey::of(variant))
            .await
            .expect("lookup");
        assert_eq!(found.map(|c| c.user), Some(first.clone()), "{variant}");
    }
    assert_eq!(
        first.email, "jürgen.\u{212A}oß@exämple.com",
        "kept as typed"
    );
    stores
        .users
        .create(&new_user("jurgen.koss@example.com"))
        .await
        .expect("another address");
}

/// Login finds the account and its hash whatever the case of the email.
pub async fn credentials_by_email_ignores_case(stores: Stores) {
    let new = new_user("Bob@Example.org");
    stores.users.create(&new).await.expect("create");
    let found = stores
        .users
        .credentials_by_email(&EmailKey::of("bOB@example.ORG"))
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.user, expected(&new));
    assert_eq!(found.password_hash, new.password_hash);
    let exact = stores
        .users
        .credentials_by_email(&EmailKey::of("Bob@Example.org"))
        .await
        .expect("lookup");
    assert_eq!(exact.map(|c| c.user.id), Some(new.id));
    assert!(
        stores
            .users
            .credentials_by_email(&EmailKey::of("bob@example.com"))
            .await
            .expect("lookup")
            .is_none()
    );
}

/// `update_profile` changes the fields given and keeps the others.
pub async fn update_profile_changes_only_given_fields(stores: Stores) {
    let original = user(&stores, "carol@example.org").await;
    let renamed = ProfileChanges {
        name: Some(PersonName::parse("Carol New").expect("name")),
        email: None,
    };
    let after_name = stores
        .users
        .update_profile(original.id, &renamed)
        .await
        .expect("rename");
    assert_eq!(
        after_name,
        User {
            name: "Carol New".into(),
            ..original.clone()
        }
    );

    let moved = ProfileChanges {
        name: None,
        email: Some(email("carol@new.example.org")),
    };
    let after_email = stores
        .users
        .update_profile(original.id, &moved)
        .await
        .expect("new email");
    let want = User {
        name: "Carol New".into(),
        email: "carol@new.example.org".into(),
        ..original.clone()
    };
    assert_eq!(after_email, want);

    let unchanged = stores
        .users
        .update_profile(original.id, &ProfileChanges::default())
        .await;
    assert_eq!(unchanged.expect("no changes"), want);
    assert_eq!(
        stores.users.find(original.id).await.expect("find"),
        Some(want.clone())
    );
    let by_new_email = stores
        .users
        .credentials_by_email(&EmailKey::of("CAROL@new.example.org"))
        .await
        .expect("lookup");
    assert_eq!(by_new_email.map(|c| c.user), Some(want));
    assert!(
        stores
            .users
            .credentials_by_email(&EmailKey::of("carol@example.org"))
            .await
            .expect("lookup")
            .is_none()
    );
}

/// Taking another account's email (in any case) is refused; one's own in a new case is fine.
pub async fn update_profile_refuses_taken_email(stores: Stores) {
    let dan = user(&stores, "dan@example.org").await;
    let eve = user(&stores, "eve@example.org").await;
    let steal = ProfileChanges {
        name: Some(PersonName::parse("Not Eve").expect("name")),
        email: Some(email("DAN@example.org")),
    };
    let refused = stores.users.update_profile(eve.id, &steal).await;
    assert!(
        matches!(refused, Err(UpdateUserError::EmailTaken)),
        "got {refused:?}"
    );
    assert_eq!(
        stores.users.find(eve.id).await.expect("find"),
        Some(eve.clone()),
        "nothing changed"
    );

    let recase = ProfileChanges {
        name: None,
        email: Some(email("Eve@Example.org")),
    };
    let recased = stores
        .users
        .update_profile(eve.id, &recase)
        .await
        .expect("own email");
    assert_eq!(
        recased,
        User {
            email: "Eve@Example.org".into(),
            ..eve
        }
    );
    assert_eq!(stores.users.find(dan.id).await.expect("find"), Some(dan));
}

/// Every update of an unknown account is `NotFound`.
pub async fn update_unknown_user_is_not_found(stores: Stores) {
    let ghost = UserId::generate();
    let profile = ProfileChanges {
        name: Some(PersonName::parse("Ghost").expect("name")),
        email: None,
    };
    let result = stores.users.update_profile(ghost, &profile).await;
    assert!(
        matches!(result, Err(UpdateUserError::NotFound)),
        "update_profile: {result:?}"
    );
    let account = AccountChanges {
        role: Some(Role::Admin),
        active: Some(false),
    };
    let result = stores.users.update_account(ghost, account).await;
    assert!(
        matches!(result, Err(UpdateUserError::NotFound)),
        "update_account: {result:?}"
    );
    let result = stores
        .users
        .set_password(ghost, &PasswordHash::new("hash-ghost".into()), now())
        .await;
    assert!(
        matches!(result, Err(UpdateUserError::NotFound)),
        "set_password: {result:?}"
    );
}

/// `set_password` replaces the hash that both credential lookups return, and the instant
/// from which the account honours access tokens.
pub async fn set_password_replaces_hash(stores: Stores) {
    let frank = user(&stores, "frank@example.org").await;
    let other = user(&stores, "other@example.org").await;
    let hash = PasswordHash::new("hash-new-password".into());
    let from = to_store_precision(now() + Duration::milliseconds(700));
    stores
        .users
        .set_password(frank.id, &hash, from)
        .await
        .expect("set password");
    let frank = User {
        tokens_valid_from: Some(from),
        ..frank
    };
    let by_id = stores
        .users
        .credentials_by_id(frank.id)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(by_id.password_hash, hash);
    assert_eq!(by_id.user, frank);
    let by_email = stores
        .users
        .credentials_by_email(&EmailKey::of("frank@example.org"))
        .await
        .expect("lookup");
    assert_eq!(by_email.expect("found").password_hash, hash);
    let untouched = stores
        .users
        .credentials_by_id(other.id)
        .await
        .expect("lookup")
        .expect("found");
    assert_ne!(untouched.password_hash, hash);
}

/// `update_account` changes role and active flag independently.
pub async fn update_account_changes_role_and_active(stores: Stores) {
    let gil = user(&stores, "gil@example.org").await;
    let promote = AccountChanges {
        role: Some(Role::Organizer),
        active: None,
    };
    let promoted = stores
        .users
        .update_account(gil.id, promote)
        .await
        .expect("promote");
    assert_eq!(
        promoted,
        User {
            role: Role::Organizer,
            ..gil.clone()
        }
    );

    let deactivate = AccountChanges {
        role: None,
        active: Some(false),
    };
    let deactivated = stores
        .users
        .update_account(gil.id, deactivate)
        .await
        .expect("deactivate");
    let want = User {
        role: Role::Organizer,
        active: false,
        ..gil.clone()
    };
    assert_eq!(deactivated, want);
    assert_eq!(stores.users.find(gil.id).await.expect("find"), Some(want));

    let both = AccountChanges {
        role: Some(Role::Admin),
        active: Some(true),
    };
    let restored = stores
        .users
        .update_account(gil.id, both)
        .await
        .expect("both");
    assert_eq!(
        restored,
        User {
            role: Role::Admin,
            ..gil
        }
    );
}

/// `list` pages through every account oldest first, with no `next` on the last page.
pub async fn list_pages_through_everyone_in_order(stores: Stores) {
    let mut ids: Vec<UserId> = (0..5).map(|_| UserId::generate()).collect();
    ids.sort();
    let start = now() - Duration::minutes(10);
    let mut everyone: Vec<User> = Vec::new();
    // Inserted out of order, with names sorting backwards, so only id order passes.
    for i in [3, 0, 4, 1, 2] {
        let minutes = i64::try_from(i).expect("small");
        let new = NewUser {
            id: ids[i],
            name: PersonName::parse(&format!("User {}", 9 - i)).expect("name"),
            created_at: start + Duration::minutes(minutes),
            ..new_user(&format!("user{i}@example.org"))
        };
        everyone.push(stores.users.create(&new).await.expect("create"));
    }
    everyone.sort_by_key(|u| u.id);

    let mut seen = Vec::new();
    let mut after = None;
    for expected_len in [2, 2, 1] {
        let page = stores
            .users
            .list(&PageRequest { limit: 2, after })
            .await
            .expect("list");
        assert_eq!(page.items.len(), expected_len);
        seen.extend(page.items.iter().cloned());
        if expected_len == 2 {
            assert_eq!(
                page.next,
                page.items.last().map(|u| u.id),
                "next is the last id"
            );
        } else {
            assert_eq!(page.next, None, "last page");
        }
        after = page.next;
    }
    assert_eq!(seen, everyone);
    let all = stores
        .users
        .list(&PageRequest {
            limit: 5,
            after: None,
        })
        .await
        .expect("list");
    assert_eq!(
        (all.items, all.next),
        (everyone, None),
        "an exact fit has no next page"
    );
}

/// Creates an active admin.
async fn admin(stores: &Stores) -> User {
    let mut new = new_user(&format!("admin-{}@example.org", UserId::generate()));
    new.role = Role::Admin;
    stores.users.create(&new).await.expect("create admin")
}

/// The only active admin can be neither deactivated nor given another role, and the
/// refusal changes nothing; with a second admin, either may go, but not both.
pub async fn the_only_active_admin_stays_one(stores: Stores) {
    let ada = admin(&stores).await;
    let off = AccountChanges {
        role: None,
        active: Some(false),
    };
    let demote = AccountChanges {
        role: Some(Role::Organizer),
        active: None,
    };
    for changes in [off, demote] {
        let refused = stores.users.update_account(ada.id, changes).await;
        assert!(
            matches!(refused, Err(UpdateUserError::LastAdmin)),
            "{refused:?}"
        );
    }
    assert_eq!(
        stores.users.find(ada.id).await.expect("find"),
        Some(ada.clone())
    );
    let keep = AccountChanges {
        role: Some(Role::Admin),
        active: Some(true),
    };
    stores
        .users
        .update_account(ada.id, keep)
        .await
        .expect("no change is fine");

    let bob = admin(&stores).await;
    stores
        .users
        .update_account(ada.id, demote)
        .await
        .expect("bob stays admin");
    let refused = stores.users.update_account(bob.id, off).await;
    assert!(
        matches!(refused, Err(UpdateUserError::LastAdmin)),
        "{refused:?}"
    );
    // An inactive admin does not count.
    let off_admin = admin(&stores).await;
    let cy = stores.users.update_account(off_admin.id, off).await;
    assert!(cy.is_ok(), "bob is still active: {cy:?}");
    let refused = stores.users.update_account(bob.id, demote).await;
    assert!(
        matches!(refused, Err(UpdateUserError::LastAdmin)),
        "{refused:?}"
    );
}

/// Two admins deactivating each other at the same moment: one change passes, the other
/// is refused, and one active admin is left, every round.
pub async fn concurrent_changes_never_remove_the_last_admin(stores: Stores) {
    let off = AccountChanges {
        role: None,
        active: Some(false),
    };
    for round in 0..10 {
        let (a, b) = (admin(&stores).await, admin(&stores).await);
        let others: Vec<User> = stores
            .users
            .list(&PageRequest {
                limit: 1000,
                after: None,
            })
            .await
            .expect("list")
            .items;
        // Earlier rounds left one admin each; take those out of play first.
        for user in others
            .iter()
            .filter(|u| u.role == Role::Admin && u.active && u.id != a.id && u.id != b.id)
        {
            stores
                .users
                .update_account(user.id, off)
                .await
                .expect("retire");
        }
        let outcomes = join_all([a.id, b.id].map(|id| stores.users.update_account(id, off))).await;
        let passed = outcomes.iter().filter(|o| o.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(UpdateUserError::LastAdmin)))
            .count();
        assert_eq!((passed, refused), (1, 1), "round {round}: {outcomes:?}");
        let a_now = stores.users.find(a.id).await.expect("find").expect("a");
        let b_now = stores.users.find(b.id).await.expect("find").expect("b");
        assert_eq!(
            usize::from(a_now.active) + usize::from(b_now.active),
            1,
            "round {round}: one admin is left"
        );
    }
}

/// `erase` replaces name and email with the tombstone, leaves no way to log in (no
/// credentials by either email or id, sessions and reset tokens gone, access tokens
/// refused from `at`), frees the email, and changes nothing the second time; the only
/// active admin is refused, and an unknown account is not found.
pub async fn erase_leaves_a_tombstone_once(stores: Stores) {
    let old_email = format!("erase-{}@example.org", UserId::generate());
    let ada = user(&stores, &old_email).await;
    let t = now();
    let (refresh, _) = crate::fixtures::session(&stores, ada.id, t).await;
    let reset = crate::fixtures::saved_reset(&stores, ada.id, t).await;
    let at = to_store_precision(t + Duration::seconds(1));
    let tombstone = Tombstone::of(ada.id);

    assert!(
        stores
            .users
            .erase(ada.id, &tombstone, at)
            .await
            .expect("erase")
    );
    let erased = stores
        .users
        .find(ada.id)
        .await
        .expect("find")
        .expect("kept");
    assert_eq!(
        erased,
        User {
            name: ERASED_NAME.to_owned(),
            email: tombstone.email.clone(),
            active: false,
            tokens_valid_from: Some(at),
            ..ada.clone()
        }
    );
    for key in [EmailKey::of(&old_email), tombstone.email_key.clone()] {
        let found = stores.users.credentials_by_email(&key).await.expect("read");
        assert!(found.is_none(), "an erased account has no credentials");
    }
    assert!(
        stores
            .users
            .credentials_by_id(ada.id)
            .await
            .expect("read")
            .is_none()
    );
    let next = boxoffice_domain::secret::SecretToken::generate();
    let later = t + Duration::seconds(2);
    let rotated = stores
        .tokens
        .rotate_refresh(
            &refresh.hash(),
            &next.hash(),
            later,
            later + Duration::days(1),
        )
        .await;
    assert!(rotated.is_err(), "sessions are gone: {rotated:?}");
    let consumed = stores.tokens.consume_reset(&reset.hash(), later).await;
    assert_eq!(consumed.expect("read"), None, "reset tokens are gone");

    let revive = AccountChanges {
        role: None,
        active: Some(true),
    };
    let revived = stores.users.update_account(ada.id, revive).await;
    assert!(
        matches!(revived, Err(UpdateUserError::NotFound)),
        "an erased account stays erased: {revived:?}"
    );
    let renamed = ProfileChanges {
        name: Some(PersonName::parse("Back Again").expect("name")),
        email: None,
    };
    let renamed = stores.users.update_profile(ada.id, &renamed).await;
    assert!(
        matches!(renamed, Err(UpdateUserError::NotFound)),
        "{renamed:?}"
    );
    let rehashed = stores
        .users
        .set_password(
            ada.id,
            &PasswordHash::new("hash-after-erasure".into()),
            later,
        )
        .await;
    assert!(
        matches!(rehashed, Err(UpdateUserError::NotFound)),
        "{rehashed:?}"
    );
    let nothing = AccountChanges {
        role: None,
        active: None,
    };
    let unchanged = stores.users.update_account(ada.id, nothing).await;
    assert!(
        matches!(unchanged, Err(UpdateUserError::NotFound)),
        "{unchanged:?}"
    );
    let again = user(&stores, &old_email).await;
    assert_ne!(again.id, ada.id, "the email is free for a new account");
    let second = stores
        .users
        .erase(ada.id, &Tombstone::of(ada.id), later)
        .await;
    assert!(
        !second.expect("erase again"),
        "a second erasure changes nothing"
    );
    assert_eq!(stores.users.find(ada.id).await.expect("find"), Some(erased));

    let root = admin(&stores).await;
    let refused = stores
        .users
        .erase(root.id, &Tombstone::of(root.id), later)
        .await;
    assert!(
        matches!(refused, Err(UpdateUserError::LastAdmin)),
        "{refused:?}"
    );
    assert_eq!(
        stores.users.find(root.id).await.expect("find"),
        Some(root.clone())
    );
    let second_admin = admin(&stores).await;
    let erased_admin = stores
        .users
        .erase(root.id, &Tombstone::of(root.id), later)
        .await;
    assert!(erased_admin.expect("another admin is left"));
    let refused = stores
        .users
        .erase(second_admin.id, &Tombstone::of(second_admin.id), later)
        .await;
    assert!(
        matches!(refused, Err(UpdateUserError::LastAdmin)),
        "{refused:?}"
    );

    let nobody = UserId::generate();
    let missing = stores
        .users
        .erase(nobody, &Tombstone::of(nobody), later)
        .await;
    assert!(
        matches!(missing, Err(UpdateUserError::NotFound)),
        "{missing:?}"
    );
}
