//! Start-up configuration, each layer over the one before: defaults in code, the TOML file
//! of `--config` (`CAU_CONFIG`), the environment (`CAU_…`), then flags. Every value is
//! checked at start, with an error naming the flag or the file's key.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "cau",
    version,
    about = "Cầu — the province's video-conferencing hub (signaling, media and web client in one process)",
    group(clap::ArgGroup::new("tls_or_cert").args(["tls", "tls_cert"]).multiple(true))
)]
pub struct Config {
    /// A TOML file of settings (keys as the flags, with `_` for `-`: `udp_port = 10000`);
    /// the environment and flags override it. Unknown keys are refused.
    /// config/cau.sample.toml lists every key.
    #[arg(long, env = "CAU_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address and port the web pages and the websocket are served on.
    #[arg(long, env = "CAU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address browsers reach the media port on (ICE host candidate). Repeat, or separate with
    /// commas, for several. Default: the listen address if it is a specific one, plus this
    /// machine's outbound address.
    #[arg(long = "public-ip", env = "CAU_PUBLIC_IP", value_delimiter = ',')]
    pub public_ips: Vec<IpAddr>,

    /// UDP port carrying every endpoint's media (0: pick a free one).
    #[arg(long, env = "CAU_UDP_PORT", default_value_t = 10000)]
    pub udp_port: u16,

    /// TCP port of ICE over TCP, the fallback of endpoints whose UDP is blocked (passive
    /// candidates on the same addresses as UDP), or `off`. Default: the UDP port's number.
    #[arg(long, env = "CAU_TCP_PORT", value_parser = tcp_port)]
    pub tcp_port: Option<TcpPort>,

    /// Directory holding the database and the join-token key (created on first start).
    #[arg(long, env = "CAU_DATA_DIR", default_value = "cau-data", global = true)]
    pub data_dir: PathBuf,

    /// Unit directory JSON (format of data/units/*.json). Default: the one an admin installed
    /// (directory.json in the data directory), else Thái Nguyên 2024, built in.
    #[arg(long, env = "CAU_DIRECTORY")]
    pub directory: Option<PathBuf>,

    /// The address officials reach the hub at, for join links (e.g. https://cau.example).
    /// Default: the address each request came to.
    #[arg(long, env = "CAU_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// File holding the join-token key (at least 32 bytes). Default: join-token.key in the
    /// data directory, created on first start.
    #[arg(long, env = "CAU_TOKEN_KEY_FILE")]
    pub token_key_file: Option<PathBuf>,

    /// Video receive slots per participant: the floor, the chair, the dominant speaker and the
    /// last-N others it sees (see docs/forwarding.md).
    #[arg(long, env = "CAU_VIDEO_SLOTS", default_value_t = 11, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub video_slots: u16,

    /// Audio receive slots per participant: the floor, the chair and the loudest few.
    #[arg(long, env = "CAU_AUDIO_SLOTS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub audio_slots: u16,

    /// How many of the loudest speakers every participant hears besides floor and chair.
    #[arg(long, env = "CAU_AUDIO_TOP_K", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub audio_top_k: u16,

    /// Seconds an endpoint whose connection dropped is kept for an ICE restart.
    #[arg(long, env = "CAU_ICE_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=300))]
    pub ice_grace_secs: u16,

    /// Space (MB) recording leaves free on the archive's disk: below it, recording stops
    /// cleanly (the meeting goes on) and what was recorded is finalised. At least a large
    /// session's size: finalising copies each file once.
    #[arg(long, env = "CAU_DISK_RESERVE_MB", default_value_t = 2000)]
    pub disk_reserve_mb: u64,

    /// A meeting class's retention period, CLASS=YEARS (1–100) or CLASS=permanent; repeat, or
    /// separate with commas. Classes: review, thematic, general, training (docs/recording.md).
    #[arg(long = "retention", env = "CAU_RETENTION", value_delimiter = ',', value_parser = retention_period)]
    pub retention: Vec<String>,

