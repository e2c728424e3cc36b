//! `/api/v1/users*`: the caller's own account, and account administration by admins.

use crate::support::{
    Reply, all_pages, api, assert_user, event_body, get, login, me, refresh, reset_token_mailed_to,
    text, tokens,
};
use boxoffice_e2e::TestServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn patch_me(server: &TestServer, token: &str, body: Value) -> Reply {
    api(server, "PATCH", "/users/me", Some(token), Some(body)).await
}

async fn change_password(server: &TestServer, token: &str, current: &str, new: &str) -> Reply {
    api(
        server,
        "PUT",
        "/users/me/password",
        Some(token),
        Some(json!({"current_password": current, "new_password": new})),
    )
    .await
}

async fn patch_user(server: &TestServer, token: &str, id: &str, body: Value) -> Reply {
    api(
        server,
        "PATCH",
        &format!("/users/{id}"),
        Some(token),
        Some(body),
    )
    .await
}

crate::on_both_stores!(me_returns_the_caller, super::me_returns_the_caller_body);
async fn me_returns_the_caller_body(server: TestServer) {
    let (token, registered) = server.attendee("kai.me@example.org").await;
    let reply = me(&server, &token).await;
    let user = reply.ok(200);
    assert_user(user, "Test User", "kai.me@example.org", "attendee", true);
    assert_eq!(user, &registered);

    api(&server, "GET", "/users/me", None, None)
        .await
        .problem(401, "unauthorized");
}

crate::on_both_stores!(update_me_changes_name_and_email, super::update_me_body);
async fn update_me_body(server: TestServer) {
    let (token, original) = server.attendee("kim.patch@example.org").await;
    server.attendee("lee.patch@example.org").await;

    let renamed = patch_me(&server, &token, json!({"name": "Kim Park"})).await;
    let renamed = renamed.ok(200);
    assert_user(
        renamed,
        "Kim Park",
        "kim.patch@example.org",
        "attendee",
        true,
    );
    assert_eq!(renamed["id"], original["id"]);
    assert_eq!(renamed["created_at"], original["created_at"]);

    let moved = patch_me(&server, &token, json!({"email": "kim.new@example.org"})).await;
    assert_user(
        moved.ok(200),
        "Kim Park",
        "kim.new@example.org",
        "attendee",
        true,
    );
    tokens(&server, "kim.new@example.org", "password123").await;
    login(&server, "kim.patch@example.org", "password123")
        .await
        .problem(401, "invalid_credentials");

    // Another account's email, in any case, is taken; nothing changes.
    for taken in ["lee.patch@example.org", "LEE.Patch@Example.org"] {
        patch_me(
            &server,
            &token,
            json!({"email": taken, "name": "Should Not Stick"}),
        )
        .await
        .problem(409, "email_taken");
    }
    // Changing only the case of one's own email is not a conflict.
    let recased = patch_me(&server, &token, json!({"email": "Kim.New@example.org"})).await;
    assert_eq!(recased.ok(200)["email"], "Kim.New@example.org");

    let fields = patch_me(&server, &token, json!({"email": "nope"}))
        .await
        .invalid_fields();
    assert_eq!(fields, ["email"]);
    let fields = patch_me(&server, &token, json!({"name": "  "}))
        .await
        .invalid_fields();
    assert_eq!(fields, ["name"]);

    // An empty patch changes nothing.
    let unchanged = patch_me(&server, &token, json!({})).await;
    assert_user(
        unchanged.ok(200),
        "Kim Park",
        "Kim.New@example.org",
        "attendee",
        true,
    );
    assert_eq!(
        &me(&server, &token).await.ok(200).clone(),
        unchanged.ok(200)
    );

    patch_me(&server, "", json!({"name": "X"}))
        .await
        .problem(401, "unauthorized");
}

