use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_tests;
use crate::helpers::{Answer, TestApp};

/// Plan 1148's id, and its indicator and task ids by code.
async fn plan_1148(
    app: &TestApp,
    token: &str,
) -> (i64, HashMap<String, i64>, HashMap<String, i64>) {
    let plan = app.get("/api/v1/plans?q=1148", token).await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    let ids = |body: &Value| -> HashMap<String, i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["code"].as_str().unwrap().to_owned(),
                    i["id"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let indicators = ids(&app
        .get(&format!("/api/v1/plans/{plan}/indicators"), token)
        .await
        .body);
    let tasks = ids(&app
        .get(&format!("/api/v1/plans/{plan}/tasks"), token)
        .await
        .body);
    (plan, indicators, tasks)
}

/// Creates a submission and takes it through the workflow to `until` (draft, submitted,
/// returned, accepted); returns its id.
async fn report(
    app: &TestApp,
    officer: &str,
    planner: &str,
    plan: i64,
    body: Value,
    until: &str,
) -> i64 {
    let created = app
        .post(&format!("/api/v1/plans/{plan}/submissions"), officer, &body)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/submissions/{id}");
    if until != "draft" {
        assert_eq!(
            app.post(&format!("{path}/submit"), officer, &json!({}))
                .await
                .status,
            200
        );
    }
    match until {
        "accepted" => assert_eq!(
            app.post(&format!("{path}/accept"), planner, &json!({}))
                .await
                .status,
            200
        ),
        "returned" => assert_eq!(
            app.post(
                &format!("{path}/return"),
                planner,
                &json!({"reason": "Bổ sung"})
            )
            .await
            .status,
            200
        ),
        _ => {}
    }
    id
}

fn value(id: i64, v: f64, kind: &str) -> Value {
    json!({"indicator_id": id, "value": v, "kind": kind})
}

fn by_code<'a>(progress: &'a Value, code: &str) -> &'a Value {
    progress["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == code)
        .unwrap()
}

/// The scripted 2021–2024 reports of plan 1148.
async fn script(app: &TestApp) -> (i64, HashMap<String, i64>) {
    let planner = app.token("planner.thqh").await;
    let dkkd = app.token("officer.dkkd").await;
    let htdt = app.token("officer.htdt").await;
    let (plan, ind, _) = plan_1148(app, &planner).await;
    let ddci = |rank: f64| json!({"indicator_id": ind["4"], "value": rank, "kind": "actual", "out_of": 12});
    for (year, enterprises, rank) in [
        (2021, 120.0, Some(3.0)),
        (2022, 131.0, Some(6.0)),
        (2023, 140.0, Some(4.0)),
    ] {
        let mut values = vec![value(ind["3"], enterprises, "actual")];
        values.extend(rank.map(ddci));
        report(app, &dkkd, &planner, plan, json!({"unit_code": "SKHDT-DKKD", "period": year.to_string(), "indicator_values": values,
            "difficulties": format!("Khó khăn {year}"), "proposals": format!("Kiến nghị {year}")}), "accepted").await;
    }
    // 2024: an estimate accepted first, then reopened and replaced by the actual figure.
    let id = report(
        app,
        &dkkd,
        &planner,
        plan,
        json!({"unit_code": "SKHDT-DKKD", "period": "2024",
        "indicator_values": [value(ind["3"], 145.0, "estimate")], "difficulties": "Khó khăn 2024"}),
        "accepted",
    )
    .await;
    let path = format!("/api/v1/submissions/{id}");
    let reopened = app
        .post(
            &format!("{path}/reopen"),
            &planner,
            &json!({"reason": "Số liệu chính thức"}),
        )
        .await;
    let tag = reopened.header("etag").unwrap().to_owned();
    let mut request = app
        .client
        .request(Method::PATCH, app.url(&path))
        .bearer_auth(&dkkd)
        .header("if-match", tag);
    request = request.json(&json!({"indicator_values": [value(ind["3"], 150.0, "actual")]}));
    assert_eq!(
        Answer::from(request.send().await.unwrap()).await.status,
        200
    );
    app.post(&format!("{path}/submit"), &dkkd, &json!({})).await;
    app.post(&format!("{path}/accept"), &planner, &json!({}))
        .await;
    // Indicator 2 = 2.1 + 2.2; in 2021 a value for 2 itself that disagrees.
    report(app, &htdt, &planner, plan, json!({"unit_code": "SKHDT-HTDT", "period": "2021", "indicator_values": [
        value(ind["2"], 6.0, "actual"), value(ind["2.1"], 3.0, "actual"), value(ind["2.2"], 2.0, "actual")]}), "accepted").await;
    report(
        app,
        &htdt,
        &planner,
        plan,
        json!({"unit_code": "SKHDT-HTDT", "period": "2022", "indicator_values": [
        value(ind["2.1"], 4.0, "actual"), value(ind["2.2"], 1.0, "actual")]}),
        "accepted",
    )
    .await;
    // Not counted: a draft and a returned report.
    report(
        app,
        &htdt,
        &planner,
        plan,
        json!({"unit_code": "SKHDT-HTDT", "period": "2023", "indicator_values": [
        value(ind["2.1"], 50.0, "actual")]}),
        "returned",
    )
    .await;
    report(
        app,
        &htdt,
        &planner,
        plan,
        json!({"unit_code": "SKHDT-HTDT", "period": "2024", "indicator_values": [
        value(ind["2.1"], 60.0, "actual")]}),
        "draft",
    )
    .await;
    (plan, ind)
}

