//! The demonstration data set: plan 1148/KH-SKHĐT with its units, indicators, tasks and one
//! user per role.
//! Loaded by `serve --demo` into an empty database only.

use chrono::NaiveDate;
use rand::distributions::{Alphanumeric, DistString};

use crate::auth::password;
use crate::db::{self, DbConnection};
use crate::domain::role::Role;
use crate::error::ApiError;

/// (code, name, short name, kind, parent, aliases, electronic agency code)
type UnitSeed = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    Option<&'static str>,
);

/// The units plan 1148 names, parents before children.
const UNITS: &[UnitSeed] = &[
    (
        "UBND-TINH",
        "Ủy ban nhân dân Tỉnh Đồng Tháp",
        Some("UBND Tỉnh"),
        "external",
        None,
        &["Ủy ban nhân dân Tỉnh"],
        Some("000.00.00.H20"),
    ),
    (
        "HDND-TINH",
        "Hội đồng nhân dân Tỉnh Đồng Tháp",
        Some("HĐND Tỉnh"),
        "external",
        None,
        &["Hội đồng nhân dân Tỉnh"],
        None,
    ),
    (
        "SKHDT",
        "Sở Kế hoạch và Đầu tư",
        Some("Sở KH&ĐT"),
        "internal",
        None,
        &[],
        None,
    ),
    (
        "SKHDT-BGD",
        "Ban Giám đốc Sở",
        Some("Ban Giám đốc"),
        "internal",
        Some("SKHDT"),
        &[],
        None,
    ),
    (
        "SKHDT-THQH",
        "Phòng Tổng hợp, Quy hoạch",
        Some("Phòng THQH"),
        "internal",
        Some("SKHDT"),
        &["Phòng Tổng hợp Quy hoạch"],
        None,
    ),
    (
        "SKHDT-DKKD",
        "Phòng Đăng ký kinh doanh",
        Some("Phòng ĐKKD"),
        "internal",
        Some("SKHDT"),
        &[],
        None,
    ),
    (
        "SKHDT-HTDT",
        "Phòng Hợp tác Đầu tư",
        Some("Phòng HTĐT"),
        "internal",
        Some("SKHDT"),
        &[],
        None,
    ),
    (
        "SKHDT-NVKHDT",
        "Phòng Nghiệp vụ Kế hoạch và Đầu tư",
        Some("Phòng NVKHĐT"),
        "internal",
        Some("SKHDT"),
        &[],
        None,
    ),
    (
        "SKHDT-TTHTDN",
        "Trung tâm Hỗ trợ Doanh nghiệp và Khởi nghiệp",
        Some("Trung tâm HTDN"),
        "internal",
        Some("SKHDT"),
        &["Trung tâm Hỗ trợ DN và KN"],
        None,
    ),
    ("STC", "Sở Tài chính", None, "external", None, &[], None),
    (
        "UBND-TPCL",
        "UBND thành phố Cao Lãnh",
        Some("UBND TP Cao Lãnh"),
        "external",
        None,
        &["Ủy ban nhân dân thành phố Cao Lãnh"],
        None,
    ),
    (
        "BQL-KKT",
        "Ban Quản lý Khu Kinh tế",
        Some("BQL KKT"),
        "external",
        None,
        &["Ban Quản lý Khu kinh tế tỉnh Đồng Tháp"],
        None,
    ),
];

/// One demonstration account per role: (username, full name, unit, role).
const USERS: &[(&str, &str, Option<&str>, Role)] = &[
    ("admin", "Quản trị hệ thống", None, Role::Admin),
    (
        "planner.thqh",
        "Chuyên viên Phòng Tổng hợp, Quy hoạch",
        Some("SKHDT-THQH"),
        Role::Planner,
    ),
    ("leader.bgd", "Lãnh đạo Sở", Some("SKHDT-BGD"), Role::Leader),
    (
        "officer.dkkd",
        "Chuyên viên Phòng Đăng ký kinh doanh",
        Some("SKHDT-DKKD"),
        Role::Officer,
    ),
    (
        "officer.htdt",
        "Chuyên viên Phòng Hợp tác Đầu tư",
        Some("SKHDT-HTDT"),
        Role::Officer,
    ),
    (
        "viewer.portal",
        "Cổng dịch vụ công tỉnh (chỉ đọc)",
        Some("UBND-TINH"),
        Role::Viewer,
    ),
];

