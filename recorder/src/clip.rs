//! A real clip: VP8 frames from an IVF file and Opus packets from an Ogg file, both made by
//! ffmpeg ([`make_clip`], `cau-load make-clip DIR`). The load tests replay it instead of
//! synthetic media, so a browser in the same meeting decodes what a replaying endpoint sends;
//! the recorder's tests record it and check the archive files with ffprobe.
//!
//! The readers are small and strict: IVF (the 32-byte `DKIF` header, then a 12-byte header per
//! frame) and Ogg pages (RFC 3533) carrying Opus (RFC 7845: `OpusHead`, `OpusTags`, then one
//! Opus packet per Ogg packet). Anything else is refused with a clear error.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// File names inside a clip directory.
pub const VIDEO_FILE: &str = "clip.ivf";
pub const AUDIO_FILE: &str = "clip.ogg";

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Format { path: PathBuf, why: String },
    #[error("ffmpeg: {0}")]
    Ffmpeg(String),
}

/// One VP8 frame of the clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    pub data: Vec<u8>,
    pub keyframe: bool,
}

/// The clip's video: VP8 frames at a fixed rate.
#[derive(Debug, Clone)]
pub struct ClipVideo {
    pub width: u16,
    pub height: u16,
    /// Frames a second.
    pub fps: u32,
    pub frames: Vec<VideoFrame>,
}

/// One Opus packet of the clip and how much audio it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    pub data: Vec<u8>,
    /// In 48 kHz samples (Opus's RTP clock).
    pub samples: u32,
}

/// The clip's audio: Opus packets in order.
#[derive(Debug, Clone)]
pub struct ClipAudio {
    pub packets: Vec<AudioPacket>,
}

/// A whole clip: video and audio.
#[derive(Debug, Clone)]
pub struct Clip {
    pub video: ClipVideo,
    pub audio: ClipAudio,
}

impl Clip {
    /// Load `DIR/clip.ivf` and `DIR/clip.ogg`.
    pub fn load(dir: &Path) -> Result<Clip, ClipError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path)
                .map(|b| (b, path.clone()))
                .map_err(|source| ClipError::Io { path, source })
        };
        let (ivf, ivf_path) = read(VIDEO_FILE)?;
        let (ogg, ogg_path) = read(AUDIO_FILE)?;
        let video = parse_ivf(&ivf).map_err(|why| ClipError::Format {
            path: ivf_path,
            why,
        })?;
        let audio = parse_ogg_opus(&ogg).map_err(|why| ClipError::Format {
            path: ogg_path,
            why,
        })?;
        Ok(Clip { video, audio })
    }
}

/// Make a clip in `dir` with ffmpeg: a moving test pattern (VP8, `width`×`height` at 30 fps,
/// a keyframe every 2 s, about 600 kbit/s) and a tone (Opus, 20 ms frames), `seconds` long.
pub fn make_clip(dir: &Path, seconds: u32, width: u16, height: u16) -> Result<(), ClipError> {
    encode(
        dir,
        &format!("testsrc2=size={width}x{height}:rate=30:duration={seconds}"),
        None,
        &format!("sine=frequency=440:sample_rate=48000:duration={seconds}"),
        None,
    )
}

/// Make a clip to check lip sync: black video with a white flash, and silence with a 1 kHz
/// beep, both starting at `at` and lasting 100 ms (same codecs and rate as [`make_clip`]).
pub fn make_sync_clip(
    dir: &Path,
    seconds: u32,
    width: u16,
    height: u16,
    at: Duration,
) -> Result<(), ClipError> {
    let (from, to) = (at.as_secs_f64(), at.as_secs_f64() + 0.1);
    encode(
        dir,
        &format!("color=c=black:size={width}x{height}:rate=30:duration={seconds}"),
        Some(&format!(
            "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,{from},{to})'"
        )),
        &format!("sine=frequency=1000:sample_rate=48000:duration={seconds}"),
        Some(&format!("volume=0:enable='not(between(t,{from},{to}))'")),
    )
}

