//! The hub under test: started by the tool (the `cau` binary with a fresh data directory) or
//! one already running. Everything goes through the hub's public faces: its admin command
//! line (to create the load test's scheduler account), its HTTP API (login, directory,
//! meetings, join links) and `/metrics`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::endpoint::JoinLink;

/// The account the tool creates in a hub it starts.
const LOAD_USER: &str = "cau-load";

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("cannot start the hub: {0}")]
    Start(String),
    #[error("the hub did not answer {0}")]
    Unreachable(String),
    #[error("{call}: HTTP {status}: {body}")]
    Api {
        call: String,
        status: u16,
        body: String,
    },
    #[error("{0}")]
    Other(String),
}

impl From<reqwest::Error> for HubError {
    fn from(e: reqwest::Error) -> Self {
        HubError::Unreachable(e.to_string())
    }
}

/// How the tool starts a hub of its own.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The `cau` binary.
    pub cau: PathBuf,
    /// Address to listen on (HTTP) and to offer as the ICE candidate.
    pub ip: IpAddr,
    /// A fresh data directory (emptied first).
    pub data_dir: PathBuf,
    /// A directory file other than the built-in one.
    pub directory: Option<PathBuf>,
}

/// A unit of the hub's directory (the fields the scenarios need).
#[derive(Debug, Clone, Deserialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DirectoryView {
    pub tiers: Vec<String>,
    pub units: Vec<Unit>,
}

/// A meeting the tool planned, with a join link per invited unit and the chair's.
#[derive(Debug, Clone)]
pub struct PlannedMeeting {
    pub id: i64,
    pub host: String,
    /// Official links by unit id, in the hub's order.
    pub officials: Vec<(String, JoinLink)>,
    pub chair: JoinLink,
}

/// A hub to test.
#[derive(Debug)]
pub struct Hub {
    /// `http://host:port`.
    pub base: String,
    /// The server process to sample, if known.
    pub pid: Option<u32>,
    child: Option<tokio::process::Child>,
    pub data_dir: Option<PathBuf>,
    http: reqwest::Client,
    bearer: Option<String>,
}

impl Hub {
    /// Start `cau` with a fresh data directory and log in with an account made for the run.
    pub async fn start(opts: &StartOptions) -> Result<Hub, HubError> {
        let dir = &opts.data_dir;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)
            .map_err(|e| HubError::Start(format!("{}: {e}", dir.display())))?;
        let password = format!("load-{:016x}", rand::random::<u64>());
        create_user(&opts.cau, dir, &password).await?;

