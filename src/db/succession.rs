//! Successions of units and the responsibility transfers they made: the record from which
//! "who held this on that day" is answered.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{indicators, responsibility_transfers, submissions, tasks, unit_successions};
use super::DbConnection;
use crate::domain::succession::{holder_on, Edge, Item, Transfer};
use crate::error::ApiError;

/// Which items count as a unit's in a filter: those whose column names one of `codes`,
/// except `moved_out`, plus `moved_in` — the items the unit held on an earlier day that
/// another unit holds now, and the reverse.
#[derive(Debug, Clone, Default)]
pub struct UnitMatch {
    pub codes: Vec<String>,
    pub moved_in: Vec<i64>,
    pub moved_out: Vec<i64>,
}

impl UnitMatch {
    pub fn codes(codes: Vec<String>) -> Self {
        UnitMatch {
            codes,
            ..UnitMatch::default()
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct SuccessionRow {
    pub id: i64,
    pub predecessor_code: String,
    pub successor_code: String,
    pub share: Option<f64>,
    pub effective_on: NaiveDate,
    pub created_at: chrono::NaiveDateTime,
}

/// Every succession on record: a province has tens of units, so the whole graph is small.
pub fn edges(conn: &mut DbConnection) -> Result<Vec<Edge>, ApiError> {
    let rows: Vec<(String, String, NaiveDate)> = unit_successions::table
        .select((
            unit_successions::predecessor_code,
            unit_successions::successor_code,
            unit_successions::effective_on,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(predecessor, successor, effective_on)| Edge {
            predecessor,
            successor,
            effective_on,
        })
        .collect())
}

/// A filter on unit `code`, if given, and, when asked, every unit whose duties passed to it.
pub fn with_predecessors(
    conn: &mut DbConnection,
    code: Option<String>,
    include_predecessors: bool,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(code) = code else {
        return Ok(None);
    };
    let mut codes = if include_predecessors {
        crate::domain::succession::predecessors(&code, &edges(conn)?)
    } else {
        Vec::new()
    };
    codes.insert(0, code);
    Ok(Some(codes))
}

/// The successions in which any of `codes` ceased or took over, oldest first.
pub fn involving(conn: &mut DbConnection, codes: &[&str]) -> Result<Vec<SuccessionRow>, ApiError> {
    Ok(unit_successions::table
        .filter(
            unit_successions::predecessor_code
                .eq_any(codes)
                .or(unit_successions::successor_code.eq_any(codes)),
        )
        .order((unit_successions::effective_on, unit_successions::id))
        .load(conn)?)
}

pub fn insert(
    conn: &mut DbConnection,
    predecessor: &str,
    successor: &str,
    share: Option<f64>,
    effective_on: NaiveDate,
) -> Result<(), ApiError> {
    diesel::insert_into(unit_successions::table)
        .values((
            unit_successions::predecessor_code.eq(predecessor),
            unit_successions::successor_code.eq(successor),
            unit_successions::share.eq(share),
            unit_successions::effective_on.eq(effective_on),
            unit_successions::created_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The indicators `unit` is responsible for and the tasks it leads, in every plan.
pub fn held_items(conn: &mut DbConnection, unit: &str) -> Result<Vec<(Item, i64)>, ApiError> {
    let indicators: Vec<(i64, i64)> = indicators::table
        .filter(indicators::responsible_unit_code.eq(unit))
        .select((indicators::id, indicators::plan_id))
        .order(indicators::id)
        .load(conn)?;
    let tasks: Vec<(i64, i64)> = tasks::table
        .filter(tasks::lead_unit_code.eq(unit))
        .select((tasks::id, tasks::plan_id))
        .order(tasks::id)
        .load(conn)?;
    Ok(indicators
        .into_iter()
        .map(|(id, plan)| (Item::Indicator(id), plan))
        .chain(tasks.into_iter().map(|(id, plan)| (Item::Task(id), plan)))
        .collect())
}

/// One responsibility move made by a succession.
pub struct Move<'a> {
    pub succession_of: &'a str,
    pub plan_id: i64,
    pub item: Item,
    pub from: &'a str,
    pub to: &'a str,
    pub effective_on: NaiveDate,
}

/// Moves an item to its new holder and records the move.
pub fn transfer(conn: &mut DbConnection, m: &Move) -> Result<(), ApiError> {
    let now = super::now();
    let (indicator_id, task_id) = match m.item {
        Item::Indicator(id) => {
            diesel::update(indicators::table.find(id))
                .set((
                    indicators::responsible_unit_code.eq(m.to),
                    indicators::updated_at.eq(now),
                ))
                .execute(conn)?;
            (Some(id), None)
        }
        Item::Task(id) => {
            diesel::update(tasks::table.find(id))
                .set((tasks::lead_unit_code.eq(m.to), tasks::updated_at.eq(now)))
                .execute(conn)?;
            (None, Some(id))
        }
    };
    diesel::insert_into(responsibility_transfers::table)
        .values((
            responsibility_transfers::succession_of.eq(m.succession_of),
            responsibility_transfers::plan_id.eq(m.plan_id),
            responsibility_transfers::indicator_id.eq(indicator_id),
            responsibility_transfers::task_id.eq(task_id),
            responsibility_transfers::from_unit_code.eq(m.from),
            responsibility_transfers::to_unit_code.eq(m.to),
            responsibility_transfers::effective_on.eq(m.effective_on),
            responsibility_transfers::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Items (of either kind) naming `unit` among their coordinating units, with that list.
pub fn coordinated_by(
    conn: &mut DbConnection,
    unit: &str,
) -> Result<Vec<(Item, Vec<String>)>, ApiError> {
    // The lists are JSON arrays of codes; the quoted code cannot match a longer code.
    let pattern = super::contains_pattern(&format!("\"{unit}\""));
    let indicators: Vec<(i64, String)> = indicators::table
        .filter(
            indicators::coordinating_unit_codes
                .like(&pattern)
                .escape('\\'),
        )
        .select((indicators::id, indicators::coordinating_unit_codes))
        .load(conn)?;
    let tasks: Vec<(i64, String)> = tasks::table
        .filter(tasks::coordinating_unit_codes.like(&pattern).escape('\\'))
        .select((tasks::id, tasks::coordinating_unit_codes))
        .load(conn)?;
    let parse = |json: &str| serde_json::from_str::<Vec<String>>(json).unwrap_or_default();
    Ok(indicators
        .into_iter()
        .map(|(id, json)| (Item::Indicator(id), parse(&json)))
        .chain(
            tasks
                .into_iter()
                .map(|(id, json)| (Item::Task(id), parse(&json))),
        )
        .filter(|(_, codes)| codes.iter().any(|c| c == unit))
        .collect())
}

pub fn set_coordinating(
    conn: &mut DbConnection,
    item: Item,
    codes: &[String],
) -> Result<(), ApiError> {
    let json = serde_json::to_string(codes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("unit list: {e}")))?;
    match item {
        Item::Indicator(id) => diesel::update(indicators::table.find(id))
            .set(indicators::coordinating_unit_codes.eq(json))
            .execute(conn)?,
        Item::Task(id) => diesel::update(tasks::table.find(id))
            .set(tasks::coordinating_unit_codes.eq(json))
            .execute(conn)?,
    };
    Ok(())
}

/// The unit's submissions still being written (draft, returned), with plan and period.
pub fn open_submissions(
    conn: &mut DbConnection,
    unit: &str,
) -> Result<Vec<(i64, i64, String)>, ApiError> {
    Ok(submissions::table
        .filter(submissions::unit_code.eq(unit))
        .filter(submissions::status.eq_any(["draft", "returned"]))
        .select((submissions::id, submissions::plan_id, submissions::period))
        .order(submissions::id)
        .load(conn)?)
}

pub fn move_submission(conn: &mut DbConnection, id: i64, to: &str) -> Result<(), ApiError> {
    diesel::update(submissions::table.find(id))
        .set((
            submissions::unit_code.eq(to),
            submissions::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Who held the plan's items on `day`, where that differs from who holds them now.
#[derive(Debug, Clone, Default)]
pub struct HoldersOn {
    changed: HashMap<Item, String>,
}

impl HoldersOn {
    /// The holder on the day of an item whose current holder is `current`.
    pub fn holder<'a>(&'a self, item: Item, current: Option<&'a str>) -> Option<&'a str> {
        self.changed.get(&item).map(String::as_str).or(current)
    }

    /// The items of one kind that `unit` held on the day, for a filter on the current column.
    pub fn unit_match(&self, unit: &str, is_kind: fn(Item) -> Option<i64>) -> UnitMatch {
        let mut m = UnitMatch::codes(vec![unit.to_owned()]);
        for (item, holder) in &self.changed {
            if let Some(id) = is_kind(*item) {
                // Moved away from whoever holds it now; back in only for the holder of the day.
                m.moved_out.push(id);
                if holder == unit {
                    m.moved_in.push(id);
                }
            }
        }
        m
    }
}

/// Who held the items of `plan_id` on `day`: the transfers that came after it, undone.
pub fn holders_on(
    conn: &mut DbConnection,
    plan_id: i64,
    day: NaiveDate,
) -> Result<HoldersOn, ApiError> {
    type Row = (Option<i64>, Option<i64>, String, String, NaiveDate);
    let rows: Vec<Row> = responsibility_transfers::table
        .filter(responsibility_transfers::plan_id.eq(plan_id))
        .filter(responsibility_transfers::effective_on.gt(day))
        .select((
            responsibility_transfers::indicator_id,
            responsibility_transfers::task_id,
            responsibility_transfers::from_unit_code,
            responsibility_transfers::to_unit_code,
            responsibility_transfers::effective_on,
        ))
        .load(conn)?;
    let mut by_item: HashMap<Item, Vec<Transfer>> = HashMap::new();
    for (indicator, task, from, to, effective_on) in rows {
        let item = match (indicator, task) {
            (Some(id), _) => Item::Indicator(id),
            (None, Some(id)) => Item::Task(id),
            (None, None) => continue,
        };
        by_item.entry(item).or_default().push(Transfer {
            from,
            to,
            effective_on,
        });
    }
    let changed = by_item
        .into_iter()
        .filter_map(|(item, transfers)| {
            holder_on(None, &transfers, day).map(|unit| (item, unit.to_owned()))
        })
        .collect();
    Ok(HoldersOn { changed })
}
