//! A real VP8/Opus clip (made by ffmpeg) sent as RTP over a simulated network — delayed,
//! reordered, one video packet lost, timestamps wrapping — recorded into a live WebM file,
//! then checked with ffprobe and ffmpeg as a player would read it: both streams with their
//! codecs and size, video starting at a keyframe, a clean decode, the clip's duration; a copy
//! cut as a crash would cut it still decodes up to the cut; finalising adds cues and a
//! checksum. Needs ffmpeg (the test command installs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use recorder::clip::{Clip, make_clip};
use recorder::file::{ParticipantFile, Streams};
use recorder::finalise::{finalise, leftovers, sha256_file};
use recorder::track::{RtpIn, StreamKind};

const SECONDS: u32 = 4;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cau-rec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): install ffmpeg"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn probe(path: &Path) -> serde_json::Value {
    let p = path.to_str().unwrap();
    let (ok, out, err) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            p,
        ],
    );
    assert!(ok, "ffprobe {p}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// ffmpeg's complaints decoding the whole file (nothing, for a good file).
fn decode_errors(path: &Path) -> String {
    let (_, _, err) = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-nostdin",
            "-i",
            path.to_str().unwrap(),
            "-f",
            "null",
            "-",
        ],
    );
    err
}

/// ffprobe's flags of the file's first video packet (`K_` for a keyframe).
fn first_video_packet_flags(path: &Path) -> String {
    let (_, out, _) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=flags",
            "-read_intervals",
            "%+#1",
            "-of",
            "csv=p=0",
            path.to_str().unwrap(),
        ],
    );
    out
}

fn video_frames_decoded(path: &Path) -> u64 {
    let (_, out, _) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            path.to_str().unwrap(),
        ],
    );
    out.trim().parse().unwrap_or(0)
}

/// One RTP packet on the simulated network.
struct OnTheWire {
    arrival: Duration,
    video: bool,
    pkt: RtpIn,
}

impl OnTheWire {
    fn kind(&self) -> StreamKind {
        if self.video {
            StreamKind::Vp8
        } else {
            StreamKind::Opus
        }
    }
}

/// How the simulated network and sender behave.
#[derive(Clone, Copy)]
struct Net {
    /// Fixed delay of audio and of video packets, before 0–40 ms of jitter.
    audio_ms: u64,
    video_ms: u64,
    /// Lose the 2nd packet of video frame 45.
    lose_one: bool,
    /// From this point of the clip on, packets carry the sender's capture time (its sender
    /// reports have come), on a clock far from the hub's.
    sender_reports_from: Option<Duration>,
}

impl Net {
    const LOSSY: Net = Net {
        audio_ms: 20,
        video_ms: 20,
        lose_one: true,
        sender_reports_from: None,
    };

    fn sender_us(&self, sent: Duration) -> Option<i64> {
        let from = self.sender_reports_from?;
        (sent >= from).then(|| 1_700_000_000_000_000 + sent.as_micros() as i64)
    }
}

/// The clip as a browser would send it: VP8 frames at 30 fps cut into packets of at most
/// 1000 bytes (Chromium's descriptor: X, a 15-bit picture ID), Opus every 20 ms; each packet
/// delayed (by default 20–60 ms, so some arrive out of order); the 2nd packet of video frame
/// 45 lost.
fn send(clip: &Clip, seed: u64) -> (Vec<OnTheWire>, usize) {
    send_over(clip, seed, Net::LOSSY)
}

