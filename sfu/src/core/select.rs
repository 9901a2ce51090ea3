//! Who fills a subscriber's receive slots, and at which simulcast layer: pure functions over
//! the session's state, so every rule is tested by asserting on its answer.
//!
//! Video slots are filled in order of precedence — the shared screens, then cameras: the
//! floor, the chairs, the dominant speaker, what the subscriber pinned, the most recent
//! speakers, then everyone else in the order they joined — and a feed already in a slot
//! stays in that slot (a change of
//! who is visible costs one keyframe, not a reshuffle of every tile). Audio slots carry the
//! floor, the chairs and the loudest few. Layers then share the subscriber's bandwidth
//! estimate: every visible video first gets its lowest layer, in precedence order, then the
//! large tiles and then the thumbnails are raised towards what their tile size asks for.

use std::collections::BTreeSet;

use super::policy::{Layer, ReceiveMode, ReceivePrefs, SessionPolicy, SlotReason, Source};
use crate::ids::EndpointId;

/// One video a slot can carry: a publisher's camera or its screen.
pub type Feed = (EndpointId, Source);

/// The session-wide facts a selection needs, computed once per evaluation.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    /// Endpoints publishing a camera (not silenced), in the order they joined.
    pub video_publishers: Vec<EndpointId>,
    /// Endpoints with a screen track (shown only while the policy lists them as sharing).
    pub screen_publishers: BTreeSet<EndpointId>,
    /// Endpoints publishing audio (not silenced), loudest first (speaking before silent,
    /// then by smoothed voice activity).
    pub loudest: Vec<EndpointId>,
    /// The endpoints speaking now (among `loudest`).
    pub speaking: BTreeSet<EndpointId>,
    /// Most recent speakers first.
    pub recent: Vec<EndpointId>,
    pub dominant: Option<EndpointId>,
}

/// The feeds a subscriber should see, in precedence order, with the reason, at most `slots`
/// of them: the shared screens first (a presentation is what the meeting looks at), then the
/// cameras.
pub fn choose_video(
    me: EndpointId,
    policy: &SessionPolicy,
    prefs: &ReceivePrefs,
    ranking: &Ranking,
    slots: usize,
) -> Vec<(Feed, SlotReason)> {
    if prefs.mode == ReceiveMode::AudioOnly {
        return vec![];
    }
    let mut chosen: Vec<(Feed, SlotReason)> = Vec::with_capacity(slots);
    for s in &policy.screens {
        if chosen.len() < slots
            && *s != me
            && ranking.screen_publishers.contains(s)
            && !chosen.iter().any(|((c, _), _)| c == s)
        {
            chosen.push(((*s, Source::Screen), SlotReason::Screen));
        }
    }
    let publishing: BTreeSet<EndpointId> = ranking.video_publishers.iter().copied().collect();
    let push = |e: EndpointId, reason: SlotReason, chosen: &mut Vec<(Feed, SlotReason)>| {
        if chosen.len() < slots
            && e != me
            && publishing.contains(&e)
            && !chosen.iter().any(|(c, _)| *c == (e, Source::Camera))
        {
            chosen.push(((e, Source::Camera), reason));
        }
    };
    if let Some(f) = policy.floor {
        push(f, SlotReason::Floor, &mut chosen);
    }
    for c in &policy.chairs {
        push(*c, SlotReason::Chair, &mut chosen);
    }
    if let Some(d) = ranking.dominant {
        push(d, SlotReason::Speaker, &mut chosen);
    }
    for p in &prefs.pinned {
        push(*p, SlotReason::Pinned, &mut chosen);
    }
    for r in &ranking.recent {
        push(*r, SlotReason::Recent, &mut chosen);
    }
    for o in &ranking.video_publishers {
        push(*o, SlotReason::Other, &mut chosen);
    }
    chosen
}