/// Plan 1148's appendix tables, read by the importer as any user's file would be, plus what
/// the plan's text says and its appendix omits.
fn load_plan_content(conn: &mut DbConnection, plan_id: i64) -> Result<(), ApiError> {
    db::import::import(
        conn,
        plan_id,
        Some(include_str!("../seed/plan-1148/appendix-1-indicators.tsv")),
        Some(include_str!("../seed/plan-1148/appendix-2-tasks.tsv")),
    )?;
    // "Có thêm 640 doanh nghiệp thành lập mới, trong đó có ít nhất 06 doanh nghiệp khởi
    // nghiệp đổi mới sáng tạo": a part of indicator 3, not a partition of it.
    let parent_id = db::indicators::id_by_code(conn, plan_id, "3")?;
    db::indicators::insert(
        conn,
        &db::indicators::IndicatorData {
            plan_id,
            code: "3.1".into(),
            name: "Số doanh nghiệp khởi nghiệp đổi mới sáng tạo".into(),
            measure_unit: "Doanh nghiệp".into(),
            parent_id,
            baseline_value: None,
            baseline_label: None,
            target_kind: "at_least".into(),
            target_value: 6.0,
            target_scope: "plan_period".into(),
            target_text: Some(
                "trong đó có ít nhất 06 doanh nghiệp khởi nghiệp đổi mới sáng tạo".into(),
            ),
            aggregation: "sum".into(),
            responsible_unit_code: Some("SKHDT-DKKD".into()),
            coordinating_unit_codes: r#"["SKHDT-TTHTDN"]"#.into(),
        },
    )?;
    // "Định kỳ hằng năm, trước ngày 30 tháng 11": every unit's annual report; Phòng Đăng ký
    // kinh doanh also sends new-enterprise figures (indicator 3) every quarter.
    let indicator_3 = db::indicators::id_by_code(conn, plan_id, "3")?;
    let schedule = |position,
                    period_type: &str,
                    deadline: &str,
                    units: Option<&str>,
                    indicators: Option<String>| {
        db::schedules::NewSchedule {
            plan_id,
            position,
            period_type: period_type.into(),
            deadline: deadline.into(),
            unit_codes: units.map(str::to_owned),
            indicator_ids: indicators,
        }
    };
    db::schedules::replace(
        conn,
        plan_id,
        &[
            schedule(
                0,
                "year",
                r#"{"fixed":"11-30","exclusive":true}"#,
                None,
                None,
            ),
            schedule(
                1,
                "quarter",
                r#"{"days_after_period_end":10}"#,
                Some(r#"["SKHDT-DKKD"]"#),
                indicator_3.map(|id| format!("[{id}]")),
            ),
        ],
    )?;
    // The footnotes of the plan's text ground task 2.
    if let Some(id) = db::tasks::id_by_code(conn, plan_id, "2")? {
        if let Some(task) = db::tasks::find(conn, id)? {
            let mut data = task.into_data();
            data.legal_basis = serde_json::json!([
                "Quyết định số 947/QĐ-UBND.HC ngày 14/7/2021 của UBND Tỉnh",
                "Kế hoạch số 31/KH-UBND ngày 27/01/2022 của UBND Tỉnh"
            ])
            .to_string();
            db::tasks::update(conn, id, &data)?;
        }
    }
    Ok(())
}

/// A demonstration login, printed once at start.
#[derive(Debug, Clone)]
pub struct DemoCredential {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// The wards that took over Cao Lãnh city's area when the district level was abolished.
const WARDS: &[(&str, &str)] = &[
    ("UBND-PCL", "UBND phường Cao Lãnh"),
    ("UBND-PMN", "UBND phường Mỹ Ngãi"),
    ("UBND-PMT", "UBND phường Mỹ Trà"),
];

/// What happened to the plan's units since 2025: the Department of Planning and Investment
/// merged into the Department of Finance on 2025-03-01, and Cao Lãnh city ceased on 2025-07-01,
/// its duties going to the wards Cao Lãnh (which the demo gives the city's items to), Mỹ Ngãi
/// and Mỹ Trà. Recorded through the same path as `POST /units/{code}/succession`.
fn record_reorganisation(conn: &mut DbConnection) -> Result<(), ApiError> {
    use crate::api::succession::{
        record, AssignmentRequest, SuccessionRequest, SuccessorRequest, TransferOptions,
    };
    use crate::domain::succession::Item;
    for (code, name) in WARDS {
        db::units::insert(
            conn,
            &db::units::UnitData {
                code: code.to_string(),
                name: name.to_string(),
                short_name: None,
                kind: "external".into(),
                parent_code: None,
                aliases: vec![],
                gov_code: None,
                valid_from: Some(date(2025, 7, 1)),
                valid_to: None,
                successor_code: None,
            },
        )?;
    }
    let actor = db::audit::Actor::default();
    let merger = SuccessionRequest {
        successors: vec![SuccessorRequest {
            code: "STC".into(),
            share: None,
        }],
        effective_on: date(2025, 3, 1),
        transfer: TransferOptions {
            indicators: true,
            tasks: true,
            open_submissions: true,
        },
        assignments: vec![],
    };
    record(conn, &actor, "SKHDT", &merger)?;
    let assignments = db::succession::held_items(conn, "UBND-TPCL")?
        .into_iter()
        .map(|(item, _)| AssignmentRequest {
            indicator_id: Item::indicator_id(item),
            task_id: Item::task_id(item),
            to: "UBND-PCL".into(),
        })
        .collect();
    let split = SuccessionRequest {
        successors: WARDS
            .iter()
            .map(|(code, _)| SuccessorRequest {
                code: code.to_string(),
                share: None,
            })
            .collect(),
        effective_on: date(2025, 7, 1),
        transfer: TransferOptions {
            indicators: true,
            tasks: true,
            open_submissions: false,
        },
        assignments,
    };
    record(conn, &actor, "UBND-TPCL", &split)?;
    Ok(())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Loads the demonstration data into an empty database, in one transaction; refuses a
/// database that already has users.
pub fn load(conn: &mut DbConnection) -> Result<Vec<DemoCredential>, ApiError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        if db::users::count(conn)? > 0 {
            return Err(ApiError::conflict("--demo loads only into an empty database"));
        }
        for (code, name, short, kind, parent, aliases, gov) in UNITS {
            db::units::insert(
                conn,
                &db::units::UnitData {
                    code: code.to_string(),
                    name: name.to_string(),
                    short_name: short.map(str::to_owned),
                    kind: kind.to_string(),
                    parent_code: parent.map(str::to_owned),
                    aliases: aliases.iter().map(|a| a.to_string()).collect(),
                    gov_code: gov.map(str::to_owned),
                    valid_from: None,
                    valid_to: None,
                    successor_code: None,
                },
            )?;
        }
        let basis = serde_json::json!([
            {"number": "72/KH-UBND", "date": "2022-03-03",
             "title": "Kế hoạch của UBND Tỉnh thực hiện Kết luận của BCH Đảng bộ Tỉnh khóa XI về tiếp tục thực hiện Nghị quyết số 01-NQ/TU của BCH Đảng bộ Tỉnh khoá X về phát triển kinh tế - xã hội thành phố Cao Lãnh đến năm 2025, tầm nhìn đến năm 2030"},
            {"number": "253-KL/TU", "date": "2021-12-31",
             "title": "Kết luận của BCH Đảng bộ Tỉnh khoá XI về phát triển kinh tế - xã hội thành phố Cao Lãnh"},
            {"number": "01-NQ/TU", "date": null,
             "title": "Nghị quyết của BCH Đảng bộ Tỉnh khoá X về phát triển kinh tế - xã hội thành phố Cao Lãnh"}
        ]);
        let plan = db::plans::insert(
            conn,
            &db::plans::PlanData {
                number: "1148/KH-SKHĐT".into(),
                title: "Kế hoạch triển khai thực hiện Kế hoạch số 72/KH-UBND, ngày 03/3/2022 của UBND Tỉnh về thực hiện Kết luận của BCH Đảng bộ Tỉnh khóa XI về tiếp tục thực hiện Nghị quyết số 01-NQ/TU của BCH Đảng bộ Tỉnh khoá X về phát triển kinh tế - xã hội thành phố Cao Lãnh đến năm 2025, tầm nhìn đến năm 2030".into(),
                issuer_unit_code: "SKHDT".into(),
                issued_on: date(2022, 5, 6),
                period_start_year: 2021,
                period_end_year: 2025,
                vision_year: Some(2030),
                signer: Some("Trương Hoà Châu, Giám đốc".into()),
                consolidating_unit_code: "SKHDT-THQH".into(),
                basis: basis.to_string(),
            },
        )?;
        load_plan_content(conn, plan.id)?;
        record_reorganisation(conn)?;
        let mut credentials = Vec::new();
        for (username, full_name, unit, role) in USERS {
            // Random passwords: a demo started on a reachable machine must not share one.
            let secret = format!("Demo-{}-7", Alphanumeric.sample_string(&mut rand::thread_rng(), 12));
            db::users::insert(
                conn,
                &db::users::NewUser {
                    username: username.to_string(),
                    password_hash: password::hash(&secret).map_err(ApiError::Internal)?,
                    full_name: full_name.to_string(),
                    unit_code: unit.map(str::to_owned),
                    roles: vec![*role],
                },
            )?;
            credentials.push(DemoCredential {
                username: username.to_string(),
                password: secret,
                role: *role,
            });
        }
        Ok(credentials)
    })
}
