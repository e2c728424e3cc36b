//! `/api/v1/auth/*`: registration, login, refresh-token rotation, logout, password reset,
//! and which access tokens the API refuses.

use crate::support::{
    Reply, api, assert_tokens, assert_user, claims_for, jwt_claims, login, me, refresh, register,
    reset_token_mailed_to, sign, text, tokens, unsigned,
};
use boxoffice_e2e::{JWT_SECRET, TestServer};
use serde_json::json;

async fn logout(server: &TestServer, refresh_token: &str) -> Reply {
    api(
        server,
        "POST",
        "/auth/logout",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await
}

async fn request_reset(server: &TestServer, email: &str) -> Reply {
    api(
        server,
        "POST",
        "/auth/password-reset",
        None,
        Some(json!({"email": email})),
    )
    .await
}

async fn confirm_reset(server: &TestServer, token: &str, new_password: &str) -> Reply {
    api(
        server,
        "POST",
        "/auth/password-reset/confirm",
        None,
        Some(json!({"token": token, "new_password": new_password})),
    )
    .await
}

crate::on_both_stores!(
    register_creates_an_attendee,
    super::register_creates_an_attendee_body
);
async fn register_creates_an_attendee_body(server: TestServer) {
    let reply = register(
        &server,
        "  Ann Lee ",
        "ann.register@example.org",
        "password123",
    )
    .await;
    let user = reply.ok(201);
    assert_user(
        user,
        "Ann Lee",
        "ann.register@example.org",
        "attendee",
        true,
    );

    // The same account is what the user then sees as themself.
    let token = server
        .login("ann.register@example.org", "password123")
        .await;
    assert_eq!(&me(&server, &token).await.ok(200).clone(), user);
}

crate::on_both_stores!(
    register_refuses_a_taken_email,
    super::register_refuses_a_taken_email_body
);
async fn register_refuses_a_taken_email_body(server: TestServer) {
    register(&server, "Ben", "ben.taken@example.org", "password123")
        .await
        .ok(201);
    register(&server, "Ben Two", "ben.taken@example.org", "password456")
        .await
        .problem(409, "email_taken");
    // Emails are unique ignoring case.
    register(&server, "Ben Three", "BEN.Taken@Example.ORG", "password456")
        .await
        .problem(409, "email_taken");
    // The first account is untouched: its password still works, the others' do not.
    tokens(&server, "ben.taken@example.org", "password123").await;
    login(&server, "ben.taken@example.org", "password456")
        .await
        .problem(401, "invalid_credentials");
}

crate::on_both_stores!(
    register_validates_fields,
    super::register_validates_fields_body
);
async fn register_validates_fields_body(server: TestServer) {
    let short = register(&server, "Cat", "cat.valid@example.org", "short7!").await;
    assert_eq!(short.invalid_fields(), ["password"]);

    for bad_email in [
        "not-an-email",
        "cat@",
        "@example.org",
        "cat@localhost",
        "c t@example.org",
    ] {
        let reply = register(&server, "Cat", bad_email, "password123").await;
        assert_eq!(reply.invalid_fields(), ["email"], "email {bad_email:?}");
    }

    // Every invalid field is reported at once.
    let all = register(&server, " ", "nope", "1234567").await;
    let mut fields = all.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"]);

    // Nothing was created: the address is still free, and 8 characters are enough.
    register(&server, "Cat", "cat.valid@example.org", "8chars!!")
        .await
        .ok(201);
}

crate::on_both_stores!(login_issues_tokens, super::login_issues_tokens_body);
async fn login_issues_tokens_body(server: TestServer) {
    let user = register(&server, "Dan", "dan.login@example.org", "password123")
        .await
        .ok(201)
        .clone();
    let tokens = tokens(&server, "dan.login@example.org", "password123").await;
    let claims = jwt_claims(&text(&tokens, "access_token"));
    assert_eq!(claims["sub"], user["id"], "the access token names the user");

    let me = me(&server, &text(&tokens, "access_token")).await;
    assert_eq!(me.ok(200)["id"], user["id"]);

    // Emails are case-insensitive at login too.
    let recased = crate::support::tokens(&server, "DAN.Login@Example.org", "password123").await;
    assert_eq!(
        jwt_claims(&text(&recased, "access_token"))["sub"],
        user["id"]
    );
}

crate::on_both_stores!(
    login_failures_look_alike,
    super::login_failures_look_alike_body
);
async fn login_failures_look_alike_body(server: TestServer) {
    register(&server, "Eve", "eve.login@example.org", "password123")
        .await
        .ok(201);
    let wrong_password = login(&server, "eve.login@example.org", "password124").await;
    let unknown_email = login(&server, "nobody@example.org", "password123").await;
    wrong_password.problem(401, "invalid_credentials");
    unknown_email.problem(401, "invalid_credentials");
    // Same answer: nothing tells whether the account exists.
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.content_type(), unknown_email.content_type());
}

