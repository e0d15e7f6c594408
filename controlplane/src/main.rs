//! `tickwire-controlplane`: run the control plane, manage tokens, print the example config.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tickwire_controlplane::auth::{Role, create_token};
use tickwire_controlplane::config::{self, Config};

#[derive(Debug, Parser)]
#[command(
    name = "tickwire-controlplane",
    version,
    about = "tickwire control plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (as an unprivileged user: root and capabilities are refused).
    Run {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Add a token to the configuration file and print it (once: only its hash is stored).
    Create {
        /// viewer, trader or risk-admin.
        #[arg(long)]
        role: String,
        /// Who holds it (the actor in audit rows); defaults to the role.
        #[arg(long)]
        name: Option<String>,
        /// Configuration file to add it to.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the documented example.
    Example,
    /// Load, apply environment overrides and validate a file.
    Check {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

/// Refuses root and any effective capability: the control plane must stay unprivileged.
fn ensure_unprivileged() -> anyhow::Result<()> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
            .map(str::to_owned)
    };
    let effective_uid = field("Uid:")
        .and_then(|uids| uids.split_whitespace().nth(1).map(str::to_owned))
        .context("no Uid line in /proc/self/status")?;
    if effective_uid == "0" {
        bail!(
            "refusing to run as root: run the control plane as the data plane's unprivileged \
             service user (for example `setpriv --reuid=tickwire --regid=tickwire --clear-groups`)"
        );
    }
    let capabilities = field("CapEff:").context("no CapEff line in /proc/self/status")?;
    if u64::from_str_radix(&capabilities, 16).unwrap_or(u64::MAX) != 0 {
        bail!(
            "refusing to run with capabilities (CapEff {capabilities}): the control plane needs none"
        );
    }
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TICKWIRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}

fn run(config_path: &std::path::Path) -> anyhow::Result<()> {
    ensure_unprivileged()?;
    let config = Config::load(config_path)?;
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime
        .block_on(tickwire_controlplane::run(config, shutdown_signal()))
        .context("control plane")?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => run(&config),
        Command::Token {
            command: TokenCommand::Create { role, name, config },
        } => (|| {
            let role = Role::parse(&role)
                .with_context(|| format!("unknown role {role:?} (viewer, trader, risk-admin)"))?;
            let name = name.unwrap_or_else(|| role.name().to_owned());
            let token = create_token(&config, &name, role)
                .with_context(|| format!("adding a token to {}", config.display()))?;
            eprintln!(
                "added token {name:?} ({}) to {}; it is shown only now:",
                role.name(),
                config.display()
            );
            println!("{token}");
            Ok(())
        })(),
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { config },
        } => Config::load(&config)
            .map(|_| println!("{}: valid", config.display()))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tickwire-controlplane: {error:#}");
            ExitCode::FAILURE
        }
    }
}