/// The publishers a subscriber should hear: the floor, the chairs, then the `top_k` loudest,
/// at most `slots` in all.
pub fn choose_audio(
    me: EndpointId,
    policy: &SessionPolicy,
    ranking: &Ranking,
    top_k: usize,
    slots: usize,
    publishing: &BTreeSet<EndpointId>,
) -> Vec<(EndpointId, SlotReason)> {
    let mut chosen: Vec<(EndpointId, SlotReason)> = Vec::with_capacity(slots);
    let ok = |e: EndpointId, chosen: &Vec<(EndpointId, SlotReason)>| {
        chosen.len() < slots
            && e != me
            && publishing.contains(&e)
            && !policy.silenced_audio.contains(&e)
            && !chosen.iter().any(|(c, _)| *c == e)
    };
    if let Some(f) = policy.floor
        && ok(f, &chosen)
    {
        chosen.push((f, SlotReason::Floor));
    }
    for c in &policy.chairs {
        if ok(*c, &chosen) {
            chosen.push((*c, SlotReason::Chair));
        }
    }
    let mut loud = 0;
    for e in &ranking.loudest {
        if loud == top_k {
            break;
        }
        if ok(*e, &chosen) {
            let reason = if ranking.dominant == Some(*e) {
                SlotReason::Speaker
            } else {
                SlotReason::Recent
            };
            chosen.push((*e, reason));
            loud += 1;
        }
    }
    chosen
}

/// Put `wanted` feeds (publishers, for audio) into slots, keeping each one already in a slot
/// where it is. `current[i]` is what slot `i` carries now; the answer is what each slot
/// should carry.
pub fn place<K: Copy + PartialEq, T: Copy>(
    current: &[Option<K>],
    wanted: &[(K, T)],
) -> Vec<Option<(K, T)>> {
    let mut out: Vec<Option<(K, T)>> = current
        .iter()
        .map(|c| c.and_then(|e| wanted.iter().find(|(w, _)| *w == e).copied()))
        .collect();
    for w in wanted {
        if out.iter().flatten().any(|(e, _)| *e == w.0) {
            continue;
        }
        if let Some(free) = out.iter_mut().find(|s| s.is_none()) {
            *free = Some(*w);
        }
    }
    out
}

/// The layer a tile of `height` pixels asks for (the web client's layers are a quarter, a
/// half and all of a 720p camera).
pub fn layer_for_height(height: u32) -> Layer {
    match height {
        0..=200 => Layer::Low,
        201..=400 => Layer::Mid,
        _ => Layer::High,
    }
}

/// One visible video as the allocation sees it.
#[derive(Debug, Clone)]
pub struct VideoDemand {
    /// The layer the tile asks for.
    pub wanted: Layer,
    /// The layers arriving from the publisher, lowest first, with their bitrate in bit/s.
    pub available: Vec<(Layer, u64)>,
    /// Whether the publisher sends simulcast at all (else its one stream is all there is).
    pub simulcast: bool,
    /// The layer the slot forwards now, if any.
    pub current: Option<Layer>,
}

/// Hysteresis: keeping a layer that flows (or going down to one) is charged this share of
/// its cost, rising to a layer not flowing is charged all of it, so an estimate wavering by a
/// few percent does not make a tile flap between layers, or between shown and paused.
const KEEP_SHARE: f64 = 0.8;

/// Nominal bitrates of the web client's layers (its `maxBitrate`s), used for a layer that is
/// not arriving yet.
pub fn nominal_bitrate(layer: Layer) -> u64 {
    match layer {
        Layer::Low => 150_000,
        Layer::Mid => 500_000,
        Layer::High => 1_500_000,
        Layer::Single => 800_000,
    }
}