crate::on_both_stores!(refresh_rotates_tokens, super::refresh_rotates_tokens_body);
async fn refresh_rotates_tokens_body(server: TestServer) {
    register(&server, "Fay", "fay.refresh@example.org", "password123")
        .await
        .ok(201);
    let first = tokens(&server, "fay.refresh@example.org", "password123").await;
    let first_refresh = text(&first, "refresh_token");

    let second = refresh(&server, &first_refresh).await.ok(200).clone();
    assert_tokens(&second);
    let second_refresh = text(&second, "refresh_token");
    assert_ne!(
        second_refresh, first_refresh,
        "the refresh token is rotated"
    );
    // The new access token works.
    me(&server, &text(&second, "access_token")).await.ok(200);

    // The newest token rotates again; the chain goes on.
    let third = refresh(&server, &second_refresh).await.ok(200).clone();
    assert_tokens(&third);

    // Unknown tokens are refused.
    refresh(&server, "not-a-refresh-token")
        .await
        .problem(401, "invalid_token");
    refresh(&server, "").await.problem(401, "invalid_token");
}

crate::on_both_stores!(
    reusing_a_rotated_token_revokes_its_family,
    super::reuse_revokes_family_body
);
async fn reuse_revokes_family_body(server: TestServer) {
    register(&server, "Gil", "gil.reuse@example.org", "password123")
        .await
        .ok(201);
    let family = tokens(&server, "gil.reuse@example.org", "password123").await;
    let other_family = tokens(&server, "gil.reuse@example.org", "password123").await;

    let old = text(&family, "refresh_token");
    let newest = text(refresh(&server, &old).await.ok(200), "refresh_token");

    // The rotated token is refused...
    refresh(&server, &old).await.problem(401, "invalid_token");
    // ...and its reuse revoked the whole family: the newest token stops working too.
    refresh(&server, &newest)
        .await
        .problem(401, "invalid_token");

    // Another session of the same user (another family) is not affected.
    let other = refresh(&server, &text(&other_family, "refresh_token")).await;
    assert_tokens(other.ok(200));
}

crate::on_both_stores!(logout_ends_the_session, super::logout_ends_the_session_body);
async fn logout_ends_the_session_body(server: TestServer) {
    register(&server, "Hal", "hal.logout@example.org", "password123")
        .await
        .ok(201);
    let session = tokens(&server, "hal.logout@example.org", "password123").await;
    let kept = tokens(&server, "hal.logout@example.org", "password123").await;
    let rotated = text(
        refresh(&server, &text(&session, "refresh_token"))
            .await
            .ok(200),
        "refresh_token",
    );

    logout(&server, &rotated).await.empty(204);
    refresh(&server, &rotated)
        .await
        .problem(401, "invalid_token");

    // Logging out an unknown or already-ended session still answers 204.
    logout(&server, &rotated).await.empty(204);
    logout(&server, "never-issued").await.empty(204);

    // Only that session ended.
    refresh(&server, &text(&kept, "refresh_token"))
        .await
        .ok(200);
}