crate::on_both_stores!(
    change_password_revokes_sessions,
    super::change_password_body
);
async fn change_password_body(server: TestServer) {
    let email = "max.password@example.org";
    let (token, _) = server.attendee(email).await;
    let session = tokens(&server, email, "password123").await;

    change_password(&server, &token, "wrong-password", "new-password-1")
        .await
        .problem(401, "invalid_credentials");
    let fields = change_password(&server, &token, "password123", "short")
        .await
        .invalid_fields();
    assert_eq!(fields, ["new_password"]);
    // Neither attempt changed anything.
    refresh(&server, &text(&session, "refresh_token"))
        .await
        .ok(200);
    let session = tokens(&server, email, "password123").await;

    change_password(&server, &token, "password123", "new-password-1")
        .await
        .empty(204);
    refresh(&server, &text(&session, "refresh_token"))
        .await
        .problem(401, "invalid_token");
    login(&server, email, "password123")
        .await
        .problem(401, "invalid_credentials");
    tokens(&server, email, "new-password-1").await;

    api(
        &server,
        "PUT",
        "/users/me/password",
        None,
        Some(json!({"current_password": "new-password-1", "new_password": "new-password-2"})),
    )
    .await
    .problem(401, "unauthorized");
}

crate::on_both_stores!(delete_me_deactivates, super::delete_me_deactivates_body);
async fn delete_me_deactivates_body(mut server: TestServer) {
    let email = "ned.delete@example.org";
    let (token, _) = server.attendee(email).await;
    let session = tokens(&server, email, "password123").await;

    api(&server, "DELETE", "/users/me", Some(&token), None)
        .await
        .empty(204);
    login(&server, email, "password123")
        .await
        .problem(401, "invalid_credentials");
    me(&server, &token).await.problem(401, "unauthorized");
    me(&server, &text(&session, "access_token"))
        .await
        .problem(401, "unauthorized");
    refresh(&server, &text(&session, "refresh_token"))
        .await
        .problem(401, "invalid_token");

    // No password-reset mail goes to a deactivated account (the request still says 202).
    let reset = |email: &str| json!({"email": email});
    api(
        &server,
        "POST",
        "/auth/password-reset",
        None,
        Some(reset(email)),
    )
    .await
    .empty(202);
    let active = "nia.active@example.org";
    server.attendee(active).await;
    api(
        &server,
        "POST",
        "/auth/password-reset",
        None,
        Some(reset(active)),
    )
    .await
    .empty(202);
    reset_token_mailed_to(&mut server, active).await;
    assert!(
        !server
            .logs()
            .lines()
            .any(|line| line.contains("outgoing mail") && line.contains(email)),
        "a reset mail went to a deactivated account"
    );
}

crate::on_both_stores!(admins_list_users_in_pages, super::admins_list_users_body);
async fn admins_list_users_body(server: TestServer) {
    let admin = server
        .user_with_role("ada.admin@example.org", "admin")
        .await;
    let mut expected = BTreeSet::from([text(me(&server, &admin).await.ok(200), "id")]);
    for n in 1..=4 {
        let (_, user) = server.attendee(&format!("user{n}.list@example.org")).await;
        expected.insert(text(&user, "id"));
    }

    let pages = all_pages(&server, "/users?limit=2", Some(&admin), 2).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    let listed: Vec<String> = pages.iter().flatten().map(|u| text(u, "id")).collect();
    assert_eq!(
        listed.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every account exactly once"
    );
    assert_eq!(listed.len(), expected.len(), "no account twice");
    for user in pages.iter().flatten() {
        let email = text(user, "email");
        let (name, role) = if email.starts_with("ada.") {
            ("Staff", "admin")
        } else {
            ("Test User", "attendee")
        };
        assert_user(user, name, &email, role, true);
    }

    // Default page size (20) holds all five; the last page has no cursor.
    let reply = get(&server, "/users", Some(&admin)).await;
    let page = reply.ok(200);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(page["next_cursor"], Value::Null);

    for bad in ["/users?limit=0", "/users?limit=101"] {
        let fields = get(&server, bad, Some(&admin)).await.invalid_fields();
        assert_eq!(fields, ["limit"], "{bad}");
    }
    let fields = get(&server, "/users?cursor=garbage", Some(&admin))
        .await
        .invalid_fields();
    assert_eq!(fields, ["cursor"]);
    get(&server, "/users?limit=100", Some(&admin)).await.ok(200);

    let attendee = server.login("user1.list@example.org", "password123").await;
    get(&server, "/users", Some(&attendee))
        .await
        .problem(403, "forbidden");
    let organizer = server
        .user_with_role("org.list@example.org", "organizer")
        .await;
    get(&server, "/users", Some(&organizer))
        .await
        .problem(403, "forbidden");
    get(&server, "/users", None)
        .await
        .problem(401, "unauthorized");
}

