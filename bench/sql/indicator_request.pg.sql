-- Every query one GET /api/v1/indicators/{id} runs, in order: the caller's account and roles
-- (read on every request, src/auth/caller.rs), the indicator, and the child totals of the
-- sum_of_children parents among the rows (none here: an empty array, as diesel sends it).
\set one 1
SELECT "users"."id", "users"."username", "users"."password_hash", "users"."full_name", "users"."unit_code", "users"."active", "users"."search_key", "users"."created_at", "users"."updated_at" FROM "users" WHERE ("users"."id" = :uid) LIMIT :one;
SELECT "user_roles"."user_id", "user_roles"."role" FROM "user_roles" WHERE ("user_roles"."user_id" = ANY(:uids)) ORDER BY "user_roles"."user_id", "user_roles"."role";
SELECT "indicators"."id", "indicators"."plan_id", "indicators"."code", "indicators"."name", "indicators"."measure_unit", "indicators"."parent_id", "indicators"."baseline_value", "indicators"."baseline_label", "indicators"."target_kind", "indicators"."target_value", "indicators"."target_scope", "indicators"."target_text", "indicators"."aggregation", "indicators"."responsible_unit_code", "indicators"."coordinating_unit_codes", "indicators"."search_key", "indicators"."created_at", "indicators"."updated_at" FROM "indicators" WHERE ("indicators"."id" = :id) LIMIT :one;
SELECT "indicators"."parent_id", COUNT(*), sum("indicators"."baseline_value"), sum("indicators"."target_value") FROM "indicators" WHERE ("indicators"."parent_id" = ANY(:none)) GROUP BY "indicators"."parent_id";
