//! The archive view of a session: one MP4 (H.264 and AAC, its index at the front so that it
//! plays while it downloads), made after the session from the participants' files — the
//! shared screens, the chairs and the most active speakers tiled on a 1280×720 canvas (one
//! fills it, two side by side, three or four two by two), everyone's audio mixed — each file placed on the session's timeline by its
//! manifest offset. ffmpeg does the work (a filter graph); the caller runs it in the
//! background, at most one at a time per core.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::session::Manifest;

/// The archive view's name in the session's directory.
pub const COMPOSITE: &str = "composite.mp4";
/// At most this many tiles (a 2×2 grid).
pub const TILES: usize = 4;
const TILE_W: u32 = 640;
const TILE_H: u32 = 360;
const FPS: u32 = 15;

/// The archive view once made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composite {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    pub duration_ms: Option<u64>,
    /// The files tiled, in grid order.
    pub tiled: Vec<String>,
}

/// Which streams a file has packets in (ffprobe).
fn streams_with_packets(path: &Path) -> (bool, bool) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=codec_type,nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output();
    let Ok(out) = out else {
        return (false, false);
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let has = |kind: &str| {
        text.lines().any(|l| {
            let mut f = l.split(',');
            f.next() == Some(kind)
                && f.next()
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
        })
    };
    (has("audio"), has("video"))
}

/// The tiles: shared screens, then the chairs, then by speaking time (longest first), only
/// files with video, at most [`TILES`].
fn tile_order(manifest: &Manifest) -> Vec<String> {
    let spoke = |pid: &str| -> i64 {
        manifest
            .speakers
            .iter()
            .filter(|t| t.participant_id == pid)
            .map(|t| t.to_ms - t.from_ms)
            .sum()
    };
    let chair = |pid: &str| {
        manifest
            .participants
            .iter()
            .any(|p| p.info.participant_id == pid && p.info.role == "chair")
    };
    let mut files: Vec<&crate::session::ManifestFile> = manifest.files.iter().collect();
    files.sort_by_key(|f| {
        (
            f.content != "screen",
            !chair(&f.participant_id),
            -spoke(&f.participant_id),
            f.offset_ms.unwrap_or(0),
        )
    });
    files.into_iter().map(|f| f.name.clone()).collect()
}

/// Make `dir/composite.mp4` from the session's files. `progress` hears the share done
/// (0–1) as ffmpeg reports it. `None` when there is nothing to compose (no file has
/// anything).
pub fn make(
    dir: &Path,
    manifest: &Manifest,
    progress: impl Fn(f64),
) -> io::Result<Option<Composite>> {
    // Every file with packets, at its place on the timeline (ms from the earliest).
    let mut inputs: Vec<(PathBuf, i64, bool, bool, String)> = vec![];
    for f in &manifest.files {
        let path = dir.join(&f.name);
        let (audio, video) = streams_with_packets(&path);
        if audio || video {
            inputs.push((path, f.offset_ms.unwrap_or(0), audio, video, f.name.clone()));
        }
    }
    if inputs.is_empty() {
        return Ok(None);
    }
    let start = inputs.iter().map(|i| i.1).min().unwrap_or(0);
    let end = manifest
        .files
        .iter()
        .filter_map(|f| f.end_ms)
        .max()
        .unwrap_or(start);
    let total_s = ((end - start).max(1000) as f64) / 1000.0;
    let order = tile_order(manifest);
    let tiled: Vec<usize> = order
        .iter()
        .filter_map(|name| inputs.iter().position(|i| i.4 == *name && i.3))
        .take(TILES)
        .collect();

    // One tile fills the canvas; more are quarter-size.
    let (tw, th) = if tiled.len() <= 1 {
        (2 * TILE_W, 2 * TILE_H)
    } else {
        (TILE_W, TILE_H)
    };
    let mut graph = vec![];
    for (k, &i) in tiled.iter().enumerate() {
        let delay = (inputs[i].1 - start) as f64 / 1000.0;
        graph.push(format!(
            "[{i}:v]scale={tw}:{th}:force_original_aspect_ratio=decrease,\
             pad={tw}:{th}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS},\
             setpts=PTS-STARTPTS,tpad=start_duration={delay:.3}:stop_mode=clone:stop_duration={total_s:.3}:color=black,\
             trim=duration={total_s:.3}[t{k}]"
        ));
    }
    match tiled.len() {
        0 => graph.push(format!(
            "color=c=black:s={}x{}:r={FPS}:d={total_s:.3}[v]",
            2 * TILE_W,
            2 * TILE_H
        )),
        1 => graph.push("[t0]null[v]".to_string()),
        2 => graph.push(format!(
            "[t0][t1]hstack=inputs=2,pad={}:{}:0:{}[v]",
            2 * TILE_W,
            2 * TILE_H,
            TILE_H / 2
        )),
        n => {
            for k in n..TILES {
                graph.push(format!(
                    "color=c=black:s={TILE_W}x{TILE_H}:r={FPS}:d={total_s:.3}[t{k}]"
                ));
            }
            graph.push("[t0][t1][t2][t3]xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0[v]".to_string());
        }
    }
    let audio: Vec<usize> = (0..inputs.len()).filter(|i| inputs[*i].2).collect();
    for (k, &i) in audio.iter().enumerate() {
        let delay = inputs[i].1 - start;
        graph.push(format!(
            "[{i}:a]aresample=48000,asetpts=PTS-STARTPTS,adelay={delay}:all=1[a{k}]"
        ));
    }
    let audio_out = if audio.is_empty() {
        graph.push(format!("anullsrc=r=48000:cl=mono:d={total_s:.3}[a]"));
        "[a]".to_string()
    } else {
        let ins: String = (0..audio.len()).map(|k| format!("[a{k}]")).collect();
        graph.push(format!(
            "{ins}amix=inputs={}:duration=longest:normalize=0,atrim=duration={total_s:.3}[a]",
            audio.len()
        ));
        "[a]".to_string()
    };
    let tmp = dir.join(format!("{COMPOSITE}.making"));
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-v",
        "error",
        "-nostdin",
        "-y",
        "-progress",
        "pipe:1",
        "-nostats",
    ]);
    for input in &inputs {
        cmd.arg("-i").arg(&input.0);
    }
    cmd.args(["-filter_complex", &graph.join(";")])
        .args(["-map", "[v]", "-map", &audio_out])
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p",
        ])
        .args(["-threads", "1"])
        .args(["-c:a", "aac", "-b:a", "96k", "-ac", "1"])
        .args(["-t", &format!("{total_s:.3}")])
        .args(["-movflags", "+faststart", "-f", "mp4"])
        .arg(&tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    // `-progress` writes key=value lines; out_time_us says how far it got.
    if let Some(stdout) = child.stdout.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(us) = line
                .strip_prefix("out_time_us=")
                .and_then(|v| v.parse::<f64>().ok())
            {
                progress((us / 1e6 / total_s).clamp(0.0, 1.0));
            }
        }
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(io::Error::other(format!(
            "ffmpeg could not make the archive view: {}",
            said.lines().rev().take(3).collect::<Vec<_>>().join(" / ")
        )));
    }
    let path = dir.join(COMPOSITE);
    std::fs::rename(&tmp, &path)?;
    progress(1.0);
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Some(Composite {
        name: COMPOSITE.to_string(),
        bytes,
        sha256: crate::finalise::sha256_file(&path)?,
        duration_ms: crate::finalise::probe_span_ms(&path).map(|s| s.1),
        tiled: tiled.iter().map(|i| inputs[*i].4.clone()).collect(),
    }))
}
