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

diesel::joinable!(users -> units (unit_code));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(audit_log -> users (actor_user_id));

diesel::allow_tables_to_appear_in_same_query!(units, users, user_roles, plans, audit_log);