    /// Who records sessions: `local` (the hub, in-process) or `remote` (a `cau-recorder`
    /// process that subscribes over WebRTC; docs/recording.md, "A recorder of its own").
    #[arg(long, env = "CAU_RECORDER", value_enum, default_value_t = RecorderMode::Local)]
    pub recorder: RecorderMode,

    /// The secret a `cau-recorder` presents (at least 16 characters); required with
    /// `--recorder remote`.
    #[arg(long, env = "CAU_RECORDER_SECRET", hide_env_values = true)]
    pub recorder_secret: Option<String>,

    /// Largest websocket message a client may send but `offer` and `answer`, in KiB.
    #[arg(long, env = "CAU_MAX_MESSAGE_KB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_message_kb: u32,

    /// Largest `offer` or `answer` a client may send, in KiB (an answer grows with the
    /// receive slots; 1024 leaves room for several hundred).
    #[arg(long, env = "CAU_MAX_SDP_KB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..=16384))]
    pub max_sdp_kb: u32,

    /// Websocket messages a second one client may send on average (twice that at once); past
    /// it messages are refused (`rate_limited`), and a client that keeps on 5 s is closed.
    #[arg(long, env = "CAU_MAX_MESSAGES_PER_SECOND", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub max_messages_per_second: u32,

    /// Websockets open at once from one address (0: no limit). Units behind one NAT share an
    /// address: keep it above the number of them.
    #[arg(long, env = "CAU_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub max_connections_per_address: u32,

    /// m-lines in a client's offer: the tracks one endpoint may publish and then some (the
    /// web client offers 3).
    #[arg(long, env = "CAU_MAX_OFFER_M_LINES", default_value_t = 8, value_parser = clap::value_parser!(u32).range(3..=64))]
    pub max_offer_m_lines: u32,

    /// Endpoints in one session, whatever a meeting's own cap (chairs get in above it).
    #[arg(long, env = "CAU_MAX_ENDPOINTS_PER_SESSION", default_value_t = 500, value_parser = clap::value_parser!(u32).range(2..=10000))]
    pub max_endpoints_per_session: u32,

    /// Longest display name, in characters.
    #[arg(long, env = "CAU_MAX_NAME_CHARS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(8..=256))]
    pub max_name_chars: u32,

    /// HTTPS with a certificate made for a LAN trial (`self-signed`, kept in DATA_DIR/tls,
    /// its fingerprint printed at start). With `--tls-cert` and `--tls-key` the hub serves
    /// that certificate instead; with neither it serves plain HTTP (for localhost, or behind
    /// a proxy that does TLS).
    #[arg(long, env = "CAU_TLS", value_enum, conflicts_with = "tls_cert")]
    pub tls: Option<TlsMode>,

    /// The certificate chain (PEM) served over HTTPS, with `--tls-key`.
    #[arg(long, env = "CAU_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(long, env = "CAU_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Also listen here for plain HTTP and redirect every request to HTTPS (`0.0.0.0:80`).
    #[arg(long, env = "CAU_HTTP_REDIRECT", requires = "tls_or_cert")]
    pub http_redirect: Option<SocketAddr>,

    /// A TURN server clients may relay through when nothing else gets through
    /// (`turn:HOST:3478`, `turns:HOST:443?transport=tcp`); repeat, or separate with commas.
    /// Needs `--turn-secret`.
    #[arg(long = "turn-url", env = "CAU_TURN_URL", value_delimiter = ',', value_parser = turn_url, requires = "turn_secret")]
    pub turn_urls: Vec<String>,

    /// The secret shared with the TURN servers (coturn's `static-auth-secret`, with
    /// `use-auth-secret`), at least 16 characters: the hub hands each participant credentials
    /// made from it that expire.
    #[arg(long, env = "CAU_TURN_SECRET", hide_env_values = true, requires = "turn_urls", value_parser = turn_secret)]
    pub turn_secret: Option<String>,

