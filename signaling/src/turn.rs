//! TURN credentials for the configured relay servers, made with the secret the hub shares
//! with them — the scheme of coturn's `use-auth-secret` (draft-uberti-behave-turn-rest):
//! the username is `EXPIRY:ID` (EXPIRY in Unix seconds), the password the base64 of
//! HMAC-SHA1 over that username keyed with the secret. The TURN server checks them without
//! asking the hub, and refuses them once EXPIRY has passed.
//!
//! Each participant gets its own at its `welcome`, named after its participant id (which
//! coturn logs), so a leaked credential relays for one participant's day at most.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::protocol::IceServer;

/// The shortest secret accepted: a guessable one would let anyone relay through the servers.
pub const MIN_SECRET_CHARS: usize = 16;

/// The TURN servers clients are handed, and how their credentials are made.
#[derive(Clone)]
pub struct Turn {
    /// `turn:` / `turns:` URLs, as browsers take them.
    pub urls: Vec<String>,
    pub secret: String,
    /// How long credentials stay valid.
    pub ttl: Duration,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// The ICE server entry for `id`, valid for [`Turn::ttl`] from now.
    pub fn ice_server(&self, id: &str) -> IceServer {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.ice_server_at(id, now)
    }

    /// The ICE server entry for `id` as at `now` (since the Unix epoch).
    pub fn ice_server_at(&self, id: &str, now: Duration) -> IceServer {
        let expiry = (now + self.ttl).as_secs();
        let username = format!("{expiry}:{id}");
        let mut mac =
            Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key");
        mac.update(username.as_bytes());
        let credential =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        IceServer {
            urls: self.urls.clone(),
            username: Some(username),
            credential: Some(credential),
        }
    }
}

/// Whether `url` is a TURN URL a browser takes (RFC 7065): `turn:` or `turns:`, a host, an
/// optional port, optionally `?transport=udp` or `?transport=tcp`.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("turn:")
        .or_else(|| url.strip_prefix("turns:"))
        .ok_or("a TURN URL starts with turn: or turns:")?;
    let (addr, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if let Some(q) = query
        && q != "transport=udp"
        && q != "transport=tcp"
    {
        return Err(format!(
            "unknown query `{q}` (transport=udp or transport=tcp)"
        ));
    }
    let (host, port) = match addr.rsplit_once(':') {
        // An IPv6 literal is bracketed; its colons are not a port's.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (addr, None),
    };
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("port `{p}` is not a port"));
    }
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c));
    if !host_ok {
        return Err(format!("host `{host}` is not a host name or address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_the_expiry_and_id_signed_with_the_secret() {
        let turn = Turn {
            urls: vec!["turn:turn.example:3478".into()],
            secret: "north-province-secret".into(),
            ttl: Duration::from_secs(43_200),
        };
        let s = turn.ice_server_at("p-7", Duration::from_secs(1_700_000_000));
        assert_eq!(s.urls, ["turn:turn.example:3478"]);
        assert_eq!(s.username.as_deref(), Some("1700043200:p-7"));
        // base64(HMAC-SHA1(secret, username)), as coturn computes it (checked with Python's
        // hmac module).
        assert_eq!(
            s.credential.as_deref(),
            Some("ZQB+wKYnHVfSjmavQ4O39kMM0gg=")
        );
        assert!(
            !format!("{turn:?}").contains("north"),
            "the secret is not logged"
        );
    }

    #[test]
    fn turn_urls_are_checked() {
        for ok in [
            "turn:turn.example",
            "turn:10.0.0.1:3478",
            "turns:turn.example:443?transport=tcp",
            "turn:[2001:db8::1]:3478?transport=udp",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "stun:turn.example",
            "https://turn.example",
            "turn:",
            "turn:turn.example:0",
            "turn:turn.example:99999",
            "turn:turn.example?transport=sctp",
            "turn:turn example",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
