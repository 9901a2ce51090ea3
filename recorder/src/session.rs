//! One recorded session: a task that takes the session's packets from the media plane and
//! the facts of the meeting from the hub, writes a file per participant (its microphone and
//! camera) and per shared screen, and when the session ends finalises every file and writes
//! the session's manifest (`manifest.json`, [`Manifest`]).
//!
//! The task owns everything it writes; a panic in it ends the recording, never the meeting
//! (the media plane stops feeding a recorder whose channel is gone).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sfu::{Codec, EndpointId, RecordedPacket, Source};
use tokio::sync::mpsc;

use crate::disk::DiskGuard;
use crate::file::{ParticipantFile, Streams};
use crate::finalise::{self, Finalised};
use crate::track::{RtpIn, StreamKind};

/// The name of a session's manifest in its directory.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's format, `format` in it.
pub const FORMAT: u32 = 1;
/// The largest manifest read back (a province-wide session's is well under 1 MB).
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// What the hub tells a session's recorder, as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecorderEvent {
    /// A participant joined (its endpoint carries its media).
    Joined {
        endpoint: EndpointId,
        participant: ParticipantInfo,
        /// Milliseconds since the epoch.
        at: i64,
    },
    Left {
        endpoint: EndpointId,
        at: i64,
    },
    Speaking {
        endpoint: EndpointId,
        speaking: bool,
        at: i64,
    },
    Muted {
        endpoint: EndpointId,
        /// `"audio"` or `"video"`.
        kind: String,
        muted: bool,
        at: i64,
    },
    /// The session is over: finish, finalise, write the manifest.
    End {
        at: i64,
    },
}

/// A participant as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub participant_id: String,
    pub name: String,
    pub unit_id: String,
    pub unit_name: String,
    pub role: String,
}

/// The meeting a session belongs to, for the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub meeting_id: i64,
    pub session_id: i64,
    pub title: String,
    pub host_unit: String,
    pub host_name: String,
    /// Invited unit ids.
    pub invited: Vec<String>,
    /// Milliseconds since the epoch at the session's time origin (offset 0 of every file).
    pub started_at: i64,
}

/// One participant in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestParticipant {
    #[serde(flatten)]
    pub info: ParticipantInfo,
    pub joined_at: i64,
    pub left_at: Option<i64>,
}

/// One file in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The file's name in the session's directory.
    pub name: String,
    pub participant_id: String,
    /// `"participant"` (microphone and camera) or `"screen"`.
    pub content: String,
    pub bytes: u64,
    pub sha256: String,
    /// Where the file's first and last frames are on the session timeline (ms).
    pub offset_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub duration_ms: Option<u64>,
    /// Remuxed with cues (false: kept as written, without ffmpeg).
    pub remuxed: bool,
}

/// A stretch of someone speaking, on the session timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerTurn {
    pub participant_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A mute or unmute, on the session timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteEvent {
    pub participant_id: String,
    pub kind: String,
    pub muted: bool,
    pub at_ms: i64,
}

/// The session's manifest: what is in its directory and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The session was cut short (the hub or the recorder stopped): its files were finalised
    /// at the next start and play up to the cut; speaker turns and mutes are not known.
    pub interrupted: bool,
    #[serde(flatten)]
    pub session: SessionInfo,
    pub ended_at: i64,
    /// Units with at least one participant.
    pub attending: Vec<String>,
    pub participants: Vec<ManifestParticipant>,
    pub files: Vec<ManifestFile>,
    pub speakers: Vec<SpeakerTurn>,
    pub mutes: Vec<MuteEvent>,
    /// Files that could not be finalised, with why.
    pub problems: Vec<String>,
    /// The archive view, once made (after the manifest is first written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<crate::composite::Composite>,
    /// Why recording stopped before the session ended: `disk_low` (the space left fell
    /// below the reserve; `problems` says when and how much).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// [`Manifest::stopped`] when the disk ran short.
pub const STOPPED_DISK_LOW: &str = "disk_low";

/// How often the space left is looked at.
const DISK_CHECK: Duration = Duration::from_secs(1);

/// A file being written: the participant's (microphone and camera) or its screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FileKey {
    Participant(EndpointId),
    Screen(EndpointId),
}

/// How often frames that waited for a gap are released and keyframe requests collected.
const TICK: Duration = Duration::from_millis(100);

