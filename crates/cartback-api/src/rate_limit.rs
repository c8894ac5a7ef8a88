//! In-process rate limits: a one-minute window per client IP on the routes a
//! browser or an email link reaches (public capture, tracking with a publishable
//! key, `/r/…`, `/u/…`), and per secret key everywhere else. Each window starts
//! at its subject's first request and allows `limit` requests until it is a
//! minute old.
//!
//! Subjects are kept as 64-bit keyed hashes (an IP or a key is never stored) in
//! a few mutex-guarded maps picked by hash, so workers rarely wait on each other
//! and a check costs a hash, a lock and a map lookup, with no allocation unless
//! the subject is new. Expired windows are swept from a shard at most once a
//! minute. Counts are per process: with N api replicas the effective limit is up
//! to N times the configured one.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::Method;
use actix_web::http::header::HeaderValue;

const WINDOW: Duration = Duration::from_secs(60);
const SHARDS: usize = 16;
/// Subjects tracked per shard. Beyond it (after a sweep) new subjects pass
/// untracked instead of pushing known ones out: a flood of fresh addresses
/// cannot reset anyone's window, and memory stays bounded.
const MAX_SUBJECTS_PER_SHARD: usize = 65_536;
/// Precomputed `X-RateLimit-Remaining` values; larger ones are formatted.
const CACHED_VALUES: u32 = 4096;

/// Limits per minute; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per client IP on the public routes.
    pub ip_per_minute: u32,
    /// Per secret key on every other route.
    pub key_per_minute: u32,
    /// Take the client IP from the left-most `X-Forwarded-For` entry (only behind
    /// a proxy that sets it) instead of the peer address.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            ip_per_minute: 100,
            key_per_minute: 60_000,
            trust_forwarded_for: false,
        }
    }
}

/// What a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject<'a> {
    Ip(IpAddr),
    Key(&'a str),
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Allowed {
        limit: HeaderValue,
        remaining: HeaderValue,
    },
    Limited {
        limit: HeaderValue,
        retry_after_secs: u64,
    },
}

/// The routes a shopper's browser or an email link reaches, limited per IP.
fn is_public_path(path: &str) -> bool {
    path.starts_with("/api/v1/public/") || path.starts_with("/r/") || path.starts_with("/u/")
}

/// Which limit a request falls under, if any. `key` is the key presented in a
/// header. Preflights are free: they do no work and carry no key.
pub(crate) fn classify<'a>(
    method: &Method,
    path: &str,
    key: Option<&'a str>,
    client_ip: impl FnOnce() -> Option<IpAddr>,
) -> Option<Subject<'a>> {
    if method == Method::OPTIONS {
        return None;
    }
    let by_ip = || client_ip().map(Subject::Ip);
    if is_public_path(path) {
        return by_ip();
    }
    match key {
        // A publishable key lives in browsers: its users are told apart by IP.
        Some(key) if key.starts_with("pk_") => by_ip(),
        Some(key) => Some(Subject::Key(key)),
        // Tracking without a key is refused anyway; count it like a browser.
        None if path == "/api/v1/track" => by_ip(),
        None => None,
    }
}

/// The client's address: the peer, or the left-most `X-Forwarded-For` entry when
/// trusted (falling back to the peer when that entry does not parse).
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&HeaderValue>,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(first) = forwarded_for
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
    {
        if let Ok(ip) = first.parse::<IpAddr>() {
            return Some(ip);
        }
        // "1.2.3.4:5678" and "[2001:db8::1]:443" forms.
        if let Ok(socket) = first.parse::<std::net::SocketAddr>() {
            return Some(socket.ip());
        }
    }
    peer
}

/// A hasher that passes an already-hashed u64 through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

#[derive(Debug)]
struct Shard {
    windows: HashMap<u64, Window, BuildHasherDefault<PassThrough>>,
    last_sweep: Instant,
}

impl Shard {
    fn sweep(&mut self, now: Instant) {
        self.windows
            .retain(|_, w| now.duration_since(w.started) < WINDOW);
        self.last_sweep = now;
    }
}

