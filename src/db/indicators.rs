//! Queries on indicators (chỉ tiêu).

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, sum};
use diesel::prelude::*;

use super::schema::indicators;
use super::{Db, DbConnection, PageRequest};
use crate::domain::text::search_key;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable)]
pub struct IndicatorRow {
    pub id: i64,
    pub plan_id: i64,
    pub code: String,
    pub name: String,
    pub measure_unit: String,
    pub parent_id: Option<i64>,
    pub baseline_value: Option<f64>,
    pub baseline_label: Option<String>,
    pub target_kind: String,
    pub target_value: f64,
    pub target_scope: String,
    pub target_text: Option<String>,
    pub aggregation: String,
    pub responsible_unit_code: Option<String>,
    /// JSON array of unit codes.
    pub coordinating_unit_codes: String,
    pub search_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The stored columns an indicator's writer decides, shared by insert and update.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = indicators, treat_none_as_null = true)]
pub struct IndicatorData {
    pub plan_id: i64,
    pub code: String,
    pub name: String,
    pub measure_unit: String,
    pub parent_id: Option<i64>,
    pub baseline_value: Option<f64>,
    pub baseline_label: Option<String>,
    pub target_kind: String,
    pub target_value: f64,
    pub target_scope: String,
    pub target_text: Option<String>,
    pub aggregation: String,
    pub responsible_unit_code: Option<String>,
    pub coordinating_unit_codes: String,
}

impl IndicatorRow {
    pub fn into_data(self) -> IndicatorData {
        IndicatorData {
            plan_id: self.plan_id,
            code: self.code,
            name: self.name,
            measure_unit: self.measure_unit,
            parent_id: self.parent_id,
            baseline_value: self.baseline_value,
            baseline_label: self.baseline_label,
            target_kind: self.target_kind,
            target_value: self.target_value,
            target_scope: self.target_scope,
            target_text: self.target_text,
            aggregation: self.aggregation,
            responsible_unit_code: self.responsible_unit_code,
            coordinating_unit_codes: self.coordinating_unit_codes,
        }
    }
}

/// What a parent's children add up to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChildTotals {
    pub parent_id: i64,
    pub children: i64,
    pub baseline_sum: Option<f64>,
    pub target_sum: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct IndicatorFilter {
    pub plan_id: i64,
    pub search_key: Option<String>,
    pub responsible: Option<super::succession::UnitMatch>,
    pub parent_id: Option<i64>,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<IndicatorRow>, ApiError> {
    Ok(super::find_by_key!(conn, indicators::table, id)?)
}

/// [`find`] for a request that reads nothing else: on PostgreSQL over the worker's pipelined
/// connection ([`super::pipeline`]), on SQLite from the pool.
pub async fn find_alone(
    reader: &super::pipeline::Reader,
    pool: &super::Pool,
    id: i64,
) -> Result<Option<IndicatorRow>, ApiError> {
    let Some(lease) = reader.lease().await else {
        return super::run(pool, move |conn| find(conn, id)).await;
    };
    let lease = lease?;
    let mut conn = lease.conn();
    let found = diesel_async::RunQueryDsl::get_result(ById(id), &mut conn);
    reader
        .finish(&lease, async { found.await.optional() })
        .await
}

/// `indicators::table.find(id).first(…)` on PostgreSQL, the same statement with its SQL
/// rendered once per process.
///
/// diesel-async renders a query's SQL on every execution, even when its prepared statement is
/// cached: for this row, eighteen columns with each identifier quoted and escaped, a tenth of
/// the service's user time in `GET /indicators/{id}` (bench/RESULTS.md, round 8). The column
/// list is diesel's own rendering of the table, so it follows the schema; the static query id
/// keeps the statement prepared once per connection.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct ById(i64);

/// `SELECT <every column> FROM "indicators"`, or why it could not be rendered.
static ALL_COLUMNS_SQL: std::sync::LazyLock<Result<String, String>> =
    std::sync::LazyLock::new(|| {
        use diesel::query_builder::{AsQuery, QueryBuilder, QueryFragment};
        let mut sql = diesel::pg::PgQueryBuilder::default();
        QueryFragment::<diesel::pg::Pg>::to_sql(
            &indicators::table.as_query(),
            &mut sql,
            &diesel::pg::Pg,
        )
        .map_err(|e| e.to_string())?;
        Ok(sql.finish())
    });

impl diesel::query_builder::Query for ById {
    type SqlType = <indicators::table as diesel::query_builder::AsQuery>::SqlType;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for ById {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        let select = ALL_COLUMNS_SQL
            .as_deref()
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.clone().into()))?;
        out.push_sql(select);
        out.push_sql(" WHERE (\"indicators\".\"id\" = ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.0)?;
        // As `first()` has it: on a small table PostgreSQL scans rather than uses the index,
        // and the limit stops the scan at the row.
        out.push_sql(") LIMIT ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&1)
    }
}

/// Those of `ids` that belong to plan `plan_id`, by id: one query for a whole request.
pub fn in_plan(
    conn: &mut DbConnection,
    plan_id: i64,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, IndicatorRow>, ApiError> {
    let rows: Vec<IndicatorRow> = indicators::table
        .filter(indicators::plan_id.eq(plan_id))
        .filter(super::any_of(indicators::id, ids))
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

pub fn id_by_code(
    conn: &mut DbConnection,
    plan_id: i64,
    code: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(indicators::table
        .filter(indicators::plan_id.eq(plan_id))
        .filter(indicators::code.eq(code))
        .select(indicators::id)
        .first(conn)
        .optional()?)
}

/// The sums of the children of each of `parent_ids`, computed by the database.
pub fn child_totals(
    conn: &mut DbConnection,
    parent_ids: &[i64],
) -> Result<Vec<ChildTotals>, ApiError> {
    /// (parent id, child count, baseline sum, target sum)
    type Sums = (Option<i64>, i64, Option<f64>, Option<f64>);
    // Most answers hold no `sum_of_children` parent: spare the database the round trip.
    if parent_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Sums> = indicators::table
        .filter(indicators::parent_id.eq_any(parent_ids))
        .group_by(indicators::parent_id)
        .select((
            indicators::parent_id,
            count_star(),
            sum(indicators::baseline_value),
            sum(indicators::target_value),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(parent, children, baseline_sum, target_sum)| {
            parent.map(|parent_id| ChildTotals {
                parent_id,
                children,
                baseline_sum,
                target_sum,
            })
        })
        .collect())
}

/// The chain of parents above `id`, nearest first, to refuse a cycle.
pub fn ancestors(conn: &mut DbConnection, id: i64) -> Result<Vec<i64>, ApiError> {
    let mut chain = Vec::new();
    let mut next = Some(id);
    while let Some(current) = next {
        if chain.contains(&current) || chain.len() > 64 {
            break;
        }
        next = indicators::table
            .find(current)
            .select(indicators::parent_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten();
        chain.push(current);
    }
    Ok(chain)
}

fn filtered<'a>(filter: &'a IndicatorFilter) -> indicators::BoxedQuery<'a, Db> {
    let mut query = indicators::table
        .filter(indicators::plan_id.eq(filter.plan_id))
        .into_boxed();
    if let Some(key) = &filter.search_key {
        query = query.filter(
            indicators::search_key
                .like(super::contains_pattern(key))
                .escape('\\'),
        );
    }
    if let Some(unit) = &filter.responsible {
        query = query.filter(
            indicators::responsible_unit_code
                .eq_any(&unit.codes)
                .and(indicators::id.ne_all(&unit.moved_out))
                .or(indicators::id.eq_any(&unit.moved_in)),
        );
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(indicators::parent_id.eq(parent));
    }
    query
}

/// One page of the indicators `filter` matches, and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &IndicatorFilter,
    page: &PageRequest,
) -> Result<(Vec<IndicatorRow>, i64), ApiError> {
    let found = rows(conn, filter, page)?;
    super::counted(page, found, || filtered(filter).count().get_result(conn))
}

/// One page of the indicators `filter` matches, without counting them.
pub fn rows(
    conn: &mut DbConnection,
    filter: &IndicatorFilter,
    page: &PageRequest,
) -> Result<Vec<IndicatorRow>, ApiError> {
    let mut query = filtered(filter);
    query = match (page.sort, page.descending) {
        ("name", false) => query.order((indicators::search_key.asc(), indicators::id.asc())),
        ("name", true) => query.order((indicators::search_key.desc(), indicators::id.desc())),
        ("id", false) => query.order(indicators::id.asc()),
        ("id", true) => query.order(indicators::id.desc()),
        // Codes sort as written ("1" < "2" < "2.1"), which is the document's order for
        // tables with fewer than ten top-level rows.
        (_, false) => query.order((indicators::code.asc(), indicators::id.asc())),
        (_, true) => query.order((indicators::code.desc(), indicators::id.desc())),
    };
    Ok(query.limit(page.limit).offset(page.offset).load(conn)?)
}

fn indicator_search_key(data: &IndicatorData) -> String {
    search_key(&format!("{} | {}", data.code, data.name))
}

pub fn insert(conn: &mut DbConnection, data: &IndicatorData) -> Result<IndicatorRow, ApiError> {
    let now = super::now();
    let id: i64 = diesel::insert_into(indicators::table)
        .values((
            data,
            indicators::search_key.eq(indicator_search_key(data)),
            indicators::created_at.eq(now),
            indicators::updated_at.eq(now),
        ))
        .returning(indicators::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("indicator {id}")))
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    data: &IndicatorData,
) -> Result<IndicatorRow, ApiError> {
    diesel::update(indicators::table.find(id))
        .set((
            data,
            indicators::search_key.eq(indicator_search_key(data)),
            indicators::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("indicator {id}")))
}

/// Deletes the indicator; a parent with children fails with a foreign-key violation.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<usize, diesel::result::Error> {
    diesel::delete(indicators::table.find(id)).execute(conn)
}

#[cfg(test)]
mod tests {
    use diesel::query_builder::{QueryFragment, QueryId};

    use super::*;

    #[test]
    fn by_id_renders_the_tables_columns_and_is_prepared_once() {
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&ById(7)).to_string();
        let first = indicators::table.find(7_i64).limit(1);
        let expected = diesel::debug_query::<diesel::pg::Pg, _>(&first).to_string();
        assert_eq!(sql, expected);
        assert!(ById(7).is_safe_to_cache_prepared(&diesel::pg::Pg).unwrap());
        assert!(ById::query_id().is_some());
    }
}
