//! Finalising a recorded file once its participant's streams have ended (or, at the next
//! start, a `.part` file a crash left): remuxed with `ffmpeg -c copy` — which adds the
//! duration and the cues players seek with, and drops a block cut short by a crash — then
//! renamed without `.part`, with its SHA-256. Without ffmpeg the live file is kept as it is
//! (it plays; it does not seek well) and the result says so.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::file::PART_SUFFIX;

/// A finalised file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalised {
    pub path: PathBuf,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
    /// From ffprobe, when it is installed: the first frame's time (ms on the session
    /// timeline) and the duration.
    pub start_ms: Option<i64>,
    pub duration_ms: Option<u64>,
    /// Remuxed by ffmpeg (with cues and duration); false: the live file kept as it was.
    pub remuxed: bool,
    /// What ffmpeg said about the input (a file cut by a crash says where it ends), if
    /// anything.
    pub ffmpeg_notes: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FinaliseError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}: not a file being recorded (no {PART_SUFFIX} suffix)")]
    NotPart(PathBuf),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> FinaliseError + '_ {
    move |source| FinaliseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `program -version` runs.
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Finalise `part` (`….webm.part`) into `….webm` — or `….mkv` when it holds H.264 (its
/// header says Matroska).
pub fn finalise(part: &Path) -> Result<Finalised, FinaliseError> {
    let name = part.to_string_lossy();
    let Some(final_name) = name.strip_suffix(PART_SUFFIX) else {
        return Err(FinaliseError::NotPart(part.to_path_buf()));
    };
    let matroska = crate::webm::is_matroska_file(part).map_err(io_at(part))?;
    let final_name = match (matroska, final_name.strip_suffix(".webm")) {
        (true, Some(stem)) => format!("{stem}.mkv"),
        _ => final_name.to_string(),
    };
    let final_name = final_name.as_str();
    let path = PathBuf::from(final_name);
    let tmp = PathBuf::from(format!("{final_name}.remux"));
    let mut remuxed = false;
    let mut ffmpeg_notes = None;
    if installed("ffmpeg") {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-y", "-i"])
            .arg(part)
            .args(["-map", "0", "-c", "copy", "-copyts", "-f"])
            .arg(if matroska { "matroska" } else { "webm" })
            .arg(&tmp)
            .output()
            .map_err(io_at(part))?;
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !said.is_empty() {
            ffmpeg_notes = Some(said.lines().take(5).collect::<Vec<_>>().join("\n"));
        }
        if out.status.success() {
            std::fs::rename(&tmp, &path).map_err(io_at(&path))?;
            std::fs::remove_file(part).map_err(io_at(part))?;
            remuxed = true;
        } else {
            tracing::warn!(file = %part.display(), notes = ?ffmpeg_notes, "ffmpeg could not remux; the live file is kept as it is");
            let _ = std::fs::remove_file(&tmp);
        }
    }
    if !remuxed {
        std::fs::rename(part, &path).map_err(io_at(part))?;
    }
    let bytes = std::fs::metadata(&path).map_err(io_at(&path))?.len();
    let sha256 = sha256_file(&path).map_err(io_at(&path))?;
    let span = probe_span_ms(&path);
    Ok(Finalised {
        start_ms: span.map(|s| s.0),
        duration_ms: span.map(|s| s.1),
        path,
        bytes,
        sha256,
        remuxed,
        ffmpeg_notes,
    })
}

/// The `.part` files directly in `dir` (left by a crash when no recording is running).
pub fn leftovers(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = vec![];
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.to_string_lossy().ends_with(PART_SUFFIX) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// The SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The container's start time and duration (ms) by ffprobe, if it is installed and knows
/// them.
pub fn probe_span_ms(path: &Path) -> Option<(i64, u64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=start_time,duration",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |key: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))?
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
    };
    let start = field("start_time")?;
    let duration = field("duration")?;
    (duration >= 0.0).then(|| {
        (
            (start * 1000.0).round() as i64,
            (duration * 1000.0).round() as u64,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_sha256_and_only_part_files_are_finalised() {
        let dir = std::env::temp_dir().join(format!("cau-finalise-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("abc.txt");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            sha256_file(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(finalise(&f), Err(FinaliseError::NotPart(_))));
        std::fs::write(dir.join("x.webm.part"), b"").unwrap();
        assert_eq!(leftovers(&dir).unwrap(), [dir.join("x.webm.part")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