    /// How long TURN credentials stay valid, in seconds: longer than the longest meeting
    /// (a relay is refreshed with them while it lasts).
    #[arg(long, env = "CAU_TURN_TTL_SECS", default_value_t = 43_200, value_parser = clap::value_parser!(u32).range(60..=604_800))]
    pub turn_ttl_secs: u32,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// How long a client has to answer the hub's offer (not a flag: tests shorten it).
    #[arg(skip = sfu::shell::DEFAULT_OFFER_TIMEOUT)]
    pub offer_timeout: std::time::Duration,
}

/// How the certificate is had (`--tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    /// Made by the hub for a LAN trial; browsers warn until it is accepted.
    SelfSigned,
}

/// Who records sessions (`--recorder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecorderMode {
    /// The hub itself, in-process.
    Local,
    /// A `cau-recorder` process.
    Remote,
}

/// A TURN server's URL as browsers take it (RFC 7065): `turn:` or `turns:`, a host, an
/// optional port and `?transport=udp|tcp`.
fn turn_url(s: &str) -> Result<String, String> {
    crate::turn::check_url(s).map(|()| s.to_string())
}

fn turn_secret(s: &str) -> Result<String, String> {
    if s.chars().count() < crate::turn::MIN_SECRET_CHARS {
        return Err(format!(
            "at least {} characters",
            crate::turn::MIN_SECRET_CHARS
        ));
    }
    Ok(s.to_string())
}

/// `--tcp-port`: ICE over TCP on a port, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpPort {
    Off,
    Port(u16),
}

fn tcp_port(s: &str) -> Result<TcpPort, String> {
    if s == "off" {
        return Ok(TcpPort::Off);
    }
    s.parse()
        .map(TcpPort::Port)
        .map_err(|_| "a port number (0: a free one) or `off`".to_string())
}

/// One `--retention` entry, checked on its own so that a wrong one is refused at start.
fn retention_period(s: &str) -> Result<String, String> {
    crate::retention::Retention::with_overrides(&[s.to_string()]).map(|_| s.to_string())
}

/// Things `cau` does instead of running the hub.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Administration from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminCommand {
    /// Create a staff account (the first admin, typically). The password is asked for on the
    /// terminal, or read from the CAU_PASSWORD variable or (with --password-stdin) stdin.
    CreateUser {
        #[arg(long)]
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// scheduler, archivist or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List staff accounts.
    ListUsers,
    /// Check the archive's access log: recompute every entry's chained hash and report the
    /// first entry that does not follow the one before (exit status 1), or that all do.
    CheckAccessLog,
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag or environment variable (clap's own message, with usage).
    #[error(transparent)]
    Args(#[from] clap::Error),
    /// The configuration file: the message names the file and the key.
    #[error("{0}")]
    File(String),
}

impl Config {
    /// The configuration from `args` (the program name first) and the environment, with the
    /// file of `--config` or `CAU_CONFIG` under them: a key of the file is used unless the
    /// same setting came from a flag or its environment variable.
    pub fn load_from<I, T>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let command = Config::command();
        let given = command.clone().try_get_matches_from(&args)?;
        let Some(path) = given.get_one::<PathBuf>("config").cloned() else {
            return Ok(Config::from_arg_matches(&given)?);
        };
        let mut from_file = file_flags(&command, &path, &given)?;
        let mut all = args.clone();
        let rest = all.split_off(1.min(all.len()));
        all.append(&mut from_file);
        all.extend(rest);
        let matches = command.try_get_matches_from(all)?;
        Ok(Config::from_arg_matches(&matches)?)
    }
}

/// The file's settings as flags (`--udp-port 10000`), leaving out those `given` has from a
/// flag or the environment; each value checked on its own, so an error names its key.
fn file_flags(
    command: &clap::Command,
    path: &Path,
    given: &clap::ArgMatches,
) -> Result<Vec<OsString>, ConfigError> {
    let file = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::File(format!("--config {file}: {e}")))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| ConfigError::File(format!("--config {file}: not TOML: {e}")))?;
    let mut flags = vec![];
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| {
                a.get_long() == Some(long.as_str())
                    && !key.contains('-')
                    && !["config", "help", "version"].contains(&long.as_str())
            })
            .ok_or_else(|| {
                ConfigError::File(format!(
                    "{file}: unknown key `{key}` (the keys are the flags of `cau --help` with _ for -, as in config/cau.sample.toml)"
                ))
            })?;
        let long = format!("--{long}");
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Float(f) => Some(f.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        let values: Vec<String> = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<_>>(),
            v => scalar(v).map(|s| vec![s]),
        }
        .ok_or_else(|| {
            ConfigError::File(format!(
                "{file}: key `{key}`: a string, a number, true/false or a list of those"
            ))
        })?;
        let mut alone = vec![OsString::from("cau")];
        for v in &values {
            alone.push(long.clone().into());
            alone.push(v.into());
        }
        if let Err(e) = command.clone().try_get_matches_from(alone) {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                InvalidValue
                    | ValueValidation
                    | InvalidUtf8
                    | WrongNumberOfValues
                    | ArgumentConflict
            ) {
                let why = e.to_string();
                let why = why
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                return Err(ConfigError::File(format!("{file}: key `{key}`: {why}")));
            }
        }
        if matches!(
            given.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        for v in values {
            flags.push(long.clone().into());
            flags.push(v.into());
        }
    }
    Ok(flags)
}

