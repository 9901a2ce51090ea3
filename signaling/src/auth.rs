//! Staff accounts: argon2id password hashes, login sessions (cookie or bearer token) with a
//! CSRF token, and a limit on failed logins.
//!
//! Session tokens are 32 random bytes; only their SHA-256 is stored, so a copy of the
//! database does not let anyone log in.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

/// A staff role. Officials and chairs are not accounts: their role comes with a join link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Scheduler,
    Archivist,
    Admin,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Scheduler => "scheduler",
            StaffRole::Archivist => "archivist",
            StaffRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<StaffRole> {
        match s.trim() {
            "scheduler" => Some(StaffRole::Scheduler),
            "archivist" => Some(StaffRole::Archivist),
            "admin" => Some(StaffRole::Admin),
            _ => None,
        }
    }
}

/// A staff account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<StaffRole>,
}

impl User {
    pub fn has(&self, role: StaffRole) -> bool {
        self.roles.contains(&role)
    }

    /// Schedulers plan meetings; admins may do everything a scheduler may.
    pub fn may_schedule(&self) -> bool {
        self.has(StaffRole::Scheduler) || self.has(StaffRole::Admin)
    }
}

/// A logged-in request's session.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub user: User,
    /// `None` for bearer sessions.
    pub csrf_token: Option<String>,
    pub token_hash: String,
}

/// How long a login lasts.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;
pub const COOKIE_NAME: &str = "cau_session";

/// Why an account cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user name must be 1-64 characters of a-z, 0-9, '.', '_' or '-'")]
    BadUsername,
    #[error("display name must be 1-100 characters")]
    BadDisplayName,
    #[error("password must be at least 10 characters")]
    WeakPassword,
    #[error("at least one role is needed (scheduler, archivist, admin)")]
    NoRole,
    #[error("user {0} already exists")]
    Exists(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

pub fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fixed hash to verify against when the user does not exist, so a login takes as long
/// for an unknown user as for a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

fn roles_text(roles: &[StaffRole]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_roles(text: &str) -> Vec<StaffRole> {
    let mut roles: Vec<StaffRole> = text.split(',').filter_map(StaffRole::parse).collect();
    roles.sort();
    roles.dedup();
    roles
}

pub fn create_user(
    c: &Connection,
    username: &str,
    display_name: &str,
    password: &str,
    roles: &[StaffRole],
    now: i64,
) -> Result<User, UserError> {
    if !valid_username(username) {
        return Err(UserError::BadUsername);
    }
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(UserError::BadDisplayName);
    }
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    if roles.is_empty() {
        return Err(UserError::NoRole);
    }
    let exists: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)",
        [username],
        |r| r.get(0),
    )?;
    if exists {
        return Err(UserError::Exists(username.into()));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    c.execute(
        "INSERT INTO users (username, display_name, password_hash, roles, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![username, display_name, hash_password(password)?, roles_text(&roles), now],
    )?;
    Ok(User {
        username: username.into(),
        display_name: display_name.into(),
        roles,
    })
}

pub fn list_users(c: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt =
        c.prepare("SELECT username, display_name, roles FROM users ORDER BY username")?;
    let rows = stmt.query_map([], |r| {
        Ok(User {
            username: r.get(0)?,
            display_name: r.get(1)?,
            roles: parse_roles(&r.get::<_, String>(2)?),
        })
    })?;
    rows.collect()
}

/// Check a password; the user when it matches. Always does one argon2 verification.
pub fn check_password(
    c: &Connection,
    username: &str,
    password: &str,
) -> rusqlite::Result<Option<User>> {
    let row: Option<(String, String, String)> = c
        .query_row(
            "SELECT display_name, password_hash, roles FROM users WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match row {
        Some((display_name, hash, roles)) if verify_password(password, &hash) => Some(User {
            username: username.into(),
            display_name,
            roles: parse_roles(&roles),
        }),
        Some(_) => None,
        None => {
            let _ = verify_password(password, dummy_hash());
            None
        }
    })
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Start a session for `user`; returns its token (and the CSRF token for cookie sessions).
pub fn start_session(
    c: &Connection,
    user: &str,
    cookie: bool,
    now: i64,
) -> rusqlite::Result<(String, Option<String>)> {
    let token = random_token();
    let csrf = cookie.then(random_token);
    c.execute("DELETE FROM auth_sessions WHERE expires_at <= ?1", [now])?;
    c.execute(
        "INSERT INTO auth_sessions (token_hash, username, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(&token), user, csrf, now, now + SESSION_TTL_MS],
    )?;
    Ok((token, csrf))
}

/// The live session a token belongs to.
pub fn session(c: &Connection, token: &str, now: i64) -> rusqlite::Result<Option<StaffSession>> {
    let hash = token_hash(token);
    c.query_row(
        "SELECT u.username, u.display_name, u.roles, s.csrf_token FROM auth_sessions s
         JOIN users u ON u.username = s.username WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        params![hash, now],
        |r| {
            Ok(StaffSession {
                user: User {
                    username: r.get(0)?,
                    display_name: r.get(1)?,
                    roles: parse_roles(&r.get::<_, String>(2)?),
                },
                csrf_token: r.get(3)?,
                token_hash: hash.clone(),
            })
        },
    )
    .optional()
}