/// Record one session into `dir` (created if missing) until [`RecorderEvent::End`] or
/// until both channels close; `keyframe` asks the media plane for a keyframe of a track,
/// `ending` hears when the session ended (finalising starts). Returns the manifest written.
///
/// Recording stops early, the session going on, when `guard` finds the space left below its
/// reserve (at the start and about every second): what was written is finalised as at a
/// session's end, and the manifest says `stopped: "disk_low"`.
#[allow(clippy::too_many_arguments)]
pub async fn record_session(
    dir: PathBuf,
    info: SessionInfo,
    origin: Instant,
    mut packets: mpsc::UnboundedReceiver<RecordedPacket>,
    mut events: mpsc::UnboundedReceiver<RecorderEvent>,
    keyframe: impl Fn(EndpointId, Source) + Send,
    ending: impl FnOnce(i64) + Send,
    guard: DiskGuard,
) -> std::io::Result<Manifest> {
    std::fs::create_dir_all(&dir)?;
    let started_at = info.started_at;
    let mut rec = Recording::new(dir, info, origin);
    let mut tick = tokio::time::interval(TICK);
    let (mut packets_open, mut events_open) = (true, true);
    let mut stopped = None;
    let mut next_disk_check = Instant::now();
    let ended_at = loop {
        if Instant::now() >= next_disk_check {
            next_disk_check = Instant::now() + DISK_CHECK;
            if let Some(free) = guard.short() {
                let at = crate::now_ms();
                let into = (at - started_at).max(0) / 1000;
                let mb = |b: u64| b / 1_000_000;
                rec.notes.push(format!(
                    "recording stopped {}:{:02}:{:02} into the session: {} MB left on the archive's disk, below the reserve of {} MB",
                    into / 3600,
                    into % 3600 / 60,
                    into % 60,
                    mb(free),
                    mb(guard.reserve_bytes())
                ));
                tracing::error!(
                    free,
                    reserve = guard.reserve_bytes(),
                    "the archive's disk is short of space: recording stops"
                );
                stopped = Some(STOPPED_DISK_LOW.to_string());
                break at;
            }
        }
        tokio::select! {
            p = packets.recv(), if packets_open => match p {
                Some(p) => rec.packet(p),
                None => packets_open = false,
            },
            e = events.recv(), if events_open => match e {
                Some(RecorderEvent::End { at }) => break at,
                Some(e) => rec.event(e),
                None => events_open = false,
            },
            _ = tick.tick() => {
                rec.poll(Instant::now());
                for (endpoint, source) in rec.keyframes_wanted() {
                    keyframe(endpoint, source);
                }
            }
        }
        if !packets_open && !events_open {
            break crate::now_ms();
        }
    };
    ending(ended_at);
    // What is still in the channel arrived before the end.
    while let Ok(p) = packets.try_recv() {
        rec.packet(p);
    }
    // Closing the files (flush, fsync) and ffmpeg block: off the async threads.
    let manifest =
        tokio::task::spawn_blocking(move || rec_finalise(rec.finish(), ended_at, stopped))
            .await
            .map_err(std::io::Error::other)??;
    Ok(manifest)
}

/// Finalise every file and write the manifest (blocking: ffmpeg runs).
fn rec_finalise(
    done: Finished,
    ended_at: i64,
    stopped: Option<String>,
) -> std::io::Result<Manifest> {
    let Finished {
        dir,
        info,
        parts,
        participants,
        speakers,
        mutes,
        mut problems,
    } = done;
    let mut files = vec![];
    for (participant_id, content, part, span) in parts {
        match finalise::finalise(&part) {
            Ok(Finalised {
                path,
                bytes,
                sha256,
                duration_ms,
                remuxed,
                ..
            }) => files.push(ManifestFile {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                participant_id,
                content: content.to_string(),
                bytes,
                sha256,
                offset_ms: span.map(|s| s.0),
                end_ms: span.map(|s| s.1),
                duration_ms,
                remuxed,
            }),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        interrupted: false,
        session: info,
        ended_at,
        attending: attending_units(&participants),
        participants,
        files,
        speakers,
        mutes,
        problems,
        composite: None,
        stopped,
    };
    write_manifest(&dir, &manifest)?;
    Ok(manifest)
}

/// What the hub knows of a session that a crash cut short, to rebuild its manifest (sent to
/// a recorder process that finishes such a session: `GET /api/recorder/sessions/{id}/interrupted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interrupted {
    pub info: SessionInfo,
    /// When the hub noticed the session was over (the crash, or the next start).
    pub ended_at: i64,
    pub participants: Vec<ManifestParticipant>,
}