/// Encode a lavfi video source (through `video_filter`) to VP8 in IVF and a lavfi audio
/// source (through `audio_filter`) to Opus in Ogg, as the clip's two files.
fn encode(
    dir: &Path,
    video: &str,
    video_filter: Option<&str>,
    audio: &str,
    audio_filter: Option<&str>,
) -> Result<(), ClipError> {
    std::fs::create_dir_all(dir).map_err(|source| ClipError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let run = |args: Vec<String>| -> Result<(), ClipError> {
        let out = std::process::Command::new("ffmpeg")
            .args(&args)
            .output()
            .map_err(|e| {
                ClipError::Ffmpeg(format!(
                    "cannot run ffmpeg ({e}); install it (apt-get install ffmpeg)"
                ))
            })?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(5).collect();
            Err(ClipError::Ffmpeg(
                tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            ))
        }
    };
    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let mut v = args(&["-v", "error", "-y", "-f", "lavfi", "-i", video]);
    if let Some(f) = video_filter {
        v.extend(args(&["-vf", f]));
    }
    v.extend(args(&[
        "-c:v",
        "libvpx",
        "-b:v",
        "600k",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-auto-alt-ref",
        "0",
        "-lag-in-frames",
        "0",
        "-f",
        "ivf",
    ]));
    v.push(dir.join(VIDEO_FILE).display().to_string());
    run(v)?;
    let mut a = args(&["-v", "error", "-y", "-f", "lavfi", "-i", audio]);
    if let Some(f) = audio_filter {
        a.extend(args(&["-af", f]));
    }
    a.extend(args(&[
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        "-frame_duration",
        "20",
        "-application",
        "voip",
        "-f",
        "ogg",
    ]));
    a.push(dir.join(AUDIO_FILE).display().to_string());
    run(a)
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An IVF file of VP8 frames.
pub fn parse_ivf(b: &[u8]) -> Result<ClipVideo, String> {
    if b.len() < 32 || &b[..4] != b"DKIF" {
        return Err("not an IVF file (no DKIF header)".into());
    }
    if &b[8..12] != b"VP80" {
        return Err(format!(
            "the IVF holds {:?}, not VP8",
            String::from_utf8_lossy(&b[8..12])
        ));
    }
    let header_len = usize::from(u16_le(b, 6)).max(32);
    let (width, height) = (u16_le(b, 12), u16_le(b, 14));
    let (rate, scale) = (u32_le(b, 16), u32_le(b, 20));
    let fps = rate.checked_div(scale).map_or(30, |f| f.clamp(1, 120));
    let mut frames = vec![];
    let mut at = header_len;
    while at < b.len() {
        if at + 12 > b.len() {
            return Err(format!("frame header cut short at byte {at}"));
        }
        let size = u32_le(b, at) as usize;
        let start = at + 12;
        let Some(data) = b.get(start..start + size) else {
            return Err(format!(
                "frame of {size} bytes at byte {at} runs past the end"
            ));
        };
        if data.is_empty() {
            return Err(format!("empty frame at byte {at}"));
        }
        // The VP8 frame tag: bit 0 is P, 0 for a keyframe (RFC 6386 §9.1).
        frames.push(VideoFrame {
            keyframe: data[0] & 1 == 0,
            data: data.to_vec(),
        });
        at = start + size;
    }
    if !frames.first().is_some_and(|f| f.keyframe) {
        return Err("the clip does not start with a keyframe".into());
    }
    Ok(ClipVideo {
        width,
        height,
        fps,
        frames,
    })
}

/// The packets of an Ogg stream (one logical stream; continued packets joined).
fn ogg_packets(b: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut packets = vec![];
    let mut current: Vec<u8> = vec![];
    let mut at = 0;
    while at < b.len() {
        if b.len() < at + 27 || &b[at..at + 4] != b"OggS" {
            return Err(format!("no Ogg page at byte {at}"));
        }
        let segments = usize::from(b[at + 26]);
        let table = b
            .get(at + 27..at + 27 + segments)
            .ok_or_else(|| format!("segment table cut short at byte {at}"))?;
        let mut data_at = at + 27 + segments;
        for &lacing in table {
            let len = usize::from(lacing);
            let seg = b
                .get(data_at..data_at + len)
                .ok_or_else(|| format!("page at byte {at} runs past the end"))?;
            current.extend_from_slice(seg);
            data_at += len;
            // A lacing value under 255 ends a packet.
            if lacing < 255 {
                packets.push(std::mem::take(&mut current));
            }
        }
        at = data_at;
    }
    Ok(packets)
}

/// The duration of an Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 §3.1).
pub fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame: u32 = match config {
        // SILK and hybrid: 10, 20, 40, 60 ms; CELT: 2.5, 5, 10, 20 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    Some(frame * frames)
}

/// An Ogg Opus file.
pub fn parse_ogg_opus(b: &[u8]) -> Result<ClipAudio, String> {
    let packets = ogg_packets(b)?;
    match packets.first() {
        Some(head) if head.starts_with(b"OpusHead") => {}
        _ => return Err("not an Ogg Opus file (no OpusHead)".into()),
    }
    let packets: Vec<AudioPacket> = packets
        .into_iter()
        .skip(2) // OpusHead, OpusTags
        .filter(|p| !p.is_empty())
        .map(|data| {
            let samples = opus_samples(&data).unwrap_or(960);
            AudioPacket { data, samples }
        })
        .collect();
    if packets.is_empty() {
        return Err("no audio packets".into());
    }
    Ok(ClipAudio { packets })
}

/// How long the clip's audio lasts.
pub fn audio_duration(audio: &ClipAudio) -> Duration {
    let samples: u64 = audio.packets.iter().map(|p| u64::from(p.samples)).sum();
    Duration::from_micros(samples * 1_000_000 / 48_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        let mut b = b"DKIF".to_vec();
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(b"VP80");
        b.extend_from_slice(&640u16.to_le_bytes());
        b.extend_from_slice(&360u16.to_le_bytes());
        b.extend_from_slice(&30u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(frames.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            b.extend_from_slice(&(f.len() as u32).to_le_bytes());
            b.extend_from_slice(&(i as u64).to_le_bytes());
            b.extend_from_slice(f);
        }
        b
    }

    #[test]
    fn ivf_frames_are_read_with_their_keyframe_bit() {
        let v = parse_ivf(&ivf(&[&[0x10, 1, 2], &[0x11, 3], &[0x31]])).unwrap();
        assert_eq!((v.width, v.height, v.fps), (640, 360, 30));
        let keys: Vec<bool> = v.frames.iter().map(|f| f.keyframe).collect();
        assert_eq!(keys, [true, false, false]);
        assert_eq!(v.frames[0].data, [0x10, 1, 2]);
        // Refusals: not IVF, a frame running past the end, no keyframe first.
        assert!(parse_ivf(b"RIFF0000").is_err());
        let mut cut = ivf(&[&[0x10, 1, 2]]);
        cut.truncate(cut.len() - 1);
        assert!(parse_ivf(&cut).unwrap_err().contains("past the end"));
        assert!(
            parse_ivf(&ivf(&[&[0x11]]))
                .unwrap_err()
                .contains("keyframe")
        );
    }

    fn ogg_page(packets: &[&[u8]]) -> Vec<u8> {
        let mut table = vec![];
        let mut data = vec![];
        for p in packets {
            let mut left = p.len();
            while left >= 255 {
                table.push(255u8);
                left -= 255;
            }
            table.push(left as u8);
            data.extend_from_slice(p);
        }
        let mut b = b"OggS".to_vec();
        b.extend_from_slice(&[0; 22]);
        b.push(table.len() as u8);
        b.extend_from_slice(&table);
        b.extend_from_slice(&data);
        b
    }

    #[test]
    fn ogg_opus_packets_are_read_across_segments() {
        let long = vec![0x78u8; 300]; // TOC 0x78: CELT 20 ms, one frame
        let mut file = ogg_page(&[b"OpusHead\x01\x02"]);
        file.extend(ogg_page(&[b"OpusTags"]));
        file.extend(ogg_page(&[&long, &[0x78, 1, 2], &[0x7b, 0x03, 9]]));
        let a = parse_ogg_opus(&file).unwrap();
        assert_eq!(a.packets.len(), 3);
        assert_eq!(a.packets[0].data.len(), 300);
        assert_eq!(a.packets[0].samples, 960);
        // Code 3 with three frames of 20 ms.
        assert_eq!(a.packets[2].samples, 3 * 960);
        assert_eq!(audio_duration(&a), Duration::from_millis(100));
        assert!(parse_ogg_opus(&ogg_page(&[b"Vorbis"])).is_err());
        assert!(parse_ogg_opus(b"OggX").is_err());
    }

    #[test]
    fn opus_durations_follow_the_toc() {
        assert_eq!(opus_samples(&[0x08]), Some(960)); // SILK NB 20 ms
        assert_eq!(opus_samples(&[0x60]), Some(480)); // hybrid SWB 10 ms
        assert_eq!(opus_samples(&[0xf8 | 1]), Some(2 * 960)); // CELT FB 20 ms, two frames
        assert_eq!(opus_samples(&[]), None);
    }
}