        let port = free_port(opts.ip)?;
        let log = std::fs::File::create(dir.join("hub.log"))
            .map_err(|e| HubError::Start(e.to_string()))?;
        let mut cmd = tokio::process::Command::new(&opts.cau);
        cmd.arg("--data-dir")
            .arg(dir)
            .arg("--listen")
            .arg(SocketAddr::new(opts.ip, port).to_string())
            .arg("--public-ip")
            .arg(opts.ip.to_string())
            .arg("--udp-port")
            .arg("0")
            // Every simulated endpoint comes from this one address.
            .arg("--max-connections-per-address")
            .arg("0");
        if let Some(d) = &opts.directory {
            cmd.arg("--directory").arg(d);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "warn");
        }
        let err = log
            .try_clone()
            .map_err(|e| HubError::Start(e.to_string()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| HubError::Start(format!("{}: {e}", opts.cau.display())))?;
        let mut hub = Hub {
            base: format!("http://{}", SocketAddr::new(opts.ip, port)),
            pid: child.id(),
            child: Some(child),
            data_dir: Some(dir.clone()),
            http: client()?,
            bearer: None,
        };
        hub.wait_healthy(Duration::from_secs(30)).await?;
        hub.login(LOAD_USER, &password).await?;
        Ok(hub)
    }

    /// A hub that is already running at `base` (its process `pid` sampled if given).
    pub fn attach(base: &str, pid: Option<u32>) -> Result<Hub, HubError> {
        Ok(Hub {
            base: base.trim_end_matches('/').to_string(),
            pid,
            child: None,
            data_dir: None,
            http: client()?,
            bearer: None,
        })
    }

    /// The websocket address.
    pub fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http", "ws", 1))
    }

    async fn wait_healthy(&mut self, limit: Duration) -> Result<(), HubError> {
        let end = Instant::now() + limit;
        loop {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(HubError::Start(format!(
                    "cau exited ({status}); its log: {}",
                    self.log_tail()
                )));
            }
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(HubError::Unreachable(format!("/healthz within {limit:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the log of a hub we started.
    pub fn log_tail(&self) -> String {
        let Some(dir) = &self.data_dir else {
            return String::new();
        };
        let text = std::fs::read_to_string(dir.join("hub.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Result<(), HubError> {
        #[derive(Deserialize)]
        struct Login {
            token: String,
        }
        let login: Login = self
            .call(
                reqwest::Method::POST,
                "/api/login",
                Some(
                    serde_json::json!({"username": username, "password": password, "bearer": true}),
                ),
            )
            .await?;
        self.bearer = Some(login.token);
        Ok(())
    }

    /// Send a request (with our bearer token, if logged in); a refusal is an error that names
    /// the call and carries the hub's answer.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, HubError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = &self.bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(HubError::Api {
                call: format!("{method} {path}"),
                status: status.as_u16(),
                body: resp.text().await.unwrap_or_default(),
            });
        }
        Ok(resp)
    }

    /// A JSON call.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, HubError> {
        self.send(method, path, body)
            .await?
            .json()
            .await
            .map_err(HubError::from)
    }

    /// A GET whose answer is text.
    async fn get_text(&self, path: &str) -> Result<String, HubError> {
        Ok(self
            .send(reqwest::Method::GET, path, None)
            .await?
            .text()
            .await?)
    }

    pub async fn directory(&self) -> Result<DirectoryView, HubError> {
        self.call(reqwest::Method::GET, "/api/directory", None)
            .await
    }

    /// Plan a meeting live from now for `duration`, hosted and chaired by `host`, inviting
    /// `scope` (the API's scope object), and fetch its links.
    pub async fn plan_meeting(
        &self,
        title: &str,
        host: &str,
        scope: serde_json::Value,
        duration: Duration,
    ) -> Result<PlannedMeeting, HubError> {
        #[derive(Deserialize)]
        struct Created {
            meeting: MeetingId,
        }
        #[derive(Deserialize)]
        struct MeetingId {
            id: i64,
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| HubError::Other(e.to_string()))?
            .as_millis() as i64;
        let form = serde_json::json!({
            "title": title,
            "agenda": "",
            "start": now - 60_000,
            "end": now + duration.as_millis().max(3_600_000) as i64,
            "weekly_until": null,
            "host_unit": host,
            "chair_unit": host,
            "chair_person": "Chủ trì (cau-load)",
            "chair_user": null,
            "scope": scope,
            "recorded": false,
            "acknowledge_conflicts": true,
        });
        let created: Created = self
            .call(reqwest::Method::POST, "/api/meetings", Some(form))
            .await?;
        let id = created.meeting.id;
        let links = self.links(id).await?;
        let mut officials = vec![];
        let mut chair = None;
        for (unit, role, link) in links {
            match role.as_str() {
                "chair" => chair = Some(link),
                _ => officials.push((unit, link)),
            }
        }
        let chair =
            chair.ok_or_else(|| HubError::Other(format!("meeting {id} has no chair link")))?;
        Ok(PlannedMeeting {
            id,
            host: host.to_string(),
            officials,
            chair,
        })
    }

    /// The active links of a meeting: (unit id, role, link).
    pub async fn links(&self, meeting: i64) -> Result<Vec<(String, String, JoinLink)>, HubError> {
        #[derive(Deserialize)]
        struct Links {
            links: Vec<LinkView>,
        }
        #[derive(Deserialize)]
        struct LinkView {
            unit: UnitId,
            role: String,
            url: String,
            revoked_at: Option<i64>,
        }
        #[derive(Deserialize)]
        struct UnitId {
            id: String,
        }
        let links: Links = self
            .call(
                reqwest::Method::GET,
                &format!("/api/meetings/{meeting}/links"),
                None,
            )
            .await?;
        let mut out = vec![];
        for l in links.links.into_iter().filter(|l| l.revoked_at.is_none()) {
            let link = parse_link(&l.url)
                .ok_or_else(|| HubError::Other(format!("not a join link: {}", l.url)))?;
            out.push((l.unit.id, l.role, link));
        }
        Ok(out)
    }

    /// A meeting's links as the hub's CSV download (what a scheduler hands to `--links`).
    pub async fn links_csv(&self, meeting: i64) -> Result<String, HubError> {
        self.get_text(&format!("/api/meetings/{meeting}/links.csv"))
            .await
    }

    /// The hub's counters (`/metrics`, Prometheus text), by metric name.
    pub async fn metrics(&self) -> Result<HashMap<String, f64>, HubError> {
        Ok(parse_metrics(&self.get_text("/metrics").await?))
    }

    /// Stop a hub we started (SIGTERM, then SIGKILL after 5 s); a hub we attached to stays.
    pub async fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = tokio::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

fn client() -> Result<reqwest::Client, HubError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .map_err(HubError::from)
}

