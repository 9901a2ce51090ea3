//! `cau`: the whole hub in one process. `cau --help` lists the flags.

use signaling::Config;
use signaling::config::{AdminCommand, Command};
use tracing_subscriber::EnvFilter;

/// The system allocator, counting the bytes it holds so `/metrics` can report the live heap
/// (`cau_heap_bytes`): what memory the hub's own data holds, unlike RSS, which keeps pages the
/// allocator has not returned.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    signaling::metrics::count_heap_with(|| ALLOCATOR.allocated());
    let config = match Config::load_from(std::env::args_os()) {
        Ok(c) => c,
        Err(signaling::config::ConfigError::Args(e)) => e.exit(),
        Err(e) => {
            eprintln!("cau: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,is=warn,dimpl=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    if let Some(Command::Admin(cmd)) = &config.command {
        return match admin(&config, cmd).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cau: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }

    let running = match signaling::start(&config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cau: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The certificate first: a script waiting for the ready line has it by then.
    if let Some(tls) = &running.tls {
        let made = tls.made.as_ref().map_or(String::new(), |p| {
            format!(
                " (self-signed, {}: browsers warn until it is accepted)",
                p.display()
            )
        });
        println!("Certificate{made}: SHA-256 fingerprint {}", tls.fingerprint);
        if !tls.spki_sha256.is_empty() {
            println!("Certificate key: SPKI SHA-256 {}", tls.spki_sha256);
        }
    }
    if let Some(at) = running.redirect_addr {
        println!("Plain HTTP on {at} redirects to HTTPS");
    }
    let tcp = running
        .tcp_port
        .map(|port| format!(", ICE-TCP on port {port}"))
        .unwrap_or_default();
    println!(
        "Cầu is running — open {} (media on UDP port {}{tcp}, data in {})",
        running.url(),
        running.udp_port,
        config.data_dir.display()
    );
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}

async fn admin(config: &Config, cmd: &AdminCommand) -> Result<(), String> {
    use signaling::auth::{self, StaffRole};
    let db = signaling::db::Db::open(&config.data_dir).map_err(|e| e.to_string())?;
    match cmd {
        AdminCommand::CreateUser {
            username,
            name,
            roles,
            password_stdin,
        } => {
            let roles = roles
                .iter()
                .map(|r| {
                    StaffRole::parse(r)
                        .ok_or(format!("unknown role {r:?} (scheduler, archivist, admin)"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let password = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                line.trim_end_matches(['\r', '\n']).to_string()
            } else if let Ok(p) = std::env::var("CAU_PASSWORD") {
                p
            } else {
                let p = rpassword::prompt_password("Password: ")
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                let again = rpassword::prompt_password("Password again: ")
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                if p != again {
                    return Err("the passwords differ".into());
                }
                p
            };
            let (username, name) = (username.clone(), name.clone());
            let user = db
                .call(move |c| {
                    Ok(auth::create_user(
                        c,
                        &username,
                        &name,
                        &password,
                        &roles,
                        signaling::db::now_ms(),
                    ))
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
            println!(
                "created {} ({}) with roles {} in {}",
                user.username,
                user.display_name,
                roles.join(", "),
                config.data_dir.display()
            );
        }
        AdminCommand::ListUsers => {
            let users = db
                .call(|c| auth::list_users(c))
                .await
                .map_err(|e| e.to_string())?;
            for u in users {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                println!("{}\t{}\t{}", u.username, u.display_name, roles.join(","));
            }
        }
        AdminCommand::CheckAccessLog => {
            let check = db
                .call(|c| signaling::archive::check_chain(c))
                .await
                .map_err(|e| e.to_string())?;
            match check.broken_at {
                None => println!(
                    "the archive access log holds {} entries, each chained to the one before: unbroken",
                    check.entries
                ),
                Some((id, why)) => {
                    return Err(format!(
                        "the archive access log is broken at entry {id}: {why} (entries read: {})",
                        check.entries
                    ));
                }
            }
        }
    }
    Ok(())
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
