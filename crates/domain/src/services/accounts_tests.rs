//! Unit tests of the account use cases, with mocked ports.

use super::*;
use crate::TokenFamilyId;
use crate::ports::{
    AccessClaims, AccessToken, InvalidAccessToken, MockAccessTokens, MockAuditLog, MockMailer,
    MockPasswordHasher, MockTokenStore, MockUserRepository, RefreshSession, RotateError,
    VersionKey,
};
use crate::time::MockClock;
use crate::user::{Credentials, PasswordHash};
use chrono::{SubsecRound, Utc};
use mockall::predicate::eq;

fn user(role: Role, active: bool) -> User {
    User {
        id: UserId::generate(),
        name: "Ann".into(),
        email: "ann@example.org".into(),
        role,
        active,
        created_at: Utc::now(),
        tokens_valid_from: None,
    }
}

struct Mocks {
    users: MockUserRepository,
    tokens: MockTokenStore,
    hasher: MockPasswordHasher,
    access: MockAccessTokens,
    mailer: MockMailer,
    audit: MockAuditLog,
}

impl Mocks {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            tokens: MockTokenStore::new(),
            hasher: MockPasswordHasher::new(),
            access: MockAccessTokens::new(),
            mailer: MockMailer::new(),
            audit: MockAuditLog::new(),
        }
    }

    /// The service, with an audit log that takes any entry unless a test said more.
    fn service(mut self) -> AccountService {
        self.audit.expect_record().returning(|_| Ok(()));
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        AccountService::new(
            AccountPorts {
                users: Arc::new(self.users),
                tokens: Arc::new(self.tokens),
                hasher: Arc::new(self.hasher),
                access: Arc::new(self.access),
                mailer: Arc::new(self.mailer),
                audit: Arc::new(self.audit),
                clock: Arc::new(clock),
            },
            AccountSettings::default(),
        )
    }
}

fn credentials(user: User) -> Credentials {
    Credentials {
        user,
        password_hash: PasswordHash::new("hash".into()),
    }
}

