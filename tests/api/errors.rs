use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::Answer;

backend_tests! { spawn_app;
    async fn unknown_route_is_404_and_wrong_method_is_405_with_allow(app) {
        let token = app.token("admin").await;
        app.get("/api/v1/nothing-here", &token).await.problem(404);
        // Inside a collection's scope (src/api/mod.rs), past its routes.
        app.get("/api/v1/plans/1/nothing-here", &token).await.problem(404);
        let answer = app.call(Method::PUT, "/api/v1/plans/1", Some(&token), Some(&json!({}))).await;
        answer.problem(405);
        let allow = answer.header("allow").unwrap();
        for method in ["GET", "PATCH", "DELETE"] {
            assert!(allow.contains(method), "{allow}");
        }
    }

    async fn body_errors_are_problems_naming_the_field(app) {
        let token = app.token("admin").await;
        let send_raw = |body: &'static str, content_type: &'static str| {
            app.client
                .post(app.url("/api/v1/units"))
                .bearer_auth(&token)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let malformed = Answer::from(send_raw("{\"code\": ", "application/json").await.unwrap()).await;
        malformed.problem(400);

        let wrong_type = Answer::from(
            send_raw(r#"{"code":"X","name":"N","kind":"internal","aliases":"not a list"}"#, "application/json").await.unwrap(),
        ).await;
        wrong_type.problem(422);
        assert_eq!(wrong_type.error_fields(), ["aliases"]);

        let unknown = Answer::from(
            send_raw(r#"{"code":"X","name":"N","kind":"internal","colour":"red"}"#, "application/json").await.unwrap(),
        ).await;
        unknown.problem(422);
        assert!(unknown.body["errors"][0]["message"].as_str().unwrap().contains("unknown field"));

        let bad_enum = Answer::from(send_raw(r#"{"code":"X","name":"N","kind":"secret"}"#, "application/json").await.unwrap()).await;
        assert_eq!(bad_enum.problem(422)["errors"][0]["field"], "kind");

        let not_json = Answer::from(send_raw("code=X", "application/x-www-form-urlencoded").await.unwrap()).await;
        not_json.problem(415);

        let invalid_utf8 = Answer::from(
            app.client.post(app.url("/api/v1/units")).bearer_auth(&token)
                .header("content-type", "application/json")
                .body(vec![b'{', b'"', b'c', 0xff, b'"', b':', b'1', b'}'])
                .send().await.unwrap(),
        ).await;
        invalid_utf8.problem(400);
        assert_eq!(app.count("units"), 0, "nothing stored");
    }

    async fn oversized_body_is_413(app) {
        let token = app.token("admin").await;
        let huge = json!({"code": "X", "name": "a".repeat(300_000), "kind": "internal"});
        app.post("/api/v1/units", &token, &huge).await.problem(413);
        assert_eq!(app.count("units"), 0);
    }

    async fn bad_path_and_query_parameters_are_400(app) {
        let token = app.token("admin").await;
        let path = app.get("/api/v1/plans/not-a-number", &token).await;
        path.problem(400);
        let query = app.get("/api/v1/plans?limit=many", &token).await;
        query.problem(400);
        let range = app.get("/api/v1/plans?limit=501&offset=-1&sort=secret", &token).await;
        range.problem(422);
        let mut fields = range.error_fields();
        fields.sort();
        assert_eq!(fields, ["limit", "offset", "sort"]);
        let injection = app.get("/api/v1/units?q=%27%3B%20DROP%20TABLE%20units%3B--&kind=internal", &token).await;
        assert_eq!(injection.status, 200);
        assert_eq!(injection.body["total"], 0);
        let huge_id = app.get("/api/v1/plans/99999999999999999999999", &token).await;
        huge_id.problem(400);
    }

    async fn null_bytes_and_control_characters_are_refused(app) {
        let token = app.token("admin").await;
        let answer = app.post("/api/v1/units", &token, &json!({"code": "X", "name": "bad\u{0}name", "kind": "internal"})).await;
        assert_eq!(answer.problem(422)["errors"][0]["field"], "name");
        let answer = app.post("/api/v1/units", &token, &json!({"code": "../etc", "name": "N", "kind": "internal"})).await;
        assert_eq!(answer.problem(422)["errors"][0]["field"], "code");
        assert_eq!(app.count("units"), 0);
        assert_eq!(app.count("audit_log"), 0);
    }

    async fn compressed_problems_are_really_compressed(app) {
        // Problem bodies are rewritten with the request id on the way out; that must happen
        // before compression, or a client asking for gzip gets plain JSON labelled gzip.
        let token = app.token("admin").await;
        for path in ["/api/v1/plans/999999", "/api/v1/nothing-here"] {
            let response = app.client.get(app.url(path)).bearer_auth(&token)
                .header("accept-encoding", "gzip").send().await.unwrap();
            assert_eq!(response.status(), 404);
            let encoding = response.headers().get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.bytes().await.unwrap();
            match encoding.as_deref() {
                Some("gzip") => assert_eq!(&body[..2], [0x1f, 0x8b], "{path}: not gzip data"),
                None => assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok()),
                Some(other) => panic!("{path}: unexpected encoding {other}"),
            }
        }
    }
}