crate::on_both_stores!(
    admins_change_roles_and_deactivate,
    super::admins_change_accounts_body
);
async fn admins_change_accounts_body(server: TestServer) {
    let admin = server
        .user_with_role("ari.admin@example.org", "admin")
        .await;
    let admin_id = text(me(&server, &admin).await.ok(200), "id");
    let email = "tom.managed@example.org";
    let (token, user) = server.attendee(email).await;
    let id = text(&user, "id");
    let session = tokens(&server, email, "password123").await;

    // Attendees cannot create events...
    let event = event_body("Promoted Gig", json!({}));
    api(
        &server,
        "POST",
        "/events",
        Some(&token),
        Some(event.clone()),
    )
    .await
    .problem(403, "forbidden");
    // ...until an admin makes them an organizer, which takes effect at once.
    let promoted = patch_user(&server, &admin, &id, json!({"role": "organizer"})).await;
    let promoted = promoted.ok(200);
    assert_user(promoted, "Test User", email, "organizer", true);
    assert_eq!(promoted["id"], user["id"]);
    api(&server, "POST", "/events", Some(&token), Some(event))
        .await
        .ok(201);

    // Deactivation: the access token, the refresh token and the password stop working.
    let deactivated = patch_user(&server, &admin, &id, json!({"active": false})).await;
    assert_user(deactivated.ok(200), "Test User", email, "organizer", false);
    me(&server, &token).await.problem(401, "unauthorized");
    refresh(&server, &text(&session, "refresh_token"))
        .await
        .problem(401, "invalid_token");
    login(&server, email, "password123")
        .await
        .problem(401, "invalid_credentials");

    // Reactivated, with both fields at once.
    let back = patch_user(
        &server,
        &admin,
        &id,
        json!({"role": "attendee", "active": true}),
    )
    .await;
    assert_user(back.ok(200), "Test User", email, "attendee", true);
    let fresh = tokens(&server, email, "password123").await;
    assert_eq!(
        me(&server, &text(&fresh, "access_token")).await.ok(200)["role"],
        "attendee"
    );

    // The listing shows the change.
    let reply = get(&server, "/users", Some(&admin)).await;
    let listed = reply.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["id"] == user["id"])
        .cloned()
        .expect("user listed");
    assert_user(&listed, "Test User", email, "attendee", true);

    // Errors.
    let unknown = uuid::Uuid::now_v7().to_string();
    patch_user(&server, &admin, &unknown, json!({"active": false}))
        .await
        .problem(404, "not_found");
    patch_user(&server, &admin, "not-a-uuid", json!({"active": false}))
        .await
        .problem(404, "not_found");
    patch_user(&server, &admin, &id, json!({"role": "superuser"}))
        .await
        .problem(422, "validation_failed");
    let attendee = text(&fresh, "access_token");
    patch_user(&server, &attendee, &admin_id, json!({"active": false}))
        .await
        .problem(403, "forbidden");
    patch_user(&server, &attendee, &id, json!({"role": "admin"}))
        .await
        .problem(403, "forbidden");
    assert_eq!(me(&server, &attendee).await.ok(200)["role"], "attendee");
    patch_user(&server, "", &id, json!({"role": "admin"}))
        .await
        .problem(401, "unauthorized");
    // The admin is still active after the attendee's attempt.
    me(&server, &admin).await.ok(200);
}

crate::on_both_stores!(
    the_last_admin_cannot_lock_everyone_out,
    super::last_admin_body
);
/// The only active admin can neither deactivate nor demote itself (409 `last_admin`,
/// nothing changes); once a second admin exists, it can.
async fn last_admin_body(server: TestServer) {
    let ada = server
        .user_with_role("only.admin@example.org", "admin")
        .await;
    let ada_id = text(me(&server, &ada).await.ok(200), "id");
    let own = format!("/users/{ada_id}");
    for body in [json!({"active": false}), json!({"role": "organizer"})] {
        let reply = api(&server, "PATCH", &own, Some(&ada), Some(body.clone())).await;
        reply.problem(409, "last_admin");
    }
    api(&server, "DELETE", "/users/me", Some(&ada), None)
        .await
        .problem(409, "last_admin");
    let still = me(&server, &ada).await;
    assert_eq!(
        (&still.ok(200)["role"], &still.ok(200)["active"]),
        (&json!("admin"), &json!(true))
    );

    let bea = server
        .user_with_role("second.admin@example.org", "admin")
        .await;
    me(&server, &bea).await.ok(200);
    let demoted = api(
        &server,
        "PATCH",
        &own,
        Some(&ada),
        Some(json!({"role": "organizer"})),
    )
    .await;
    assert_eq!(demoted.ok(200)["role"], json!("organizer"));
    api(&server, "DELETE", "/users/me", Some(&bea), None)
        .await
        .problem(409, "last_admin");
}

