//! `cau-load`: simulated endpoints against a Cầu hub, and what it cost.
//!
//! ```text
//! cargo build --release -p signaling -p load-tests
//! target/release/cau-load province --endpoints 250 --ramp 10 --duration 30 --video-publishers 1
//! ```
//!
//! By default the tool starts `cau` (found next to itself) with a fresh data directory,
//! creates a scheduler account with `cau admin create-user`, plans the meetings it needs
//! through the API and uses their join links. `--url` targets a running hub instead (with
//! `--user`/`--password`, or `--links FILE`); `--server-pid` says which process to sample.
//! Exit status: 0 when every endpoint connected, none failed and the hub was left as found,
//! 1 otherwise, 2 when the run could not start.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use signaling::protocol::ReceiveMode;
use std::sync::Arc;

use load_tests::clip::{Clip, make_clip};
use load_tests::hub::{Hub, StartOptions, read_links_file};
use load_tests::impair::{Impairment, Outage};
use load_tests::media::{AudioConfig, Silence, VideoConfig};
use load_tests::report::Report;
use load_tests::run::Timing;
use load_tests::scenarios::{self, Common, GivenLinks};

#[derive(Debug, Parser)]
#[command(
    name = "cau-load",
    version,
    about = "Simulated endpoints against a Cầu hub, and what it cost"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a clip for `--clip` with ffmpeg: a moving test pattern (VP8) and a tone (Opus).
    MakeClip {
        /// Directory to write clip.ivf and clip.ogg into.
        dir: PathBuf,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 640)]
        width: u16,
        #[arg(long, default_value_t = 360)]
        height: u16,
    },
    #[command(flatten)]
    Scenario(Box<Scenario>),
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// One session of the whole province.
    Province {
        #[arg(long, default_value_t = 250)]
        endpoints: u32,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// The districts meet in parallel, each with its communes, plus one province session.
    Tiers {
        /// Only the first N districts (default: all).
        #[arg(long)]
        districts: Option<u32>,
        /// At most N endpoints per session (default: every invited unit).
        #[arg(long)]
        per_session: Option<u32>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Endpoints join and leave at random; nothing may remain in the hub afterwards.
    Churn {
        /// Endpoints that stay for the whole run.
        #[arg(long, default_value_t = 30)]
        stable: u32,
        /// Endpoints that come and go during the window.
        #[arg(long, default_value_t = 60)]
        comers: u32,
        /// Shortest and longest stay of a comer, in seconds.
        #[arg(long, default_value_t = 3.0)]
        stay_min: f64,
        #[arg(long, default_value_t = 15.0)]
        stay_max: f64,
        /// Share of comers that vanish without leaving (0–1).
        #[arg(long, default_value_t = 0.2)]
        vanish: f64,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// A share of the endpoints behind an impaired link.
    Impaired {
        #[arg(long, default_value_t = 50)]
        endpoints: u32,
        /// Share of the endpoints (not the chair) behind the impaired link (0–1).
        #[arg(long, default_value_t = 0.2)]
        share: f64,
        /// Loss, percent.
        #[arg(long, default_value_t = 2.0)]
        loss: f64,
        #[arg(long, default_value_t = 40)]
        delay_ms: u64,
        #[arg(long, default_value_t = 30)]
        jitter_ms: u64,
        /// Datagrams held back behind later ones, percent.
        #[arg(long, default_value_t = 1.0)]
        reorder: f64,
        /// Bandwidth cap, kbit/s (default: none).
        #[arg(long)]
        bandwidth_kbps: Option<u32>,
        /// Longest wait in the cap's queue before a drop.
        #[arg(long, default_value_t = 200)]
        queue_ms: u64,
        /// An outage of N seconds (default: none)...
        #[arg(long)]
        outage_s: Option<f64>,
        /// ...starting this many seconds after the endpoint's link is made.
        #[arg(long, default_value_t = 10.0)]
        outage_at: f64,
        #[command(flatten)]
        common: CommonArgs,
    },
}

impl Scenario {
    /// The flags every scenario shares.
    fn args(&self) -> &CommonArgs {
        match self {
            Scenario::Province { common, .. }
            | Scenario::Tiers { common, .. }
            | Scenario::Churn { common, .. }
            | Scenario::Impaired { common, .. } => common,
        }
    }
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// A running hub (`http://host:port`); default: start one.
    #[arg(long)]
    url: Option<String>,
    /// The running hub's process, to sample its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A scheduler account of the running hub, to plan the run's meetings.
    #[arg(long)]
    user: Option<String>,
    #[arg(long, env = "CAU_LOAD_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Join links to use instead of planning meetings (one per line, or the hub's links CSV).
    #[arg(long)]
    links: Option<PathBuf>,
    /// The `cau` binary to start (default: the one next to cau-load).
    #[arg(long)]
    cau: Option<PathBuf>,
    /// Data directory of the hub it starts (emptied first; default: a fresh temporary one).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Directory file for the hub it starts (default: the built-in one).
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Address of the hub it starts and of the endpoints.
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Seconds over which endpoints join.
    #[arg(long, default_value_t = 10.0)]
    ramp: f64,
    /// Seconds of measurement once everyone joined.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Seconds between the last join and the measurement.
    #[arg(long, default_value_t = 3.0)]
    settle: f64,
    /// Endpoints speaking at a time.
    #[arg(long, default_value_t = 3)]
    talkers: u32,
    /// Seconds each group of talkers speaks.
    #[arg(long, default_value_t = 5.0)]
    talk_turn: f64,
    /// What a silent microphone sends.
    #[arg(long, value_enum, default_value_t = Silence::Negotiated)]
    silence: Silence,
    /// Endpoints with their camera on in each session, its chair first (default: all).
    #[arg(long)]
    video_publishers: Option<u32>,
    #[arg(long, default_value_t = 1_000)]
    video_kbps: u32,
    /// What each endpoint asks the hub for (`receive`): `auto` (layers follow tile size and
    /// the link, as the web client's default), `low` (every video at its lowest layer), or
    /// `audio-only`.
    #[arg(long, value_enum, default_value_t = Receive::Auto)]
    receive: Receive,
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Worker threads carrying the endpoints (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replay a real clip (DIR/clip.ivf and DIR/clip.ogg, see `make-clip`) instead of
    /// synthetic media, so browsers in the meeting can decode it.
    #[arg(long, value_name = "DIR")]
    clip: Option<PathBuf>,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// `--receive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Receive {
    Auto,
    Low,
    AudioOnly,
}

impl CommonArgs {
    fn common(&self) -> Result<Common, String> {
        let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
        let clip = match &self.clip {
            Some(dir) => Some(Arc::new(Clip::load(dir).map_err(|e| e.to_string())?)),
            None => None,
        };
        Ok(Common {
            timing: Timing {
                ramp: secs(self.ramp),
                settle: secs(self.settle),
                duration: secs(self.duration.max(1.0)),
                grace: Duration::from_secs(1),
            },
            talkers: self.talkers,
            talk_turn: secs(self.talk_turn.max(0.1)),
            audio: AudioConfig {
                silence: self.silence,
                ..AudioConfig::default()
            },
            video: VideoConfig {
                bitrate_kbps: self.video_kbps,
                fps: self.fps.clamp(1, 60),
                ..VideoConfig::default()
            },
            video_publishers: self.video_publishers,
            receive: match self.receive {
                Receive::Auto => ReceiveMode::Auto,
                Receive::Low => ReceiveMode::Low,
                Receive::AudioOnly => ReceiveMode::AudioOnly,
            },
            bind_ip: self.ip,
            seed: self.seed,
            clip,
        })
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let scenario = match Cli::parse().command {
        Command::MakeClip {
            dir,
            seconds,
            width,
            height,
        } => {
            return match make_clip(&dir, seconds, width, height) {
                Ok(()) => {
                    println!("clip written to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("cau-load: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Scenario(s) => *s,
    };
    let args = scenario.args();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cau-load: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(run(scenario))
}

async fn run(scenario: Scenario) -> ExitCode {
    let args = scenario.args();
    let common = match args.common() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cau-load: {e}");
            return ExitCode::from(2);
        }
    };
    let hub = match connect(args).await {
        Ok(hub) => hub,
        Err(e) => {
            eprintln!("cau-load: {e}");
            return ExitCode::from(2);
        }
    };
    let links = match &args.links {
        Some(path) => match read_links_file(path) {
            Ok(l) => Some(GivenLinks(l)),
            Err(e) => {
                eprintln!("cau-load: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let result = match &scenario {
        Scenario::Province { endpoints, .. } => {
            scenarios::province(&hub, &common, *endpoints, links.as_ref()).await
        }
        Scenario::Tiers {
            districts,
            per_session,
            ..
        } => scenarios::tiers(&hub, &common, *districts, *per_session).await,
        Scenario::Churn {
            stable,
            comers,
            stay_min,
            stay_max,
            vanish,
            ..
        } => {
            let stay = (
                Duration::from_secs_f64(stay_min.max(0.5)),
                Duration::from_secs_f64(stay_max.max(*stay_min).max(0.5)),
            );
            scenarios::churn(&hub, &common, *stable, *comers, stay, *vanish).await
        }
        Scenario::Impaired {
            endpoints,
            share,
            loss,
            delay_ms,
            jitter_ms,
            reorder,
            bandwidth_kbps,
            queue_ms,
            outage_s,
            outage_at,
            ..
        } => {
            let impairment = Impairment {
                loss: loss / 100.0,
                delay: Duration::from_millis(*delay_ms),
                jitter: Duration::from_millis(*jitter_ms),
                reorder: reorder / 100.0,
                bandwidth_kbps: *bandwidth_kbps,
                queue: Duration::from_millis(*queue_ms),
                outage: outage_s.map(|s| Outage {
                    start: Duration::from_secs_f64(outage_at.max(0.0)),
                    length: Duration::from_secs_f64(s.max(0.0)),
                }),
            };
            scenarios::impaired(
                &hub,
                &common,
                *endpoints,
                *share,
                impairment,
                links.as_ref(),
            )
            .await
        }
    };
    let code = match result {
        Ok(report) => finish(
            &report,
            args.json.as_ref(),
            matches!(scenario, Scenario::Province { .. }),
        ),
        Err(e) => {
            eprintln!("cau-load: {e}");
            let tail = hub.log_tail();
            if !tail.is_empty() {
                eprintln!("the hub's log ends with:\n{tail}");
            }
            ExitCode::from(2)
        }
    };
    hub.stop().await;
    code
}

async fn connect(args: &CommonArgs) -> Result<Hub, String> {
    match &args.url {
        Some(url) => {
            let mut hub = Hub::attach(url, args.server_pid).map_err(|e| e.to_string())?;
            match (&args.user, &args.password) {
                (Some(u), Some(p)) => hub.login(u, p).await.map_err(|e| e.to_string())?,
                _ if args.links.is_some() => {}
                _ => {
                    return Err(
                        "--url needs --user and --password (or CAU_LOAD_PASSWORD), or --links FILE"
                            .into(),
                    );
                }
            }
            Ok(hub)
        }
        None => {
            let cau = match &args.cau {
                Some(p) => p.clone(),
                None => std::env::current_exe()
                    .ok()
                    .and_then(|p| p.parent().map(|d| d.join("cau")))
                    .filter(|p| p.exists())
                    .unwrap_or_else(|| PathBuf::from("cau")),
            };
            let data_dir = args.data_dir.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("cau-load-{}", std::process::id()))
            });
            let opts = StartOptions {
                cau,
                ip: args.ip,
                data_dir,
                directory: args.directory.clone(),
            };
            Hub::start(&opts).await.map_err(|e| e.to_string())
        }
    }
}

fn finish(report: &Report, json: Option<&PathBuf>, province: bool) -> ExitCode {
    println!("{}", report.table());
    if province {
        println!("  targets (load-test issue, 250 endpoints on 2 cores):");
        for (target, met, value) in report.province_targets() {
            println!(
                "    [{}] {target}: {value}",
                if met { "met" } else { "MISSED" }
            );
        }
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("cau-load: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let clean = report.leftovers.as_ref().is_none_or(|l| l.is_clean());
    if report.all_stayed() && clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
