//! Queries on organisational units.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::units;
use super::{Db, DbConnection};
use crate::domain::text::search_key;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable)]
pub struct UnitRow {
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: String,
    pub parent_code: Option<String>,
    /// JSON array of strings.
    pub aliases: String,
    pub gov_code: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub successor_code: Option<String>,
    pub search_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Everything a unit's writer decides; the rest (search key, timestamps) is derived.
#[derive(Debug, Clone)]
pub struct UnitData {
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: String,
    pub parent_code: Option<String>,
    pub aliases: Vec<String>,
    pub gov_code: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub successor_code: Option<String>,
}

impl UnitRow {
    pub fn aliases(&self) -> Vec<String> {
        serde_json::from_str(&self.aliases).unwrap_or_default()
    }

    pub fn into_data(self) -> UnitData {
        UnitData {
            aliases: self.aliases(),
            code: self.code,
            name: self.name,
            short_name: self.short_name,
            kind: self.kind,
            parent_code: self.parent_code,
            gov_code: self.gov_code,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
            successor_code: self.successor_code,
        }
    }
}

impl UnitData {
    /// Code, names and aliases folded together, so `q` finds a unit by any of them.
    fn search_key(&self) -> String {
        let mut text = format!("{} | {}", self.code, self.name);
        for extra in self.short_name.iter().chain(&self.aliases) {
            text.push_str(" | ");
            text.push_str(extra);
        }
        search_key(&text)
    }
}

#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    pub search_key: Option<String>,
    pub kind: Option<String>,
    pub parent_code: Option<String>,
    /// Only units valid on this date.
    pub active_on: Option<NaiveDate>,
}

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<UnitRow>, ApiError> {
    Ok(super::find_by_key!(conn, units::table, code)?)
}

/// The codes among `codes` that name no unit.
pub fn missing(conn: &mut DbConnection, codes: &[&str]) -> Result<Vec<String>, ApiError> {
    let found: Vec<String> = units::table
        .filter(units::code.eq_any(codes))
        .select(units::code)
        .load(conn)?;
    Ok(codes
        .iter()
        .filter(|c| !found.iter().any(|f| f == *c))
        .map(|c| c.to_string())
        .collect())
}

/// Errors for the unit codes that name no unit: the lead (or responsible) unit under
/// `lead_field`, the coordinating ones under `coordinating_unit_codes`.
pub fn unknown_units(
    conn: &mut DbConnection,
    lead_field: &str,
    lead: Option<&str>,
    coordinating: &[String],
) -> Result<Vec<crate::error::FieldError>, ApiError> {
    let mut codes: Vec<&str> = coordinating.iter().map(String::as_str).collect();
    codes.extend(lead);
    Ok(missing(conn, &codes)?
        .into_iter()
        .map(|code| {
            let field = if lead == Some(code.as_str()) {
                lead_field
            } else {
                "coordinating_unit_codes"
            };
            crate::error::FieldError::new(field, format!("unit {code} does not exist"))
        })
        .collect())
}

fn filtered<'a>(filter: &'a UnitFilter) -> units::BoxedQuery<'a, Db> {
    let mut query = units::table.into_boxed();
    if let Some(key) = &filter.search_key {
        query = query.filter(
            units::search_key
                .like(super::contains_pattern(key))
                .escape('\\'),
        );
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(units::kind.eq(kind));
    }
    if let Some(parent) = &filter.parent_code {
        query = query.filter(units::parent_code.eq(parent));
    }
    if let Some(day) = filter.active_on {
        query = query
            .filter(units::valid_from.is_null().or(units::valid_from.le(day)))
            .filter(units::valid_to.is_null().or(units::valid_to.ge(day)));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    filter: &UnitFilter,
    page: &super::PageRequest,
) -> Result<(Vec<UnitRow>, i64), ApiError> {
    let mut query = filtered(filter);
    query = match (page.sort, page.descending) {
        ("name", false) => query.order((units::search_key.asc(), units::code.asc())),
        ("name", true) => query.order((units::search_key.desc(), units::code.desc())),
        (_, false) => query.order(units::code.asc()),
        (_, true) => query.order(units::code.desc()),
    };
    let rows = query.limit(page.limit).offset(page.offset).load(conn)?;
    super::counted(page, rows, || filtered(filter).count().get_result(conn))
}

/// The stored columns of a unit, shared by insert and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = units, primary_key(code), treat_none_as_null = true)]
struct UnitColumns<'a> {
    code: &'a str,
    name: &'a str,
    short_name: Option<&'a str>,
    kind: &'a str,
    parent_code: Option<&'a str>,
    aliases: String,
    gov_code: Option<&'a str>,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
    successor_code: Option<&'a str>,
    search_key: String,
    updated_at: NaiveDateTime,
}

impl UnitData {
    fn columns(&self) -> UnitColumns<'_> {
        UnitColumns {
            code: &self.code,
            name: &self.name,
            short_name: self.short_name.as_deref(),
            kind: &self.kind,
            parent_code: self.parent_code.as_deref(),
            aliases: serde_json::to_string(&self.aliases).unwrap_or_else(|_| "[]".into()),
            gov_code: self.gov_code.as_deref(),
            valid_from: self.valid_from,
            valid_to: self.valid_to,
            successor_code: self.successor_code.as_deref(),
            search_key: self.search_key(),
            updated_at: super::now(),
        }
    }
}

pub fn insert(conn: &mut DbConnection, data: &UnitData) -> Result<UnitRow, ApiError> {
    let columns = data.columns();
    let created_at = columns.updated_at;
    diesel::insert_into(units::table)
        .values((columns, units::created_at.eq(created_at)))
        .execute(conn)?;
    find(conn, &data.code)?.ok_or_else(|| ApiError::not_found(format!("unit {}", data.code)))
}

pub fn update(conn: &mut DbConnection, data: &UnitData) -> Result<UnitRow, ApiError> {
    diesel::update(units::table.find(&data.code))
        .set(data.columns())
        .execute(conn)?;
    find(conn, &data.code)?.ok_or_else(|| ApiError::not_found(format!("unit {}", data.code)))
}

/// The chain of parents above `code` (nearest first), to refuse a cycle.
pub fn ancestors(conn: &mut DbConnection, code: &str) -> Result<Vec<String>, ApiError> {
    let mut chain = Vec::new();
    let mut next = Some(code.to_owned());
    while let Some(current) = next {
        if chain.contains(&current) || chain.len() > 64 {
            break;
        }
        next = units::table
            .find(&current)
            .select(units::parent_code)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten();
        chain.push(current);
    }
    Ok(chain)
}

/// The unit with the electronic agency code `gov_code` (Decision 20/2020/QĐ-TTg).
pub fn find_by_gov_code(
    conn: &mut DbConnection,
    gov_code: &str,
) -> Result<Option<UnitRow>, ApiError> {
    Ok(units::table
        .filter(units::gov_code.eq(gov_code))
        .first(conn)
        .optional()?)
}
