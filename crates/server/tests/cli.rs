//! The binary's command line: help lists every setting, bad configuration fails with one
//! clear line and never a panic.
#![allow(clippy::expect_used)] // test code: failing loudly is the point

use std::process::Command;

fn boxoffice() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    command.env_clear().env("RUST_LOG", "warn");
    command
}

#[test]
fn serve_help_lists_every_environment_variable() {
    let output = boxoffice()
        .args(["serve", "--help"])
        .output()
        .expect("run boxoffice");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for var in [
        "BOXOFFICE_ADDR",
        "DATABASE_URL",
        "DATABASE_MAX_CONNECTIONS",
        "REDIS_URL",
        "JWT_SECRET",
        "TICKET_SIGNING_KEYS",
        "ACCESS_TOKEN_TTL_SECS",
        "REFRESH_TOKEN_TTL_SECS",
        "BCRYPT_COST",
        "HOLD_TTL_SECS",
        "REDIS_KEY_PREFIX",
        "RATE_LIMIT_AUTH_PER_MINUTE",
        "RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR",
        "RATE_LIMIT_WRITES_PER_MINUTE",
        "TRUSTED_PROXY_HOPS",
        "SHUTDOWN_TIMEOUT_SECS",
        "LOG_FORMAT",
        "RUST_LOG",
    ] {
        assert!(
            help.contains(var),
            "`serve --help` does not mention {var}:\n{help}"
        );
    }
}

fn fails_cleanly(env: &[(&str, &str)], expected: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = boxoffice();
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("BOXOFFICE_ADDR", "127.0.0.1:0");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run boxoffice");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail: {env:?}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in: {stderr}"
    );
}

#[test]
fn bad_configuration_fails_with_a_clear_message() {
    fails_cleanly(
        &[("DATABASE_URL", "mysql://x")],
        "DATABASE_URL must start with sqlite:// or postgres://",
    );
    fails_cleanly(&[("BCRYPT_COST", "99")], "BCRYPT_COST");
    fails_cleanly(
        &[("SHUTDOWN_TIMEOUT_SECS", "3601")],
        "SHUTDOWN_TIMEOUT_SECS",
    );
    fails_cleanly(&[("BOXOFFICE_ADDR", "nowhere")], "BOXOFFICE_ADDR");
    fails_cleanly(&[("LOG_FORMAT", "xml")], "LOG_FORMAT");
    fails_cleanly(
        &[("RATE_LIMIT_WRITES_PER_MINUTE", "-1")],
        "RATE_LIMIT_WRITES_PER_MINUTE",
    );
    fails_cleanly(&[("TRUSTED_PROXY_HOPS", "11")], "TRUSTED_PROXY_HOPS");
    fails_cleanly(&[("REDIS_URL", "http://x")], "REDIS_URL");
    fails_cleanly(
        &[("JWT_SECRET", "short")],
        "JWT_SECRET must be at least 32 bytes",
    );
    fails_cleanly(
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
        "JWT_SECRET is required",
    );
    fails_cleanly(
        &[
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
            ("JWT_SECRET", "a-secret-of-at-least-32-bytes-0123456789"),
        ],
        "TICKET_SIGNING_KEYS is required",
    );
    fails_cleanly(
        &[("TICKET_SIGNING_KEYS", "not-a-key")],
        "TICKET_SIGNING_KEYS holds base64 Ed25519 seeds",
    );
}

#[test]
fn ticket_key_prints_a_new_seed_each_time() {
    let run = || {
        let output = boxoffice()
            .arg("ticket-key")
            .output()
            .expect("run boxoffice");
        assert!(output.status.success());
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    };
    let (first, second) = (run(), run());
    assert_eq!(first.len(), 43, "32 bytes in unpadded base64url: {first}");
    assert_ne!(first, second);
}

#[test]
fn user_create_refuses_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = boxoffice()
        .current_dir(dir.path())
        .args([
            "user",
            "create",
            "--email",
            "not-an-email",
            "--password",
            "password123",
            "--name",
            "A",
        ])
        .output()
        .expect("run boxoffice");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--email must be a valid email address")
    );
}
