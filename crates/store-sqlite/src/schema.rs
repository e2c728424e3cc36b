//! Diesel's view of migrations/sqlite. Ids are UUID text, instants INTEGER microseconds.
#![allow(missing_docs)]

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> BigInt,
        action -> Text,
        actor_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        event_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> BigInt,
        version -> BigInt,
        tokens_valid_from -> Nullable<BigInt>,
        email_key -> Text,
        erased_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        user_id -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    password_reset_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        organizer_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        venue -> Text,
        starts_at -> BigInt,
        ends_at -> Nullable<BigInt>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        currency -> Text,
        capacity -> Integer,
        max_tickets_per_user -> Nullable<Integer>,
        sales_open_at -> Nullable<BigInt>,
        sales_close_at -> Nullable<BigInt>,
        status -> Text,
        sold -> Integer,
        held -> Integer,
        waitlist_count -> Integer,
        created_at -> BigInt,
        cancelled_at -> Nullable<BigInt>,
        cancelled_seats -> Integer,
        version -> BigInt,
        outbox_seq -> BigInt,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        event_id -> Text,
        seq -> BigInt,
        #[sql_name = "type"]
        kind -> Text,
        at -> BigInt,
        payload -> Text,
    }
}

diesel::table! {
    ticket_types (id) {
        id -> Text,
        event_id -> Text,
        position -> Integer,
        name -> Text,
        price_cents -> BigInt,
        quantity -> Nullable<Integer>,
        sold -> Integer,
        held -> Integer,
        retired -> Bool,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        event_id -> Text,
        ticket_type_id -> Text,
        user_id -> Text,
        quantity -> Integer,
        status -> Text,
        expires_at -> BigInt,
        created_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        price_cents -> BigInt,
    }
}

diesel::table! {
    bookings (id) {
        id -> Text,
        event_id -> Text,
        ticket_type_id -> Text,
        user_id -> Text,
        quantity -> Integer,
        tickets_issued -> Nullable<Integer>,
        status -> Text,
        source -> Text,
        hold_id -> Nullable<Text>,
        created_at -> BigInt,
        cancelled_at -> Nullable<BigInt>,
        price_cents -> BigInt,
    }
}

diesel::table! {
    waitlist_entries (id) {
        id -> Text,
        seq -> BigInt,
        event_id -> Text,
        ticket_type_id -> Text,
        user_id -> Text,
        quantity -> Integer,
        status -> Text,
        booking_id -> Nullable<Text>,
        created_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        closed_reason -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        request_hash -> Text,
        booking_id -> Nullable<Text>,
        waitlist_entry_id -> Nullable<Text>,
        created_at -> BigInt,
        hold_id -> Nullable<Text>,
    }
}

diesel::joinable!(ticket_types -> events (event_id));
diesel::joinable!(holds -> events (event_id));
diesel::joinable!(bookings -> events (event_id));
diesel::joinable!(waitlist_entries -> events (event_id));
diesel::table! {
    check_ins (id) {
        id -> Text,
        ticket_id -> Text,
        event_id -> Text,
        booking_id -> Text,
        ticket_type_id -> Text,
        number -> Integer,
        scanner_kind -> Text,
        scanner_id -> Text,
        scanned_at -> BigInt,
        recorded_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        owner_id -> Text,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        event_ids -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    ticket_voids (booking_id, number) {
        booking_id -> Text,
        number -> Integer,
        voided_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_log,
    check_ins,
    ticket_voids,
    users,
    refresh_tokens,
    password_reset_tokens,
    events,
    ticket_types,
    holds,
    bookings,
    waitlist_entries,
    idempotency_keys
);
