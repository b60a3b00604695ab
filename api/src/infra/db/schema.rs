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
        username_key -> Text,
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
        kind -> Text,
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
    applicant_sessions (id) {
        id -> Text,
        applicant_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_why -> Nullable<Text>,
    }
}

diesel::table! {
    applicant_refresh_tokens (token_hash) {
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
        subject -> Text,
        subject_id -> Text,
        region_path -> Text,
        reason -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_verdict -> Nullable<Text>,
        review_note -> Nullable<Text>,
    }
}

diesel::table! {
    registration_referrals (id) {
        id -> Text,
        member_id -> Text,
        household_id -> Text,
        household_path -> Text,
        attempted_region_id -> Text,
        attempted_path -> Text,
        office_path -> Text,
        attempted_by -> Text,
        name -> Text,
        id_masked -> Text,
        status -> Text,
        note -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    device_scope_seen (device_id, ended_at) {
        device_id -> Text,
        ended_at -> Timestamp,
        seen_at -> Timestamp,
    }
}

diesel::table! {
    sealed_fields (entity, record_id, field) {
        entity -> Text,
        record_id -> Text,
        field -> Text,
        sealed -> Text,
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
        purged_through -> BigInt,
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
        reach_path -> Text,
    }
}

diesel::table! {
    households (id) {
        id -> Text,
        region_id -> Text,
        path -> Text,
        address -> Text,
        phone -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        seq -> BigInt,
        lat -> Nullable<Double>,
        lng -> Nullable<Double>,
    }
}

diesel::table! {
    household_members (id) {
        id -> Text,
        household_id -> Text,
        name -> Text,
        relation -> Text,
        id_hash -> Text,
        id_sealed -> Text,
        id_masked -> Text,
        birth_date -> Text,
        gender -> Text,
        phone -> Nullable<Text>,
        position -> Integer,
    }
}

diesel::table! {
    household_items (id) {
        id -> Text,
        household_id -> Text,
        kind -> Text,
        category -> Text,
        amount_fen -> BigInt,
        year -> Integer,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    household_helpers (household_id, user_id) {
        household_id -> Text,
        user_id -> Text,
        assigned_at -> Timestamp,
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
    programs (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        description -> Text,
        category -> Text,
        aid_kinds -> Text,
        checklist -> Text,
        situations -> Text,
        notice_workdays -> Integer,
        fast_track -> Bool,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    applicants (id) {
        id -> Text,
        wechat_openid -> Nullable<Text>,
        display_name -> Nullable<Text>,
        created_at -> Timestamp,
        last_login_at -> Timestamp,
        wechat_unionid -> Nullable<Text>,
        app_openid -> Nullable<Text>,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        applicant_id -> Text,
        program_id -> Text,
        region_id -> Text,
        region_path -> Text,
        status -> Text,
        open_key -> Nullable<Text>,
        revision -> Integer,
        previous_id -> Nullable<Text>,
        form -> Text,
        materials -> Text,
        deficiencies -> Text,
        decision_reason -> Nullable<Text>,
        step_due_on -> Nullable<Text>,
        notice_ends_on -> Nullable<Text>,
        correction_due_on -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    case_files (id) {
        id -> Text,
        application_id -> Text,
        program_id -> Text,
        household_id -> Text,
        region_path -> Text,
        category -> Text,
        status -> Text,
        opened_on -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        exit_notice_ends_on -> Nullable<Text>,
        exited_on -> Nullable<Text>,
        reopened_on -> Nullable<Text>,
    }
}

diesel::table! {
    income_records (file_id, month) {
        file_id -> Text,
        month -> Text,
        per_capita_fen -> BigInt,
        recorded_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_file_members (file_id, id_hash) {
        file_id -> Text,
        id_hash -> Text,
        active_key -> Nullable<Text>,
    }
}

diesel::table! {
    disbursements (id) {
        id -> Text,
        file_id -> Text,
        kind -> Text,
        year -> Integer,
        period -> Text,
        amount_fen -> BigInt,
        approval -> Text,
        note -> Nullable<Text>,
        region_path -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        due_on -> Nullable<Text>,
        on_time -> Bool,
    }
}

diesel::table! {
    aid_totals (file_id, kind, year) {
        file_id -> Text,
        kind -> Text,
        year -> Integer,
        total_fen -> BigInt,
        cap_fen -> BigInt,
    }
}

diesel::table! {
    duplicate_candidates (id) {
        id -> Text,
        member_a -> Text,
        member_b -> Text,
        household_a -> Text,
        household_b -> Text,
        path_a -> Text,
        path_b -> Text,
        reasons -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sync_device_status (device_id) {
        device_id -> Text,
        user_id -> Text,
        region_path -> Text,
        protocol_version -> Integer,
        app_version -> Nullable<Text>,
        last_push_at -> Nullable<Timestamp>,
        last_pull_at -> Nullable<Timestamp>,
        pending_reported -> Nullable<BigInt>,
        pushed_total -> BigInt,
        rejected_total -> BigInt,
    }
}

diesel::table! {
    sync_quarantine (device_id, mutation_id) {
        device_id -> Text,
        mutation_id -> Text,
        user_id -> Text,
        entity -> Text,
        record_id -> Text,
        region_path -> Text,
        payload -> Text,
        problem -> Text,
        state -> Text,
        note -> Nullable<Text>,
        settled_by -> Nullable<Text>,
        settled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    calendar_years (year) {
        year -> Integer,
        schedule -> Text,
        updated_at -> Timestamp,
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
        dhash -> Nullable<BigInt>,
        medium_is_original -> Bool,
        thumb_is_original -> Bool,
    }
}

diesel::table! {
    blob_hash_bands (band, value, sha256) {
        band -> Integer,
        value -> Integer,
        sha256 -> Text,
    }
}

diesel::table! {
    photo_evidence (id) {
        id -> Text,
        sha256 -> Text,
        region_id -> Text,
        region_path -> Text,
        reach_path -> Text,
        created_by -> Nullable<Text>,
        subject_entity -> Text,
        subject_id -> Text,
        household_id -> Nullable<Text>,
        taken_at -> Nullable<Timestamp>,
        lat -> Nullable<Double>,
        lng -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
        capture_device -> Nullable<Text>,
        review_status -> Text,
        review_reason -> Nullable<Text>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        flags -> Text,
        flag_count -> Integer,
        checked -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
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

diesel::table! {
    upload_parts (upload_id, start_at) {
        upload_id -> Text,
        start_at -> BigInt,
        end_at -> BigInt,
        object -> Text,
    }
}

diesel::table! {
    field_facts (entity, id) {
        entity -> Text,
        id -> Text,
        region_path -> Text,
        reach_path -> Text,
        subject_id -> Text,
        actor_id -> Text,
        occurred_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        state -> Text,
        deleted -> Bool,
    }
}

diesel::table! {
    field_work_progress (id) {
        id -> Integer,
        projected_through -> BigInt,
        refreshed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    moved_subjects (id) {
        id -> Text,
        subject -> Text,
        subject_id -> Text,
        moved_at -> Timestamp,
    }
}

diesel::table! {
    deadlines (id) {
        id -> Text,
        key -> Text,
        source -> Text,
        kind -> Text,
        subject_entity -> Text,
        subject_id -> Text,
        region_path -> Text,
        owner_user_id -> Nullable<Text>,
        owner_region_path -> Text,
        starts_at -> Timestamp,
        due_at -> Timestamp,
        term -> Text,
        met_at -> Nullable<Timestamp>,
        cancelled -> Bool,
        params -> Text,
        version -> BigInt,
        seq -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    campaigns (id) {
        id -> Text,
        region_id -> Text,
        region_path -> Text,
        kind -> Text,
        name -> Text,
        starts_on -> Text,
        term_starts_on -> Nullable<Text>,
        phases -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    case_number_series (county_code, year, series) {
        county_code -> Text,
        year -> Integer,
        series -> Text,
        next_serial -> BigInt,
    }
}

diesel::table! {
    case_number_blocks (id) {
        id -> Text,
        county_code -> Text,
        year -> Integer,
        series -> Text,
        first_serial -> BigInt,
        last_serial -> BigInt,
        device_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_numbers (case_no) {
        case_no -> Text,
        entity -> Text,
        record_id -> Text,
        block_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> regions (region_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(sync_device_status -> devices (device_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(applicant_refresh_tokens -> applicant_sessions (session_id));
diesel::joinable!(applicant_sessions -> applicants (applicant_id));
diesel::joinable!(access_grants -> users (user_id));
diesel::joinable!(households -> regions (region_id));
diesel::joinable!(household_members -> households (household_id));
diesel::joinable!(household_items -> households (household_id));
diesel::joinable!(household_helpers -> households (household_id));
diesel::joinable!(household_helpers -> users (user_id));
diesel::joinable!(applications -> programs (program_id));
diesel::joinable!(applications -> applicants (applicant_id));
diesel::joinable!(case_file_members -> case_files (file_id));

diesel::table! {
    sync_scope_history (user_id, path, started_at) {
        user_id -> Text,
        path -> Text,
        kind -> Text,
        started_at -> Timestamp,
        ended_at -> Timestamp,
    }
}

diesel::table! {
    sync_reach_changes (seq) {
        seq -> BigInt,
        user_id -> Nullable<Text>,
        entity -> Text,
        id -> Text,
        arrived -> Bool,
        region_path -> Text,
        reach_path -> Text,
        at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    upload_parts,
    regions,
    users,
    devices,
    sessions,
    refresh_tokens,
    applicant_sessions,
    applicant_refresh_tokens,
    login_failures,
    access_grants,
    idempotency_keys,
    audit_log,
    sync_counter,
    sync_scope_history,
    sync_reach_changes,
    sync_records,
    sync_mutations,
    sync_conflicts,
    households,
    household_members,
    household_items,
    household_helpers,
    programs,
    applicants,
    applications,
    calendar_years,
    case_files,
    case_file_members,
    disbursements,
    aid_totals,
    income_records,
    duplicate_candidates,
    sync_device_status,
    sync_quarantine,
    blobs,
    blob_holders,
    uploads,
    blob_hash_bands,
    photo_evidence,
    field_facts,
    field_work_progress,
    moved_subjects,
    deadlines,
    campaigns,
    case_number_series,
    case_number_blocks,
    case_numbers,
    registration_referrals,
    device_scope_seen,
    sealed_fields,
);
