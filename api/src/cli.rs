//! The `bangfu` command: serve the API, apply migrations, print the contract, manage
//! regions and staff accounts from the server's shell, load demo data. In the library so
//! that the end-to-end tests can run the very same command as a process of their own.

use std::io::BufRead;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::accounts::password;
use crate::accounts::queries as users;
use crate::audit::log::Actor;
use crate::domain::region::RegionLevel;
use crate::domain::role::Role;
use crate::infra::config::{Config, LogFormat, Overrides};
use crate::infra::db::{Db, migrate, write_tx};
use crate::regions::queries as regions;

#[derive(Parser)]
#[command(
    name = "bangfu",
    version,
    about = "Central server for public assistance case work (帮扶)"
)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (applies pending migrations first).
    Serve {
        /// Load the demo county (a lived-in county made by a seeded generator) before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Load the demo county: regions, a user of every role, and households, visits,
    /// applications, dropout cases and field work made by a seeded generator.
    Demo,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the region tree.
    #[command(subcommand)]
    Region(RegionCommand),
    /// Count the supervision rollups again from every record: after a bulk load that
    /// bypassed the database's triggers, or to rule them out when figures look wrong.
    Rollups,
    /// Copy this install from its SQLite database (and local photo folder) to PostgreSQL
    /// (and S3-compatible storage), then verify both sides. Stop the server first; the copy
    /// resumes if interrupted.
    Grow {
        /// The PostgreSQL database to grow into: `postgres://…`, new and empty (or one a
        /// previous run of this command started filling).
        #[arg(long)]
        to_database: String,
        /// Where the photos go: `s3://bucket[/prefix]` (endpoint and credentials from the
        /// `AWS_*` variables or the configuration file's [s3] table).
        #[arg(long)]
        to_photos: Option<String>,
        /// Rows copied per transaction.
        #[arg(long, default_value_t = 1000, hide = true)]
        batch_rows: i64,
        /// Stop after this many batches (to test resuming).
        #[arg(long, hide = true)]
        limit_batches: Option<u64>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account. The password is read from standard input with
    /// --password-stdin; otherwise one is generated and printed once.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// helper, village_secretary, township_officer, county_officer, auditor or admin
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Code of the region the user belongs to.
        #[arg(long)]
        region: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum RegionCommand {
    /// Add a region; without --parent it becomes a root (province, city or county).
    Add {
        /// province, city, county, township, village or school
        #[arg(long, value_parser = parse_level)]
        level: RegionLevel,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// Code of the parent region.
        #[arg(long)]
        parent: Option<String>,
        /// Local dibao standard in fen per person per month.
        #[arg(long)]
        dibao_fen: Option<i64>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}"))
}

fn parse_level(s: &str) -> Result<RegionLevel, String> {
    RegionLevel::parse(s).ok_or_else(|| format!("unknown level {s:?}"))
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BANGFU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.db)?;
    migrate::run_pending(&mut *db.conn()?)?;
    Ok(db)
}

/// Runs the command line of this process.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        print!("{}", crate::contract::document_json());
        return Ok(());
    }
    let config = Config::load(&cli.overrides)?;
    init_logging(config.log_format);
    match cli.command {
        Command::Openapi => Ok(()),
        Command::Serve { demo } => actix_web::rt::System::new().block_on(async move {
            if demo {
                load_demo(&config).await?;
            }
            crate::app::serve(config).await
        }),
        Command::Migrate => {
            let db = Db::connect(&config.db)?;
            let applied = migrate::run_pending(&mut *db.conn()?)?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::Demo => actix_web::rt::System::new().block_on(load_demo(&config)),
        Command::Rollups => {
            let db = Db::connect(&config.db)?;
            migrate::run_pending(&mut *db.conn()?)?;
            let started = std::time::Instant::now();
            let counted =
                actix_web::rt::System::new().block_on(crate::supervision::rollups::rebuild(&db))?;
            crate::supervision::rollups::tidy(&mut *db.conn()?)?;
            println!(
                "{counted} record mark(s) counted into the supervision rollups in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Grow {
            to_database,
            to_photos,
            batch_rows,
            limit_batches,
        } => {
            let opts = crate::grow::Options {
                to_database,
                to_photos,
                batch_rows,
                limit_batches,
            };
            crate::grow::run(&config, &opts, &mut std::io::stdout().lock())
        }
        Command::User(UserCommand::Add {
            username,
            display_name,
            role,
            region,
            phone,
            password_stdin,
        }) => {
            let db = open_db(&config)?;
            let (pw, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (
                    crate::infra::sealing::random_secret()?[..20].to_owned(),
                    true,
                )
            };
            password::check("password", &pw)
                .map_err(|_| anyhow::anyhow!("passwords are 10 to 128 characters"))?;
            let hash = password::hash(&pw)?;
            let u = write_tx(&mut *db.conn()?, |c| {
                let r = regions::find_by_code(c, &region)?;
                users::create(
                    c,
                    &Actor::operator(),
                    None,
                    users::NewUser {
                        username: &username,
                        display_name: display_name.as_deref().unwrap_or(&username),
                        password_hash: hash,
                        role,
                        region_id: &r.id,
                        phone: phone.as_deref(),
                    },
                )
            })
            .with_context(|| format!("creating user {username}"))?;
            println!(
                "created {} ({}) in {} [{}]",
                u.user.username, u.user.role, u.region.name, u.user.id
            );
            if generated {
                println!("password: {pw}");
            }
            Ok(())
        }
        Command::Region(RegionCommand::Add {
            level,
            code,
            name,
            parent,
            dibao_fen,
        }) => {
            let db = open_db(&config)?;
            let r = write_tx(&mut *db.conn()?, |c| {
                let parent_id = parent
                    .as_deref()
                    .map(|p| regions::find_by_code(c, p))
                    .transpose()?
                    .map(|r| r.id);
                regions::create(
                    c,
                    &Actor::operator(),
                    None,
                    regions::NewRegion {
                        parent_id: parent_id.as_deref(),
                        level,
                        code: &code,
                        name: &name,
                        dibao_fen,
                    },
                )
            })
            .with_context(|| format!("adding region {code}"))?;
            println!("added {} {} [{}]", r.level, r.name, r.id);
            Ok(())
        }
    }
}

async fn load_demo(config: &Config) -> anyhow::Result<()> {
    let state = crate::app::prepare(config)?;
    let started = std::time::Instant::now();
    let added = crate::demo::county(&state, crate::demo::SEED).await?;
    println!(
        "demo data: {} region(s), {} user(s), {} household(s), {} visit(s), {} photo(s) ({} reviewed), {} campaign(s) and {} calendar year(s) added in {:.1} s; every demo account's password is {}",
        added.regions,
        added.users,
        added.households,
        added.visits,
        added.photos,
        added.reviewed,
        added.campaigns,
        added.calendar_years,
        started.elapsed().as_secs_f64(),
        crate::demo::DEMO_PASSWORD
    );
    Ok(())
}
