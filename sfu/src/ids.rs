//! Typed identifiers. The sfu knows sessions, endpoints and tracks — never people or units.

use std::fmt;

/// One live session: the room that endpoints join and whose media they share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// One WebRTC connection (one browser tab, one simulated endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

/// Media line identifier as negotiated in SDP (`a=mid`), re-exported from str0m.
pub use str0m::media::Mid;

/// Audio or video.
pub use str0m::media::MediaKind;

/// A track published by one endpoint: the endpoint and the m-line it sends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId {
    pub endpoint: EndpointId,
    pub mid: Mid,
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.endpoint, self.mid)
    }
}

impl std::str::FromStr for EndpointId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('e')
            .and_then(|n| n.parse().ok())
            .map(EndpointId)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_id_round_trips_through_its_text_form() {
        let id = EndpointId(42);
        assert_eq!(id.to_string(), "e42");
        assert_eq!("e42".parse::<EndpointId>(), Ok(id));
        assert!("42".parse::<EndpointId>().is_err());
        assert!("e".parse::<EndpointId>().is_err());
    }
}
