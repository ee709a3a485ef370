//! Queries on plans (kế hoạch).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::plans;
use super::{Db, DbConnection};
use crate::domain::text::search_key;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable)]
pub struct PlanRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub issuer_unit_code: String,
    pub issued_on: NaiveDate,
    pub period_start_year: i32,
    pub period_end_year: i32,
    pub vision_year: Option<i32>,
    pub signer: Option<String>,
    pub consolidating_unit_code: String,
    /// JSON array of the documents the plan implements.
    pub basis: String,
    pub search_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The stored columns a plan's writer decides, shared by insert and update.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = plans, treat_none_as_null = true)]
pub struct PlanData {
    pub number: String,
    pub title: String,
    pub issuer_unit_code: String,
    pub issued_on: NaiveDate,
    pub period_start_year: i32,
    pub period_end_year: i32,
    pub vision_year: Option<i32>,
    pub signer: Option<String>,
    pub consolidating_unit_code: String,
    pub basis: String,
}

impl PlanRow {
    pub fn into_data(self) -> PlanData {
        PlanData {
            number: self.number,
            title: self.title,
            issuer_unit_code: self.issuer_unit_code,
            issued_on: self.issued_on,
            period_start_year: self.period_start_year,
            period_end_year: self.period_end_year,
            vision_year: self.vision_year,
            signer: self.signer,
            consolidating_unit_code: self.consolidating_unit_code,
            basis: self.basis,
        }
    }
}

fn plan_search_key(data: &PlanData) -> String {
    search_key(&format!("{} | {}", data.number, data.title))
}

#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub search_key: Option<String>,
    pub issuer_unit_code: Option<String>,
    pub consolidating_unit_code: Option<String>,
    /// Only plans whose period includes this year.
    pub year: Option<i32>,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<PlanRow>, ApiError> {
    Ok(super::find_by_key!(conn, plans::table, id)?)
}

/// The plan `id`, or 404: for routes nested under a plan.
pub fn require(conn: &mut DbConnection, id: i64) -> Result<PlanRow, ApiError> {
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("plan {id}")))
}

/// The id of the plan numbered `number`, if any.
pub fn id_by_number(conn: &mut DbConnection, number: &str) -> Result<Option<i64>, ApiError> {
    Ok(plans::table
        .filter(plans::number.eq(number))
        .select(plans::id)
        .first(conn)
        .optional()?)
}

fn filtered<'a>(filter: &'a PlanFilter) -> plans::BoxedQuery<'a, Db> {
    let mut query = plans::table.into_boxed();
    if let Some(key) = &filter.search_key {
        query = query.filter(
            plans::search_key
                .like(super::contains_pattern(key))
                .escape('\\'),
        );
    }
    if let Some(unit) = &filter.issuer_unit_code {
        query = query.filter(plans::issuer_unit_code.eq(unit));
    }
    if let Some(unit) = &filter.consolidating_unit_code {
        query = query.filter(plans::consolidating_unit_code.eq(unit));
    }
    if let Some(year) = filter.year {
        query = query
            .filter(plans::period_start_year.le(year))
            .filter(plans::period_end_year.ge(year));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    filter: &PlanFilter,
    page: &super::PageRequest,
) -> Result<(Vec<PlanRow>, i64), ApiError> {
    let mut query = filtered(filter);
    query = match (page.sort, page.descending) {
        ("number", false) => query.order(plans::number.asc()),
        ("number", true) => query.order(plans::number.desc()),
        ("title", false) => query.order((plans::search_key.asc(), plans::id.asc())),
        ("title", true) => query.order((plans::search_key.desc(), plans::id.desc())),
        ("issued_on", false) => query.order((plans::issued_on.asc(), plans::id.asc())),
        ("issued_on", true) => query.order((plans::issued_on.desc(), plans::id.desc())),
        ("period_start_year", false) => {
            query.order((plans::period_start_year.asc(), plans::id.asc()))
        }
        ("period_start_year", true) => {
            query.order((plans::period_start_year.desc(), plans::id.desc()))
        }
        (_, false) => query.order(plans::id.asc()),
        (_, true) => query.order(plans::id.desc()),
    };
    let rows = query.limit(page.limit).offset(page.offset).load(conn)?;
    super::counted(page, rows, || filtered(filter).count().get_result(conn))
}

pub fn insert(conn: &mut DbConnection, data: &PlanData) -> Result<PlanRow, ApiError> {
    let now = super::now();
    let id: i64 = diesel::insert_into(plans::table)
        .values((
            data,
            plans::search_key.eq(plan_search_key(data)),
            plans::created_at.eq(now),
            plans::updated_at.eq(now),
        ))
        .returning(plans::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("plan {id}")))
}

pub fn update(conn: &mut DbConnection, id: i64, data: &PlanData) -> Result<PlanRow, ApiError> {
    diesel::update(plans::table.find(id))
        .set((
            data,
            plans::search_key.eq(plan_search_key(data)),
            plans::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("plan {id}")))
}

/// Deletes the plan, returning how many rows went. A plan that still has content fails with a
/// foreign-key violation, which the caller reports as 409.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<usize, diesel::result::Error> {
    diesel::delete(plans::table.find(id)).execute(conn)
}
