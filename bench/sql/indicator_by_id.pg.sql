-- GET /api/v1/indicators/{id}: the SELECT the service runs for the indicator itself
-- (diesel: indicators::table.find(id).first(conn), every column, by primary key).
-- pgbench -M prepared binds :id and :one as parameters, like diesel does.
\set one 1
SELECT "indicators"."id", "indicators"."plan_id", "indicators"."code", "indicators"."name", "indicators"."measure_unit", "indicators"."parent_id", "indicators"."baseline_value", "indicators"."baseline_label", "indicators"."target_kind", "indicators"."target_value", "indicators"."target_scope", "indicators"."target_text", "indicators"."aggregation", "indicators"."responsible_unit_code", "indicators"."coordinating_unit_codes", "indicators"."search_key", "indicators"."created_at", "indicators"."updated_at" FROM "indicators" WHERE ("indicators"."id" = :id) LIMIT :one;
