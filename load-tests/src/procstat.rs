//! What a process costs, read from `/proc`: CPU seconds of all its threads and its resident
//! memory. Used for the hub (by pid) and for the load generator itself.

use std::time::{Duration, Instant};

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Instant,
    /// User + system CPU time of all threads so far.
    pub cpu: Duration,
    /// Resident set size now, and its peak so far (`VmHWM`), in bytes.
    pub rss: u64,
    pub rss_peak: u64,
}

/// Reads `/proc/PID/stat` and `/proc/PID/status`.
#[derive(Debug, Clone)]
pub struct ProcReader {
    stat: String,
    status: String,
    /// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless someone changed it).
    ticks: u64,
}

impl ProcReader {
    pub fn for_pid(pid: u32) -> Self {
        Self::at(&format!("/proc/{pid}"))
    }

    pub fn for_self() -> Self {
        Self::at("/proc/self")
    }

    fn at(dir: &str) -> Self {
        let ticks = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100);
        ProcReader {
            stat: format!("{dir}/stat"),
            status: format!("{dir}/status"),
            ticks,
        }
    }

    pub fn sample(&self) -> Option<Sample> {
        let stat = std::fs::read_to_string(&self.stat).ok()?;
        let status = std::fs::read_to_string(&self.status).ok()?;
        let (utime, stime) = parse_stat(&stat)?;
        Some(Sample {
            at: Instant::now(),
            cpu: Duration::from_secs_f64((utime + stime) as f64 / self.ticks as f64),
            rss: status_kb(&status, "VmRSS:")? * 1024,
            rss_peak: status_kb(&status, "VmHWM:").unwrap_or(0) * 1024,
        })
    }
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line. The command name
/// (field 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
fn parse_stat(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, so index 11.
    Some((fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU used between two samples, as a percentage of one core.
pub fn cpu_pct(a: &Sample, b: &Sample) -> f64 {
    let wall = b.at.saturating_duration_since(a.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    b.cpu.saturating_sub(a.cpu).as_secs_f64() / wall * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "1234 (cau worker (x)) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat(line), Some((250, 75)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let r = ProcReader::for_self();
        let a = r.sample().expect("/proc/self is readable");
        // Burn a little CPU so the counter can move.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = r.sample().unwrap();
        assert!(b.cpu >= a.cpu);
        assert!(a.rss > 0 && a.rss_peak >= a.rss);
        assert!(cpu_pct(&a, &b) >= 0.0);
    }
}
