// Written to match migrations/{sqlite,postgres}; every integration test runs these queries
// against both freshly migrated databases, so a mismatch fails the suite.

diesel::table! {
    units (code) {
        code -> Text,
        name -> Text,
        short_name -> Nullable<Text>,
        kind -> Text,
        parent_code -> Nullable<Text>,
        aliases -> Text,
        gov_code -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        valid_to -> Nullable<Date>,
        successor_code -> Nullable<Text>,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        full_name -> Text,
        unit_code -> Nullable<Text>,
        active -> Bool,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    plans (id) {
        id -> BigInt,
        number -> Text,
        title -> Text,
        issuer_unit_code -> Text,
        issued_on -> Date,
        period_start_year -> Integer,
        period_end_year -> Integer,
        vision_year -> Nullable<Integer>,
        signer -> Nullable<Text>,
        consolidating_unit_code -> Text,
        basis -> Text,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        detail -> Text,
        request_id -> Nullable<Text>,
        before_state -> Nullable<Text>,
        after_state -> Nullable<Text>,
        actor_subject -> Nullable<Text>,
    }
}

diesel::table! {
    schedules (id) {
        id -> BigInt,
        plan_id -> BigInt,
        position -> Integer,
        period_type -> Text,
        deadline -> Text,
        unit_codes -> Nullable<Text>,
        indicator_ids -> Nullable<Text>,
    }
}

diesel::table! {
    submissions (id) {
        id -> BigInt,
        plan_id -> BigInt,
        unit_code -> Text,
        period -> Text,
        period_type -> Text,
        status -> Text,
        results -> Nullable<Text>,
        difficulties -> Nullable<Text>,
        proposals -> Nullable<Text>,
        return_reason -> Nullable<Text>,
        review_comments -> Text,
        version -> Integer,
        deadline_at -> Nullable<Timestamp>,
        first_submitted_at -> Nullable<Timestamp>,
        last_submitted_at -> Nullable<Timestamp>,
        accepted_at -> Nullable<Timestamp>,
        created_by_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    submission_values (id) {
        id -> BigInt,
        submission_id -> BigInt,
        indicator_id -> BigInt,
        value -> Double,
        kind -> Text,
        note -> Nullable<Text>,
        out_of -> Nullable<Integer>,
        published_on -> Nullable<Date>,
    }
}

diesel::table! {
    submission_task_updates (id) {
        id -> BigInt,
        submission_id -> BigInt,
        task_id -> BigInt,
        status -> Text,
        progress_percent -> Integer,
        completed_on -> Nullable<Date>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    submission_versions (id) {
        id -> BigInt,
        submission_id -> BigInt,
        number -> Integer,
        snapshot -> Text,
        accepted_by_user_id -> Nullable<BigInt>,
        accepted_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (owner, key) {
        /// The caller's subject: `user:<id>`, `client:<id>` or `external:<issuer>#<subject>`.
        owner -> Text,
        key -> Text,
        request_hash -> Text,
        state -> Text,
        status_code -> Nullable<Integer>,
        location -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    indicators (id) {
        id -> BigInt,
        plan_id -> BigInt,
        code -> Text,
        name -> Text,
        measure_unit -> Text,
        parent_id -> Nullable<BigInt>,
        baseline_value -> Nullable<Double>,
        baseline_label -> Nullable<Text>,
        target_kind -> Text,
        target_value -> Double,
        target_scope -> Text,
        target_text -> Nullable<Text>,
        aggregation -> Text,
        responsible_unit_code -> Nullable<Text>,
        coordinating_unit_codes -> Text,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> BigInt,
        plan_id -> BigInt,
        code -> Text,
        title -> Text,
        description -> Nullable<Text>,
        lead_unit_code -> Nullable<Text>,
        coordinating_unit_codes -> Text,
        coordinating_note -> Nullable<Text>,
        original_due_date -> Nullable<Date>,
        due_date -> Nullable<Date>,
        due_precision -> Nullable<Text>,
        due_label -> Nullable<Text>,
        output_form -> Nullable<Text>,
        decision_authority -> Nullable<Text>,
        legal_basis -> Text,
        status -> Text,
        progress_percent -> Integer,
        completed_on -> Nullable<Date>,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    task_extensions (id) {
        id -> BigInt,
        task_id -> BigInt,
        previous_due_date -> Nullable<Date>,
        new_due_date -> Date,
        reason -> Text,
        approved_by -> Text,
        created_by_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        secret -> Text,
        plan_id -> Nullable<BigInt>,
        description -> Nullable<Text>,
        created_by_user_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_events (webhook_id, event_type) {
        webhook_id -> BigInt,
        event_type -> Text,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        dedupe_key -> Text,
        plan_id -> Nullable<BigInt>,
        data -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        outbox_event_id -> BigInt,
        status -> Text,
        attempts -> Integer,
        last_http_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    unit_successions (id) {
        id -> BigInt,
        predecessor_code -> Text,
        successor_code -> Text,
        share -> Nullable<Double>,
        effective_on -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    responsibility_transfers (id) {
        id -> BigInt,
        succession_of -> Text,
        plan_id -> BigInt,
        indicator_id -> Nullable<BigInt>,
        task_id -> Nullable<BigInt>,
        from_unit_code -> Text,
        to_unit_code -> Text,
        effective_on -> Date,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> units (unit_code));
diesel::table! {
    api_clients (id) {
        id -> BigInt,
        name -> Text,
        secret_hash -> Text,
        unit_code -> Nullable<Text>,
        roles -> Text,
        active -> Bool,
        search_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(indicators -> plans (plan_id));
diesel::joinable!(tasks -> plans (plan_id));
diesel::joinable!(task_extensions -> tasks (task_id));
diesel::joinable!(schedules -> plans (plan_id));
diesel::joinable!(submissions -> plans (plan_id));
diesel::joinable!(submissions -> units (unit_code));
diesel::joinable!(submission_values -> submissions (submission_id));
diesel::joinable!(submission_values -> indicators (indicator_id));
diesel::joinable!(submission_task_updates -> submissions (submission_id));
diesel::joinable!(submission_task_updates -> tasks (task_id));
diesel::joinable!(submission_versions -> submissions (submission_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(audit_log -> users (actor_user_id));
diesel::joinable!(webhooks -> plans (plan_id));
diesel::joinable!(webhook_events -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> outbox_events (outbox_event_id));
diesel::joinable!(api_clients -> units (unit_code));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    users,
    user_roles,
    plans,
    audit_log,
    indicators,
    tasks,
    task_extensions,
    schedules,
    submissions,
    submission_values,
    submission_task_updates,
    submission_versions,
    idempotency_keys,
    webhooks,
    webhook_events,
    outbox_events,
    webhook_deliveries,
    unit_successions,
    responsibility_transfers,
    api_clients
);

// Columns grouped together by the progress and series aggregations.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    submission_values::indicator_id,
    submission_values::kind,
    submissions::period,
    submissions::unit_code,
);