crate::on_both_stores!(
    the_cli_reads_passwords_from_stdin,
    super::cli_password_stdin_body
);
async fn cli_password_stdin_body(server: TestServer) {
    let create = |email: &'static str| {
        [
            "user",
            "create",
            "--email",
            email,
            "--name",
            "Stdin",
            "--role",
            "organizer",
        ]
    };
    let mut args = create("stdin.cli@example.org").to_vec();
    args.push("--password-stdin");
    let made = server.run_cli(&args, Some("a passphrase from stdin\n"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = server
        .login("stdin.cli@example.org", "a passphrase from stdin")
        .await;
    let me = crate::support::me(&server, &token).await;
    assert_eq!(me.ok(200)["role"], "organizer");

    // Without a password and without a terminal, it says how to give one.
    let refused = server.run_cli(&create("nopass.cli@example.org"), None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--password-stdin"), "{stderr}");
    // Both ways at once is a usage error.
    let mut both = create("both.cli@example.org").to_vec();
    both.extend(["--password", "password123", "--password-stdin"]);
    assert!(!server.run_cli(&both, Some("x\n")).status.success());
}

crate::on_both_stores!(
    security_actions_land_in_the_audit_log,
    super::audit_log_body
);
async fn audit_log_body(server: TestServer) {
    let admin = server
        .user_with_role("ada.audit@example.org", "admin")
        .await;
    let (organizer_token, _) = crate::support::organizer(&server, "otto.audit@example.org").await;
    let (token, user) = server.attendee("uma.audit@example.org").await;
    let user_id = crate::support::text(&user, "id");

    // A refused login, with the request id the client chose.
    let refused = crate::support::send(
        server
            .client
            .post(server.url("/api/v1/auth/login"))
            .header("X-Request-Id", "audit-req-1")
            .json(&json!({"email": "uma.audit@example.org", "password": "not the password"})),
    )
    .await;
    refused.problem(401, "invalid_credentials");
    let change = json!({"current_password": "password123", "new_password": "password456"});
    api(
        &server,
        "PUT",
        "/users/me/password",
        Some(&token),
        Some(change),
    )
    .await
    .empty(204);
    let deactivate = json!({"active": false});
    api(
        &server,
        "PATCH",
        &format!("/users/{user_id}"),
        Some(&admin),
        Some(deactivate),
    )
    .await
    .ok(200);
    let event = crate::support::create_event(
        &server,
        &organizer_token,
        crate::support::event_body("Audited", json!({})),
    )
    .await;
    let event_id = crate::support::text(&event, "id");
    api(
        &server,
        "DELETE",
        &format!("/events/{event_id}"),
        Some(&organizer_token),
        None,
    )
    .await
    .empty(204);

    let read = |query: String| {
        let (server, admin) = (&server, admin.clone());
        async move {
            let reply = api(server, "GET", &format!("/audit{query}"), Some(&admin), None).await;
            reply.ok(200)["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    let of_user = read(format!("?user_id={user_id}")).await;
    let actions: Vec<&str> = of_user
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "account_deactivated",
            "password_changed",
            "login_failed",
            "login_succeeded"
        ],
        "newest first: {of_user:?}"
    );
    let failed = &of_user[2];
    assert_eq!(failed["request_id"], "audit-req-1");
    assert_eq!(failed["actor_id"], Value::Null);
    let deactivated = &of_user[0];
    assert_ne!(deactivated["actor_id"], json!(user_id), "done by the admin");
    let cancelled = read("?action=event_cancelled".to_owned()).await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["event_id"], json!(event_id));

    // Admins only; a bad filter names itself.
    let (attendee, _) = server.attendee("ivo.audit@example.org").await;
    api(&server, "GET", "/audit", Some(&attendee), None)
        .await
        .problem(403, "forbidden");
    let reply = api(
        &server,
        "GET",
        "/audit?action=logged_in",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(reply.invalid_fields(), ["action"]);
}