fn send_over(clip: &Clip, seed: u64, net: Net) -> (Vec<OnTheWire>, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut wire = vec![];
    let delay = |rng: &mut StdRng, base: u64| Duration::from_millis(base + rng.random_range(0..40));
    let video_ts0 = u32::MAX - 90_000; // wraps after 1 s
    let mut seq = 7_000u64;
    let mut lost = 0;
    for (i, frame) in clip.video.frames.iter().enumerate() {
        let sent = Duration::from_micros(i as u64 * 1_000_000 / u64::from(clip.video.fps));
        let ts = video_ts0.wrapping_add(i as u32 * (90_000 / clip.video.fps));
        let parts: Vec<&[u8]> = frame.data.chunks(1000).collect();
        for (k, part) in parts.iter().enumerate() {
            let pid = (i as u16) | 0x8000;
            let mut payload = vec![if k == 0 { 0x90 } else { 0x80 }, 0x80];
            payload.extend_from_slice(&pid.to_be_bytes());
            payload.extend_from_slice(part);
            let pkt = RtpIn {
                seq,
                ts,
                marker: k + 1 == parts.len(),
                payload,
                sender_us: net.sender_us(sent),
            };
            seq += 1;
            if net.lose_one && i == 45 && k == 1 {
                lost += 1;
                continue;
            }
            wire.push(OnTheWire {
                arrival: sent + delay(&mut rng, net.video_ms),
                video: true,
                pkt,
            });
        }
    }
    let mut samples = 0u32;
    let audio_ts0 = u32::MAX - 2 * 48_000; // wraps after 2 s
    for (j, p) in clip.audio.packets.iter().enumerate() {
        let sent = Duration::from_micros(u64::from(samples) * 1_000_000 / 48_000);
        wire.push(OnTheWire {
            arrival: sent + delay(&mut rng, net.audio_ms),
            video: false,
            pkt: RtpIn {
                seq: 30_000 + j as u64,
                ts: audio_ts0.wrapping_add(samples),
                marker: false,
                payload: p.data.clone(),
                sender_us: net.sender_us(sent),
            },
        });
        samples += p.samples;
    }
    wire.sort_by_key(|w| w.arrival);
    (wire, lost)
}

fn record(dir: &Path, clip: &Clip) -> (PathBuf, u64) {
    let origin = Instant::now();
    let mut file = ParticipantFile::create(
        dir,
        "p1-province-19",
        "Nguyễn Văn An — Tỉnh Thái Nguyên",
        Streams {
            audio: true,
            video: true,
        },
        origin,
    )
    .unwrap();
    assert!(
        file.take_keyframe_request(),
        "a keyframe is asked for at the start"
    );
    let (wire, lost) = send(clip, 7);
    assert_eq!(lost, 1);
    let mut asked = 0;
    for w in wire {
        let now = origin + w.arrival;
        if file.deadline().is_some_and(|d| d <= now) {
            file.poll(now).unwrap();
        }
        file.push(now, w.kind(), w.pkt).unwrap();
        asked += u64::from(file.take_keyframe_request());
    }
    let (_, video) = file.stats();
    let video = video.unwrap();
    assert_eq!(video.jitter.lost, 1, "{video:?}");
    assert!(video.frames_dropped >= 1, "{video:?}");
    (file.finish().unwrap(), asked)
}

