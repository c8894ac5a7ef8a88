//! In-process rate limits: a one-minute window per client IP on the routes a
//! browser or an email link reaches (public capture, tracking with a publishable
//! key, `/r/…`, `/u/…`), per client IP on Stripe's event intake, and per secret
//! key everywhere else. A key is counted only once it resolved to a real key:
//! requests that fail to authenticate are counted per client IP instead, under a
//! low limit, so a flood of made-up keys is refused without a database look-up
//! per request. Each window starts at its subject's first request and allows
//! `limit` requests until it is a minute old.
//!
//! Behind proxies the client IP is the right-most `X-Forwarded-For` hop that is
//! not a trusted proxy ([`TrustedProxies`]): entries to its left were written by
//! the client and are ignored.
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
use std::str::FromStr;
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

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on an IPv6 socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a single host).
    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let bad = || format!("{text:?} is not an IP address or a CIDR like 10.0.0.0/8");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { network, prefix })
    }
}

/// Which proxies in front of the api are trusted to report the client's
/// address in `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrustedProxies {
    /// None: the client is the peer, and `X-Forwarded-For` is ignored.
    #[default]
    None,
    /// This many proxies, each appending the address it saw: the client is that
    /// many hops from the right of `X-Forwarded-For` + peer.
    Hops(u8),
    /// Proxies at these addresses: the client is the right-most hop (the peer
    /// included) outside them.
    Networks(Vec<Cidr>),
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A hop count (`1`; `0` trusts none) or a comma-separated list of
    /// addresses and CIDRs (`10.0.0.0/8,192.168.1.5`).
    fn from_str(text: &str) -> Result<TrustedProxies, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(TrustedProxies::None);
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u8>() {
                Ok(0) => Ok(TrustedProxies::None),
                Ok(hops) => Ok(TrustedProxies::Hops(hops)),
                Err(_) => Err(format!("{text:?}: at most 255 proxy hops")),
            };
        }
        text.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies::Networks)
    }
}

/// Limits per minute; 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Per client IP on the public routes.
    pub ip_per_minute: u32,
    /// Per secret key on every other route, counted once the key is known good.
    pub key_per_minute: u32,
    /// Per client IP: requests answered 401 (no key, an unknown or revoked
    /// one). Past it, requests from that IP without a known-good key get 429.
    pub auth_failures_per_minute: u32,
    /// Per client IP on Stripe's event intake (Stripe delivers from a few
    /// addresses, for every tenant at once: keep it generous).
    pub stripe_per_minute: u32,
    /// Where the client's address comes from behind proxies.
    pub trusted_proxies: TrustedProxies,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            ip_per_minute: 100,
            key_per_minute: 60_000,
            auth_failures_per_minute: 30,
            stripe_per_minute: 600,
            trusted_proxies: TrustedProxies::None,
        }
    }
}

/// What a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject<'a> {
    Ip(IpAddr),
    Key(&'a str),
    /// Stripe's event intake, per client IP.
    Stripe(IpAddr),
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
pub(crate) fn is_public_path(path: &str) -> bool {
    path.starts_with("/api/v1/public/") || path.starts_with("/r/") || path.starts_with("/u/")
}

const STRIPE_INTAKE: &str = "/api/v1/integrations/stripe/webhook/";
/// Quick Checkout Tracker's Stripe events (seed 003), counted as Stripe's.
const QUICK_CHECKOUT_STRIPE: &str = "/api/webhooks/stripe";

/// Seed 003's merchant routes: `/api/carts…` and `/api/analytics`.
fn is_quick_checkout_path(path: &str) -> bool {
    path == "/api/carts" || path.starts_with("/api/carts/") || path == "/api/analytics"
}

/// Which limit a request falls under, if any. `key` is the key presented in a
/// header. Preflights are free: they do no work and carry no key. A
/// `Subject::Key` is counted only after the key resolved.
pub(crate) fn classify<'a>(
    method: &Method,
    path: &str,
    key: Option<&'a str>,
    client_ip: impl FnOnce() -> Option<IpAddr>,
) -> Option<Subject<'a>> {
    if method == Method::OPTIONS {
        return None;
    }
    if path.starts_with(STRIPE_INTAKE) || path == QUICK_CHECKOUT_STRIPE {
        return client_ip().map(Subject::Stripe);
    }
    let by_ip = || client_ip().map(Subject::Ip);
    // Quick Checkout Tracker's API is documented as limited per IP address
    // (100 a minute, the default of `--rate-limit-ip-per-minute`).
    if is_public_path(path) || is_quick_checkout_path(path) {
        return by_ip();
    }
    match key {
        // A publishable key lives in browsers: its users are told apart by IP.
        Some(key) if key.starts_with("pk_") => by_ip(),
        // Keys live under /api/ only: elsewhere (`/metrics` and its bearer
        // token) a header is no API key and is not looked up.
        Some(key) if path.starts_with("/api/") => Some(Subject::Key(key)),
        Some(_) => None,
        // Tracking without a key is refused anyway; count it like a browser.
        None if path == "/api/v1/track" => by_ip(),
        None => None,
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    // "1.2.3.4:5678" and "[2001:db8::1]:443" forms.
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse().ok())
}