impl Config {
    /// The addresses for ICE host candidates, resolved from the flags and defaults.
    /// The forwarding core's configuration from the flags.
    pub fn sfu_core(&self) -> sfu::core::CoreConfig {
        sfu::core::CoreConfig {
            video_slots: self.video_slots.into(),
            audio_slots: self.audio_slots.into(),
            audio_top_k: self.audio_top_k.into(),
            ..Default::default()
        }
    }

    /// The TURN servers and how their credentials are made, when any is configured.
    pub fn turn(&self) -> Option<crate::turn::Turn> {
        let secret = self.turn_secret.clone()?;
        (!self.turn_urls.is_empty()).then(|| crate::turn::Turn {
            urls: self.turn_urls.clone(),
            secret,
            ttl: std::time::Duration::from_secs(self.turn_ttl_secs.into()),
        })
    }

    /// The limits on what clients send and open, from the flags.
    pub fn limits(&self) -> crate::limits::Limits {
        crate::limits::Limits {
            message_bytes: self.max_message_kb as usize * 1024,
            sdp_bytes: self.max_sdp_kb as usize * 1024,
            messages_per_second: self.max_messages_per_second,
            connections_per_address: self.max_connections_per_address,
            offer_m_lines: self.max_offer_m_lines as usize,
            endpoints_per_session: self.max_endpoints_per_session as usize,
            name_chars: self.max_name_chars as usize,
        }
    }

    /// The names a made certificate (`--tls self-signed`) covers: localhost, the listen and
    /// public addresses, and the host of `--public-url`.
    pub fn certificate_names(&self) -> Vec<String> {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let mut add = |n: String| {
            if !n.is_empty() && !names.contains(&n) {
                names.push(n);
            }
        };
        if !self.listen.ip().is_unspecified() {
            add(self.listen.ip().to_string());
        }
        for ip in &self.public_ips {
            add(ip.to_string());
        }
        if let Some(url) = &self.public_url
            && let Ok(uri) = url.parse::<axum::http::Uri>()
            && let Some(host) = uri.host()
        {
            add(host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string());
        }
        names
    }

    /// The port ICE-TCP candidates are on (0: a free one), if they are offered.
    pub fn ice_tcp_port(&self) -> Option<u16> {
        match self.tcp_port {
            None => Some(self.udp_port),
            Some(TcpPort::Off) => None,
            Some(TcpPort::Port(port)) => Some(port),
        }
    }

