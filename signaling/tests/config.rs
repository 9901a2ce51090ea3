//! The `cau` binary's configuration layers, as an operator meets them: a file of settings
//! (`--config` or `CAU_CONFIG`), the environment over it, flags over both; a wrong file stops
//! the start with a message naming the key.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `cau` with `args` and `env` and returns its ready line ("Cầu is running — open
/// URL (media on UDP port N, data in DIR)"), then stops it.
fn ready_line(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cau"))
        .args(args)
        .env_remove("CAU_LISTEN")
        .env_remove("CAU_DATA_DIR")
        .env_remove("CAU_UDP_PORT")
        .env_remove("CAU_CONFIG")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cau starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("Cầu is running") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    line.expect("the ready line within 30 s")
}

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cau-config-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_both() {
    let d = dir("layers");
    let (file_data, env_data, flag_data) = (d.join("file"), d.join("env"), d.join("flag"));
    let config = d.join("cau.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nudp_port = 0\npublic_ip = [\"127.0.0.1\"]\ndisk_reserve_mb = 1\ndata_dir = \"{}\"\n",
            file_data.display()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let line = ready_line(&["--config", c], &[]);
    assert!(
        line.contains(&format!("data in {}", file_data.display())),
        "{line}"
    );
    assert!(line.contains("open http://127.0.0.1:"), "{line}");
    let env_d = env_data.to_str().unwrap();
    let line = ready_line(&["--config", c], &[("CAU_DATA_DIR", env_d)]);
    assert!(
        line.contains(&format!("data in {env_d}")),
        "the environment over the file: {line}"
    );
    let flag_d = flag_data.to_str().unwrap();
    let line = ready_line(
        &["--config", c, "--data-dir", flag_d],
        &[("CAU_DATA_DIR", env_d)],
    );
    assert!(
        line.contains(&format!("data in {flag_d}")),
        "the flag over both: {line}"
    );
    // CAU_CONFIG names the file as --config does.
    let line = ready_line(&[], &[("CAU_CONFIG", c)]);
    assert!(
        line.contains(&format!("data in {}", file_data.display())),
        "{line}"
    );
}

#[test]
fn a_wrong_file_stops_cau_naming_the_key() {
    let d = dir("wrong");
    let config = d.join("cau.toml");
    std::fs::write(&config, "udp_port = 0\nvideo_slot = 4\n").unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_cau"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cau.toml") && err.contains("unknown key `video_slot`"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}
