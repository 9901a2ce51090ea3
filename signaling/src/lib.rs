//! Cầu's hub: HTTP and websocket signaling, the unit directory, live rooms and their sessions.
//! Embeds the media plane ([`sfu`]) and, later, the recorder. The `cau` binary is `main.rs`.

pub mod access;
pub mod api;
pub mod archive;
pub mod attendance;
pub mod auth;
pub mod config;
pub mod db;
pub mod directory;
pub mod error;
pub mod http;
pub mod ics;
pub mod limits;
pub mod meetings;
pub mod metrics;
pub mod moderation_log;
pub mod protocol;
pub mod recordings;
pub mod remote_recorder;
pub mod retention;
pub mod rooms;
pub mod statistics;
pub mod status;
pub mod tls;
pub mod tokens;
pub mod turn;
pub mod ws;

use std::net::SocketAddr;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::Config;
use directory::{DEFAULT_DIRECTORY, Directory};
use rooms::Hub;
use tokens::TokenKey;

/// A directory installed through the API, in the data directory; used at start when no
/// `--directory` is given.
pub const DIRECTORY_FILE: &str = "directory.json";

/// Where recorded sessions are written, in the data directory (`MEETING/SESSION/`).
pub const RECORDINGS_DIR: &str = "recordings";

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Directory(#[from] directory::DirectoryError),
    #[error(transparent)]
    Database(#[from] db::DbError),
    #[error(transparent)]
    TokenKey(#[from] tokens::KeyError),
    #[error("cannot open the media port: {0}")]
    Media(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A setting is wrong; the message names it.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// A started hub.
#[derive(Debug)]
pub struct RunningHub {
    pub addr: SocketAddr,
    pub udp_port: u16,
    /// The ICE-TCP port, unless `--tcp-port off`.
    pub tcp_port: Option<u16>,
    pub hub: Hub,
    /// The certificate, when the hub serves HTTPS.
    pub tls: Option<tls::Certified>,
    /// Where plain HTTP is redirected to HTTPS (`--http-redirect`).
    pub redirect_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    redirect: Option<JoinHandle<()>>,
    roll_call: JoinHandle<()>,
}

impl RunningHub {
    /// The hub's own address as a URL (`https://…/` when it serves HTTPS); an unspecified
    /// listen address is shown as 127.0.0.1.
    pub fn url(&self) -> String {
        let shown = if self.addr.ip().is_unspecified() {
            SocketAddr::new([127, 0, 0, 1].into(), self.addr.port())
        } else {
            self.addr
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{shown}/")
    }

    /// Stop cleanly (SIGTERM): every client is told `bye` `server_shutdown` (its page
    /// rejoins when the hub is back) and leaves, which ends each session and its recording;
    /// the recordings are finalised (up to [`SHUTDOWN_RECORDINGS`]); then the HTTP servers
    /// stop, letting responses under way finish, and the database's log is written into it.
    pub async fn shutdown(self) {
        let recorded = self.hub.recorded_sessions().await;
        self.hub.begin_shutdown();
        let goodbye = tokio::time::Instant::now() + SHUTDOWN_GOODBYE;
        while self.hub.websockets() > 0 && tokio::time::Instant::now() < goodbye {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if !recorded.is_empty() {
            tracing::info!(
                recordings = recorded.len(),
                "waiting for recordings to be finalised"
            );
            if self
                .hub
                .recordings_settled(&recorded, SHUTDOWN_RECORDINGS)
                .await
            {
                tracing::info!("recordings finalised");
            }
        }
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(redirect) = self.redirect {
            let _ = redirect.await;
        }
        self.roll_call.abort();
        if let Err(e) = self.hub.db().checkpoint().await {
            tracing::error!(error = %e, "cannot write the database's log into it");
        }
    }
}

/// How long a shutdown waits for websockets to say goodbye and close.
pub const SHUTDOWN_GOODBYE: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a shutdown waits for recordings to be finalised (deploy/cau.service gives the
/// whole stop 60 s). A recording not finalised by then is finished at the next start, as
/// after a crash.
pub const SHUTDOWN_RECORDINGS: std::time::Duration = std::time::Duration::from_secs(45);

/// Serve `app` on `listener` until `stop` turns true, in a task of its own.
macro_rules! spawn_server {
    ($listener:expr, $app:expr, $stop:expr, $what:literal) => {{
        let mut stop = $stop;
        let server = axum::serve($listener, $app).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, concat!($what, " server failed"));
            }
        })
    }};
}

/// Start everything `config` describes: directory, database, media plane, HTTP server.
pub async fn start(config: &Config) -> Result<RunningHub, StartError> {
    let retention =
        retention::Retention::with_overrides(&config.retention).map_err(StartError::Config)?;
    let installed = config.data_dir.join(DIRECTORY_FILE);
    let directory = match &config.directory {
        Some(path) => Directory::load(path)?,
        None if installed.exists() => Directory::load(&installed)?,
        None => Directory::from_json(DEFAULT_DIRECTORY)?,
    };
    tracing::info!(
        units = directory.len(),
        source = directory.source(),
        "directory loaded"
    );
    let db = db::Db::open(&config.data_dir)?;
    let token_key = match &config.token_key_file {
        Some(path) => TokenKey::load_or_create(path, false)?,
        None => TokenKey::load_or_create(&config.data_dir.join(tokens::KEY_FILE), true)?,
    };
    let closed = db.close_dangling_sessions().await?;
    if closed > 0 {
        tracing::warn!(closed, "closed sessions left open by an earlier crash");
    }
    let sfu = sfu::start(sfu::SfuConfig {
        candidate_ips: config.candidate_ips(),
        udp_port: config.udp_port,
        tcp_port: config.ice_tcp_port(),
        core: config.sfu_core(),
        offer_timeout: config.offer_timeout,
        ice_grace: std::time::Duration::from_secs(config.ice_grace_secs.into()),
    })
    .await
    .map_err(StartError::Media)?;
    let (udp_port, tcp_port) = (sfu.udp_port(), sfu.tcp_port());
    let recordings = config.data_dir.join(RECORDINGS_DIR);
    let hub = Hub::new(
        directory,
        db,
        sfu,
        vec![],
        token_key,
        Some(recordings.clone()),
    );
    hub.set_retention(retention);
    let remote = config.recorder == config::RecorderMode::Remote;
    if remote {
        let secret = config.recorder_secret.clone().unwrap_or_default();
        if secret.chars().count() < remote_recorder::MIN_SECRET_LEN {
            return Err(StartError::Config(format!(
                "--recorder remote needs --recorder-secret (CAU_RECORDER_SECRET) of at least {} characters",
                remote_recorder::MIN_SECRET_LEN
            )));
        }
        let ip = config
            .candidate_ips()
            .first()
            .copied()
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        hub.set_remote_recorder(remote_recorder::RemoteRecorders::new(secret, ip));
        tracing::info!(%ip, "sessions are recorded by cau-recorder");
    }
    hub.set_disk_reserve(config.disk_reserve_mb.saturating_mul(1_000_000));
    hub.set_limits(config.limits());
    if let Some(turn) = config.turn() {
        tracing::info!(servers = ?turn.urls, "clients are handed TURN credentials");
        hub.set_turn(turn);
    }
    // Recordings a crash cut short are finished, and session directories put back from a
    // copy catalogued, in the background: the hub serves meanwhile.
    {
        let (db, directory) = (hub.db().clone(), hub.directory());
        tokio::spawn(async move {
            // A remote recorder finishes what its own crash left (it may be at it now).
            if !remote {
                recordings::recover(&db, directory, recordings.clone()).await;
            }
            recordings::catalogue_restored(&db, recordings).await
        });
    }
    let certified = match (config.tls, &config.tls_cert, &config.tls_key) {
        (_, Some(cert), Some(key)) => Some(tls::from_files(cert, key)?),
        (Some(config::TlsMode::SelfSigned), _, _) => Some(tls::self_signed(
            &config.data_dir.join(tls::SELF_SIGNED_DIR),
            &config.certificate_names(),
        )?),
        _ => None,
    };
    let bind = |addr: SocketAddr| async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Listen { addr, source })?;
        Ok::<_, StartError>((listener, local))
    };
    let (listener, addr) = bind(config.listen).await?;
    let redirect = match config.http_redirect {
        Some(at) => Some(bind(at).await?),
        None => None,
    };
    let roll_call = hub.spawn_roll_call_task();
    let mut state = http::AppState::new(hub.clone(), config.data_dir.clone());
    state.public_url = config.public_url.clone();
    state.listen = Some(addr);
    state.https = certified.is_some()
        || config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    let app = http::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let (shutdown, stop) = watch::channel(false);
    let server = match &certified {
        Some(c) => {
            use axum::serve::ListenerExt as _;
            let listener = tls::TlsListener::new(listener, c.config.clone())
                .map_err(|source| StartError::Listen { addr, source })?
                .tap_io(|_| ());
            spawn_server!(listener, app, stop.clone(), "https")
        }
        None => spawn_server!(listener, app, stop.clone(), "http"),
    };
    let redirect_addr = redirect.as_ref().map(|(_, a)| *a);
    let redirect = redirect.map(|(listener, _)| {
        let app = http::redirect_app(addr.port(), config.public_url.clone());
        spawn_server!(listener, app, stop.clone(), "http redirect")
    });
    Ok(RunningHub {
        addr,
        udp_port,
        tcp_port,
        hub,
        tls: certified,
        redirect_addr,
        shutdown,
        server,
        redirect,
        roll_call,
    })
}
