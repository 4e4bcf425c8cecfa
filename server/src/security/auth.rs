//! The one user store of every service: panel login, admin pages, central
//! control (5009), Telnet and FTP. Users and their argon2 password hashes
//! live in the settings file; there is no default user and no default
//! password. Until an admin user exists, everything that needs one is off
//! and the log says how to create it (`roomctl user add NAME --role admin`).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::runtime::sync::lock;

/// What a user may do. Each role includes the ones below it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// See status.
    Viewer,
    /// Press buttons.
    Operator,
    /// Change the project and the settings.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

/// A user of every service (panel login, admin pages, 5009, Telnet, FTP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    /// An argon2 hash; set with `roomctl user add NAME --role ROLE`.
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct UserStore {
    users: Vec<UserEntry>,
}

/// The argon2id cost of new hashes: 7 MiB, 5 passes, one lane. This is one
/// of OWASP's equivalent argon2id settings (as strong against guessing as
/// the crate default of 19 MiB and 2 passes, which older settings files
/// hold and which still verify: the parameters are part of each hash), but
/// each check holds 7 MiB instead of 19 MiB while it runs.
const NEW_HASH_MEMORY_KIB: u32 = 7 * 1024;
const NEW_HASH_PASSES: u32 = 5;

fn new_hasher() -> Argon2<'static> {
    let params = Params::new(NEW_HASH_MEMORY_KIB, NEW_HASH_PASSES, 1, None)
        .expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash to compare against when the user does not exist, so a login for
/// an unknown name costs as much time (and memory) as one with a wrong
/// password. Made at first use with the parameters of new hashes.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    new_hasher()
        .hash_password(b"no user has this password", &salt)
        .map(|h| h.to_string())
        .expect("hashing a constant cannot fail")
});

impl UserStore {
    pub fn new(users: Vec<UserEntry>) -> UserStore {
        UserStore { users }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn has_admin(&self) -> bool {
        self.users.iter().any(|u| u.role == Role::Admin)
    }

    /// Checks a name and password; the user when they match.
    pub fn verify(&self, name: &str, password: &str) -> Option<User> {
        let entry = self.users.iter().find(|u| u.name == name);
        let hash = entry.map_or(DUMMY_HASH.as_str(), |u| u.password_hash.as_str());
        let ok = PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        match (ok, entry) {
            (true, Some(u)) => Some(User {
                name: u.name.clone(),
                role: u.role,
            }),
            _ => None,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = (&str, Role)> {
        self.users.iter().map(|u| (u.name.as_str(), u.role))
    }
}

/// How many password checks run at once in the whole controller. Each
/// argon2 check holds its memory cost (7 MiB for new hashes, 19 MiB for
/// older ones) for its whole run: a fixed number of checkers keeps failed
/// logins from costing unbounded memory, whatever the number of clients.
const VERIFIERS: usize = 2;
/// How long a login waits for a free checker before it is told to retry.
/// Shorter than every service's idle and login timeouts.
const VERIFY_WAIT: Duration = Duration::from_secs(5);
/// How many password checks one address may have waiting or running; more
/// at once are refused without a check (one address cannot fill the queue).
const PER_SOURCE_IN_FLIGHT: usize = 1;
/// Failures from one address before back-off starts, and the longest wait.
const SOURCE_FREE_FAILURES: u32 = 3;
const SOURCE_MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Failures for one user name (from any address) before back-off starts,
/// and the longest wait. Higher and shorter than per address: a user
/// name's back-off also delays its rightful owner, so it is there to slow a
/// distributed guess, not to lock the user out.
const USER_FREE_FAILURES: u32 = 10;
const USER_MAX_BACKOFF: Duration = Duration::from_secs(15);
/// A failure record is forgotten after this long without a failure.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// At most this many addresses and names are remembered; beyond it, the
/// oldest record is dropped (bounded memory under a scan of many names).
const MAX_TRACKED: usize = 4096;

/// Why a login did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong name, password or PIN.
    Wrong,
    /// Too many recent failures from this address or for this name: the
    /// next attempt is accepted after the wait.
    Backoff(Duration),
    /// Every checker is busy, or this address already has a login being
    /// checked: try again.
    Busy,
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginError::Wrong => f.write_str("wrong user name or password"),
            LoginError::Backoff(wait) => write!(
                f,
                "too many failed logins; try again in {} s",
                wait.as_secs().max(1)
            ),
            LoginError::Busy => f.write_str("the controller is checking other logins; try again"),
        }
    }
}