backend_tests! { spawn_demo_app;
    async fn progress_of_plan_1148_matches_hand_computed_figures(app) {
        let (plan, _) = script(&app).await;
        let leader = app.token("leader.bgd").await;
        let progress = app.get(&format!("/api/v1/plans/{plan}/progress?as_of=2024-12-31"), &leader).await;
        assert_eq!(progress.status, 200, "{}", progress.body);
        assert_eq!(progress.body["basis"], "accepted");
        let enterprises = by_code(&progress.body, "3");
        let yearly: Vec<f64> = enterprises["yearly"].as_array().unwrap().iter().map(|y| y["value"].as_f64().unwrap()).collect();
        assert_eq!(yearly, [120.0, 131.0, 140.0, 150.0], "the 2024 actual superseded the estimate");
        assert_eq!(enterprises["actual_to_date"], 541.0);
        assert_eq!(enterprises["percent_of_target"], 84.5);
        assert_eq!(enterprises["expected_by_now"], 512.1);
        assert_eq!(enterprises["status"], "on_track");
        assert_eq!(enterprises["coverage"], json!({"reported": 4, "due": 4}));
        let ended = app.get(&format!("/api/v1/plans/{plan}/progress?as_of=2026-01-01"), &leader).await;
        assert_eq!(by_code(&ended.body, "3")["status"], "missed");

        let ddci = by_code(&progress.body, "4");
        assert_eq!(ddci["status"], "missed", "2022's rank 6 misses the top 5");
        let verdicts: Vec<&str> = ddci["per_year"].as_array().unwrap().iter().map(|y| y["verdict"].as_str().unwrap()).collect();
        assert_eq!(verdicts, ["achieved", "missed", "achieved", "not_reported"]);

        let parent = by_code(&progress.body, "2");
        assert_eq!(parent["status"], "inconsistent");
        assert!(parent["inconsistencies"][0].as_str().unwrap().contains("2021"));
        assert_eq!(parent["actual_to_date"], 10.0, "children's sums: 3+2 and 4+1; the draft and the returned report do not count");
        assert_eq!(by_code(&progress.body, "2.1")["actual_to_date"], 7.0);
        assert_eq!(by_code(&progress.body, "1")["status"], "not_reported");
        assert_eq!(by_code(&progress.body, "1")["coverage"]["reported"], 0);

        assert_eq!(progress.body["tasks"]["total"], 2);
        assert_eq!(progress.body["tasks"]["overdue"], 1, "task 1 was due in June 2022");
        assert_eq!(progress.body["tasks"]["overdue_tasks"][0]["code"], "1");
        assert_eq!(progress.body["compliance"]["period"], "2024");
    }

    async fn the_preview_basis_counts_submitted_reports_for_reviewers_only(app) {
        let (plan, ind) = script(&app).await;
        let planner = app.token("planner.thqh").await;
        let tthtdn_unit = "SKHDT-TTHTDN";
        // An admin files the start-up centre's report; it stays submitted, not accepted.
        let admin = app.token("admin").await;
        report(&app, &admin, &planner, plan, json!({"unit_code": tthtdn_unit, "period": "2021",
            "indicator_values": [value(ind["1"], 9.0, "actual")]}), "submitted").await;
        let official = app.get(&format!("/api/v1/plans/{plan}/progress?as_of=2024-12-31"), &planner).await;
        assert_eq!(by_code(&official.body, "1")["actual_to_date"], Value::Null);
        let preview = app.get(&format!("/api/v1/plans/{plan}/progress?as_of=2024-12-31&basis=submitted"), &planner).await;
        assert_eq!(preview.body["basis"], "submitted");
        assert_eq!(by_code(&preview.body, "1")["actual_to_date"], 9.0);
        let officer = app.token("officer.dkkd").await;
        app.get(&format!("/api/v1/plans/{plan}/progress?basis=submitted"), &officer).await.problem(403);
        let viewer = app.token("viewer.portal").await;
        assert_eq!(app.get(&format!("/api/v1/plans/{plan}/progress"), &viewer).await.status, 200);

        let series = app.get(&format!("/api/v1/indicators/{}/series", ind["3"]), &viewer).await;
        let points: Vec<(&str, f64)> = series.body["points"].as_array().unwrap().iter().map(|p| (p["period"].as_str().unwrap(), p["value"].as_f64().unwrap())).collect();
        assert_eq!(points, [("2021", 120.0), ("2022", 131.0), ("2023", 140.0), ("2024", 150.0)]);
        let by_unit = app.get(&format!("/api/v1/indicators/{}/series?by=unit", ind["2.1"]), &viewer).await;
        assert!(by_unit.body["points"].as_array().unwrap().iter().all(|p| p["unit_code"] == "SKHDT-HTDT"));
    }

    async fn compliance_names_the_late_and_the_missing(app) {
        let (plan, _) = script(&app).await;
        let viewer = app.token("viewer.portal").await;
        let compliance = app.get(&format!("/api/v1/plans/{plan}/compliance?period=2024&as_of=2024-12-31"), &viewer).await;
        assert_eq!(compliance.status, 200, "{}", compliance.body);
        let states: HashMap<String, String> = compliance.body["units"].as_array().unwrap().iter()
            .map(|u| (u["unit_code"].as_str().unwrap().to_owned(), u["state"].as_str().unwrap().to_owned())).collect();
        assert_eq!(states["SKHDT-DKKD"], "late", "submitted today, after 30 November 2024");
        assert_eq!(states["SKHDT-HTDT"], "missing", "only a draft for 2024");
        assert_eq!(states["SKHDT-NVKHDT"], "missing");
        assert_eq!(compliance.body["owed"], 4);
        assert_eq!(compliance.body["on_time"], 0);
        app.get(&format!("/api/v1/plans/{plan}/compliance?period=2024-Q7"), &viewer).await.problem(422);

        let dashboard = app.get("/api/v1/dashboard?year=2024", &viewer).await;
        assert_eq!(dashboard.status, 200, "{}", dashboard.body);
        assert_eq!(dashboard.body["plans"], 1);
        assert_eq!(dashboard.body["indicators_by_status"]["on_track"], 1);
        assert_eq!(dashboard.body["reports_owed"], 4);
        assert_eq!(dashboard.body["reports_late"], 1);
    }

    async fn unit_dashboards_are_for_the_unit_and_reviewers(app) {
        let (_, _) = script(&app).await;
        let dkkd = app.token("officer.dkkd").await;
        let own = app.get("/api/v1/units/SKHDT-DKKD/dashboard?as_of=2024-12-31", &dkkd).await;
        assert_eq!(own.status, 200, "{}", own.body);
        let codes: Vec<&str> = own.body["indicators"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["3", "3.1", "4"]);
        app.get("/api/v1/units/SKHDT-HTDT/dashboard", &dkkd).await.problem(403);
        let viewer = app.token("viewer.portal").await;
        app.get("/api/v1/units/SKHDT-DKKD/dashboard", &viewer).await.problem(403);
        let leader = app.token("leader.bgd").await;
        let htdt = app.get("/api/v1/units/SKHDT-HTDT/dashboard", &leader).await;
        assert_eq!(htdt.status, 200);
        let open: Vec<&str> = htdt.body["open_submissions"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
        assert_eq!(open, ["returned", "draft"]);
        let nvkhdt = app.get("/api/v1/units/SKHDT-NVKHDT/dashboard?as_of=2024-12-31", &leader).await;
        assert_eq!(nvkhdt.body["tasks"][0]["timeliness"], "overdue");
    }

    async fn the_consolidated_report_as_json_csv_and_xlsx(app) {
        let (plan, _) = script(&app).await;
        let leader = app.token("leader.bgd").await;
        let json_report = app.get(&format!("/api/v1/plans/{plan}/report?year=2023"), &leader).await;
        assert_eq!(json_report.status, 200, "{}", json_report.body);
        assert_eq!(json_report.body["years"], json!([2021, 2022, 2023]));
        let three = json_report.body["indicators"].as_array().unwrap().iter().find(|i| i["code"] == "3").unwrap();
        assert_eq!(three["values"], json!([120.0, 131.0, 140.0]));
        assert_eq!(three["cumulative"], 391.0);
        assert_eq!(json_report.body["narratives"][0]["difficulties"], "Khó khăn 2023");

        let csv = app.client.get(app.url(&format!("/api/v1/plans/{plan}/report?year=2024&format=csv"))).bearer_auth(&leader).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv.headers()["content-disposition"].to_str().unwrap(), "attachment; filename=\"bao-cao-tong-hop-1148-kh-skhdt-2024.csv\"");
        let bytes = csv.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&bytes[3..]);
        let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
        let header = rows.iter().find(|r| r[0] == "Mã" && r[1] == "Chỉ tiêu").expect("indicator header");
        assert_eq!(header[5..9], ["Năm 2021", "Năm 2022", "Năm 2023", "Năm 2024"]);
        let row = rows.iter().find(|r| r[0] == "3" && r.len() == header.len()).unwrap();
        assert_eq!(row[5..12], ["120", "131", "140", "150", "541", "84.5", "Đúng tiến độ"]);
        assert!(rows.iter().any(|r| r[0] == "1" && r.get(6).is_some_and(|c| c == "Quá hạn")), "task 1 is overdue");

        let xlsx = app.client.get(app.url(&format!("/api/v1/plans/{plan}/report?year=2024")))
            .bearer_auth(&leader)
            .header("accept", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .send().await.unwrap();
        assert_eq!(xlsx.status(), 200);
        let bytes = xlsx.bytes().await.unwrap().to_vec();
        use calamine::{DataType, Reader};
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheets = book.sheet_names().to_vec();
        assert_eq!(sheets, ["Chỉ tiêu", "Nhiệm vụ", "Khó khăn, kiến nghị"]);
        let range = book.worksheet_range("Chỉ tiêu").unwrap();
        assert!(range.get_value((0, 0)).unwrap().to_string().contains("1148/KH-SKHĐT"));
        assert_eq!(range.get_value((2, 1)).unwrap().to_string(), "Chỉ tiêu");
        let row = (3..range.height() as u32).find(|r| range.get_value((*r, 0)).unwrap().as_string().as_deref() == Some("3")).unwrap();
        assert_eq!(range.get_value((row, 9)).unwrap().get_float(), Some(541.0));
        assert_eq!(range.get_value((row, 11)).unwrap().to_string(), "Đúng tiến độ");
        app.get(&format!("/api/v1/plans/{plan}/report?year=2019"), &leader).await.problem(422);
    }
}
