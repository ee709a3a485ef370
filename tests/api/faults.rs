//! The database goes away under a running service and comes back. Runs with the PostgreSQL
//! suite: it starts its own throwaway cluster (initdb/pg_ctl as an unprivileged user on a
//! spare loopback port), so the machine's PostgreSQL is never disturbed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use plan_tracker::startup::Application;
use serde_json::json;

use crate::helpers::{access_token, settings_with, Answer, ADMIN_PASSWORD};

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

    /// Stops (`true`) or resumes every process of the cluster: a database that holds its
    /// connections open but answers nothing, as behind a stalled network or a frozen host.
    fn freeze(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid")).unwrap();
        let postmaster = pid_file.lines().next().unwrap().trim().to_owned();
        Command::new("kill")
            .args([signal, postmaster.as_str()])
            .status()
            .unwrap();
        // The backends, checkpointer and other children of the postmaster.
        Command::new("pkill")
            .args([signal, "-P", postmaster.as_str()])
            .status()
            .unwrap();
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            self.freeze(false);
        }
        let _ = self.pg_ctl("-m immediate stop >/dev/null 2>&1");
    }
}

/// Starts the service on `cluster` and logs in as the bootstrap admin: its address, a client
/// and the admin's token.
async fn serve(cluster: &Cluster, extra: &[(&str, &str)]) -> (String, reqwest::Client, String) {
    let app =
        Application::build(settings_with(&cluster.url(), extra)).expect("app on the own cluster");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let token = access_token(&client, &base, "admin", ADMIN_PASSWORD).await;
    (base, client, token)
}

/// `GET base+path` as the bearer of `token`.
async fn get_as(client: &reqwest::Client, base: &str, path: &str, token: &str) -> Answer {
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

async fn status(client: &reqwest::Client, url: String) -> (u16, Answer) {
    let answer = Answer::from(client.get(url).send().await.unwrap()).await;
    (answer.status.as_u16(), answer)
}

#[tokio::test]
async fn the_service_answers_503_while_the_database_is_gone_and_recovers_without_restart() {
    let cluster = Cluster::start();
    let (base, client, token) = serve(&cluster, &[("DB_TIMEOUT_SECS", "2")]).await;
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
    let read = || get_as(&client, &base, "/api/v1/indicators/999999", &token);
    assert_eq!(read().await.status, 404);

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
    read().await.problem(503);
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
    assert_eq!(read().await.status, 404, "the pipelined read reconnected");
    let list = get_as(&client, &base, "/api/v1/units", &token).await;
    let codes: Vec<String> = list.body["items"]
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

#[tokio::test]
async fn a_pipelined_read_gives_up_on_a_database_that_stops_answering() {
    let cluster = Cluster::start();
    // The caller stays cached, so only the pipelined read itself waits on the database.
    let (base, client, token) = serve(
        &cluster,
        &[("DB_TIMEOUT_SECS", "2"), ("CALLER_CACHE_MS", "600000")],
    )
    .await;
    let read = || get_as(&client, &base, "/api/v1/indicators/999999", &token);
    assert_eq!(read().await.status, 404, "connected and answering");

    cluster.freeze(true);
    let started = Instant::now();
    let stalled = tokio::time::timeout(Duration::from_secs(10), read())
        .await
        .expect("the read must not wait for the database forever");
    let waited = started.elapsed();
    // The stalled connection is gone; reads queued behind one attempt to reconnect to a
    // database that still answers nothing share that attempt's failure rather than each
    // waiting out a timeout of its own, one after another.
    let started = Instant::now();
    let queued = tokio::time::timeout(
        Duration::from_secs(20),
        futures_util::future::join_all((0..6).map(|_| read())),
    )
    .await
    .expect("queued reads must not wait for the database forever");
    let queued_waited = started.elapsed();
    cluster.freeze(false);
    stalled.problem(503);
    assert!(stalled.header("retry-after").is_some());
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(6),
        "gave up after the 2 s timeout, not before and not never: {waited:?}"
    );
    for answer in &queued {
        answer.problem(503);
    }
    assert!(
        queued_waited < Duration::from_secs(6),
        "six queued reads took one connection timeout, not six: {queued_waited:?}"
    );
    assert_eq!(
        read().await.status,
        404,
        "a fresh connection after the stall"
    );
}
