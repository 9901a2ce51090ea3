//! Join tokens: `v1.PAYLOAD.SIGNATURE`, HMAC-SHA256 signed with the hub's key (docs/api.md).
//!
//! A token only proves that the hub issued it; whether its link is still active and whether
//! its meeting is open are checked against the database by the caller ([`crate::access`]).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::protocol::Role;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "v1";
/// Longest token accepted for checking (a real one is ~150 bytes).
const MAX_TOKEN_LEN: usize = 1024;
/// The key file in the data directory.
pub const KEY_FILE: &str = "join-token.key";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The link's id (row of `join_links`).
    #[serde(rename = "l")]
    pub link: i64,
    #[serde(rename = "m")]
    pub meeting: i64,
    /// Unit id.
    #[serde(rename = "u")]
    pub unit: String,
    #[serde(rename = "r")]
    pub role: Role,
    /// Expiry, seconds since the epoch.
    #[serde(rename = "x")]
    pub expires: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the token key {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the token key {path} must hold at least 32 bytes")]
    TooShort { path: String },
}

/// The signing key.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenKey(bytes)
    }

    pub fn random() -> Self {
        TokenKey(rand::random())
    }

    /// Read the key from `path`, or create it there (32 random bytes, mode 0600) when
    /// `create` and it does not exist.
    pub fn load_or_create(path: &Path, create: bool) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] =
                    bytes
                        .get(..32)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| KeyError::TooShort {
                            path: path.display().to_string(),
                        })?;
                Ok(TokenKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = Self::random();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                file.write_all(&key.0).map_err(io)?;
                file.sync_all().map_err(io)?;
                tracing::info!(path = %path.display(), "created a new join-token key");
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("hmac takes any key length");
        mac.update(signed.as_bytes());
        mac
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signed = format!("{PREFIX}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// The key of a unit's calendar feed URL (a signature over `feed.UNIT`, so it cannot be
    /// confused with a join token).
    pub fn feed_key(&self, unit: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&format!("feed.{unit}")).finalize().into_bytes())
    }

    pub fn check_feed_key(&self, unit: &str, key: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(key)
            .is_ok_and(|k| self.mac(&format!("feed.{unit}")).verify_slice(&k).is_ok())
    }

    /// The claims of a token this key signed (expiry is not checked here). `None` for
    /// anything else: wrong shape, wrong version, bad signature, bad payload.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (signed, signature) = token.rsplit_once('.')?;
        let (prefix, payload) = signed.split_once('.')?;
        if prefix != PREFIX {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // Constant-time comparison.
        self.mac(signed).verify_slice(&signature).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            link: 3,
            meeting: 7,
            unit: "commune:5443".into(),
            role: Role::Official,
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn round_trips_and_has_the_documented_shape() {
        let key = TokenKey::random();
        let token = key.sign(&claims());
        assert!(token.starts_with("v1."));
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(key.verify(&token), Some(claims()));
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"l":3,"m":7,"u":"commune:5443","r":"official","x":2_000_000_000i64})
        );
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let key = TokenKey::random();
        let token = key.sign(&claims());
        // Another hub's key.
        assert_eq!(TokenKey::random().verify(&token), None);
        // A payload promoted to chair, re-encoded, with the old signature.
        let mut promoted = claims();
        promoted.role = Role::Chair;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&promoted).unwrap());
        let signature = token.rsplit('.').next().unwrap();
        assert_eq!(
            key.verify(&format!("v1.{forged_payload}.{signature}")),
            None
        );
        // A flipped signature character, a wrong version, garbage, an oversized token.
        let mut chars: Vec<char> = token.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        assert_eq!(key.verify(&chars.into_iter().collect::<String>()), None);
        assert_eq!(key.verify(&token.replacen("v1.", "v2.", 1)), None);
        for junk in ["", ".", "v1..", "v1.e30.", "a.b.c.d", "v1.!!!.###"] {
            assert_eq!(key.verify(junk), None, "{junk}");
        }
        assert_eq!(key.verify(&"a".repeat(5000)), None);
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = std::env::temp_dir().join(format!("cau-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(KEY_FILE);
        assert!(TokenKey::load_or_create(&path, false).is_err());
        let a = TokenKey::load_or_create(&path, true).unwrap();
        let b = TokenKey::load_or_create(&path, true).unwrap();
        assert_eq!(a.0, b.0, "a restart keeps the key, so links stay valid");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(
            TokenKey::load_or_create(&path, true),
            Err(KeyError::TooShort { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