crate::on_both_stores!(
    password_reset_round_trip,
    super::password_reset_round_trip_body
);
async fn password_reset_round_trip_body(mut server: TestServer) {
    let email = "ivy.reset@example.org";
    register(&server, "Ivy", email, "password123").await.ok(201);
    let session = tokens(&server, email, "password123").await;

    // 202 whether or not the account exists.
    request_reset(&server, "nobody.reset@example.org")
        .await
        .empty(202);
    request_reset(&server, email).await.empty(202);
    let token = reset_token_mailed_to(&mut server, email).await;
    let logs = server.logs();
    assert!(
        !logs.contains("nobody.reset@example.org"),
        "no mail may go to an unknown address"
    );

    // A too-short password is refused and does not use up the token.
    let short = confirm_reset(&server, &token, "short").await;
    assert_eq!(short.invalid_fields(), ["new_password"]);
    confirm_reset(&server, "not-the-token", "new-password-1")
        .await
        .problem(401, "invalid_token");

    confirm_reset(&server, &token, "new-password-1")
        .await
        .empty(204);
    login(&server, email, "password123")
        .await
        .problem(401, "invalid_credentials");
    tokens(&server, email, "new-password-1").await;

    // Single use.
    confirm_reset(&server, &token, "new-password-2")
        .await
        .problem(401, "invalid_token");
    tokens(&server, email, "new-password-1").await;

    // The reset ended the sessions started with the old password, and their access
    // tokens.
    refresh(&server, &text(&session, "refresh_token"))
        .await
        .problem(401, "invalid_token");
    me(&server, &text(&session, "access_token"))
        .await
        .problem(401, "unauthorized");
}

crate::on_both_stores!(
    a_password_change_ends_older_access_tokens,
    super::a_password_change_ends_older_access_tokens_body
);
async fn a_password_change_ends_older_access_tokens_body(server: TestServer) {
    let email = "kim.change@example.org";
    register(&server, "Kim", email, "password123").await.ok(201);
    let before = text(&tokens(&server, email, "password123").await, "access_token");
    me(&server, &before).await.ok(200);
    let change = json!({"current_password": "password123", "new_password": "password456"});
    api(
        &server,
        "PUT",
        "/users/me/password",
        Some(&before),
        Some(change),
    )
    .await
    .empty(204);
    me(&server, &before).await.problem(401, "unauthorized");
    // A login in the same second as the change works at once, and keeps working.
    let after = text(&tokens(&server, email, "password456").await, "access_token");
    me(&server, &after).await.ok(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    me(&server, &after).await.ok(200);
    me(&server, &before).await.problem(401, "unauthorized");
}

crate::on_both_stores!(
    emails_are_one_account_ignoring_unicode_case,
    super::emails_are_one_account_ignoring_unicode_case_body
);
async fn emails_are_one_account_ignoring_unicode_case_body(server: TestServer) {
    let user = register(&server, "Üna", "ü.\u{212A}@exämple.com", "password123")
        .await
        .ok(201)
        .clone();
    assert_eq!(user["email"], "ü.\u{212A}@exämple.com", "kept as typed");
    for variant in ["Ü.k@EXÄMPLE.com", "u\u{0308}.K@exa\u{0308}mple.com"] {
        register(&server, "Other", variant, "password123")
            .await
            .problem(409, "email_taken");
        let session = tokens(&server, variant, "password123").await;
        assert_eq!(
            me(&server, &text(&session, "access_token")).await.ok(200)["id"],
            user["id"]
        );
    }
}

crate::on_both_stores!(
    bad_access_tokens_are_refused,
    super::bad_access_tokens_are_refused_body
);
async fn bad_access_tokens_are_refused_body(server: TestServer) {
    let (token, user) = server.attendee("jo.tokens@example.org").await;
    let user_id = text(&user, "id");
    me(&server, &token).await.ok(200);

    // A token we sign ourselves with the server's secret is accepted: the forged tokens
    // below fail for the one thing wrong with each, not for being forged.
    let valid = sign(
        &claims_for(&user_id, "attendee", 600),
        JWT_SECRET.as_bytes(),
    );
    assert_eq!(me(&server, &valid).await.ok(200)["id"], user["id"]);

    let unauthorized = |reply: Reply, what: &str| {
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        reply.problem(401, "unauthorized");
    };

    // No token, or not a bearer token.
    unauthorized(
        api(&server, "GET", "/users/me", None, None).await,
        "no token",
    );
    let basic = crate::support::send(
        server
            .client
            .get(server.url("/api/v1/users/me"))
            .header("Authorization", "Basic am86cGFzc3dvcmQxMjM="),
    )
    .await;
    unauthorized(basic, "basic auth");

    unauthorized(me(&server, "garbage").await, "garbage");
    unauthorized(me(&server, "a.b.c").await, "three garbage parts");

    // Tampered: the payload claims admin, the signature is the original one.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = jwt_claims(&token);
    claims["role"] = json!("admin");
    let forged_payload = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    };
    let tampered_payload = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    unauthorized(me(&server, &tampered_payload).await, "tampered payload");

    // Tampered: one character of the signature changed.
    let mut signature: Vec<char> = parts[2].chars().collect();
    signature[5] = if signature[5] == 'x' { 'y' } else { 'x' };
    let signature: String = signature.into_iter().collect();
    let tampered_signature = format!("{}.{}.{signature}", parts[0], parts[1]);
    unauthorized(me(&server, &tampered_signature).await, "tampered signature");

    // Signed with another secret.
    let foreign = sign(
        &claims_for(&user_id, "attendee", 600),
        b"some-other-secret-some-other-secret-0123",
    );
    unauthorized(me(&server, &foreign).await, "wrong secret");

    // alg: none, with and without the trailing dot.
    let none = unsigned(&claims_for(&user_id, "attendee", 600));
    unauthorized(me(&server, &none).await, "alg none");
    unauthorized(
        me(&server, none.trim_end_matches('.')).await,
        "alg none, two parts",
    );

    // Expired a minute ago, correctly signed.
    let expired = sign(
        &claims_for(&user_id, "attendee", -60),
        JWT_SECRET.as_bytes(),
    );
    unauthorized(me(&server, &expired).await, "expired");

    // Correctly signed, not valid for another minute (`nbf`).
    let mut early = claims_for(&user_id, "attendee", 600);
    early["nbf"] = json!(chrono::Utc::now().timestamp() + 60);
    unauthorized(
        me(&server, &sign(&early, JWT_SECRET.as_bytes())).await,
        "not yet valid",
    );

    // Correctly signed, for a user that does not exist.
    let ghost = sign(
        &claims_for(&uuid::Uuid::now_v7().to_string(), "admin", 600),
        JWT_SECRET.as_bytes(),
    );
    unauthorized(me(&server, &ghost).await, "unknown user");

    // A deactivated user's unexpired tokens stop working at once.
    api(&server, "DELETE", "/users/me", Some(&token), None)
        .await
        .empty(204);
    unauthorized(me(&server, &token).await, "deactivated user");
    unauthorized(me(&server, &valid).await, "deactivated user, forged token");
}

