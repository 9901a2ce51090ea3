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

    /// Directory holding the database (created and migrated on first start).
    #[arg(long, env = "CAU_DATA_DIR", default_value = "cau-data")]
    pub data_dir: PathBuf,

    /// Unit directory JSON (format of data/units/*.json). Default: Thái Nguyên 2024, built in.
    #[arg(long, env = "CAU_DIRECTORY")]
    pub directory: Option<PathBuf>,

    /// How long a client has to answer the hub's offer (not a flag: tests shorten it).
    #[arg(skip = sfu::shell::DEFAULT_OFFER_TIMEOUT)]
    pub offer_timeout: std::time::Duration,
}

impl Config {
    /// The addresses for ICE host candidates, resolved from the flags and defaults.
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
    fn a_specific_listen_address_is_a_candidate() {
        let c = Config::try_parse_from(["cau"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.candidate_ips()[0], IpAddr::from([127, 0, 0, 1]));
    }
}
