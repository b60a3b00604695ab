//! Diesel's view of the tables in `migrations/`. Written by hand: one definition serves both
//! backends, so only types that both map the same way are used (Text, BigInt, Integer, Bool,
//! Timestamp).

diesel::table! {
    regions (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        level -> Text,
        code -> Text,
        name -> Text,
        path -> Text,
        dibao_fen -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        seq -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        region_id -> Text,
        phone -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        platform -> Text,
        app_version -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        device_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_why -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        subject -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    access_grants (id) {
        id -> Text,
        user_id -> Text,
        region_id -> Text,
        reason -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        device_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        region_path -> Text,
        changes -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    sync_counter (id) {
        id -> Integer,
        seq -> BigInt,
    }
}

diesel::table! {
    sync_records (entity, id) {
        entity -> Text,
        id -> Text,
        region_id -> Text,
        region_path -> Text,
        data -> Text,
        stamps -> Text,
        version -> BigInt,
        deleted -> Bool,
        seq -> BigInt,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sync_mutations (device_id, mutation_id) {
        device_id -> Text,
        mutation_id -> Text,
        user_id -> Text,
        entity -> Text,
        record_id -> Text,
        request_hash -> Text,
        status -> Text,
        result -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    sync_conflicts (id) {
        id -> Text,
        entity -> Text,
        record_id -> Text,
        field -> Text,
        region_path -> Text,
        kept -> Text,
        lost -> Text,
        kept_hlc -> Nullable<Text>,
        lost_hlc -> Text,
        lost_device_id -> Nullable<Text>,
        lost_user_id -> Nullable<Text>,
        mutation_id -> Nullable<Text>,
        state -> Text,
        resolution -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        kind -> Text,
        media_type -> Text,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        exif -> Nullable<Text>,
        derivatives -> Text,
        stripped -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    blob_holders (sha256, user_id) {
        sha256 -> Text,
        user_id -> Text,
        first_at -> Timestamp,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        user_id -> Text,
        device_id -> Nullable<Text>,
        region_path -> Text,
        sha256 -> Text,
        size -> BigInt,
        kind -> Text,
        file_name -> Nullable<Text>,
        received -> BigInt,
        state -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(users -> regions (region_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(access_grants -> regions (region_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    users,
    devices,
    sessions,
    refresh_tokens,
    login_failures,
    access_grants,
    idempotency_keys,
    audit_log,
    sync_counter,
    sync_records,
    sync_mutations,
    sync_conflicts,
    blobs,
    blob_holders,
    uploads,
);