#[test]
fn a_recorded_clip_plays_cuts_cleanly_and_finalises_with_cues_and_a_checksum() {
    let dir = scratch("clip");
    make_clip(&dir.join("clip"), SECONDS, 320, 240).unwrap();
    let clip = Clip::load(&dir.join("clip")).unwrap();
    let (part, asked) = record(&dir, &clip);
    assert!(part.to_string_lossy().ends_with(".webm.part"));
    assert_eq!(asked, 1, "the loss asked for one keyframe");

    // As a player reads the live file.
    let info = probe(&part);
    let streams = info["streams"].as_array().unwrap();
    let codec = |t: &str| {
        streams
            .iter()
            .find(|s| s["codec_type"] == t)
            .unwrap_or_else(|| panic!("no {t} stream"))
    };
    assert_eq!(codec("audio")["codec_name"], "opus");
    assert_eq!(codec("audio")["sample_rate"], "48000");
    assert_eq!(codec("video")["codec_name"], "vp8");
    assert_eq!(
        (
            codec("video")["width"].as_u64(),
            codec("video")["height"].as_u64()
        ),
        (Some(320), Some(240))
    );
    let out = first_video_packet_flags(&part);
    assert!(
        out.trim().starts_with('K'),
        "the first video packet is a keyframe: {out}"
    );
    let errors = decode_errors(&part);
    assert!(
        errors.is_empty(),
        "ffmpeg decodes it without a word: {errors}"
    );
    let blocks = recorder::webm::blocks(&std::fs::read(&part).unwrap());
    let audio_blocks = blocks.iter().filter(|b| b.1 == 1).count();
    assert_eq!(audio_blocks, clip.audio.packets.len(), "every audio packet");
    let frames = video_frames_decoded(&part);
    // 120 frames less those from the loss (frame 45) to the next keyframe (frame 60).
    assert_eq!(frames, 120 - 15, "video frames decoded");

    // A crash cuts the file anywhere: what was written before the cut still decodes.
    let bytes = std::fs::read(&part).unwrap();
    let cut = dir.join("cut.webm.part");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let cut_frames = video_frames_decoded(&cut);
    assert!(
        (40..frames).contains(&cut_frames),
        "{cut_frames} frames before the cut"
    );

    // Finalised: remuxed with cues and a duration, the checksum of what is on disk.
    assert_eq!(leftovers(&dir).unwrap(), [cut.clone(), part.clone()]);
    let done = finalise(&part).unwrap();
    assert!(done.remuxed && !part.exists());
    assert_eq!(done.path, dir.join("p1-province-19.webm"));
    assert_eq!(done.sha256, sha256_file(&done.path).unwrap());
    assert_eq!(done.bytes, std::fs::metadata(&done.path).unwrap().len());
    let duration = done.duration_ms.expect("ffprobe knows the duration");
    assert!(
        duration.abs_diff(u64::from(SECONDS) * 1000) <= 100,
        "{duration} ms"
    );
    let final_bytes = std::fs::read(&done.path).unwrap();
    assert!(
        final_bytes
            .windows(4)
            .any(|w| w == [0x1c, 0x53, 0xbb, 0x6b]),
        "the finalised file has cues"
    );
    assert!(decode_errors(&done.path).is_empty());
    let (_, out, _) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "a",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            done.path.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.trim(),
        clip.audio.packets.len().to_string(),
        "the audio survives finalising"
    );
    // The cut file finalises too, into a file that decodes cleanly up to where it ends.
    let rescued = finalise(&cut).unwrap();
    assert!(rescued.remuxed);
    assert!(
        decode_errors(&rescued.path).is_empty(),
        "{:?}",
        rescued.ffmpeg_notes
    );
    let rescued_frames = video_frames_decoded(&rescued.path);
    assert!(rescued_frames >= cut_frames - 1);
    eprintln!(
        "recorded: {frames} video frames, {duration} ms, {} bytes, sha256 {}; cut at 60%: \
         {cut_frames} frames, finalised {rescued_frames} ({:?})",
        done.bytes, done.sha256, rescued.ffmpeg_notes
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Record the clip for one participant starting `offset` into the session.
fn record_at(dir: &Path, clip: &Clip, stem: &str, origin: Instant, offset: Duration) -> PathBuf {
    let mut file = ParticipantFile::create(
        dir,
        stem,
        stem,
        Streams {
            audio: true,
            video: true,
        },
        origin,
    )
    .unwrap();
    let (wire, _) = send(clip, 11);
    for w in wire {
        let now = origin + offset + w.arrival;
        if file.deadline().is_some_and(|d| d <= now) {
            file.poll(now).unwrap();
        }
        file.push(now, w.kind(), w.pkt).unwrap();
    }
    file.finish().unwrap()
}

#[test]
fn the_archive_view_tiles_the_speakers_on_the_session_timeline_and_mixes_their_audio() {
    use recorder::session::{
        Manifest, ManifestFile, ManifestParticipant, ParticipantInfo, SessionInfo, SpeakerTurn,
    };
    let dir = scratch("composite");
    make_clip(&dir.join("clip"), SECONDS, 320, 240).unwrap();
    let clip = Clip::load(&dir.join("clip")).unwrap();
    let origin = Instant::now();
    // An official from the start (e1, who speaks), the chair joining 1.5 s later (e2).
    let mut files = vec![];
    for (stem, offset) in [("e1-province-19", 0), ("e2-commune-5431", 1500)] {
        let part = record_at(&dir, &clip, stem, origin, Duration::from_millis(offset));
        let done = finalise(&part).unwrap();
        files.push(ManifestFile {
            name: done
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
            participant_id: stem.split('-').next().unwrap().into(),
            content: "participant".into(),
            bytes: done.bytes,
            sha256: done.sha256,
            offset_ms: done.start_ms,
            end_ms: done
                .start_ms
                .zip(done.duration_ms)
                .map(|(s, d)| s + d as i64),
            duration_ms: done.duration_ms,
            remuxed: true,
        });
    }
    let person = |id: &str, role: &str| ManifestParticipant {
        info: ParticipantInfo {
            participant_id: id.into(),
            name: id.into(),
            unit_id: "province:19".into(),
            unit_name: "Tỉnh Thái Nguyên".into(),
            role: role.into(),
        },
        joined_at: 0,
        left_at: None,
    };
    let manifest = Manifest {
        format: 1,
        interrupted: false,
        session: SessionInfo {
            meeting_id: 1,
            session_id: 1,
            title: "Họp".into(),
            host_unit: "province:19".into(),
            host_name: "Tỉnh Thái Nguyên".into(),
            invited: vec![],
            started_at: 0,
        },
        ended_at: 0,
        attending: vec![],
        participants: vec![person("e1", "official"), person("e2", "chair")],
        files: files.clone(),
        speakers: vec![SpeakerTurn {
            participant_id: "e1".into(),
            from_ms: 0,
            to_ms: 3000,
        }],
        mutes: vec![],
        problems: vec![],
        composite: None,
        stopped: None,
    };
    let seen = std::sync::Mutex::new(vec![]);
    let made = recorder::composite::make(&dir, &manifest, |p| seen.lock().unwrap().push(p))
        .unwrap()
        .expect("an archive view");
    // The chair's file first, then the speaker's.
    assert_eq!(made.tiled, [files[1].name.clone(), files[0].name.clone()]);
    let path = dir.join(&made.name);
    assert_eq!(made.sha256, sha256_file(&path).unwrap());
    let progress = seen.into_inner().unwrap();
    assert_eq!(progress.last(), Some(&1.0), "progress reaches the end");
    let info = probe(&path);
    let streams = info["streams"].as_array().unwrap();
    let of = |t: &str| streams.iter().find(|s| s["codec_type"] == t).unwrap();
    assert_eq!(of("video")["codec_name"], "h264");
    assert_eq!(
        (
            of("video")["width"].as_u64(),
            of("video")["height"].as_u64()
        ),
        (Some(1280), Some(720))
    );
    assert_eq!(of("audio")["codec_name"], "aac");
    // The session: from the chair's first frame to the official's last, 1.5 s + 4 s.
    let expected = files.iter().filter_map(|f| f.end_ms).max().unwrap()
        - files.iter().filter_map(|f| f.offset_ms).min().unwrap();
    let duration = made.duration_ms.unwrap() as i64;
    assert!(
        (duration - expected).abs() <= 150,
        "{duration} ms, not {expected}"
    );
    assert!(decode_errors(&path).is_empty());
    // On the timeline: the chair's tile (first, on the left; two tiles sit side by side in
    // the middle of the canvas) is black until it joins, 1.5 s in; the official's (right)
    // shows from the start.
    let brightness = |at: &str, crop: &str| -> f64 {
        let vf = format!("crop={crop},signalstats,metadata=print:key=lavfi.signalstats.YAVG");
        let (_, _, err) = run(
            "ffmpeg",
            &[
                "-v",
                "info",
                "-nostdin",
                "-ss",
                at,
                "-i",
                path.to_str().unwrap(),
                "-frames:v",
                "1",
                "-vf",
                &vf,
                "-f",
                "null",
                "-",
            ],
        );
        err.lines()
            .find_map(|l| l.split("lavfi.signalstats.YAVG=").nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no brightness at {at}: {err}"))
    };
    let (chair_early, official_early) = (
        brightness("0.8", "640:360:0:180"),
        brightness("0.8", "640:360:640:180"),
    );
    let chair_later = brightness("3.0", "640:360:0:180");
    eprintln!(
        "brightness: chair {chair_early:.1} then {chair_later:.1}, official {official_early:.1}"
    );
    assert!(chair_early < 20.0, "black before it joined: {chair_early}");
    assert!(
        chair_later > 40.0 && official_early > 40.0,
        "pictures once there"
    );
    // The index comes first: it plays while it downloads.
    let bytes = std::fs::read(&path).unwrap();
    let at = |tag: &[u8]| bytes.windows(4).position(|w| w == tag).unwrap();
    assert!(at(b"moov") < at(b"mdat"), "moov before mdat");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_senders_clock_keeps_audio_and_video_together_whatever_their_network_delays() {
    let dir = scratch("lipsync");
    make_clip(&dir.join("clip"), SECONDS, 320, 240).unwrap();
    let clip = Clip::load(&dir.join("clip")).unwrap();
    // Video reaches the hub 130 ms later than audio; sender reports from 1 s on.
    let net = Net {
        audio_ms: 20,
        video_ms: 150,
        lose_one: false,
        sender_reports_from: Some(Duration::from_secs(1)),
    };
    let origin = Instant::now();
    let mut file = ParticipantFile::create(
        &dir,
        "p",
        "p",
        Streams {
            audio: true,
            video: true,
        },
        origin,
    )
    .unwrap();
    let (wire, _) = send_over(&clip, 3, net);
    for w in wire {
        let now = origin + w.arrival;
        if file.deadline().is_some_and(|d| d <= now) {
            file.poll(now).unwrap();
        }
        file.push(now, w.kind(), w.pkt).unwrap();
    }
    let part = file.finish().unwrap();
    let blocks = recorder::webm::blocks(&std::fs::read(&part).unwrap());
    let times = |track: u8| -> Vec<i64> {
        let mut t: Vec<i64> = blocks
            .iter()
            .filter(|b| b.1 == track)
            .map(|b| b.0 + i64::from(b.2))
            .collect();
        t.sort();
        t
    };
    let (audio, video) = (times(1), times(2));
    // Anchored at 1 s, the video stepped back by its extra delay: the frames from there to
    // the next keyframe (the clip has one every 2 s) are dropped, none other.
    let fps = i64::from(clip.video.fps);
    let dropped = clip.video.frames.len() - video.len();
    assert_eq!(
        dropped as i64, fps,
        "the second between the step and the keyframe"
    );
    // Where each track put the content captured at a given moment: a frame's file time less
    // its capture time.
    let audio_at = |capture_ms: i64| audio[(capture_ms / 20) as usize] - capture_ms;
    let video_at = |capture_ms: i64| {
        let i = (capture_ms * fps / 1000) as usize;
        let written = if i >= 2 * fps as usize {
            i - dropped
        } else {
            i
        };
        video[written] - (i as i64 * 1000 / fps)
    };
    let before = video_at(500) - audio_at(500);
    let after: Vec<i64> = [2000, 2500, 3000, 3500]
        .iter()
        .map(|t| video_at(*t) - audio_at(*t))
        .collect();
    eprintln!("video behind audio: {before} ms before the sender reports, {after:?} ms after");
    assert!(
        before > 80,
        "arrival times alone put video {before} ms late"
    );
    assert!(
        after.iter().all(|d| d.abs() <= 40),
        "in sync within 40 ms: {after:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The NAL units of an Annex B stream (split at its start codes).
fn annex_b_nals(b: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = vec![];
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let end = starts.get(k + 1).map_or(b.len(), |&n| n - 3);
            // A 4-byte start code leaves its leading zero on the previous unit.
            let mut nal = b[s..end].to_vec();
            while nal.last() == Some(&0) && k + 1 < starts.len() {
                nal.pop();
            }
            nal
        })
        .collect()
}

/// An H.264 clip as a browser sends it (RFC 6184, packetization mode 1): per picture, its SPS
/// and PPS in one STAP-A, other units whole when they fit in 1000 bytes, else in FU-A
/// fragments; the marker on a picture's last packet; 20–60 ms of delay per packet; the
/// second fragment of picture 45's slice lost.
fn send_h264(pictures: &[Vec<Vec<u8>>], audio: &recorder::clip::ClipAudio) -> Vec<OnTheWire> {
    let mut rng = StdRng::seed_from_u64(11);
    let mut wire = vec![];
    let mut seq = 500u64;
    for (i, nals) in pictures.iter().enumerate() {
        let sent = Duration::from_micros(i as u64 * 1_000_000 / 30);
        let mut payloads = vec![];
        let sets: Vec<&Vec<u8>> = nals
            .iter()
            .filter(|n| matches!(n[0] & 0x1f, 7 | 8))
            .collect();
        if !sets.is_empty() {
            let mut stap = vec![0x78];
            for n in &sets {
                stap.extend_from_slice(&(n.len() as u16).to_be_bytes());
                stap.extend_from_slice(n);
            }
            payloads.push(stap);
        }
        for n in nals.iter().filter(|n| !matches!(n[0] & 0x1f, 7 | 8)) {
            if n.len() <= 1000 {
                payloads.push(n.clone());
                continue;
            }
            let chunks: Vec<&[u8]> = n[1..].chunks(1000).collect();
            for (k, c) in chunks.iter().enumerate() {
                let mut fu = n[0] & 0x1f;
                if k == 0 {
                    fu |= 0x80;
                }
                if k + 1 == chunks.len() {
                    fu |= 0x40;
                }
                let mut p = vec![(n[0] & 0xe0) | 28, fu];
                p.extend_from_slice(c);
                payloads.push(p);
            }
        }
        let count = payloads.len();
        for (k, payload) in payloads.into_iter().enumerate() {
            seq += 1;
            if i == 45 && k == 1 {
                continue;
            }
            wire.push(OnTheWire {
                arrival: sent + Duration::from_millis(20 + rng.random_range(0..40)),
                video: true,
                pkt: RtpIn {
                    seq,
                    ts: (i as u32) * 3000,
                    marker: k + 1 == count,
                    payload,
                    sender_us: None,
                },
            });
        }
    }
    let mut samples = 0u32;
    for (j, p) in audio.packets.iter().enumerate() {
        let sent = Duration::from_micros(u64::from(samples) * 1_000_000 / 48_000);
        wire.push(OnTheWire {
            arrival: sent + Duration::from_millis(20 + rng.random_range(0..40)),
            video: false,
            pkt: RtpIn {
                seq: 9_000 + j as u64,
                ts: samples,
                marker: false,
                payload: p.data.clone(),
                sender_us: None,
            },
        });
        samples += p.samples;
    }
    wire.sort_by_key(|w| w.arrival);
    wire
}

#[test]
fn an_h264_publisher_is_recorded_to_matroska() {
    let dir = scratch("h264");
    // Three seconds of H.264 (baseline, one slice a picture, an IDR every second) and Opus.
    let h264 = dir.join("clip.h264");
    let (ok, _, err) = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30:duration=3",
            "-c:v",
            "libx264",
            "-profile:v",
            "baseline",
            "-preset",
            "ultrafast",
            "-threads",
            "1",
            "-g",
            "30",
            "-bf",
            "0",
            "-f",
            "h264",
            h264.to_str().unwrap(),
        ],
    );
    assert!(ok, "ffmpeg (libx264): {err}");
    make_clip(&dir.join("clip"), 3, 320, 240).unwrap();
    let audio = Clip::load(&dir.join("clip")).unwrap().audio;
    // Pictures: everything up to and including each slice.
    let mut pictures: Vec<Vec<Vec<u8>>> = vec![vec![]];
    for nal in annex_b_nals(&std::fs::read(&h264).unwrap()) {
        let t = nal[0] & 0x1f;
        pictures.last_mut().unwrap().push(nal);
        if matches!(t, 1 | 5) {
            pictures.push(vec![]);
        }
    }
    pictures.pop();
    assert_eq!(pictures.len(), 90);

    let origin = Instant::now();
    let streams = Streams {
        audio: true,
        video: true,
    };
    let mut file =
        ParticipantFile::create(&dir, "p7-commune-5431", "Lò Văn Bảy", streams, origin).unwrap();
    for w in send_h264(&pictures, &audio) {
        let now = origin + w.arrival;
        if file.deadline().is_some_and(|d| d <= now) {
            file.poll(now).unwrap();
        }
        let kind = if w.video {
            StreamKind::H264
        } else {
            StreamKind::Opus
        };
        file.push(now, kind, w.pkt).unwrap();
    }
    let (_, video) = file.stats();
    let video = video.unwrap();
    assert_eq!(video.jitter.lost, 1, "{video:?}");
    let part = file.finish().unwrap();
    assert!(part.to_string_lossy().ends_with(".webm.part"));
    assert!(recorder::webm::is_matroska_file(&part).unwrap());
    // The live file already plays.
    assert_eq!(decode_errors(&part), "");

    let done = finalise(&part).unwrap();
    assert!(done.remuxed);
    assert_eq!(done.path, dir.join("p7-commune-5431.mkv"));
    let p = probe(&done.path);
    assert!(
        p["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("matroska")
    );
    let mut codecs: Vec<&str> = p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap())
        .collect();
    codecs.sort();
    assert_eq!(codecs, ["h264", "opus"]);
    let v = p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(320), Some(240))
    );
    let flags = first_video_packet_flags(&done.path);
    assert!(
        flags.trim().starts_with('K'),
        "first video packet: {flags:?}"
    );
    assert_eq!(decode_errors(&done.path), "");
    // Picture 45 lost a fragment: it and the rest of its second are dropped, up to the IDR at 60.
    assert_eq!(video_frames_decoded(&done.path), 90 - 15);
    assert_eq!(done.sha256, sha256_file(&done.path).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}
