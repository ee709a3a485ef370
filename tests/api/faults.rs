//! The database goes away under a running service and comes back. Runs with the PostgreSQL
//! suite: it starts its own throwaway cluster (initdb/pg_ctl as an unprivileged user on a
//! spare loopback port), so the machine's PostgreSQL is never disturbed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use plan_tracker::startup::Application;
use serde_json::json;

use crate::helpers::{settings_with, Answer, ADMIN_PASSWORD};

const OS_USER: &str = "plantracker-pg";

/// A PostgreSQL cluster of its own, stopped and removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn run_as_user(command: &str) -> bool {
    Command::new("su")
        .args([OS_USER, "-s", "/bin/sh", "-c", command])
        .status()
        .is_ok_and(|s| s.success())
}

impl Cluster {
    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())
            .expect("initdb");
        // initdb refuses to run as root.
        let _ = Command::new("useradd")
            .args(["--system", "--no-create-home", OS_USER])
            .status();
        let dir = tempfile::tempdir().unwrap();
        Command::new("chown")
            .args([OS_USER, dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.path().join("data");
        assert!(run_as_user(&format!(
            "{} -D {} -A trust -U postgres >/dev/null",
            bin.join("initdb").display(),
            data.display()
        )));
        let cluster = Cluster { bin, dir, port };
        cluster.up();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &str) -> bool {
        run_as_user(&format!(
            "{} -D {} {args}",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        ))
    }

    fn up(&self) {
        let socket_dir: &Path = self.dir.path();
        assert!(self.pg_ctl(&format!(
            "-w -l {}/log -o '-p {} -k {} -c listen_addresses=127.0.0.1' start >/dev/null",
            socket_dir.display(),
            self.port,
            socket_dir.display()
        )));
    }

    fn down(&self) {
        assert!(self.pg_ctl("-w -m fast stop >/dev/null"));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl("-m immediate stop >/dev/null 2>&1");
    }
}

async fn status(client: &reqwest::Client, url: String) -> (u16, Answer) {
    let answer = Answer::from(client.get(url).send().await.unwrap()).await;
    (answer.status.as_u16(), answer)
}

#[tokio::test]
async fn the_service_answers_503_while_the_database_is_gone_and_recovers_without_restart() {
    let cluster = Cluster::start();
    let settings = settings_with(&cluster.url(), &[("DB_TIMEOUT_SECS", "2")]);
    let app = Application::build(settings).expect("app on the own cluster");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = Answer::from(login).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = |code: &str| {
        client
            .post(format!("{base}/api/v1/units"))
            .bearer_auth(&token)
            .json(&json!({"code": code, "name": code, "kind": "internal"}))
            .send()
    };
    assert_eq!(create("BEFORE").await.unwrap().status(), 201);
    // Reads by id go over each worker's pipelined connection (src/db/pipeline.rs), which must
    // fail and recover like the pool's.
    let read = || {
        client
            .get(format!("{base}/api/v1/indicators/999999"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(read().await.unwrap().status(), 404);

    cluster.down();
    let started = Instant::now();
    let during = Answer::from(create("DURING").await.unwrap()).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "no hang: {:?}",
        started.elapsed()
    );
    during.problem(503);
    assert!(during.header("retry-after").is_some());
    let started = Instant::now();
    Answer::from(read().await.unwrap()).await.problem(503);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "no hang on the pipelined read: {:?}",
        started.elapsed()
    );
    let (ready, answer) = status(&client, format!("{base}/readyz")).await;
    assert_eq!(ready, 503);
    answer.problem(503);
    assert_eq!(
        status(&client, format!("{base}/healthz")).await.0,
        200,
        "liveness does not depend on the database"
    );

    cluster.up();
    let back = Instant::now();
    while status(&client, format!("{base}/readyz")).await.0 != 200 {
        assert!(back.elapsed() < Duration::from_secs(20), "did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(create("AFTER").await.unwrap().status(), 201);
    assert_eq!(
        read().await.unwrap().status(),
        404,
        "the pipelined read reconnected"
    );
    let list = client
        .get(format!("{base}/api/v1/units"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let codes: Vec<String> = Answer::from(list).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes,
        ["AFTER", "BEFORE"],
        "nothing half-written during the outage"
    );
}
