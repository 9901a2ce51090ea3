//! Start-up configuration: defaults in code, then environment (`CAU_…`), then flags.
//! (A TOML file layer comes with the deployment issue.)

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "cau",
    version,
    about = "Cầu — the province's video-conferencing hub (signaling, media and web client in one process)"
)]
pub struct Config {
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

    #[command(subcommand)]
    pub command: Option<Command>,

    /// How long a client has to answer the hub's offer (not a flag: tests shorten it).
    #[arg(skip = sfu::shell::DEFAULT_OFFER_TIMEOUT)]
    pub offer_timeout: std::time::Duration,
}

/// Who records sessions (`--recorder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecorderMode {
    /// The hub itself, in-process.
    Local,
    /// A `cau-recorder` process.
    Remote,
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
        assert_eq!(c.candidate_ips().len(), 2);
        assert!(Config::try_parse_from(["cau", "--listen", "nonsense"]).is_err());
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
            let mut args = vec!["cau"];
            args.extend(bad);
            assert!(Config::try_parse_from(args).is_err(), "{bad:?}");
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
    fn a_specific_listen_address_is_a_candidate() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.candidate_ips()[0], IpAddr::from([127, 0, 0, 1]));
    }
}
