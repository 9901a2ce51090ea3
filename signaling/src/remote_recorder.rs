//! The hub's side of a recorder in its own process (`--recorder remote`): the sessions that
//! wait for it or are relayed to it, the feed that tells it of them, and its secret. The
//! relay itself is [`recorder::remote::relay`]; the routes are `api::recorder`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use recorder::remote::FeedEvent;
use recorder::remote::WireEvent;
use recorder::remote::relay::{Attach, RelayConfig, RelayError};
use sfu::SessionId;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Shortest secret accepted: it is the whole of the recorder's authority.
pub const MIN_SECRET_LEN: usize = 16;

/// How long a recorded session waits for its recorder to attach.
pub const ATTACH_WAIT: Duration = Duration::from_secs(30);

/// One session recorded by the remote recorder.
#[derive(Debug)]
struct Relayed {
    meeting: i64,
    sfu_session: SessionId,
    attach: mpsc::Sender<Attach>,
    /// The attached recorder's resource and, until it asks for them, its events.
    resource: Option<(String, Option<mpsc::UnboundedReceiver<WireEvent>>)>,
}

/// Why a recorder's request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("no recorded session {0} waits for a recorder")]
    NoSession(i64),
    #[error("no such recorder resource")]
    NoResource,
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// The remote recorder's side of the hub.
#[derive(Debug)]
pub struct RemoteRecorders {
    secret: String,
    relay: RelayConfig,
    sessions: Mutex<HashMap<i64, Relayed>>,
    feed: broadcast::Sender<FeedEvent>,
    next_resource: AtomicU64,
}

impl RemoteRecorders {
    /// Relays bound to `ip`; requests must carry `secret`.
    pub fn new(secret: String, ip: IpAddr) -> RemoteRecorders {
        RemoteRecorders {
            secret,
            relay: RelayConfig {
                ip,
                attach_wait: ATTACH_WAIT,
            },
            sessions: Mutex::new(HashMap::new()),
            feed: broadcast::channel(64).0,
            next_resource: AtomicU64::new(1),
        }
    }

    pub fn relay_config(&self) -> RelayConfig {
        self.relay
    }

    /// Whether `presented` is the secret (compared in constant time).
    pub fn is_secret(&self, presented: &str) -> bool {
        let (a, b) = (presented.as_bytes(), self.secret.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
    }

    /// The sessions waiting for a recorder now, then each new one.
    pub fn feed(&self) -> (Vec<FeedEvent>, broadcast::Receiver<FeedEvent>) {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.feed.subscribe();
        let mut now: Vec<FeedEvent> = sessions
            .iter()
            .filter(|(_, r)| r.resource.is_none())
            .map(|(&session, r)| FeedEvent::Record {
                meeting: r.meeting,
                session,
            })
            .collect();
        now.sort_by_key(|FeedEvent::Record { session, .. }| *session);
        (now, rx)
    }

    /// Recorders following the feed now (a `cau-recorder` keeps one open while it runs; a
    /// vanished one is noticed at the feed's next keep-alive, within 5 s).
    pub fn connected(&self) -> usize {
        self.feed.receiver_count()
    }

    /// Recorded sessions waiting for a recorder to attach.
    pub fn waiting(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|r| r.resource.is_none())
            .count()
    }

    /// A recorded session starts: it waits for a recorder (announced on the feed). Returns
    /// where recorders' offers for it arrive.
    pub fn register(
        &self,
        meeting: i64,
        session: i64,
        sfu_session: SessionId,
    ) -> mpsc::Receiver<Attach> {
        let (attach, rx) = mpsc::channel(4);
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                session,
                Relayed {
                    meeting,
                    sfu_session,
                    attach,
                    resource: None,
                },
            );
        let _ = self.feed.send(FeedEvent::Record { meeting, session });
        rx
    }

    /// The session's relay ended.
    pub fn unregister(&self, session: i64) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&session);
    }

    /// A recorder's WHEP offer for `session`: its resource's id and the answer.
    pub async fn attach(
        &self,
        session: i64,
        offer: String,
    ) -> Result<(String, String), RemoteError> {
        let tx = self
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session)
            .map(|r| r.attach.clone())
            .ok_or(RemoteError::NoSession(session))?;
        let (reply, answer) = oneshot::channel();
        tx.send(Attach { offer, reply })
            .await
            .map_err(|_| RemoteError::NoSession(session))?;
        let attached = answer
            .await
            .map_err(|_| RemoteError::NoSession(session))??;
        let id = format!("r{}", self.next_resource.fetch_add(1, Ordering::Relaxed));
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let r = sessions
            .get_mut(&session)
            .ok_or(RemoteError::NoSession(session))?;
        r.resource = Some((id.clone(), Some(attached.events)));
        Ok((id, attached.answer))
    }

    /// The events of an attached recorder's resource (once).
    pub fn take_events(
        &self,
        session: i64,
        resource: &str,
    ) -> Result<mpsc::UnboundedReceiver<WireEvent>, RemoteError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get_mut(&session).and_then(|r| r.resource.as_mut()) {
            Some((id, events)) if id == resource => events.take().ok_or(RemoteError::NoResource),
            _ => Err(RemoteError::NoResource),
        }
    }

    /// The media plane's session of an attached recorder's resource.
    pub fn sfu_session(&self, session: i64, resource: &str) -> Result<SessionId, RemoteError> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get(&session) {
            Some(r) if r.resource.as_ref().is_some_and(|(id, _)| id == resource) => {
                Ok(r.sfu_session)
            }
            _ => Err(RemoteError::NoResource),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_must_match_whole() {
        let r = RemoteRecorders::new("0123456789abcdef".into(), [127, 0, 0, 1].into());
        assert!(r.is_secret("0123456789abcdef"));
        for wrong in [
            "",
            "0123456789abcde",
            "0123456789abcdeF",
            "0123456789abcdef0",
        ] {
            assert!(!r.is_secret(wrong), "{wrong}");
        }
    }

    #[tokio::test]
    async fn the_feed_lists_waiting_sessions_then_new_ones() {
        let r = RemoteRecorders::new("0123456789abcdef".into(), [127, 0, 0, 1].into());
        let _a = r.register(1, 10, SessionId(1));
        let (now, mut later) = r.feed();
        assert_eq!(
            now,
            [FeedEvent::Record {
                meeting: 1,
                session: 10
            }]
        );
        let _b = r.register(2, 11, SessionId(2));
        assert_eq!(
            later.recv().await.unwrap(),
            FeedEvent::Record {
                meeting: 2,
                session: 11
            }
        );
        r.unregister(10);
        assert_eq!(
            r.feed().0,
            [FeedEvent::Record {
                meeting: 2,
                session: 11
            }]
        );
        assert!(matches!(
            r.attach(10, "v=0".into()).await,
            Err(RemoteError::NoSession(10))
        ));
        assert!(matches!(
            r.take_events(11, "r1"),
            Err(RemoteError::NoResource)
        ));
    }
}