#[tokio::test]
async fn unknown_email_costs_a_decoy_verify_and_gets_the_same_answer() {
    let mut m = Mocks::new();
    m.users
        .expect_credentials_by_email()
        .returning(|_| Ok(None));
    m.hasher.expect_verify_decoy().times(1).returning(|_| ());
    let result = m.service().login("nobody@example.org", "password123").await;
    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn deactivated_accounts_cannot_log_in_even_with_the_right_password() {
    let mut m = Mocks::new();
    let inactive = user(Role::Attendee, false);
    m.users
        .expect_credentials_by_email()
        .returning(move |_| Ok(Some(credentials(inactive.clone()))));
    m.hasher.expect_verify().returning(|_, _| Ok(true));
    m.tokens.expect_save_refresh().never();
    let result = m.service().login("ann@example.org", "password123").await;
    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn login_starts_a_session_with_both_tokens() {
    let mut m = Mocks::new();
    let active = user(Role::Attendee, true);
    let id = active.id;
    m.users
        .expect_credentials_by_email()
        .with(eq(EmailKey::of("Ann@Example.org")))
        .returning(move |_| Ok(Some(credentials(active.clone()))));
    m.hasher.expect_verify().returning(|_, _| Ok(true));
    m.tokens
        .expect_save_refresh()
        .withf(move |t| t.user_id == id && t.expires_at > t.issued_at)
        .times(1)
        .returning(|_| Ok(()));
    m.access.expect_issue().returning(|_, _| {
        Ok(AccessToken {
            token: "jwt".into(),
            expires_in: 900,
        })
    });
    let tokens = m
        .service()
        .login("  ann@example.org ", "password123")
        .await
        .expect("logged in");
    assert_eq!(tokens.access_token, "jwt");
    assert_eq!(tokens.expires_in, 900);
    assert_eq!(tokens.refresh_token.len(), 43);
}

/// A reused refresh token is refused, and the revoked session is audited under its user.
#[tokio::test]
async fn a_reused_refresh_token_is_refused_and_audited() {
    let mut m = Mocks::new();
    let user = UserId::generate();
    m.tokens
        .expect_rotate_refresh()
        .returning(move |_, _, _, _| Err(RotateError::Reused { user }));
    m.access.expect_issue().never();
    m.audit
        .expect_record()
        .withf(move |e| {
            e.action == crate::audit::AuditAction::TokenFamilyRevoked && e.user_id == Some(user)
        })
        .times(1)
        .returning(|_| Ok(()));
    let result = m.service().refresh("stolen").await;
    assert!(matches!(result, Err(TokenError::InvalidToken)));
}

#[tokio::test]
async fn refreshing_for_a_deactivated_user_revokes_everything() {
    let mut m = Mocks::new();
    let inactive = user(Role::Attendee, false);
    let id = inactive.id;
    m.tokens
        .expect_rotate_refresh()
        .returning(move |_, _, _, _| {
            Ok(RefreshSession {
                user_id: id,
                family: TokenFamilyId::generate(),
            })
        });
    m.users
        .expect_find()
        .returning(move |_| Ok(Some(inactive.clone())));
    m.tokens
        .expect_revoke_all_refresh()
        .withf(move |u, _| *u == id)
        .times(1)
        .returning(|_, _| Ok(()));
    let result = m.service().refresh("token").await;
    assert!(matches!(result, Err(TokenError::InvalidToken)));
}

#[tokio::test]
async fn tokens_of_deactivated_users_are_unauthorized() {
    let mut m = Mocks::new();
    let inactive = user(Role::Admin, false);
    let claims = AccessClaims {
        user_id: inactive.id,
        role: Role::Admin,
        issued_at: Utc::now(),
        expires_at: Utc::now(),
    };
    m.access.expect_verify().returning(move |_, _| Ok(claims));
    m.users
        .expect_find()
        .returning(move |_| Ok(Some(inactive.clone())));
    assert!(matches!(
        m.service().authenticate("jwt").await,
        Err(AuthError::Unauthorized)
    ));

    let mut m = Mocks::new();
    m.access
        .expect_verify()
        .returning(|_, _| Err(InvalidAccessToken));
    m.users.expect_find().never();
    assert!(matches!(
        m.service().authenticate("bad").await,
        Err(AuthError::Unauthorized)
    ));
}

#[tokio::test]
async fn tokens_issued_before_a_password_change_are_unauthorized() {
    let changed = Utc::now();
    let account = User {
        tokens_valid_from: Some(tokens_valid_from(changed)),
        ..user(Role::Attendee, true)
    };
    let id = account.id;
    for (issued, honoured) in [
        (changed - Duration::seconds(1), false),
        (account.token_issue_time(changed), true),
    ] {
        let mut m = Mocks::new();
        let claims = AccessClaims {
            user_id: id,
            role: Role::Attendee,
            issued_at: issued.trunc_subsecs(0),
            expires_at: changed + Duration::minutes(15),
        };
        m.access.expect_verify().returning(move |_, _| Ok(claims));
        let stored = account.clone();
        m.users
            .expect_find()
            .returning(move |_| Ok(Some(stored.clone())));
        let result = m.service().authenticate("jwt").await;
        assert_eq!(result.is_ok(), honoured, "issued at {issued}: {result:?}");
    }
}

/// With a version board, the account behind a token is read once and then kept; a
/// deactivation published on the board is refused at once, though the copy said active.
#[tokio::test]
async fn accounts_kept_in_memory_follow_the_published_version() {
    let mut m = Mocks::new();
    let active = user(Role::Attendee, true);
    let id = active.id;
    let claims = AccessClaims {
        user_id: id,
        role: Role::Attendee,
        issued_at: Utc::now(),
        expires_at: Utc::now(),
    };
    m.access.expect_verify().returning(move |_, _| Ok(claims));
    let stored = Arc::new(std::sync::Mutex::new((active.clone(), 1_u64)));
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (from, counted) = (stored.clone(), reads.clone());
    m.users.expect_snapshot().returning(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(from.lock().map(|s| s.clone()).expect("lock")))
    });
    m.users.expect_find().never();
    let board = Arc::new(crate::ports::LocalVersionBoard::default());
    board.raise(VersionKey::User(id), 1);
    let service = m.service().with_versions(board.clone());
    for _ in 0..3 {
        assert_eq!(service.authenticate("jwt").await.expect("active").id, id);
    }
    assert_eq!(
        reads.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "read once, then kept"
    );

    *stored.lock().expect("lock") = (
        User {
            active: false,
            ..active
        },
        2,
    );
    board.raise(VersionKey::User(id), 2);
    assert!(matches!(
        service.authenticate("jwt").await,
        Err(AuthError::Unauthorized)
    ));
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn token_user_reads_valid_tokens_without_the_store() {
    let mut m = Mocks::new();
    let id = UserId::generate();
    let claims = AccessClaims {
        user_id: id,
        role: Role::Attendee,
        issued_at: Utc::now(),
        expires_at: Utc::now(),
    };
    m.access
        .expect_verify()
        .with(eq("jwt"), mockall::predicate::always())
        .returning(move |_, _| Ok(claims));
    m.access
        .expect_verify()
        .returning(|_, _| Err(InvalidAccessToken));
    m.users.expect_find().never();
    let service = m.service();
    assert_eq!(service.token_user("jwt"), Some(id));
    assert_eq!(service.token_user("forged"), None);
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let mut m = Mocks::new();
    let active = user(Role::Attendee, true);
    let id = active.id;
    m.users
        .expect_credentials_by_id()
        .returning(move |_| Ok(Some(credentials(active.clone()))));
    m.hasher.expect_verify().returning(|_, _| Ok(false));
    m.users.expect_set_password().never();
    m.tokens.expect_revoke_all_refresh().never();
    let new = Password::parse("new password").expect("valid");
    let result = m.service().change_password(id, "wrong", new).await;
    assert!(matches!(
        result,
        Err(ChangePasswordError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_password_change_ends_every_session() {
    let mut m = Mocks::new();
    let active = user(Role::Attendee, true);
    let id = active.id;
    m.users
        .expect_credentials_by_id()
        .returning(move |_| Ok(Some(credentials(active.clone()))));
    m.hasher.expect_verify().returning(|_, _| Ok(true));
    m.hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new("new hash".into())));
    m.tokens
        .expect_revoke_all_refresh()
        .times(1)
        .returning(|_, _| Ok(()));
    m.users
        .expect_set_password()
        .withf(move |u, h, from| {
            *u == id && h.as_str() == "new hash" && *from > Utc::now() - Duration::seconds(5)
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let new = Password::parse("new password").expect("valid");
    m.service()
        .change_password(id, "right", new)
        .await
        .expect("changed");
}

#[tokio::test]
async fn reset_requests_for_unknown_emails_send_nothing() {
    let mut m = Mocks::new();
    m.users
        .expect_credentials_by_email()
        .returning(|_| Ok(None));
    m.tokens.expect_save_reset().never();
    m.mailer.expect_send().never();
    m.service()
        .request_password_reset("nobody@example.org")
        .await
        .expect("accepted");
}

#[tokio::test]
async fn reset_mail_carries_a_token_that_matches_the_stored_hash() {
    let mut m = Mocks::new();
    let active = user(Role::Attendee, true);
    m.users
        .expect_credentials_by_email()
        .returning(move |_| Ok(Some(credentials(active.clone()))));
    let stored = Arc::new(std::sync::Mutex::new(None));
    let sink = stored.clone();
    m.tokens.expect_save_reset().returning(move |t| {
        assert_eq!(t.expires_at - t.created_at, Duration::hours(1));
        *sink.lock().expect("lock") = Some(t.hash.clone());
        Ok(())
    });
    let mailed = Arc::new(std::sync::Mutex::new(String::new()));
    let outbox = mailed.clone();
    m.mailer.expect_send().returning(move |mail| {
        *outbox.lock().expect("lock") = mail.body.clone();
        Err(anyhow::anyhow!("SMTP down"))
    });
    m.service()
        .request_password_reset("ann@example.org")
        .await
        .expect("a failing mailer is not the caller's problem");
    let body = mailed.lock().expect("lock").clone();
    let token = body
        .split_whitespace()
        .find(|word| word.len() == 43)
        .expect("token in the mail");
    assert_eq!(
        Some(SecretToken::presented(token).hash()),
        *stored.lock().expect("lock")
    );
}

#[tokio::test]
async fn unknown_reset_tokens_are_invalid() {
    let mut m = Mocks::new();
    m.tokens.expect_consume_reset().returning(|_, _| Ok(None));
    m.users.expect_set_password().never();
    let new = Password::parse("new password").expect("valid");
    let result = m.service().confirm_password_reset("nope", new).await;
    assert!(matches!(result, Err(TokenError::InvalidToken)));
}

#[tokio::test]
async fn only_admins_administer_accounts() {
    let mut m = Mocks::new();
    m.users.expect_update_account().never();
    m.users.expect_list().never();
    let service = m.service();
    let organizer = user(Role::Organizer, true);
    let changes = AccountChanges {
        role: Some(Role::Admin),
        active: None,
    };
    assert!(matches!(
        service.update_user(&organizer, organizer.id, changes).await,
        Err(AdminError::Forbidden)
    ));
    assert!(matches!(
        service.list_users(&organizer, &PageRequest::first()).await,
        Err(AdminError::Forbidden)
    ));
}

#[tokio::test]
async fn deactivation_by_an_admin_revokes_sessions() {
    let mut m = Mocks::new();
    let target = user(Role::Attendee, false);
    let id = target.id;
    m.users
        .expect_update_account()
        .returning(move |_, _| Ok(target.clone()));
    m.tokens
        .expect_revoke_all_refresh()
        .withf(move |u, _| *u == id)
        .times(1)
        .returning(|_, _| Ok(()));
    let admin = user(Role::Admin, true);
    let changes = AccountChanges {
        role: None,
        active: Some(false),
    };
    let updated = m
        .service()
        .update_user(&admin, id, changes)
        .await
        .expect("updated");
    assert!(!updated.active);
}

/// A refused login is audited with the account it named and the request it came with;
/// an unknown email names no account.
#[tokio::test]
async fn refused_logins_are_audited_with_their_request() {
    let mut m = Mocks::new();
    let known = user(Role::Attendee, true);
    let id = known.id;
    m.users.expect_credentials_by_email().returning(move |key| {
        Ok((key.as_str() == "ann@example.org").then(|| credentials(known.clone())))
    });
    m.hasher.expect_verify().returning(|_, _| Ok(false));
    m.hasher.expect_verify_decoy().returning(|_| ());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    m.audit.expect_record().times(2).returning(move |entry| {
        sink.lock().expect("lock").push(entry.clone());
        Ok(())
    });
    let service = m.service();
    crate::audit::REQUEST_ID
        .scope("req-1".to_owned(), async {
            let wrong = service.login("ann@example.org", "wrong password").await;
            assert!(matches!(wrong, Err(LoginError::InvalidCredentials)));
            let unknown = service.login("nobody@example.org", "password123").await;
            assert!(matches!(unknown, Err(LoginError::InvalidCredentials)));
        })
        .await;
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|e| e.action == crate::audit::AuditAction::LoginFailed)
    );
    assert!(
        seen.iter()
            .all(|e| e.request_id.as_deref() == Some("req-1"))
    );
    assert_eq!(seen[0].user_id, Some(id));
    assert_eq!(seen[1].user_id, None);
}