/// With `SMTP_URL`, a reset mail goes to the SMTP server (a local sink here), not to
/// the log, and its token resets the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_mail_goes_through_smtp() {
    let mut sink = boxoffice_e2e::smtp::SmtpSink::start().await;
    let env = [
        ("SMTP_URL", sink.url.as_str()),
        ("MAIL_FROM", "Box Office <tickets@example.org>"),
    ];
    let Some(server) = TestServer::start_with(boxoffice_e2e::Backend::Sqlite, &env).await else {
        return;
    };
    let email = "sam.smtp@example.org";
    register(&server, "Sam", email, "password123").await.ok(201);
    request_reset(&server, email).await.empty(202);
    let mail = sink
        .next(std::time::Duration::from_secs(10))
        .await
        .expect("a mail reached the sink");
    assert!(mail.contains("To: sam.smtp@example.org"), "{mail}");
    assert!(
        mail.contains("From: \"Box Office\" <tickets@example.org>"),
        "{mail}"
    );
    // The body may come quoted-printable: undo its soft line breaks.
    let mail = mail.replace("=\n", "");
    let marker = "use this token within 60 minutes: ";
    let start = mail.find(marker).expect("a token in the mail") + marker.len();
    let token: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    confirm_reset(&server, &token, "new-password-1")
        .await
        .empty(204);
    tokens(&server, email, "new-password-1").await;
    assert!(
        !server.logs().contains(&token),
        "the token never reaches the log"
    );
}

/// `POST /auth/password-reset` answers before it looks anything up or sends anything:
/// with an SMTP server that never answers (a mail would wait 10 s for it), a known and
/// an unknown address are answered alike and at once, so timing tells nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_requests_answer_before_doing_the_work() {
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("smtp://{}", stalled.local_addr().expect("addr"));
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = stalled.accept().await {
            open.push(stream); // accepted, never answered
        }
    });
    let env = [("SMTP_URL", url.as_str())];
    let Some(server) = TestServer::start_with(boxoffice_e2e::Backend::Sqlite, &env).await else {
        return;
    };
    register(&server, "Kay", "kay.timing@example.org", "password123")
        .await
        .ok(201);
    for email in ["kay.timing@example.org", "nobody.timing@example.org"] {
        let started = std::time::Instant::now();
        request_reset(&server, email).await.empty(202);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(2),
            "{email}: answered after {took:?}, as if it waited for the mail"
        );
    }
}
