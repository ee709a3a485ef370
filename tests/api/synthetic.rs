use plan_tracker::synthetic::{generate, Shape};

use crate::backend_tests;

backend_tests! { spawn_app;
    async fn the_synthetic_data_set_is_deterministic_and_aggregates(app) {
        let shape = Shape { plans: 2, units: 3, values: 1_000, seed: 7 };
        let generated = {
            let mut conn = app.pool.get().unwrap();
            generate(&mut conn, shape).unwrap()
        };
        assert_eq!((generated.plans, generated.indicators, generated.values), (2, 40, 1_000));
        assert_eq!(app.count("submission_values"), 1_000);
        assert_eq!(app.count("submissions") as usize, generated.submissions);
        let admin = app.token("admin").await;
        let progress = app.get("/api/v1/plans/1/progress?as_of=2025-12-31", &admin).await;
        assert_eq!(progress.status, 200, "{}", progress.body);
        let first = &progress.body["indicators"][0];
        assert!(first["actual_to_date"].as_f64().unwrap() > 0.0);
        // The same seed gives the same figures on a second database.
        let other = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
        {
            let mut conn = other.pool.get().unwrap();
            generate(&mut conn, shape).unwrap();
        }
        let again = other.get("/api/v1/plans/1/progress?as_of=2025-12-31", &other.token("admin").await).await;
        assert_eq!(again.body["indicators"][0]["actual_to_date"], first["actual_to_date"]);
        let compliance = app.get("/api/v1/plans/1/compliance?period=2021", &admin).await;
        assert_eq!(compliance.status, 200);
    }
}
