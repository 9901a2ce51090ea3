//! `cau`: the whole hub in one process. `cau --help` lists the flags.

use clap::Parser;
use signaling::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,is=warn,dimpl=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let running = match signaling::start(&config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cau: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let shown = if running.addr.ip().is_unspecified() {
        std::net::SocketAddr::new([127, 0, 0, 1].into(), running.addr.port())
    } else {
        running.addr
    };
    println!(
        "Cầu is running — open http://{shown}/ (media on UDP port {}, data in {})",
        running.udp_port,
        config.data_dir.display()
    );
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
