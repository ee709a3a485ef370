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

diesel::joinable!(users -> units (unit_code));
diesel::joinable!(indicators -> plans (plan_id));
diesel::joinable!(tasks -> plans (plan_id));
diesel::joinable!(task_extensions -> tasks (task_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(audit_log -> users (actor_user_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    users,
    user_roles,
    plans,
    audit_log,
    indicators,
    tasks,
    task_extensions
);
