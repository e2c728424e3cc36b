//! Diesel's view of `migrations/postgres`: keep it in step with the SQL by hand.

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        at -> Timestamptz,
        action -> Text,
        actor_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        event_id -> Nullable<Uuid>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        version -> Int8,
        tokens_valid_from -> Nullable<Timestamptz>,
        email_key -> Text,
        erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Uuid,
        user_id -> Uuid,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    password_reset_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        organizer_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        venue -> Text,
        starts_at -> Timestamptz,
        ends_at -> Nullable<Timestamptz>,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        currency -> Text,
        capacity -> Int4,
        max_tickets_per_user -> Nullable<Int4>,
        sales_open_at -> Nullable<Timestamptz>,
        sales_close_at -> Nullable<Timestamptz>,
        status -> Text,
        sold -> Int4,
        held -> Int4,
        waitlist_count -> Int4,
        created_at -> Timestamptz,
        cancelled_at -> Nullable<Timestamptz>,
        cancelled_seats -> Int4,
        version -> Int8,
        outbox_seq -> Int8,
    }
}

diesel::table! {
    ticket_types (id) {
        id -> Uuid,
        event_id -> Uuid,
        position -> Int4,
        name -> Text,
        price_cents -> Int8,
        quantity -> Nullable<Int4>,
        sold -> Int4,
        held -> Int4,
        retired -> Bool,
    }
}

diesel::table! {
    holds (id) {
        id -> Uuid,
        event_id -> Uuid,
        ticket_type_id -> Uuid,
        user_id -> Uuid,
        quantity -> Int4,
        status -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        price_cents -> Int8,
    }
}

diesel::table! {
    bookings (id) {
        id -> Uuid,
        event_id -> Uuid,
        ticket_type_id -> Uuid,
        user_id -> Uuid,
        quantity -> Int4,
        tickets_issued -> Nullable<Int4>,
        status -> Text,
        source -> Text,
        hold_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        cancelled_at -> Nullable<Timestamptz>,
        price_cents -> Int8,
    }
}

diesel::table! {
    waitlist_entries (id) {
        id -> Uuid,
        seq -> Int8,
        event_id -> Uuid,
        ticket_type_id -> Uuid,
        user_id -> Uuid,
        quantity -> Int4,
        status -> Text,
        booking_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        closed_reason -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        request_hash -> Text,
        booking_id -> Nullable<Uuid>,
        waitlist_entry_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        hold_id -> Nullable<Uuid>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(events -> users (organizer_id));
diesel::joinable!(ticket_types -> events (event_id));

diesel::table! {
    check_ins (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        event_id -> Uuid,
        booking_id -> Uuid,
        ticket_type_id -> Uuid,
        number -> Integer,
        scanner_kind -> Text,
        scanner_id -> Uuid,
        scanned_at -> Timestamptz,
        recorded_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        owner_id -> Uuid,
        name -> Text,
        token_hash -> Text,
        scopes -> Text,
        event_ids -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    ticket_voids (booking_id, number) {
        booking_id -> Uuid,
        number -> Integer,
        voided_at -> Timestamptz,
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
    idempotency_keys,
);