/// One limit (per IP, or per key) over all its subjects.
#[derive(Debug)]
struct Limit {
    per_minute: u32,
    limit_value: HeaderValue,
    /// `remaining_values[n]` is `n` as a header value.
    remaining_values: Vec<HeaderValue>,
    shards: Vec<Mutex<Shard>>,
}

impl Limit {
    fn new(per_minute: u32, now: Instant) -> Limit {
        Limit {
            per_minute,
            limit_value: HeaderValue::from(per_minute),
            remaining_values: (0..=per_minute.min(CACHED_VALUES))
                .map(HeaderValue::from)
                .collect(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        windows: HashMap::default(),
                        last_sweep: now,
                    })
                })
                .collect(),
        }
    }

    fn remaining(&self, n: u32) -> HeaderValue {
        self.remaining_values
            .get(n as usize)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from(n))
    }

    fn hit(&self, id: u64, now: Instant) -> Decision {
        let allowed = |remaining: u32| Decision::Allowed {
            limit: self.limit_value.clone(),
            remaining: self.remaining(remaining),
        };
        let shard = &self.shards[(id as usize) % SHARDS];
        // A poisoned shard only means another request panicked mid-update; the
        // counts are still usable.
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(shard.last_sweep) >= WINDOW {
            shard.sweep(now);
        }
        if let Some(window) = shard.windows.get_mut(&id) {
            let age = now.duration_since(window.started);
            if age >= WINDOW {
                *window = Window {
                    started: now,
                    count: 1,
                };
                return allowed(self.per_minute - 1);
            }
            if window.count >= self.per_minute {
                // Whole seconds, rounded up, so a client that waits that long is let in.
                let left = WINDOW - age;
                let retry_after_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                return Decision::Limited {
                    limit: self.limit_value.clone(),
                    retry_after_secs: retry_after_secs.max(1),
                };
            }
            window.count += 1;
            return allowed(self.per_minute - window.count);
        }
        if shard.windows.len() >= MAX_SUBJECTS_PER_SHARD {
            shard.sweep(now);
            if shard.windows.len() >= MAX_SUBJECTS_PER_SHARD {
                return allowed(self.per_minute - 1);
            }
        }
        shard.windows.insert(
            id,
            Window {
                started: now,
                count: 1,
            },
        );
        allowed(self.per_minute - 1)
    }
}

