//! `join_token`: a join token as a client presents it (the websocket `join`, `GET
//! /api/join.ics?token=`), checked by [`TokenKey::verify`] with a fixed key.
//!
//! An arbitrary string almost never carries a valid signature, which would stop the fuzzer
//! at the MAC; so the input is also checked signed for real (its `PREFIX.PAYLOAD` part given
//! the key's HMAC-SHA256, as `TokenKey::sign` does), which takes the payload's base64 and
//! JSON to the claims. Whatever verifies must sign and verify again to the same claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use signaling::tokens::TokenKey;

/// The key the `join_token` seeds are signed with.
pub const TOKEN_KEY: [u8; 32] = *b"cau-fuzzing-join-token-key-32byt";

pub fn join_token(data: &[u8]) {
    // Tokens arrive in JSON strings and URL queries: text.
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let key = TokenKey::from_bytes(TOKEN_KEY);
    let as_given = key.verify(token);
    if let Some(claims) = &as_given {
        verified(&key, token, claims);
    }
    if let Some((signed, _)) = token.rsplit_once('.') {
        let resigned = format!("{signed}.{}", signature(signed));
        if let Some(claims) = key.verify(&resigned) {
            verified(&key, &resigned, &claims);
            // The same signed part: a token that verified as given said the same.
            assert!(as_given.is_none_or(|c| c == claims));
        }
    }
    // A unit's calendar-feed key checks against its own unit only.
    let feed = key.feed_key(token);
    assert!(key.check_feed_key(token, &feed));
    assert!(!key.check_feed_key(&format!("{token}x"), &feed));
}

fn verified(key: &TokenKey, token: &str, claims: &signaling::tokens::Claims) {
    assert!(
        token.len() <= 1024,
        "a token of {} bytes verified",
        token.len()
    );
    assert!(token.starts_with("v1."));
    assert_eq!(key.verify(&key.sign(claims)).as_ref(), Some(claims));
    // What `access::admit` does next with the expiry must not overflow.
    let _expired = claims.expires.saturating_mul(1000) <= 0;
}

/// `TokenKey::sign`'s signature of `signed`, with [`TOKEN_KEY`].
fn signature(signed: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&TOKEN_KEY).expect("HMAC takes any key");
    mac.update(signed.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}