/// Most `X-Forwarded-For` entries looked at, from the right: enough for any
/// real proxy chain, and a bound on what a padded header costs.
const MAX_FORWARDED_HOPS: usize = 32;

/// The client's address: the peer, or with trusted proxies the right-most
/// `X-Forwarded-For` hop they did not add (`forwarded_for` holds the header's
/// values in order). Entries left of it are the client's own words and are
/// never used. Falls back to the peer when the chosen entry does not parse.
pub(crate) fn client_ip<'h>(
    peer: Option<IpAddr>,
    forwarded_for: impl DoubleEndedIterator<Item = &'h HeaderValue>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    if *trusted == TrustedProxies::None {
        return peer;
    }
    let peer = peer?;
    // Right to left: the last header's last entry first.
    let mut hops = forwarded_for
        .rev()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.rsplit(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .take(MAX_FORWARDED_HOPS);
    match trusted {
        TrustedProxies::None => Some(peer),
        TrustedProxies::Hops(count) => {
            // The peer is the last proxy; each proxy added one entry. With fewer
            // entries than proxies, the left-most one is the best there is.
            let mut chosen = None;
            for (i, entry) in hops.enumerate() {
                chosen = Some(entry);
                if i + 1 == usize::from(*count) {
                    break;
                }
            }
            Some(chosen.and_then(forwarded_ip).unwrap_or(peer))
        }
        TrustedProxies::Networks(networks) => {
            let trusted = |ip: IpAddr| networks.iter().any(|n| n.contains(ip));
            let mut client = peer;
            while trusted(client) {
                match hops.next().map(forwarded_ip) {
                    Some(Some(ip)) => client = ip,
                    // Garbage from a trusted proxy, or the end of the chain: the
                    // last trusted hop is as far as the header can be believed.
                    Some(None) | None => break,
                }
            }
            Some(client)
        }
    }
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

    fn limited(&self, age: Duration) -> Decision {
        // Whole seconds, rounded up, so a client that waits that long is let in.
        let left = WINDOW.saturating_sub(age);
        let retry_after_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Decision::Limited {
            limit: self.limit_value.clone(),
            retry_after_secs: retry_after_secs.max(1),
        }
    }

    /// Whether `id` has used up its window, without counting a request.
    fn exhausted(&self, id: u64, now: Instant) -> Option<Decision> {
        let shard = &self.shards[(id as usize) % SHARDS];
        let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let window = shard.windows.get(&id)?;
        let age = now.duration_since(window.started);
        (age < WINDOW && window.count >= self.per_minute).then(|| self.limited(age))
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
                return self.limited(age);
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

/// The limits of one api process.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    ip: Option<Limit>,
    key: Option<Limit>,
    auth_failures: Option<Limit>,
    stripe: Option<Limit>,
    hashing: RandomState,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        let now = Instant::now();
        let limit = |per_minute: u32| (per_minute > 0).then(|| Limit::new(per_minute, now));
        RateLimiter {
            ip: limit(config.ip_per_minute),
            key: limit(config.key_per_minute),
            auth_failures: limit(config.auth_failures_per_minute),
            stripe: limit(config.stripe_per_minute),
            config,
            hashing: RandomState::new(),
        }
    }

    /// No limit at all.
    pub fn disabled() -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            ip_per_minute: 0,
            key_per_minute: 0,
            auth_failures_per_minute: 0,
            stripe_per_minute: 0,
            trusted_proxies: TrustedProxies::None,
        })
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Counts one request of `subject`; None when its limit is off.
    pub(crate) fn check(&self, subject: Subject<'_>) -> Option<Decision> {
        self.check_at(subject, Instant::now())
    }

    fn ip_id(&self, ip: IpAddr) -> u64 {
        let mut hasher = self.hashing.build_hasher();
        std::hash::Hash::hash(&ip, &mut hasher);
        hasher.finish()
    }

    fn check_at(&self, subject: Subject<'_>, now: Instant) -> Option<Decision> {
        let (limit, id) = match subject {
            Subject::Ip(ip) => (self.ip.as_ref()?, self.ip_id(ip)),
            Subject::Stripe(ip) => (self.stripe.as_ref()?, self.ip_id(ip)),
            Subject::Key(key) => {
                let limit = self.key.as_ref()?;
                let mut hasher = self.hashing.build_hasher();
                hasher.write(key.as_bytes());
                (limit, hasher.finish())
            }
        };
        Some(limit.hit(id, now))
    }

    /// `Limited` when `ip` has failed to authenticate too often this minute:
    /// its requests without a known-good key are then refused before any
    /// database look-up. Counts nothing.
    pub(crate) fn auth_blocked(&self, ip: IpAddr) -> Option<Decision> {
        self.auth_blocked_at(ip, Instant::now())
    }

    fn auth_blocked_at(&self, ip: IpAddr, now: Instant) -> Option<Decision> {
        self.auth_failures.as_ref()?.exhausted(self.ip_id(ip), now)
    }

    /// Counts one unauthenticated or failed-auth request of `ip`.
    pub(crate) fn auth_failed(&self, ip: IpAddr) -> Option<Decision> {
        self.auth_failed_at(ip, Instant::now())
    }

    fn auth_failed_at(&self, ip: IpAddr, now: Instant) -> Option<Decision> {
        Some(self.auth_failures.as_ref()?.hit(self.ip_id(ip), now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(ip: u32, key: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            ip_per_minute: ip,
            key_per_minute: key,
            ..RateLimitConfig::default()
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
            classify(&Method::GET, "/metrics", Some("scrape-token"), peer),
            None
        );
        assert_eq!(
            classify(
                &post,
                "/api/v1/integrations/stripe/webhook/ten_1",
                Some("sk_x"),
                peer
            ),
            Some(Subject::Stripe(ip))
        );
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

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn xff(peer: &str, headers: &[&'static str], trusted: &str) -> Option<IpAddr> {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_static(h))
            .collect();
        client_ip(Some(ip(peer)), values.iter(), &trusted.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let peer = "127.0.0.1";
        assert_eq!(xff(peer, &["203.0.113.7, 10.0.0.1"], ""), Some(ip(peer)));
        assert_eq!(xff(peer, &["203.0.113.7, 10.0.0.1"], "0"), Some(ip(peer)));
    }

    #[test]
    fn a_hop_count_takes_the_entry_its_proxies_added() {
        let peer = "10.0.0.2";
        // One proxy: it appended the address it saw, the right-most entry. The
        // client wrote the left ones and cannot choose its address with them.
        assert_eq!(
            xff(peer, &["1.1.1.1, 2.2.2.2, 203.0.113.7"], "1"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(xff(peer, &["203.0.113.7"], "1"), Some(ip("203.0.113.7")));
        // Two proxies: the second from the right.
        assert_eq!(
            xff(peer, &["6.6.6.6, 203.0.113.7, 10.0.0.1"], "2"),
            Some(ip("203.0.113.7"))
        );
        // Several headers are one list, in order.
        assert_eq!(
            xff(peer, &["6.6.6.6", "203.0.113.7, 10.0.0.1"], "2"),
            Some(ip("203.0.113.7"))
        );
        // Fewer entries than proxies: the left-most there is.
        assert_eq!(xff(peer, &["203.0.113.7"], "3"), Some(ip("203.0.113.7")));
        // No header, or a hop that does not parse: the peer.
        assert_eq!(xff(peer, &[], "1"), Some(ip(peer)));
        assert_eq!(xff(peer, &["1.1.1.1, unknown"], "1"), Some(ip(peer)));
        // Ports and brackets.
        assert_eq!(
            xff(peer, &["[2001:db8::1]:443"], "1"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            xff(peer, &["203.0.113.7:5678"], "1"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(xff(peer, &["[2001:db8::1]"], "1"), Some(ip("2001:db8::1")));
    }

    #[test]
    fn networks_skip_trusted_hops_from_the_right() {
        let trusted = "10.0.0.0/8, 192.168.1.5";
        // The peer is a trusted proxy; so is the next hop; the one after is the client.
        assert_eq!(
            xff(
                "10.0.0.2",
                &["6.6.6.6, 203.0.113.7, 192.168.1.5, 10.1.2.3"],
                trusted
            ),
            Some(ip("203.0.113.7"))
        );
        // A peer that is not a trusted proxy is the client, whatever it claims.
        assert_eq!(
            xff("198.51.100.9", &["203.0.113.7"], trusted),
            Some(ip("198.51.100.9"))
        );
        // A spoofed trusted address on the left does not move the client past
        // the first untrusted hop.
        assert_eq!(
            xff("10.0.0.2", &["10.9.9.9, 203.0.113.7"], trusted),
            Some(ip("203.0.113.7"))
        );
        // All trusted: the left-most.
        assert_eq!(
            xff("10.0.0.2", &["10.0.0.7, 10.0.0.8"], trusted),
            Some(ip("10.0.0.7"))
        );
        // Garbage behind a trusted proxy stops the walk at that proxy.
        assert_eq!(
            xff("10.0.0.2", &["6.6.6.6, junk, 10.0.0.3"], trusted),
            Some(ip("10.0.0.3"))
        );
        // IPv6 networks, and IPv4 peers seen as IPv4-mapped IPv6.
        assert_eq!(
            xff("2001:db8::7", &["203.0.113.7"], "2001:db8::/32"),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            xff("::ffff:10.0.0.2", &["203.0.113.7"], trusted),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn trusted_proxies_parse() {
        assert_eq!("".parse(), Ok(TrustedProxies::None));
        assert_eq!("0".parse(), Ok(TrustedProxies::None));
        assert_eq!("2".parse(), Ok(TrustedProxies::Hops(2)));
        assert!("999".parse::<TrustedProxies>().is_err());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("example.com".parse::<TrustedProxies>().is_err());
        let Ok(TrustedProxies::Networks(nets)) = "10.0.0.0/8,::1".parse() else {
            panic!("networks expected");
        };
        assert_eq!(nets.len(), 2);
        assert!(nets[0].contains(ip("10.255.0.1")));
        assert!(!nets[0].contains(ip("11.0.0.1")));
        assert!(nets[1].contains(ip("::1")));
        assert!(!nets[1].contains(ip("::2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.7")));
    }

    #[test]
    fn failed_auth_is_counted_per_ip_and_blocks_without_counting() {
        let limiter = RateLimiter::new(RateLimitConfig {
            auth_failures_per_minute: 3,
            ..RateLimitConfig::default()
        });
        let start = Instant::now();
        let attacker = ip("192.0.2.66");
        for _ in 0..3 {
            assert_eq!(limiter.auth_blocked_at(attacker, start), None);
            assert!(matches!(
                limiter.auth_failed_at(attacker, start),
                Some(Decision::Allowed { .. })
            ));
        }
        assert!(matches!(
            limiter.auth_blocked_at(attacker, start),
            Some(Decision::Limited { .. })
        ));
        assert!(matches!(
            limiter.auth_failed_at(attacker, start),
            Some(Decision::Limited { .. })
        ));
        // Another address is not affected, nor the key limit.
        assert_eq!(limiter.auth_blocked_at(ip("192.0.2.67"), start), None);
        assert_eq!(
            remaining(limiter.check_at(Subject::Key("sk_good"), start)),
            59_999
        );
        // A minute later it may try again.
        assert_eq!(limiter.auth_blocked_at(attacker, start + WINDOW), None);
    }
}
