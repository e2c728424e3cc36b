//! The port contract suite: one generic test per property of a port, run by every
//! adapter against a real, fresh store. An adapter crate instantiates the whole suite
//! with [`port_contract!`].
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // test code: failing loudly is the point

use boxoffice_domain::ports::{
    Analytics, ApiTokens, AuditLog, Bookings, CheckIns, EventRepository, KeyedSeats, Outbox,
    Reservations, TokenStore, UserRepository, VersionBoard, Waitlists,
};
use std::sync::Arc;

pub mod analytics;
pub mod audit;
pub mod bookings;
pub mod engine;
pub mod events;
pub mod fixtures;
pub mod holds;
pub mod invariants;
pub mod keyed;
pub mod outbox;
pub mod rate_limit;
pub mod ticket_types;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod versions;
pub mod waitlist;

/// The ports of one store, all over the same fresh, empty database.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub tokens: Arc<dyn TokenStore>,
    pub events: Arc<dyn EventRepository>,
    pub audit: Arc<dyn AuditLog>,
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
            users::email_unique_ignoring_unicode_case,
            users::concurrent_registrations_of_one_email_create_one_account,
            users::credentials_by_email_ignores_case,
            users::update_profile_changes_only_given_fields,
            users::update_profile_refuses_taken_email,
            users::update_unknown_user_is_not_found,
            users::set_password_replaces_hash,
            users::update_account_changes_role_and_active,
            users::the_only_active_admin_stays_one,
            users::concurrent_changes_never_remove_the_last_admin,
            users::erase_leaves_a_tombstone_once,
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
            audit::entries_filter_and_page_newest_first,
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

/// The ports of the booking engine of one store, all over the same fresh, empty database.
#[derive(Clone)]
pub struct EngineStores {
    pub users: Arc<dyn UserRepository>,
    pub events: Arc<dyn EventRepository>,
    pub reservations: Arc<dyn Reservations>,
    pub bookings: Arc<dyn Bookings>,
    pub waitlists: Arc<dyn Waitlists>,
    pub keyed: Arc<dyn KeyedSeats>,
    pub analytics: Arc<dyn Analytics>,
    pub check_ins: Arc<dyn CheckIns>,
    pub api_tokens: Arc<dyn ApiTokens>,
    pub outbox: Arc<dyn Outbox>,
    /// The board the stores publish event versions to.
    pub versions: Arc<dyn VersionBoard>,
}

/// Instantiates every booking-engine contract test as a `#[tokio::test]`.
///
/// `$setup` is an async fn returning `Option<(EngineStores, G)>`, with the same meaning
/// as for [`port_contract!`]. Test names do not clash with those of `port_contract!`, so
/// both macros may be used in one file.
#[macro_export]
macro_rules! engine_contract {
    ($setup:path) => {
        $crate::engine_contract!(@tests $setup;
            holds::hold_then_find,
            holds::hold_refuses_unknown_and_oversized_requests,
            holds::confirm_turns_hold_into_booking,
            holds::release_returns_seats_at_once,
            holds::expired_hold_stops_counting_and_sweep_promotes,
            holds::expire_holds_takes_oldest_first_up_to_limit,
            holds::confirm_at_or_after_expiry_is_expired_and_never_booked,
            holds::confirm_racing_expire_holds_ends_each_hold_once,
            holds::concurrent_holds_never_exceed_capacity,
            holds::concurrent_sweepers_expire_each_hold_once,
            holds::a_failed_batch_stores_none_of_its_requests,
            bookings::direct_booking_is_confirmed_and_found,
            bookings::book_refuses_unknown_event_and_type,
            bookings::type_quota_and_event_capacity_both_limit_bookings,
            bookings::requests_beyond_a_type_size_are_refused,
            bookings::allow_partial_books_what_is_left,
            bookings::sold_out_fails_or_waitlists,
            bookings::already_waitlisted_books_nothing,
            bookings::sales_window_and_cancelled_event_refuse,
            bookings::purchase_limit_counts_bookings_holds_and_waiting,
            bookings::idempotent_repeat_returns_first_outcome,
            bookings::idempotency_key_with_other_request_is_refused,
            bookings::failed_request_stores_no_idempotency_key,
            bookings::concurrent_repeats_of_one_key_book_once,
            bookings::concurrent_requests_with_one_key_and_two_bodies_book_once,
            tickets::concurrent_scans_of_one_ticket_check_in_once,
            tickets::tickets_follow_cancellations,
            tickets::named_voids_void_those_tickets,
            tickets::offline_scans_undo_counts_and_pages,
            tickets::scans_of_unknown_bookings_are_not_found,
            tickets::api_tokens_are_found_by_hash_and_revoked_once,
            keyed::keyed_holds_hold_once,
            keyed::racing_keyed_cancellations_cancel_once,
            keyed::keyed_joins_and_confirmations_run_once,
            bookings::cancel_part_then_all,
            bookings::cancel_refuses_unknown_too_many_and_cancelled,
            bookings::user_bookings_newest_first_filtered_and_paged,
            bookings::capacity_cannot_drop_below_sold_and_held,
            waitlist::join_refused_while_seats_are_free,
            waitlist::join_refuses_unknown_and_closed_events,
            versions::every_change_raises_and_publishes_the_version,
            versions::snapshot_tells_when_the_next_hold_ends,
            versions::every_account_change_raises_and_publishes_the_version,
            versions::listing_snapshots_follow_the_catalog,
            waitlist::promotion_is_strict_fifo,
            waitlist::cancellation_promotes,
            waitlist::hold_release_promotes,
            waitlist::hold_expiry_promotes_before_anyone_new,
            waitlist::raised_capacity_promotes,
            waitlist::lowered_capacity_closes_entries_it_cannot_serve,
            waitlist::blocking_head_leaving_promotes,
            waitlist::leave_rules,
            waitlist::event_queue_positions_follow_join_order,
            waitlist::user_entries_newest_first,
            waitlist::event_cancel_cascades,
            analytics::event_stats_per_event_and_organizer,
            invariants::flash_sale_sells_exactly_capacity,
            invariants::concurrent_cancellations_promote_first_waiting,
            invariants::mixed_workload_keeps_invariants,
            ticket_types::added_types_sell_and_keep_names_unique,
            ticket_types::a_new_price_applies_to_what_is_taken_afterwards,
            ticket_types::quantity_changes_promote_refuse_and_close,
            ticket_types::retired_types_stop_selling_and_close_their_queue,
            ticket_types::bookings_racing_type_changes_never_oversell,
            outbox::a_scripted_sequence_writes_its_messages_in_order,
            outbox::concurrent_requests_number_messages_without_gaps,
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