/// Whether a session directory is finished (has its manifest).
pub fn is_finished(dir: &Path) -> bool {
    dir.join(MANIFEST).exists()
}

/// Finish a session directory that a crash left without a manifest: every `.part` file is
/// finalised (it plays up to the crash; ffmpeg drops a block cut in half), files finalised
/// before the crash are taken as they are, and the manifest is written marked
/// `interrupted`. Blocking (ffmpeg runs).
pub fn recover(dir: &Path, known: Interrupted) -> std::io::Result<Manifest> {
    let mut problems = vec![];
    let mut files = vec![];
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for path in names {
        let name = path.to_string_lossy().into_owned();
        let done = if name.ends_with(crate::file::PART_SUFFIX) {
            match finalise::finalise(&path) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            }
        } else if name.ends_with(".webm") || name.ends_with(".mkv") {
            let sha256 = finalise::sha256_file(&path)?;
            let span = finalise::probe_span_ms(&path);
            Finalised {
                bytes: std::fs::metadata(&path)?.len(),
                sha256,
                start_ms: span.map(|s| s.0),
                duration_ms: span.map(|s| s.1),
                remuxed: true,
                ffmpeg_notes: None,
                path,
            }
        } else {
            continue;
        };
        let file_name = done
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // PARTICIPANT-UNIT[-screen].webm (or .mkv)
        let participant_id = file_name.split('-').next().unwrap_or_default().to_string();
        files.push(ManifestFile {
            content: if file_name.ends_with("-screen.webm") || file_name.ends_with("-screen.mkv") {
                "screen"
            } else {
                "participant"
            }
            .to_string(),
            name: file_name,
            participant_id,
            bytes: done.bytes,
            sha256: done.sha256,
            offset_ms: done.start_ms,
            end_ms: done
                .start_ms
                .zip(done.duration_ms)
                .map(|(s, d)| s + d as i64),
            duration_ms: done.duration_ms,
            remuxed: done.remuxed,
        });
    }
    let manifest = Manifest {
        format: FORMAT,
        interrupted: true,
        session: known.info,
        ended_at: known.ended_at,
        attending: attending_units(&known.participants),
        participants: known.participants,
        files,
        speakers: vec![],
        mutes: vec![],
        problems,
        composite: None,
        stopped: None,
    };
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// The units with at least one participant, sorted, each once.
fn attending_units(participants: &[ManifestParticipant]) -> Vec<String> {
    let mut units: Vec<String> = participants
        .iter()
        .map(|p| p.info.unit_id.clone())
        .collect();
    units.sort();
    units.dedup();
    units
}

/// A manifest read back (a session directory put back from a copy): its JSON, of this
/// format, naming only plain files of its own directory. The error says what is wrong.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(format!("larger than {MAX_MANIFEST_BYTES} bytes"));
    }
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if m.format != FORMAT {
        return Err(format!("format {} (this hub reads {FORMAT})", m.format));
    }
    let names = m
        .files
        .iter()
        .map(|f| f.name.as_str())
        .chain(m.composite.iter().map(|c| c.name.as_str()));
    for name in names {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
            return Err(format!("file name {name:?} is not a plain name"));
        }
    }
    Ok(m)
}

/// The manifest of the session directory `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_manifest(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write `manifest.json` atomically (a temporary file renamed over it).
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(MANIFEST))
}

