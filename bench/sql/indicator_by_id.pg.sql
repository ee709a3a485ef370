-- GET /api/v1/indicators/{id}: the one SELECT the service runs for the request (diesel:
-- indicators::table.find(id).first(c), every column, by primary key; the caller's account is
-- cached, and an indicator without sum_of_children children needs no second query).
-- pgbench -M prepared binds :id and :one as parameters, like diesel does.
\set one 1
SELECT "indicators"."id", "indicators"."plan_id", "indicators"."code", "indicators"."name", "indicators"."measure_unit", "indicators"."parent_id", "indicators"."baseline_value", "indicators"."baseline_label", "indicators"."target_kind", "indicators"."target_value", "indicators"."target_scope", "indicators"."target_text", "indicators"."aggregation", "indicators"."responsible_unit_code", "indicators"."coordinating_unit_codes", "indicators"."search_key", "indicators"."created_at", "indicators"."updated_at" FROM "indicators" WHERE ("indicators"."id" = :id) LIMIT :one;
