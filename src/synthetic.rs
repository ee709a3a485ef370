//! A deterministic synthetic data set for load tests: many plans, units and accepted values,
//! shaped like plan 1148 (annual, quarterly and monthly reports of counts and a rank).

use chrono::NaiveDate;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::schema::{submission_values, submissions};
use crate::db::{self, DbConnection};
use crate::error::ApiError;

/// Indicators per synthetic plan.
const INDICATORS_PER_PLAN: usize = 20;
/// Rows per batch insert: under SQLite's 32 766 bound parameters at 8 columns a row.
const BATCH: usize = 2_000;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub plans: usize,
    pub units: usize,
    /// Accepted indicator values in all.
    pub values: usize,
    pub seed: u64,
}

/// How much was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub plans: usize,
    pub indicators: usize,
    pub submissions: usize,
    pub values: usize,
}

#[derive(Insertable)]
#[diesel(table_name = submission_values)]
struct NewValue {
    submission_id: i64,
    indicator_id: i64,
    value: f64,
    kind: &'static str,
    note: Option<String>,
    out_of: Option<i32>,
    published_on: Option<NaiveDate>,
}

#[derive(Insertable)]
#[diesel(table_name = submissions)]
struct NewAccepted {
    plan_id: i64,
    unit_code: String,
    period: String,
    period_type: &'static str,
    status: &'static str,
    version: i32,
    first_submitted_at: Option<chrono::NaiveDateTime>,
    last_submitted_at: Option<chrono::NaiveDateTime>,
    accepted_at: Option<chrono::NaiveDateTime>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

/// Inserts `rows` in batches, natively per backend: the multi-backend connection cannot
/// batch-insert.
macro_rules! insert_batches {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(BATCH) {
            match $conn {
                DbConnection::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?
                }
                DbConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
    };
}

/// The periods of years 2021–2025: each year, its quarters and its months.
fn periods() -> Vec<(String, &'static str)> {
    let mut all = Vec::new();
    for year in 2021..=2025 {
        all.push((year.to_string(), "year"));
        for q in 1..=4 {
            all.push((format!("{year}-Q{q}"), "quarter"));
        }
        for m in 1..=12 {
            all.push((format!("{year}-{m:02}"), "month"));
        }
    }
    all
}

/// Generates the data set into an empty database, in one transaction.
pub fn generate(conn: &mut DbConnection, shape: Shape) -> Result<Generated, ApiError> {
    conn.transaction(|conn| {
        let mut rng = StdRng::seed_from_u64(shape.seed);
        let now = db::now();
        let units: Vec<String> = (1..=shape.units.max(1))
            .map(|n| format!("SYN-U{n:04}"))
            .collect();
        for code in &units {
            db::units::insert(
                conn,
                &db::units::UnitData {
                    code: code.clone(),
                    name: format!("Đơn vị tổng hợp số {code}"),
                    short_name: None,
                    kind: "internal".into(),
                    parent_code: None,
                    aliases: vec![],
                    gov_code: None,
                    valid_from: None,
                    valid_to: None,
                    successor_code: None,
                },
            )?;
        }
        let periods = periods();
        let mut generated = Generated {
            plans: 0,
            indicators: 0,
            submissions: 0,
            values: 0,
        };
        let per_plan = shape.values.div_ceil(shape.plans.max(1));
        for p in 0..shape.plans.max(1) {
            let plan = db::plans::insert(
                conn,
                &db::plans::PlanData {
                    number: format!("{}/KH-SYN", p + 1),
                    title: format!("Kế hoạch tổng hợp số {}", p + 1),
                    issuer_unit_code: units[0].clone(),
                    issued_on: NaiveDate::from_ymd_opt(2021, 1, 15).unwrap_or_default(),
                    period_start_year: 2021,
                    period_end_year: 2025,
                    vision_year: Some(2030),
                    signer: None,
                    consolidating_unit_code: units[0].clone(),
                    basis: "[]".into(),
                },
            )?;
            generated.plans += 1;
            let mut indicators = Vec::new();
            for i in 0..INDICATORS_PER_PLAN {
                let rank = i == INDICATORS_PER_PLAN - 1;
                let row = db::indicators::insert(
                    conn,
                    &db::indicators::IndicatorData {
                        plan_id: plan.id,
                        code: (i + 1).to_string(),
                        name: format!("Chỉ tiêu số {}", i + 1),
                        measure_unit: if rank {
                            "Chỉ số".into()
                        } else {
                            "Doanh nghiệp".into()
                        },
                        parent_id: None,
                        baseline_value: Some(rng.gen_range(10.0..1000.0_f64).round()),
                        baseline_label: Some("2016–2020".into()),
                        target_kind: if rank {
                            "rank_at_most".into()
                        } else {
                            "at_least".into()
                        },
                        target_value: if rank {
                            5.0
                        } else {
                            rng.gen_range(100.0..5000.0_f64).round()
                        },
                        target_scope: if rank {
                            "each_year".into()
                        } else {
                            "plan_period".into()
                        },
                        target_text: None,
                        aggregation: if rank { "last".into() } else { "sum".into() },
                        responsible_unit_code: Some(units[i % units.len()].clone()),
                        coordinating_unit_codes: "[]".into(),
                    },
                )?;
                indicators.push((row.id, rank));
            }
            generated.indicators += indicators.len();
            // Submissions in (unit, period) order, each carrying every indicator, until the
            // plan's share of values is reached.
            let mut remaining = per_plan;
            let mut slots = units
                .iter()
                .flat_map(|u| periods.iter().map(move |p| (u, p)));
            let mut pending_values = Vec::new();
            while remaining > 0 {
                let Some((unit, (period, period_type))) = slots.next() else {
                    break;
                };
                let id: i64 = diesel::insert_into(submissions::table)
                    .values(&NewAccepted {
                        plan_id: plan.id,
                        unit_code: unit.clone(),
                        period: period.clone(),
                        period_type,
                        status: "accepted",
                        version: 3,
                        first_submitted_at: Some(now),
                        last_submitted_at: Some(now),
                        accepted_at: Some(now),
                        created_at: now,
                        updated_at: now,
                    })
                    .returning(submissions::id)
                    .get_result(conn)?;
                generated.submissions += 1;
                for (indicator_id, rank) in indicators.iter().take(remaining) {
                    pending_values.push(NewValue {
                        submission_id: id,
                        indicator_id: *indicator_id,
                        value: if *rank {
                            f64::from(rng.gen_range(1..=12))
                        } else {
                            f64::from(rng.gen_range(0..300))
                        },
                        kind: "actual",
                        note: None,
                        out_of: rank.then_some(12),
                        published_on: None,
                    });
                }
                remaining = remaining.saturating_sub(indicators.len());
                if pending_values.len() >= BATCH * 5 {
                    generated.values += pending_values.len();
                    insert_batches!(conn, submission_values::table, pending_values);
                    pending_values.clear();
                }
            }
            generated.values += pending_values.len();
            insert_batches!(conn, submission_values::table, pending_values);
        }
        Ok(generated)
    })
    .and_then(|generated| {
        // Fresh statistics, as autovacuum (PostgreSQL) or an operator (SQLite) would have
        // gathered them on a database that grew over the years.
        use diesel::connection::SimpleConnection;
        conn.batch_execute("ANALYZE")?;
        Ok(generated)
    })
}