/// A closed file to finalise: its participant id, content, `.part` path, and its span on
/// the timeline.
type Part = (String, &'static str, PathBuf, Option<(i64, i64)>);

/// What is left to finalise when a session ends.
#[derive(Debug)]
struct Finished {
    dir: PathBuf,
    info: SessionInfo,
    parts: Vec<Part>,
    participants: Vec<ManifestParticipant>,
    speakers: Vec<SpeakerTurn>,
    mutes: Vec<MuteEvent>,
    problems: Vec<String>,
}

/// The recording's state while the session goes on.
#[derive(Debug)]
struct Recording {
    dir: PathBuf,
    info: SessionInfo,
    origin: Instant,
    files: BTreeMap<FileKey, ParticipantFile>,
    /// Files that failed (disk full…): no more packets go to them.
    failed: BTreeMap<FileKey, String>,
    participants: HashMap<EndpointId, ManifestParticipant>,
    speaking_since: HashMap<EndpointId, i64>,
    speakers: Vec<SpeakerTurn>,
    mutes: Vec<MuteEvent>,
    /// Packets of codecs not recorded (neither Opus, VP8 nor H.264), counted.
    unsupported: u64,
    /// What else the manifest's problems tell (the recording stopped early…).
    notes: Vec<String>,
}

impl Recording {
    fn new(dir: PathBuf, info: SessionInfo, origin: Instant) -> Self {
        Recording {
            dir,
            info,
            origin,
            files: BTreeMap::new(),
            failed: BTreeMap::new(),
            participants: HashMap::new(),
            speaking_since: HashMap::new(),
            speakers: vec![],
            mutes: vec![],
            unsupported: 0,
            notes: vec![],
        }
    }

    /// Milliseconds since the epoch → the session timeline.
    fn on_timeline(&self, at: i64) -> i64 {
        at - self.info.started_at
    }

    fn participant_id(&self, endpoint: EndpointId) -> String {
        self.participants
            .get(&endpoint)
            .map(|p| p.info.participant_id.clone())
            .unwrap_or_else(|| endpoint.to_string())
    }

    fn packet(&mut self, p: RecordedPacket) {
        let kind = match p.codec {
            Codec::Opus => StreamKind::Opus,
            Codec::Vp8 => StreamKind::Vp8,
            Codec::H264 => StreamKind::H264,
            Codec::Other => {
                self.unsupported += 1;
                return;
            }
        };
        let key = match p.source {
            Source::Screen => FileKey::Screen(p.endpoint),
            _ => FileKey::Participant(p.endpoint),
        };
        if self.failed.contains_key(&key) {
            return;
        }
        if !self.files.contains_key(&key) {
            match self.open(key) {
                Ok(f) => {
                    self.files.insert(key, f);
                }
                Err(e) => {
                    tracing::error!(?key, error = %e, "cannot create a recording file");
                    self.failed.insert(key, e.to_string());
                    return;
                }
            }
        }
        let file = self.files.get_mut(&key).expect("just made");
        let pkt = RtpIn {
            seq: p.seq,
            ts: p.ts,
            marker: p.marker,
            payload: p.payload,
            sender_us: p.sender_us,
        };
        if let Err(e) = file.push(p.arrival, kind, pkt) {
            // Disk full or gone: what was written stays; this file takes nothing more.
            tracing::error!(?key, error = %e, "recording file failed");
            self.failed.insert(key, e.to_string());
        }
    }

    fn open(&self, key: FileKey) -> std::io::Result<ParticipantFile> {
        let (endpoint, screen) = match key {
            FileKey::Participant(e) => (e, false),
            FileKey::Screen(e) => (e, true),
        };
        let who = self.participants.get(&endpoint);
        let unit = who.map_or("unit", |p| p.info.unit_id.as_str());
        let stem = format!(
            "{}-{}{}",
            safe(&self.participant_id(endpoint)),
            safe(unit),
            if screen { "-screen" } else { "" }
        );
        let name = who.map_or_else(
            || endpoint.to_string(),
            |p| format!("{} — {}", p.info.name, p.info.unit_name),
        );
        let streams = Streams {
            audio: !screen,
            video: true,
        };
        ParticipantFile::create(&self.dir, &stem, &name, streams, self.origin)
    }

    fn event(&mut self, e: RecorderEvent) {
        match e {
            RecorderEvent::Joined {
                endpoint,
                participant,
                at,
            } => {
                self.participants.insert(
                    endpoint,
                    ManifestParticipant {
                        info: participant,
                        joined_at: at,
                        left_at: None,
                    },
                );
            }
            RecorderEvent::Left { endpoint, at } => {
                self.speaking(endpoint, false, at);
                if let Some(p) = self.participants.get_mut(&endpoint) {
                    p.left_at = Some(at);
                }
                // Its files are complete: close them now (the session may last hours more).
                for key in [FileKey::Participant(endpoint), FileKey::Screen(endpoint)] {
                    if let Some(f) = self.files.get_mut(&key)
                        && let Err(e) = f.flush()
                    {
                        tracing::warn!(?key, error = %e, "cannot flush a recording file");
                    }
                }
            }
            RecorderEvent::Speaking {
                endpoint,
                speaking,
                at,
            } => self.speaking(endpoint, speaking, at),
            RecorderEvent::Muted {
                endpoint,
                kind,
                muted,
                at,
            } => {
                let at_ms = self.on_timeline(at);
                self.mutes.push(MuteEvent {
                    participant_id: self.participant_id(endpoint),
                    kind,
                    muted,
                    at_ms,
                });
            }
            RecorderEvent::End { .. } => {}
        }
    }

    fn speaking(&mut self, endpoint: EndpointId, speaking: bool, at: i64) {
        if speaking {
            self.speaking_since.entry(endpoint).or_insert(at);
        } else if let Some(since) = self.speaking_since.remove(&endpoint) {
            let turn = SpeakerTurn {
                participant_id: self.participant_id(endpoint),
                from_ms: self.on_timeline(since),
                to_ms: self.on_timeline(at),
            };
            self.speakers.push(turn);
        }
    }

    fn poll(&mut self, now: Instant) {
        let mut failed = vec![];
        for (key, f) in &mut self.files {
            if f.deadline().is_some_and(|d| d <= now)
                && let Err(e) = f.poll(now)
            {
                failed.push((*key, e.to_string()));
            }
        }
        for (key, why) in failed {
            self.failed.insert(key, why);
        }
    }

    fn keyframes_wanted(&mut self) -> Vec<(EndpointId, Source)> {
        self.files
            .iter_mut()
            .filter_map(|(key, f)| {
                f.take_keyframe_request().then_some(match key {
                    FileKey::Participant(e) => (*e, Source::Camera),
                    FileKey::Screen(e) => (*e, Source::Screen),
                })
            })
            .collect()
    }

    /// Close every file: what is left to finalise, and what happened.
    fn finish(mut self) -> Finished {
        let now = crate::now_ms();
        let open: Vec<EndpointId> = self.speaking_since.keys().copied().collect();
        for e in open {
            self.speaking(e, false, now);
        }
        let mut parts = vec![];
        let mut problems: Vec<String> = self
            .failed
            .iter()
            .map(|(k, why)| format!("{k:?}: {why}"))
            .collect();
        problems.append(&mut self.notes);
        if self.unsupported > 0 {
            problems.push(format!(
                "{} packets of a codec the recorder does not write were left out",
                self.unsupported
            ));
        }
        for (key, f) in std::mem::take(&mut self.files) {
            let (endpoint, content) = match key {
                FileKey::Participant(e) => (e, "participant"),
                FileKey::Screen(e) => (e, "screen"),
            };
            let span = f.span();
            match f.finish() {
                Ok(part) => parts.push((self.participant_id(endpoint), content, part, span)),
                Err(e) => problems.push(format!("{key:?}: {e}")),
            }
        }
        let mut participants: Vec<ManifestParticipant> = self.participants.into_values().collect();
        participants.sort_by(|a, b| {
            (a.joined_at, &a.info.participant_id).cmp(&(b.joined_at, &b.info.participant_id))
        });
        self.speakers.sort_by_key(|t| t.from_ms);
        Finished {
            dir: self.dir,
            info: self.info,
            parts,
            participants,
            speakers: self.speakers,
            mutes: self.mutes,
            problems,
        }
    }
}

/// A file-name-safe form: ASCII letters, digits and `-`, everything else `-`.
fn safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_read_back_as_written_and_a_hostile_one_refused() {
        let m = Manifest {
            format: FORMAT,
            interrupted: true,
            session: SessionInfo {
                meeting_id: 2,
                session_id: 9,
                title: "Họp".into(),
                host_unit: "province:19".into(),
                host_name: "Tỉnh Thái Nguyên".into(),
                invited: vec![],
                started_at: 1,
            },
            ended_at: 2,
            attending: vec![],
            participants: vec![],
            files: vec![ManifestFile {
                name: "e1-province-19.mkv".into(),
                participant_id: "e1".into(),
                content: "participant".into(),
                bytes: 1,
                sha256: String::new(),
                offset_ms: None,
                end_ms: None,
                duration_ms: None,
                remuxed: false,
            }],
            speakers: vec![],
            mutes: vec![],
            problems: vec!["x".into()],
            composite: None,
            stopped: None,
        };
        let json = serde_json::to_vec(&m).unwrap();
        assert_eq!(parse_manifest(&json).unwrap(), m);
        let text = String::from_utf8(json).unwrap();
        for (bad, says) in [
            (
                text.replace("e1-province-19.mkv", "../cau.sqlite3"),
                "not a plain name",
            ),
            (
                text.replace("e1-province-19.mkv", ".hidden"),
                "not a plain name",
            ),
            (text.replace("\"format\":1", "\"format\":2"), "format 2"),
            ("[]".to_string(), "invalid type"),
            ("{".to_string(), "EOF"),
        ] {
            let e = parse_manifest(bad.as_bytes()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(parse_manifest(&vec![b' '; MAX_MANIFEST_BYTES + 1]).is_err());
    }
}
