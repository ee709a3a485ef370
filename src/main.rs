use std::io::Read;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use plan_tracker::config::Settings;
use plan_tracker::domain::role::Role;
use plan_tracker::startup::{connect_and_migrate, Application};
use plan_tracker::{auth, db, demo, openapi, telemetry};

/// Tracks how provincial development plans are carried out. Settings come from the
/// environment (see README): DATABASE_URL, BIND, JWT_SECRET, …
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default); applies pending migrations first.
    Serve {
        /// Load plan 1148/KH-SKHĐT, its units and one user per role into an empty database,
        /// and print the users' passwords.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Import a plan's appendix tables (Phụ lục I indicators, Phụ lục II tasks), TSV or CSV.
    Import {
        #[arg(long)]
        plan_id: i64,
        /// Phụ lục I file.
        #[arg(long)]
        indicators: Option<std::path::PathBuf>,
        /// Phụ lục II file.
        #[arg(long)]
        tasks: Option<std::path::PathBuf>,
        /// Report what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fill an empty database with a deterministic synthetic data set for load tests.
    SeedSynthetic {
        #[arg(long, default_value_t = 10)]
        plans: usize,
        #[arg(long, default_value_t = 50)]
        units: usize,
        /// Accepted indicator values in all.
        #[arg(long, default_value_t = 10_000)]
        values: usize,
        #[arg(long, default_value_t = 1148)]
        seed: u64,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        full_name: Option<String>,
        /// The user's unit code; required unless the only role is admin.
        #[arg(long)]
        unit: Option<String>,
        /// admin, planner, leader, officer or viewer; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from standard input (required: passwords never go on the
        /// command line, where `ps` shows them).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// glibc gives threads that allocate at once their own malloc arenas, and freed memory stays
/// in them: with the HTTP workers and the blocking database threads, the load benchmark's peak
/// RSS on SQLite fell from 116 MiB to 72 MiB with two arenas (bench/RESULTS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called once, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Openapi => {
            print!("{}", openapi::document_json());
            Ok(())
        }
        Command::Migrate => {
            telemetry::init(settings.log_format);
            connect_and_migrate(&settings).map(|_| ())
        }
        Command::Serve { demo } => {
            telemetry::init(settings.log_format);
            serve(settings, demo)
        }
        Command::Import {
            plan_id,
            indicators,
            tasks,
            dry_run,
        } => {
            telemetry::init(settings.log_format);
            import(&settings, plan_id, indicators, tasks, dry_run)
        }
        Command::SeedSynthetic {
            plans,
            units,
            values,
            seed,
        } => {
            telemetry::init(settings.log_format);
            let pool = connect_and_migrate(&settings)?;
            let mut conn = pool.get()?;
            let started = std::time::Instant::now();
            let generated = plan_tracker::synthetic::generate(
                &mut conn,
                plan_tracker::synthetic::Shape {
                    plans,
                    units,
                    values,
                    seed,
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "generated {} plans, {} indicators, {} submissions, {} values in {:.1} s",
                generated.plans,
                generated.indicators,
                generated.submissions,
                generated.values,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    full_name,
                    unit,
                    roles,
                    password_stdin: _,
                },
        } => {
            telemetry::init(settings.log_format);
            create_user(&settings, username, full_name, unit, roles)
        }
    }
}

#[actix_web::main]
async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    if demo {
        let pool = connect_and_migrate(&settings)?;
        let mut conn = pool.get()?;
        let credentials = demo::load(&mut conn).map_err(|e| anyhow::anyhow!("--demo: {e}"))?;
        println!("Demo data loaded: plan 1148/KH-SKHĐT, its units and these users:");
        for c in credentials {
            println!(
                "  {:<15} {:<8} password: {}",
                c.username,
                c.role.as_str(),
                c.password
            );
        }
    }
    let app = Application::build(settings)?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

fn import(
    settings: &Settings,
    plan_id: i64,
    indicators: Option<std::path::PathBuf>,
    tasks: Option<std::path::PathBuf>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let read = |path: Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
        path.map(|p| {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("reading {} (it must be UTF-8)", p.display()))?;
            Ok(text.trim_start_matches('\u{feff}').to_owned())
        })
        .transpose()
    };
    let (indicators, tasks) = (read(indicators)?, read(tasks)?);
    if indicators.is_none() && tasks.is_none() {
        bail!("give --indicators FILE, --tasks FILE, or both");
    }
    let pool = connect_and_migrate(settings)?;
    let mut conn = pool.get()?;
    let report = db::import::import_in_transaction(
        &mut conn,
        plan_id,
        indicators.as_deref(),
        tasks.as_deref(),
        dry_run,
        &db::audit::Actor::default(),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "{}",
            serde_json::to_string(&e.problem()).unwrap_or_default()
        )
    })?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn create_user(
    settings: &Settings,
    username: String,
    full_name: Option<String>,
    unit: Option<String>,
    roles: Vec<String>,
) -> anyhow::Result<()> {
    let roles = roles
        .iter()
        .map(|r| Role::parse(r).with_context(|| format!("unknown role {r:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    let username = username.trim().to_lowercase();
    if let Some(weakness) = auth::password::weakness(&password, &username) {
        bail!("the password {weakness}");
    }
    if unit.is_none() && roles.iter().any(|r| *r != Role::Admin) {
        bail!("--unit is required unless the only role is admin");
    }
    let pool = connect_and_migrate(settings)?;
    let mut conn = pool.get()?;
    if let Some(code) = &unit {
        if !db::units::missing(&mut conn, &[code.as_str()])
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_empty()
        {
            bail!("unit {code} does not exist");
        }
    }
    let new = db::users::NewUser {
        full_name: full_name.unwrap_or_else(|| username.clone()),
        username,
        password_hash: auth::password::hash(&password)?,
        unit_code: unit,
        roles,
    };
    let user = db::users::insert(&mut conn, &new).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created user {} (id {})", user.username, user.id);
    Ok(())
}