    pub fn candidate_ips(&self) -> Vec<IpAddr> {
        if !self.public_ips.is_empty() {
            let mut ips = self.public_ips.clone();
            ips.dedup();
            return ips;
        }
        let mut ips = vec![];
        if !self.listen.ip().is_unspecified() {
            ips.push(self.listen.ip());
        }
        let outbound = sfu::shell::default_candidate_ip(IpAddr::from([0, 0, 0, 0]));
        if !ips.contains(&outbound) {
            ips.push(outbound);
        }
        ips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cau` with `flags` does not start: a value or a combination is refused.
    fn assert_refused(flags: &[&str]) {
        let mut args = vec!["cau"];
        args.extend(flags);
        assert!(Config::try_parse_from(args).is_err(), "{flags:?}");
    }

    #[test]
    fn flags_override_defaults() {
        let c = Config::try_parse_from([
            "cau",
            "--listen",
            "0.0.0.0:9000",
            "--public-ip",
            "198.18.0.1,10.0.0.2",
            "--udp-port",
            "0",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.udp_port, 0);
        assert_eq!(c.ice_tcp_port(), Some(0), "ICE-TCP follows the UDP port");
        assert_eq!(c.candidate_ips().len(), 2);
        assert!(Config::try_parse_from(["cau", "--listen", "nonsense"]).is_err());
    }

    #[test]
    fn ice_tcp_takes_the_udp_ports_number_a_port_of_its_own_or_off() {
        let parse = |flags: &[&str]| {
            let mut args = vec!["cau"];
            args.extend(flags);
            Config::try_parse_from(args).unwrap().ice_tcp_port()
        };
        assert_eq!(parse(&[]), Some(10000));
        assert_eq!(parse(&["--udp-port", "11000"]), Some(11000));
        assert_eq!(parse(&["--tcp-port", "4443"]), Some(4443));
        assert_eq!(parse(&["--tcp-port", "off"]), None);
        assert_refused(&["--tcp-port", "no"]);
        assert_refused(&["--tcp-port", "70000"]);
    }

    #[test]
    fn forwarding_knobs_have_defaults_and_bounds() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert_eq!((c.video_slots, c.audio_slots, c.audio_top_k), (11, 5, 3));
        let c =
            Config::try_parse_from(["cau", "--video-slots", "4", "--audio-top-k", "2"]).unwrap();
        assert_eq!((c.video_slots, c.audio_top_k), (4, 2));
        assert_eq!(c.sfu_core().video_slots, 4);
        for bad in [
            ["--video-slots", "0"],
            ["--audio-slots", "99"],
            ["--ice-grace-secs", "0"],
        ] {
            assert_refused(&bad[..]);
        }
    }

    #[test]
    fn retention_periods_are_checked_at_start() {
        let c = Config::try_parse_from(["cau", "--retention", "general=15,review=50"]).unwrap();
        let r = crate::retention::Retention::with_overrides(&c.retention).unwrap();
        assert_eq!(r.get("general").unwrap().years, Some(15));
        let e = Config::try_parse_from(["cau", "--retention", "general=0"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--retention") && e.contains("general=0"), "{e}");
    }

    #[test]
    fn the_limits_default_to_the_protocols_and_are_bounded() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert_eq!(c.limits(), crate::limits::Limits::default());
        let c = Config::try_parse_from([
            "cau",
            "--max-message-kb",
            "8",
            "--max-connections-per-address",
            "0",
        ])
        .unwrap();
        assert_eq!(c.limits().message_bytes, 8 * 1024);
        assert_eq!(c.limits().connections_per_address, 0);
        for bad in [
            ["--max-message-kb", "0"],
            ["--max-sdp-kb", "1"],
            ["--max-messages-per-second", "0"],
            ["--max-offer-m-lines", "2"],
            ["--max-endpoints-per-session", "1"],
            ["--max-name-chars", "300"],
        ] {
            assert_refused(&bad[..]);
        }
    }

    #[test]
    fn turn_servers_need_their_secret_and_valid_urls() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert!(c.turn().is_none());
        let secret = "a-secret-of-20-chars";
        let c = Config::try_parse_from([
            "cau",
            "--turn-url",
            "turn:198.18.0.1:3478,turns:turn.example:443?transport=tcp",
            "--turn-secret",
            secret,
        ])
        .unwrap();
        let turn = c.turn().expect("configured");
        assert_eq!(turn.urls.len(), 2);
        assert_eq!(turn.ttl, std::time::Duration::from_secs(43_200));
        for bad in [
            &["--turn-url", "turn:198.18.0.1"][..],
            &["--turn-secret", secret],
            &["--turn-url", "stun:198.18.0.1", "--turn-secret", secret],
            &["--turn-url", "turn:198.18.0.1", "--turn-secret", "short"],
            &[
                "--turn-url",
                "turn:198.18.0.1",
                "--turn-secret",
                secret,
                "--turn-ttl-secs",
                "10",
            ],
        ] {
            assert_refused(bad);
        }
    }

    #[test]
    fn https_is_a_made_certificate_or_one_in_files_and_a_redirect_needs_one() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert!(c.tls.is_none() && c.tls_cert.is_none());
        let c = Config::try_parse_from(["cau", "--tls", "self-signed"]).unwrap();
        assert_eq!(c.tls, Some(TlsMode::SelfSigned));
        let c =
            Config::try_parse_from(["cau", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert_eq!(c.tls_key.as_deref(), Some(std::path::Path::new("k.pem")));
        for bad in [
            &["--tls-cert", "c.pem"][..],
            &["--tls-key", "k.pem"],
            &[
                "--tls",
                "self-signed",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
            ],
            &["--http-redirect", "0.0.0.0:80"],
            &["--tls", "on"],
        ] {
            assert_refused(bad);
        }
        let c = Config::try_parse_from([
            "cau",
            "--tls",
            "self-signed",
            "--http-redirect",
            "0.0.0.0:80",
        ])
        .unwrap();
        assert_eq!(c.http_redirect.unwrap().port(), 80);
        let c = Config::try_parse_from([
            "cau",
            "--listen",
            "198.18.0.1:443",
            "--public-ip",
            "203.0.113.5",
            "--public-url",
            "https://hop.thainguyen.gov.vn:8443/",
        ])
        .unwrap();
        assert_eq!(
            c.certificate_names(),
            [
                "localhost",
                "127.0.0.1",
                "198.18.0.1",
                "203.0.113.5",
                "hop.thainguyen.gov.vn"
            ]
        );
    }

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cau-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(args: &[&str]) -> Result<Config, String> {
        let mut all = vec!["cau"];
        all.extend(args);
        Config::load_from(all).map_err(|e| e.to_string())
    }

    #[test]
    fn a_file_sets_what_no_flag_does() {
        let f = file(
            "set.toml",
            "# a comment\nlisten = \"0.0.0.0:8443\"\nudp_port = 11000\npublic_ip = [\"198.18.0.1\", \"10.0.0.2\"]\n\
             tls = \"self-signed\"\nretention = [\"general=15\"]\nvideo_slots = 6\n",
        );
        let p = f.to_str().unwrap();
        let c = load(&["--config", p]).unwrap();
        assert_eq!(c.listen, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(c.udp_port, 11000);
        assert_eq!(c.public_ips.len(), 2);
        assert_eq!(c.tls, Some(TlsMode::SelfSigned));
        assert_eq!(c.retention, ["general=15"]);
        assert_eq!(c.video_slots, 6);
        assert_eq!(c.audio_slots, 5, "the default where the file says nothing");
        assert_eq!(c.ice_tcp_port(), Some(11000));
        let off = file("tcp-off.toml", "tcp_port = \"off\"\n");
        assert_eq!(
            load(&["--config", off.to_str().unwrap()])
                .unwrap()
                .ice_tcp_port(),
            None
        );
        // A flag wins over the file, a list included.
        let c = load(&[
            "--config",
            p,
            "--udp-port",
            "12000",
            "--public-ip",
            "192.0.2.1",
        ])
        .unwrap();
        assert_eq!(c.udp_port, 12000);
        assert_eq!(c.public_ips, [IpAddr::from([192, 0, 2, 1])]);
        assert_eq!(c.video_slots, 6);
    }

    #[test]
    fn a_wrong_file_stops_the_start_naming_the_file_and_the_key() {
        let cases = [
            (
                "unknown.toml",
                "udp_port = 1\nvideo_slot = 4\n",
                "unknown key `video_slot`",
            ),
            ("dashed.toml", "udp-port = 1\n", "unknown key `udp-port`"),
            (
                "config.toml",
                "config = \"other.toml\"\n",
                "unknown key `config`",
            ),
            ("range.toml", "video_slots = 99\n", "key `video_slots`"),
            ("type.toml", "udp_port = \"ten\"\n", "key `udp_port`"),
            ("addr.toml", "listen = \"nowhere\"\n", "key `listen`"),
            (
                "table.toml",
                "[listen]\nport = 1\n",
                "key `listen`: a string",
            ),
            ("enum.toml", "tls = \"on\"\n", "key `tls`"),
            ("tcp.toml", "tcp_port = \"closed\"\n", "key `tcp_port`"),
            ("syntax.toml", "udp_port = = 1\n", "not TOML"),
        ];
        for (name, text, want) in cases {
            let f = file(name, text);
            let e = load(&["--config", f.to_str().unwrap()]).unwrap_err();
            assert!(e.contains(name) && e.contains(want), "{name}: {e}");
        }
        let e = load(&["--config", "/nonexistent/cau.toml"]).unwrap_err();
        assert!(e.contains("/nonexistent/cau.toml"), "{e}");
        // A value the file got wrong is an error even where a flag overrides it.
        let f = file("overridden.toml", "video_slots = 0\n");
        assert!(load(&["--config", f.to_str().unwrap(), "--video-slots", "4"]).is_err());
    }

    #[test]
    fn the_sample_file_lists_every_key_and_each_example_is_valid() {
        let sample = include_str!("../../config/cau.sample.toml");
        let examples: Vec<&str> = sample
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .collect();
        let keys: Vec<&str> = examples
            .iter()
            .map(|l| l.split_once(" = ").unwrap().0)
            .collect();
        let command = Config::command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if ["config", "help", "version"].contains(&long) {
                continue;
            }
            assert!(
                keys.contains(&long.replace('-', "_").as_str()),
                "config/cau.sample.toml has no `{long}`"
            );
        }
        // Every example, uncommented, is a known key with a valid value.
        let f = file("sample.toml", &examples.join("\n"));
        let given = command.clone().try_get_matches_from(["cau"]).unwrap();
        let flags = file_flags(&command, &f, &given).unwrap();
        assert_eq!(
            flags.len(),
            2 * (examples.len() + 2),
            "a flag and a value each; the lists of retention and turn_url have two"
        );
    }

    #[test]
    fn the_production_example_in_deploy_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/cau.toml");
        let c = Config::load_from(["cau", "--config", path]).expect("deploy/cau.toml loads");
        assert_eq!(c.listen, "0.0.0.0:443".parse().unwrap());
        assert_eq!(c.data_dir, std::path::PathBuf::from("/var/lib/cau"));
        assert!(c.tls_cert.is_some() && c.tls_key.is_some());
    }

    #[test]
    fn a_specific_listen_address_is_a_candidate() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.candidate_ips()[0], IpAddr::from([127, 0, 0, 1]));
    }
}
