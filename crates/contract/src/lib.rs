//! The port contract suite: one generic test per property of a port, run by every
//! adapter against a real, fresh store. An adapter crate instantiates the whole suite
//! with [`port_contract!`].
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // test code: failing loudly is the point

use boxoffice_domain::ports::{EventRepository, TokenStore, UserRepository};
use std::sync::Arc;

pub mod events;
pub mod fixtures;
pub mod tokens;
pub mod users;

/// The ports of one store, all over the same fresh, empty database.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub tokens: Arc<dyn TokenStore>,
    pub events: Arc<dyn EventRepository>,
}

/// Instantiates every contract test as a `#[tokio::test]`.
///
/// `$setup` is an async fn returning `Option<(Stores, G)>`: `None` skips the test (the
/// fixture decides; it must panic instead when `CI=true`), and `G` is a guard dropped
/// when the test ends (for example one that drops a temporary database).
#[macro_export]
macro_rules! port_contract {
    ($setup:path) => {
        $crate::port_contract!(@tests $setup;
            users::create_then_find,
            users::email_unique_ignoring_case,
            users::concurrent_registrations_of_one_email_create_one_account,
            users::credentials_by_email_ignores_case,
            users::update_profile_changes_only_given_fields,
            users::update_profile_refuses_taken_email,
            users::update_unknown_user_is_not_found,
            users::set_password_replaces_hash,
            users::update_account_changes_role_and_active,
            users::list_pages_through_everyone_in_order,
            tokens::rotation_issues_a_working_successor,
            tokens::reuse_of_rotated_token_revokes_family,
            tokens::expired_and_unknown_tokens_are_invalid,
            tokens::concurrent_rotations_of_one_token_succeed_once,
            tokens::revoke_family_ends_one_session_only,
            tokens::revoke_all_ends_every_session_of_a_user,
            tokens::reset_tokens_are_single_use_and_expire,
            tokens::consuming_a_reset_token_uses_up_its_siblings,
            tokens::concurrent_reset_consumption_succeeds_once,
            events::create_then_find_with_ticket_types,
            events::find_unknown_is_none,
            events::list_orders_by_start_then_id_and_pages,
            events::list_filters_by_from_and_text,
            events::list_text_treats_wildcards_literally,
            events::list_skips_cancelled,
            events::update_details_replaces_fields,
            events::update_refuses_unknown_and_cancelled,
            events::cancel_is_idempotent,
        );
    };
    (@tests $setup:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let Some((stores, _guard)) = $setup().await else { return };
                $crate::$module::$test(stores).await;
            }
        )*
    };
}