/// Both limits of one api process.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    ip: Option<Limit>,
    key: Option<Limit>,
    hashing: RandomState,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            config,
            ip: (config.ip_per_minute > 0).then(|| Limit::new(config.ip_per_minute, now)),
            key: (config.key_per_minute > 0).then(|| Limit::new(config.key_per_minute, now)),
            hashing: RandomState::new(),
        }
    }

    /// No limit at all.
    pub fn disabled() -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            ip_per_minute: 0,
            key_per_minute: 0,
            trust_forwarded_for: false,
        })
    }

    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Counts one request of `subject`; None when its limit is off.
    pub(crate) fn check(&self, subject: Subject<'_>) -> Option<Decision> {
        self.check_at(subject, Instant::now())
    }

    fn check_at(&self, subject: Subject<'_>, now: Instant) -> Option<Decision> {
        let mut hasher = self.hashing.build_hasher();
        let limit = match subject {
            Subject::Ip(ip) => {
                let limit = self.ip.as_ref()?;
                std::hash::Hash::hash(&ip, &mut hasher);
                limit
            }
            Subject::Key(key) => {
                let limit = self.key.as_ref()?;
                hasher.write(key.as_bytes());
                limit
            }
        };
        Some(limit.hit(hasher.finish(), now))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn limiter(ip: u32, key: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            ip_per_minute: ip,
            key_per_minute: key,
            trust_forwarded_for: false,
        })
    }

    fn remaining(decision: Option<Decision>) -> u32 {
        match decision {
            Some(Decision::Allowed { remaining, .. }) => {
                remaining.to_str().unwrap().parse().unwrap()
            }
            other => panic!("expected allowed, got {other:?}"),
        }
    }

    #[test]
    fn a_window_allows_the_limit_then_refuses_until_it_ends() {
        let limiter = limiter(3, 0);
        let ip = Subject::Ip("192.0.2.1".parse().unwrap());
        let start = Instant::now();
        assert_eq!(remaining(limiter.check_at(ip, start)), 2);
        assert_eq!(remaining(limiter.check_at(ip, start)), 1);
        assert_eq!(remaining(limiter.check_at(ip, start)), 0);
        let later = start + Duration::from_millis(20_500);
        match limiter.check_at(ip, later) {
            Some(Decision::Limited {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, 40),
            other => panic!("expected limited, got {other:?}"),
        }
        // Another address has its own window.
        let other = Subject::Ip("192.0.2.2".parse().unwrap());
        assert_eq!(remaining(limiter.check_at(other, later)), 2);
        // A minute after the first request, the window starts over.
        assert_eq!(remaining(limiter.check_at(ip, start + WINDOW)), 2);
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let limiter = limiter(0, 2);
        assert_eq!(
            limiter.check(Subject::Ip("192.0.2.1".parse().unwrap())),
            None
        );
        assert_eq!(remaining(limiter.check(Subject::Key("sk_a"))), 1);
        assert_eq!(remaining(limiter.check(Subject::Key("sk_b"))), 1);
        assert_eq!(remaining(limiter.check(Subject::Key("sk_a"))), 0);
        assert!(matches!(
            limiter.check(Subject::Key("sk_a")),
            Some(Decision::Limited { .. })
        ));
    }

    #[test]
    fn sweeping_forgets_expired_windows() {
        let start = Instant::now();
        let limit = Limit::new(5, start);
        for id in 0..100u64 {
            limit.hit(id, start);
        }
        let held = |shard: usize| limit.shards[shard].lock().unwrap().windows.len();
        assert_eq!((0..SHARDS).map(held).sum::<usize>(), 100);
        // The first request a shard sees a minute later sweeps that shard only.
        let later = start + WINDOW + Duration::from_secs(1);
        let id = 1000u64;
        let swept = (id as usize) % SHARDS;
        limit.hit(id, later);
        assert_eq!(held(swept), 1);
        let untouched = (swept + 1) % SHARDS;
        assert!(held(untouched) > 1);
    }

    #[test]
    fn routes_are_classified() {
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let peer = || Some(ip);
        let post = Method::POST;
        assert_eq!(
            classify(&post, "/api/v1/public/abandoned-carts", None, peer),
            Some(Subject::Ip(ip))
        );
        assert_eq!(
            classify(&post, "/api/v1/public/abandoned-carts", Some("sk_x"), peer),
            Some(Subject::Ip(ip))
        );
        assert_eq!(
            classify(&Method::GET, "/r/abc", None, peer),
            Some(Subject::Ip(ip))
        );
        assert_eq!(
            classify(&post, "/api/v1/track", Some("pk_x"), peer),
            Some(Subject::Ip(ip))
        );
        assert_eq!(
            classify(&post, "/api/v1/track", Some("sk_x"), peer),
            Some(Subject::Key("sk_x"))
        );
        assert_eq!(
            classify(&Method::GET, "/api/v1/templates", Some("sk_x"), peer),
            Some(Subject::Key("sk_x"))
        );
        assert_eq!(classify(&Method::GET, "/healthz", None, peer), None);
        assert_eq!(
            classify(
                &Method::OPTIONS,
                "/api/v1/public/abandoned-carts",
                None,
                peer
            ),
            None
        );
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let header = HeaderValue::from_static("203.0.113.7, 10.0.0.1");
        assert_eq!(client_ip(Some(peer), Some(&header), false), Some(peer));
        assert_eq!(
            client_ip(Some(peer), Some(&header), true),
            Some("203.0.113.7".parse().unwrap())
        );
        let with_port = HeaderValue::from_static("[2001:db8::1]:443");
        assert_eq!(
            client_ip(Some(peer), Some(&with_port), true),
            Some("2001:db8::1".parse().unwrap())
        );
        let junk = HeaderValue::from_static("unknown");
        assert_eq!(client_ip(Some(peer), Some(&junk), true), Some(peer));
    }
}