/// Recent failures of one address or one user name.
struct Failures {
    count: u32,
    last: Instant,
    blocked_until: Instant,
}

/// Failure records of one kind (addresses or names), with their back-off.
struct Tracked<K> {
    map: HashMap<K, Failures>,
    free: u32,
    max: Duration,
}

impl<K: Eq + Hash + Clone> Tracked<K> {
    fn new(free: u32, max: Duration) -> Tracked<K> {
        Tracked {
            map: HashMap::new(),
            free,
            max,
        }
    }

    /// How long `key` must still wait, if it must.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let f = self.map.get(key)?;
        (f.blocked_until > now).then(|| f.blocked_until - now)
    }

    fn failed(&mut self, key: &K, now: Instant) {
        if !self.map.contains_key(key) && self.map.len() >= MAX_TRACKED {
            self.map
                .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if self.map.len() >= MAX_TRACKED {
                if let Some(oldest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
                {
                    self.map.remove(&oldest);
                }
            }
        }
        let f = self.map.entry(key.clone()).or_insert(Failures {
            count: 0,
            last: now,
            blocked_until: now,
        });
        if now.duration_since(f.last) >= FORGET_AFTER {
            f.count = 0;
        }
        f.count += 1;
        f.last = now;
        if f.count > self.free {
            // 1 s, 2 s, 4 s ... up to the maximum.
            let doublings = (f.count - self.free - 1).min(16);
            f.blocked_until = now + Duration::from_secs(1 << doublings).min(self.max);
        }
    }

    fn cleared(&mut self, key: &K) {
        self.map.remove(key);
    }
}

struct LoginState {
    sources: Tracked<IpAddr>,
    users: Tracked<String>,
    in_flight: HashMap<IpAddr, usize>,
}

/// The one gate of every login of every service (web login, panel PIN,
/// central control, Telnet, FTP): a fixed number of password checkers, at
/// most one check in flight per address, and back-off per address and per
/// user name after repeated failures.
pub struct Logins {
    verifiers: Arc<Semaphore>,
    state: Mutex<LoginState>,
}

/// Makes memory blocks of 1 MiB and more come from their own mapping and go
/// back to the system when freed. glibc otherwise raises this threshold to
/// the size of the first large block freed, after which an argon2 block
/// (7 or 19 MiB) is carved from the allocating thread's arena and kept
/// there once freed: with the blocking pool's many threads (and arenas),
/// a handful of checkers still grew the process by 100 MiB and more.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets an allocator parameter; it is
            // thread-safe and called with a valid parameter and value.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
        });
    }
}

impl Default for Logins {
    fn default() -> Logins {
        return_large_blocks_to_the_system();
        Logins {
            verifiers: Arc::new(Semaphore::new(VERIFIERS)),
            state: Mutex::new(LoginState {
                sources: Tracked::new(SOURCE_FREE_FAILURES, SOURCE_MAX_BACKOFF),
                users: Tracked::new(USER_FREE_FAILURES, USER_MAX_BACKOFF),
                in_flight: HashMap::new(),
            }),
        }
    }
}

/// One address's place among the checks in flight; given back on drop.
struct InFlight<'a> {
    logins: &'a Logins,
    source: IpAddr,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.logins.state);
        if let Some(n) = state.in_flight.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                state.in_flight.remove(&self.source);
            }
        }
    }
}

impl Logins {
    /// Whether `source` (and `user`, when there is one) may try now.
    pub fn check(&self, source: IpAddr, user: Option<&str>) -> Result<(), LoginError> {
        let state = lock(&self.state);
        let now = Instant::now();
        let wait = state
            .sources
            .wait(&source, now)
            .into_iter()
            .chain(user.and_then(|u| state.users.wait(&u.to_string(), now)));
        match wait.max() {
            Some(wait) => Err(LoginError::Backoff(wait)),
            None => Ok(()),
        }
    }