/// Share `budget` bit/s between the visible videos (given in precedence order): the answer
/// is, per video, the layer to send (`None`: paused, the link cannot carry even its lowest
/// layer). Every video first gets its lowest layer in order — the first one whatever the
/// budget — then each is raised towards what it wants, in order, while the budget lasts.
///
/// With `arriving_only`, only layers the publisher sends now are chosen — a browser may not
/// encode every layer (Chromium sends no full layer from a small camera) — and a video that
/// has none at or below what it wants gets its lowest arriving one. Without it, a layer not
/// arriving is costed at its nominal rate: that answer is what to *ask* publishers to send.
pub fn allocate(
    budget: Option<u64>,
    demands: &[VideoDemand],
    arriving_only: bool,
) -> Vec<Option<Layer>> {
    let mut left = budget.unwrap_or(u64::MAX);
    let cost = |d: &VideoDemand, l: Layer| -> u64 {
        let full = d
            .available
            .iter()
            .find(|(a, _)| *a == l)
            .map(|(_, b)| *b)
            .filter(|b| *b > 0)
            .unwrap_or_else(|| nominal_bitrate(l));
        if d.current.is_some_and(|c| l <= c) {
            (full as f64 * KEEP_SHARE) as u64
        } else {
            full
        }
    };
    let arriving = |d: &VideoDemand, l: Layer| d.available.iter().any(|(a, _)| *a == l);
    let ladder = |d: &VideoDemand| -> Vec<Layer> {
        let all: &[Layer] = if d.simulcast {
            &Layer::SIMULCAST
        } else {
            &[Layer::Single]
        };
        let mut ladder: Vec<Layer> = all
            .iter()
            .copied()
            .filter(|l| !d.simulcast || *l <= d.wanted)
            .filter(|l| !arriving_only || arriving(d, *l))
            .collect();
        if ladder.is_empty() && arriving_only {
            ladder.extend(all.iter().copied().find(|l| arriving(d, *l)));
        }
        ladder
    };
    let mut out: Vec<Option<Layer>> = vec![None; demands.len()];
    for (i, d) in demands.iter().enumerate() {
        let Some(first) = ladder(d).first().copied() else {
            continue;
        };
        let c = cost(d, first);
        // The first video — the floor, else a chair, else the speaker — keeps its lowest
        // layer on any link: a commune that can carry the meeting's audio carries a quarter
        // picture of who speaks, and an estimate that dips after congestion must not leave
        // it looking at nothing.
        if c <= left || i == 0 {
            left = left.saturating_sub(c);
            out[i] = Some(first);
        }
    }
    for (i, d) in demands.iter().enumerate() {
        let Some(mut at) = out[i] else {
            continue;
        };
        let start = at;
        for next in ladder(d).into_iter().filter(|l| *l > start) {
            let delta = cost(d, next).saturating_sub(cost(d, at));
            if delta > left {
                break;
            }
            left -= delta;
            at = next;
        }
        out[i] = Some(at);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(n: u64) -> EndpointId {
        EndpointId(n)
    }

    fn cam(n: u64) -> Feed {
        (e(n), Source::Camera)
    }

    fn ranking(publishers: &[u64]) -> Ranking {
        Ranking {
            video_publishers: publishers.iter().map(|n| e(*n)).collect(),
            loudest: publishers.iter().map(|n| e(*n)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn video_precedence_is_floor_chair_speaker_pinned_recent_then_join_order() {
        let policy = SessionPolicy {
            floor: Some(e(7)),
            chairs: vec![e(1)],
            ..Default::default()
        };
        let prefs = ReceivePrefs {
            pinned: vec![e(9)],
            ..Default::default()
        };
        let mut r = ranking(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        r.dominant = Some(e(5));
        r.recent = vec![e(5), e(8)];
        let chosen = choose_video(e(2), &policy, &prefs, &r, 6);
        assert_eq!(
            chosen,
            vec![
                (cam(7), SlotReason::Floor),
                (cam(1), SlotReason::Chair),
                (cam(5), SlotReason::Speaker),
                (cam(9), SlotReason::Pinned),
                (cam(8), SlotReason::Recent),
                (cam(3), SlotReason::Other),
            ]
        );
    }

    #[test]
    fn shared_screens_come_first_in_the_order_started_and_never_back_to_their_sharer() {
        let policy = SessionPolicy {
            floor: Some(e(7)),
            chairs: vec![e(1)],
            // 4 has no screen track (an older client): not shown.
            screens: vec![e(7), e(4), e(1)],
            ..Default::default()
        };
        let mut r = ranking(&[1, 2, 3, 4, 7]);
        r.screen_publishers = [e(1), e(4), e(7)].into();
        r.screen_publishers.remove(&e(4));
        let chosen = choose_video(e(2), &policy, &ReceivePrefs::default(), &r, 4);
        assert_eq!(
            chosen,
            vec![
                ((e(7), Source::Screen), SlotReason::Screen),
                ((e(1), Source::Screen), SlotReason::Screen),
                (cam(7), SlotReason::Floor),
                (cam(1), SlotReason::Chair),
            ]
        );
        // The sharer sees the others' cameras, not its own screen.
        let mine = choose_video(e(7), &policy, &ReceivePrefs::default(), &r, 2);
        assert_eq!(
            mine,
            vec![
                ((e(1), Source::Screen), SlotReason::Screen),
                (cam(1), SlotReason::Chair),
            ]
        );
        // A screen not listed as shared is not shown, though its track exists.
        let none = SessionPolicy::default();
        let chosen = choose_video(e(2), &none, &ReceivePrefs::default(), &r, 2);
        assert!(chosen.iter().all(|((_, s), _)| *s == Source::Camera));
    }

    #[test]
    fn a_subscriber_never_receives_itself_nor_what_is_not_published() {
        let policy = SessionPolicy {
            floor: Some(e(2)),
            chairs: vec![e(42)],
            ..Default::default()
        };
        let chosen = choose_video(
            e(2),
            &policy,
            &ReceivePrefs::default(),
            &ranking(&[1, 2]),
            5,
        );
        assert_eq!(chosen, vec![(cam(1), SlotReason::Other)]);
    }

    #[test]
    fn audio_only_receives_no_video() {
        let prefs = ReceivePrefs {
            mode: ReceiveMode::AudioOnly,
            ..Default::default()
        };
        let chosen = choose_video(e(9), &SessionPolicy::default(), &prefs, &ranking(&[1]), 5);
        assert!(chosen.is_empty());
    }

    #[test]
    fn audio_is_floor_chair_and_the_loudest_few_never_the_silenced() {
        let policy = SessionPolicy {
            floor: Some(e(7)),
            chairs: vec![e(1)],
            silenced_audio: [e(4)].into(),
            ..Default::default()
        };
        let mut r = Ranking {
            loudest: [4, 3, 1, 5, 6, 2].into_iter().map(e).collect(),
            ..Default::default()
        };
        r.dominant = Some(e(3));
        let publishing: BTreeSet<_> = (1..=9).map(e).collect();
        let chosen = choose_audio(e(2), &policy, &r, 3, 5, &publishing);
        assert_eq!(
            chosen,
            vec![
                (e(7), SlotReason::Floor),
                (e(1), SlotReason::Chair),
                (e(3), SlotReason::Speaker),
                (e(5), SlotReason::Recent),
                (e(6), SlotReason::Recent),
            ]
        );
    }

    #[test]
    fn placing_keeps_who_stays_in_its_slot() {
        let current = [Some(e(1)), Some(e(2)), None, Some(e(3))];
        let wanted = [(e(3), 'a'), (e(4), 'b'), (e(1), 'c')];
        assert_eq!(
            place(&current, &wanted),
            vec![
                Some((e(1), 'c')),
                Some((e(4), 'b')),
                None,
                Some((e(3), 'a'))
            ]
        );
    }

    fn demand(wanted: Layer) -> VideoDemand {
        VideoDemand {
            wanted,
            available: vec![
                (Layer::Low, 150_000),
                (Layer::Mid, 500_000),
                (Layer::High, 1_500_000),
            ],
            simulcast: true,
            current: None,
        }
    }

    #[test]
    fn what_flows_is_kept_through_a_small_dip_but_not_a_real_drop() {
        let flowing = VideoDemand {
            current: Some(Layer::High),
            ..demand(Layer::High)
        };
        // 1.4 Mbit/s: not enough to rise to the full layer, enough to keep it.
        assert_eq!(
            allocate(Some(1_400_000), &[demand(Layer::High)], true),
            vec![Some(Layer::Mid)]
        );
        assert_eq!(
            allocate(Some(1_400_000), std::slice::from_ref(&flowing), true),
            vec![Some(Layer::High)]
        );
        // 1 Mbit/s: down to the half layer.
        assert_eq!(
            allocate(Some(1_000_000), &[flowing], true),
            vec![Some(Layer::Mid)]
        );
    }

    #[test]
    fn an_unlimited_link_gets_what_each_tile_asks_for() {
        let got = allocate(None, &[demand(Layer::High), demand(Layer::Low)], true);
        assert_eq!(got, vec![Some(Layer::High), Some(Layer::Low)]);
    }

    #[test]
    fn a_capped_link_raises_the_first_tiles_first() {
        let d = [demand(Layer::High), demand(Layer::Mid), demand(Layer::Low)];
        // 800 kbit/s: three lows (450), then the large tile to mid (+350 = 800).
        assert_eq!(
            allocate(Some(800_000), &d, true),
            vec![Some(Layer::Mid), Some(Layer::Low), Some(Layer::Low)]
        );
        // 2.5 Mbit/s: the large tile to high (+1000 more), the second to mid (+350 = 2150).
        assert_eq!(
            allocate(Some(2_500_000), &d, true),
            vec![Some(Layer::High), Some(Layer::Mid), Some(Layer::Low)]
        );
    }

    #[test]
    fn a_starved_link_pauses_the_last_tiles_not_the_first() {
        let d = [demand(Layer::High), demand(Layer::Low), demand(Layer::Low)];
        assert_eq!(
            allocate(Some(320_000), &d, true),
            vec![Some(Layer::Low), Some(Layer::Low), None]
        );
        // Even with nothing to spare, the first keeps its lowest layer.
        assert_eq!(
            allocate(Some(50_000), &d, true),
            vec![Some(Layer::Low), None, None]
        );
    }

    #[test]
    fn only_arriving_layers_are_sent_and_the_wished_ones_asked_for() {
        // A small camera: Chromium encodes only q.
        let small = VideoDemand {
            available: vec![(Layer::Low, 100_000)],
            ..demand(Layer::High)
        };
        assert_eq!(
            allocate(None, std::slice::from_ref(&small), true),
            vec![Some(Layer::Low)]
        );
        assert_eq!(
            allocate(None, std::slice::from_ref(&small), false),
            vec![Some(Layer::High)]
        );
        // Everything paused (nobody watched it): nothing to send yet, q to ask for.
        let paused = VideoDemand {
            available: vec![],
            ..demand(Layer::Low)
        };
        assert_eq!(
            allocate(None, std::slice::from_ref(&paused), true),
            vec![None]
        );
        assert_eq!(allocate(None, &[paused], false), vec![Some(Layer::Low)]);
        // Only f arriving and a thumbnail wanting q: f rather than nothing.
        let only_f = VideoDemand {
            available: vec![(Layer::High, 1_000_000)],
            ..demand(Layer::Low)
        };
        assert_eq!(allocate(None, &[only_f], true), vec![Some(Layer::High)]);
    }

    #[test]
    fn a_publisher_without_simulcast_is_all_or_nothing() {
        let single = VideoDemand {
            wanted: Layer::High,
            available: vec![(Layer::Single, 600_000)],
            simulcast: false,
            current: None,
        };
        assert_eq!(
            allocate(Some(700_000), std::slice::from_ref(&single), true),
            vec![Some(Layer::Single)]
        );
        // The first video is never paused; a second one that does not fit is.
        assert_eq!(
            allocate(Some(500_000), &[single.clone(), single], true),
            vec![Some(Layer::Single), None]
        );
    }

    #[test]
    fn tile_heights_map_to_layers() {
        assert_eq!(layer_for_height(180), Layer::Low);
        assert_eq!(layer_for_height(360), Layer::Mid);
        assert_eq!(layer_for_height(720), Layer::High);
    }
}
