//! `cau-recorder`: Cầu's recorder in a process of its own, for an archive on another
//! machine. It follows a hub started with `--recorder remote`, subscribes to each recorded
//! session over WebRTC (WHEP) and writes it as the hub's own recorder would
//! (`docs/recording.md`, "A recorder of its own"). `cau-recorder --help` lists the flags.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use recorder::remote::client::{ClientConfig, run};
use tracing_subscriber::EnvFilter;

/// Cầu's recorder as its own process.
#[derive(Debug, Parser)]
#[command(name = "cau-recorder", version)]
struct Args {
    /// The hub's base URL.
    #[arg(
        long,
        env = "CAU_RECORDER_HUB",
        default_value = "http://127.0.0.1:8080"
    )]
    hub: String,
    /// The secret shared with the hub (its `--recorder-secret`).
    #[arg(long, env = "CAU_RECORDER_SECRET", hide_env_values = true)]
    secret: String,
    /// Where sessions are written (`DIR/MEETING/SESSION/`); the hub's archive must see the
    /// same files (its data directory's `recordings/`, on shared storage).
    #[arg(long, env = "CAU_RECORDER_DIR", default_value = "recordings")]
    dir: PathBuf,
    /// The address media is received on (default: the one that routes to the hub).
    #[arg(long, env = "CAU_RECORDER_IP")]
    ip: Option<IpAddr>,
    /// Recording stops when less than this is left on the archive's disk (MB).
    #[arg(long, env = "CAU_DISK_RESERVE_MB", default_value_t = 2000)]
    disk_reserve_mb: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,is=warn,dimpl=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let config = ClientConfig {
        hub: args.hub,
        secret: args.secret,
        dir: args.dir,
        ip: args.ip,
        disk_reserve: args.disk_reserve_mb.saturating_mul(1_000_000),
    };
    tokio::select! {
        r = run(config) => match r {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cau-recorder: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => std::process::ExitCode::SUCCESS,
    }
}