pub fn end_session(c: &Connection, token_hash: &str) -> rusqlite::Result<()> {
    c.execute(
        "DELETE FROM auth_sessions WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(())
}

/// Failed logins per user name and per address within a window.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_user: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    /// Five failures for one user name, or twenty from one address, per 15 minutes.
    fn default() -> Self {
        LoginLimiter::new(Duration::from_secs(15 * 60), 5, 20)
    }
}

impl LoginLimiter {
    pub fn new(window: Duration, per_user: usize, per_address: usize) -> Self {
        LoginLimiter {
            window,
            per_user,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: Option<&str>) -> Vec<(String, bool)> {
        let mut keys = vec![(format!("user:{username}"), true)];
        if let Some(a) = address {
            keys.push((format!("addr:{a}"), false));
        }
        keys
    }

    /// `Some(wait)` while this user name or address is locked out.
    pub fn check(&self, username: &str, address: Option<&str>) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, is_user) in Self::keys(username, address) {
            let Some(q) = map.get_mut(&key) else { continue };
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            let limit = if is_user {
                self.per_user
            } else {
                self.per_address
            };
            if q.len() >= limit
                && let Some(first) = q.front()
            {
                let w = self.window.saturating_sub(now.duration_since(*first));
                wait = Some(wait.map_or(w, |x: Duration| x.max(w)));
            }
        }
        wait
    }

    pub fn failed(&self, username: &str, address: Option<&str>) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound the memory an attacker can make us use with many names.
        if map.len() > 100_000 {
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for (key, _) in Self::keys(username, address) {
            map.entry(key).or_default().push_back(now);
        }
    }

    pub fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("user:{username}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate_for_tests(&mut c);
        c
    }

    #[test]
    fn passwords_are_hashed_with_argon2id_and_checked() {
        let c = db();
        let u = create_user(
            &c,
            "lan",
            "Nguyễn Thị Lan",
            "correct horse battery",
            &[StaffRole::Scheduler],
            0,
        )
        .unwrap();
        assert_eq!(u.roles, [StaffRole::Scheduler]);
        let stored: String = c
            .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("horse"));
        assert!(
            check_password(&c, "lan", "correct horse battery")
                .unwrap()
                .is_some()
        );
        assert!(
            check_password(&c, "lan", "wrong password!")
                .unwrap()
                .is_none()
        );
        assert!(
            check_password(&c, "nobody", "correct horse battery")
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            create_user(&c, "lan", "Lan", "another long one", &[StaffRole::Admin], 0),
            Err(UserError::Exists(_))
        ));
        assert!(matches!(
            create_user(
                &c,
                "Bad Name",
                "x",
                "long enough pw",
                &[StaffRole::Admin],
                0
            ),
            Err(UserError::BadUsername)
        ));
        assert!(matches!(
            create_user(&c, "x", "x", "short", &[StaffRole::Admin], 0),
            Err(UserError::WeakPassword)
        ));
        assert!(matches!(
            create_user(&c, "x", "x", "long enough pw", &[], 0),
            Err(UserError::NoRole)
        ));
    }

    #[test]
    fn sessions_store_only_a_hash_and_expire() {
        let c = db();
        create_user(&c, "an", "An", "a long password", &[StaffRole::Admin], 0).unwrap();
        let (token, csrf) = start_session(&c, "an", true, 1000).unwrap();
        assert!(csrf.is_some());
        let stored: String = c
            .query_row("SELECT token_hash FROM auth_sessions", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token);
        let s = session(&c, &token, 2000).unwrap().unwrap();
        assert_eq!(s.user.username, "an");
        assert_eq!(s.csrf_token, csrf);
        assert!(
            session(&c, &token, 1000 + SESSION_TTL_MS)
                .unwrap()
                .is_none(),
            "expired"
        );
        assert!(session(&c, "made-up", 2000).unwrap().is_none());
        end_session(&c, &s.token_hash).unwrap();
        assert!(session(&c, &token, 2000).unwrap().is_none(), "logged out");
        let (bearer, csrf) = start_session(&c, "an", false, 1000).unwrap();
        assert!(csrf.is_none());
        assert!(session(&c, &bearer, 2000).unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_logins_lock_out_a_user_name_and_an_address_for_the_window() {
        let limiter = LoginLimiter::new(Duration::from_secs(900), 5, 20);
        for _ in 0..5 {
            assert!(limiter.check("lan", Some("10.0.0.1")).is_none());
            limiter.failed("lan", Some("10.0.0.1"));
        }
        let wait = limiter.check("lan", Some("10.0.0.9")).unwrap();
        assert!(wait <= Duration::from_secs(900));
        // Another user from the same address is not locked yet…
        assert!(limiter.check("binh", Some("10.0.0.1")).is_none());
        // …until the address has twenty failures.
        for i in 0..15 {
            limiter.failed(&format!("u{i}"), Some("10.0.0.1"));
        }
        assert!(limiter.check("binh", Some("10.0.0.1")).is_some());
        tokio::time::advance(Duration::from_secs(901)).await;
        assert!(limiter.check("lan", Some("10.0.0.1")).is_none());
    }
}