/// Create the load test's scheduler account with the hub's own admin command.
async fn create_user(cau: &Path, data_dir: &Path, password: &str) -> Result<(), HubError> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(cau)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["admin", "create-user", "--username", LOAD_USER])
        .args([
            "--name",
            "Cầu load test",
            "--role",
            "scheduler",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| HubError::Start(format!("{}: {e}", cau.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .await
            .map_err(|e| HubError::Start(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| HubError::Start(e.to_string()))?;
    if !out.status.success() {
        return Err(HubError::Start(format!(
            "cau admin create-user failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// A port nobody listens on now (the hub binds it a moment later).
fn free_port(ip: IpAddr) -> Result<u16, HubError> {
    let l = std::net::TcpListener::bind(SocketAddr::new(ip, 0))
        .map_err(|e| HubError::Start(format!("cannot bind {ip}: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| HubError::Start(e.to_string()))
}

/// The meeting and token of a join link (`…/meeting.html?meeting=ID&token=TOKEN`), wherever
/// it sits in a line (a CSV row, a list of links).
pub fn parse_link(text: &str) -> Option<JoinLink> {
    let query = &text[text.find('?')? + 1..];
    let mut meeting = None;
    let mut token = None;
    for pair in query.split(['&', '"', ',', ' ']) {
        if let Some(v) = pair.strip_prefix("meeting=") {
            meeting = v.parse().ok();
        } else if let Some(v) = pair.strip_prefix("token=") {
            token = Some(v.to_string());
        }
    }
    Some(JoinLink {
        meeting: meeting?,
        token: token.filter(|t| !t.is_empty())?,
    })
}

/// Every join link in a file of links (one per line, or the hub's links CSV).
pub fn read_links_file(path: &Path) -> Result<Vec<JoinLink>, HubError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| HubError::Other(format!("{}: {e}", path.display())))?;
    let links: Vec<JoinLink> = text.lines().filter_map(parse_link).collect();
    if links.is_empty() {
        return Err(HubError::Other(format!(
            "no join link in {}",
            path.display()
        )));
    }
    Ok(links)
}

/// Prometheus text format: `name value` and `name{labels} value` lines; labelled series of a
/// name are summed (the tool wants totals).
pub fn parse_metrics(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series);
        if let Ok(v) = value.parse::<f64>() {
            *out.entry(name.to_string()).or_insert(0.0) += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_in_urls_and_csv_rows() {
        let l = parse_link("http://h/meeting.html?meeting=12&token=v1.abc.def").unwrap();
        assert_eq!((l.meeting, l.token.as_str()), (12, "v1.abc.def"));
        let row = r#""commune:5","Xã A","commune",official,"https://h/meeting.html?meeting=3&token=v1.x.y",2026-01-01T00:00:00Z,"""#;
        let l = parse_link(row).unwrap();
        assert_eq!((l.meeting, l.token.as_str()), (3, "v1.x.y"));
        assert!(parse_link("unit_id,unit_name,tier,role,link").is_none());
        assert!(parse_link("http://h/meeting.html?meeting=3&token=").is_none());
    }

    #[test]
    fn metrics_are_read_and_labelled_series_summed() {
        let m = parse_metrics(
            "# HELP cau_endpoints x\n# TYPE cau_endpoints gauge\ncau_endpoints 3\n\
             cau_packets_total{dir=\"in\"} 10\ncau_packets_total{dir=\"out\"} 5\nbad line\n",
        );
        assert_eq!(m["cau_endpoints"], 3.0);
        assert_eq!(m["cau_packets_total"], 15.0);
        assert_eq!(m.len(), 2);
    }
}