    /// Records the outcome of an attempt (a password, or a panel PIN with
    /// no user name): a failure counts towards back-off, a success clears
    /// the address's and the name's records.
    pub fn record(&self, source: IpAddr, user: Option<&str>, ok: bool) {
        let mut state = lock(&self.state);
        let now = Instant::now();
        if ok {
            state.sources.cleared(&source);
            if let Some(u) = user {
                state.users.cleared(&u.to_string());
            }
        } else {
            state.sources.failed(&source, now);
            if let Some(u) = user {
                state.users.failed(&u.to_string(), now);
            }
        }
    }

    fn enter(&self, source: IpAddr) -> Option<InFlight<'_>> {
        let mut state = lock(&self.state);
        let n = state.in_flight.entry(source).or_insert(0);
        if *n >= PER_SOURCE_IN_FLIGHT {
            return None;
        }
        *n += 1;
        Some(InFlight {
            logins: self,
            source,
        })
    }
}

/// Checks a login from `source`: the one password check of every service.
/// Refused at once during back-off or while this address has another check
/// in flight; otherwise waits (at most [`VERIFY_WAIT`]) for one of the
/// fixed checkers and runs argon2 off the async threads (it is deliberately
/// slow). The outcome counts towards back-off.
pub async fn verify(
    logins: &Logins,
    users: Arc<UserStore>,
    source: IpAddr,
    name: String,
    password: String,
) -> Result<User, LoginError> {
    logins.check(source, Some(&name))?;
    let Some(_in_flight) = logins.enter(source) else {
        return Err(LoginError::Busy);
    };
    let permit = tokio::time::timeout(VERIFY_WAIT, logins.verifiers.clone().acquire_owned())
        .await
        .map_err(|_| LoginError::Busy)?
        .expect("the checkers' semaphore is never closed");
    let check_name = name.clone();
    // The permit moves into the blocking task: a client that goes away
    // mid-check does not free its checker before argon2 has finished.
    let user = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        users.verify(&check_name, &password)
    })
    .await
    .ok()
    .flatten();
    logins.record(source, Some(&name), user.is_some());
    user.ok_or(LoginError::Wrong)
}

/// An argon2id hash of a password, for the settings file.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    if password.len() < 8 {
        anyhow::bail!("a password needs at least 8 characters");
    }
    let salt = SaltString::generate(&mut OsRng);
    new_hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_right_and_wrong() {
        let hash = hash_password("correct horse").unwrap();
        let store = UserStore::new(vec![UserEntry {
            name: "ada".into(),
            role: Role::Admin,
            password_hash: hash,
        }]);
        assert_eq!(
            store.verify("ada", "correct horse").unwrap().role,
            Role::Admin
        );
        assert!(store.verify("ada", "wrong").is_none());
        assert!(store.verify("bob", "correct horse").is_none());
        assert!(hash_password("short").is_err());
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
    }

    #[test]
    fn hashes_of_the_older_default_cost_still_verify() {
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(old.contains("m=19456,t=2"), "{old}");
        let store = UserStore::new(vec![UserEntry {
            name: "ada".into(),
            role: Role::Admin,
            password_hash: old,
        }]);
        assert!(store.verify("ada", "correct horse").is_some());
        assert!(hash_password("correct horse")
            .unwrap()
            .contains("m=7168,t=5,p=1"));
    }

    #[test]
    fn back_off_per_address_and_per_name() {
        let logins = Logins::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..SOURCE_FREE_FAILURES {
            assert_eq!(logins.check(a, None), Ok(()));
            logins.record(a, None, false);
        }
        logins.record(a, None, false);
        assert!(matches!(logins.check(a, None), Err(LoginError::Backoff(_))));
        assert_eq!(logins.check(b, Some("ada")), Ok(()));
        logins.record(a, None, true);
        assert_eq!(logins.check(a, None), Ok(()));
        // A name guessed from many addresses backs off too.
        for i in 0..=USER_FREE_FAILURES {
            let ip = IpAddr::from([198, 51, 100, i as u8]);
            logins.record(ip, Some("ada"), false);
        }
        assert!(matches!(
            logins.check(b, Some("ada")),
            Err(LoginError::Backoff(_))
        ));
        assert_eq!(logins.check(b, Some("bob")), Ok(()));
    }
}
