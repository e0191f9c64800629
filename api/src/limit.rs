//! Rate limits shared by replicas: login (per e-mail, per IP, global), sign-up and visitor
//! sessions per IP, AI requests per tenant, sends per tenant and channel, typing per principal.
//!
//! The algorithm is GCRA (the generic cell rate algorithm): each key stores one number, its
//! *theoretical arrival time* (TAT). A quota of `per_minute` requests with a burst of `burst`
//! spaces requests `interval = 60 s / per_minute` apart and lets a client run up to `burst`
//! intervals ahead of the clock. A request at `now` is admitted when
//! `max(tat, now) + interval - burst × interval <= now`, and then the TAT moves one interval on;
//! otherwise it is refused and told how long until that holds. Unlike a fixed window, there is
//! no window edge at which twice the budget passes.
//!
//! Where the TAT lives:
//! - **Redis**, when `REDIS_URL` is configured: one Lua script reads, decides and writes the key
//!   atomically, with Redis's own clock (so replicas with skewed clocks agree) and a TTL equal to
//!   how long the TAT stays in the future, so idle keys expire by themselves. Keys are
//!   `{LEADLINE_REDIS_PREFIX}:limit:{limit name}:{sha256 of the key}` — e-mail addresses never
//!   appear in Redis, and a key's length never depends on the client.
//! - **in process** otherwise (and as the fallback): a map of TATs, pruned of keys that are idle
//!   again.
//!
//! When Redis cannot be reached, each limit says what happens ([`OnOutage`]):
//! - [`OnOutage::InProcess`]: this process counts alone (an outage multiplies the budget by the
//!   number of replicas for its duration, but never stops the service). Sign-up, visitors, AI,
//!   sends and typing use it.
//! - [`OnOutage::FailClosedFor`]: refused with UNAVAILABLE for the first part of an outage, then in
//!   process. Login uses it: a blip (a Redis restart) does not hand an attacker N replicas' worth
//!   of password guesses, and a long outage does not lock every user out.
//!
//! After a Redis failure, Redis is not asked again for [`REDIS_RETRY_AFTER`], so an outage costs
//! one timeout, not one per request.
//!
//! IP addresses are keyed by [`ip_key`]: IPv4 as is, IPv6 by its /64 (one subscriber usually
//! holds a whole /64, so per-address keys would give them 2^64 budgets).
//!
//! Must not: know about GraphQL, HTTP or what it limits — callers pick the name and the key.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};
use crate::services::redis_conn::RedisConn;

/// Keys kept in process before idle ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// How long Redis is left alone after a failure before it is tried again.
pub const REDIS_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The GCRA step in Redis; mirrors [`gcra`]. KEYS[1]: the key. ARGV: the interval (µs), the
/// burst, and `now` in µs — empty in production, so Redis's clock decides; tests pass a time.
/// Returns `{1, 0}` when admitted, `{0, µs to wait}` when refused. Times are whole µs since the
/// epoch (about 2^51, exact in Lua's doubles).
const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, allow_at - now}
end
local ttl_ms = math.floor((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl_ms)
return {1, 0}
";

/// How many requests a key may make: `per_minute` on average, up to `burst` at once. A rate of
/// 0 switches the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per minute on average (0: unlimited).
    pub per_minute: u32,
    /// Requests admitted at once from idle (at least 1).
    pub burst: u32,
}

impl Quota {
    /// `per_minute` a minute, all of which may come at once (the limiters' usual shape: a
    /// client may use the whole minute's allowance, then is held to the steady rate).
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            burst: per_minute.max(1),
        }
    }

    /// Whether the limit is switched off.
    pub fn is_unlimited(&self) -> bool {
        self.per_minute == 0
    }

    /// The spacing of requests at the steady rate, in µs (at least 1).
    fn interval_us(&self) -> u64 {
        (60_000_000 / u64::from(self.per_minute.max(1))).max(1)
    }

    fn burst(&self) -> u64 {
        u64::from(self.burst.max(1))
    }
}

/// One GCRA decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Admitted; store this TAT (µs).
    Admit { tat: u64 },
    /// Refused; admitted again after this many µs.
    Refuse { wait_us: u64 },
}

/// The GCRA step: the stored TAT of a key (`None` when idle), `now`, and the quota. Pure, so
/// every case is tested without a clock (and the Redis script mirrors it line by line).
pub fn gcra(tat: Option<u64>, now: u64, quota: Quota) -> Decision {
    let interval = quota.interval_us();
    let tat = tat.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(interval);
    let allow_at = new_tat.saturating_sub(quota.burst().saturating_mul(interval));
    if allow_at > now {
        Decision::Refuse {
            wait_us: allow_at - now,
        }
    } else {
        Decision::Admit { tat: new_tat }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the limit: try again after this long (at least a second).
    Limited { retry_after: Duration },
    /// The shared counter is unreachable and this limit fails closed for now.
    Unavailable,
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Limited { retry_after } => ApiError::RateLimited {
                retry_after_secs: retry_after.as_secs().max(1),
            },
            Refusal::Unavailable => ApiError::Unavailable(
                "the rate-limit store is unavailable; retry in a few seconds".into(),
            ),
        }
    }
}

/// What a limit does while Redis is unreachable (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOutage {
    /// Count in this process.
    InProcess,
    /// Refuse with UNAVAILABLE for this long after the outage began, then count in process.
    FailClosedFor(Duration),
}

/// The shared part of every limiter of a process: Redis (when configured) and its outage state.
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct LimitStore {
    redis: Option<Arc<RedisLimits>>,
}

impl std::fmt::Debug for LimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitStore")
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

struct RedisLimits {
    conn: RedisConn,
    script: redis::Script,
    outage: Mutex<Option<Outage>>,
}

#[derive(Clone, Copy)]
struct Outage {
    since: Instant,
    retry_at: Instant,
}

/// What Redis said, or that it could not be asked.
enum Shared {
    Decided(Result<(), Duration>),
    /// Unreachable since this instant.
    Down(Instant),
}

impl LimitStore {
    /// Counting in this process only (the embedded default).
    pub fn in_process() -> Self {
        Self { redis: None }
    }

    /// Counting in Redis at `url`, keys under `prefix`. The connection opens on first use, so a
    /// Redis that is down at start does not stop the server.
    pub fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            redis: Some(Arc::new(RedisLimits {
                conn: RedisConn::new(url, prefix)?,
                script: redis::Script::new(GCRA_SCRIPT),
                outage: Mutex::new(None),
            })),
        })
    }

    /// Waits (up to 10 s) until Redis answers, so a test's first limited call does not meet a
    /// cold connection on a loaded machine and count as an outage.
    #[cfg(test)]
    pub(crate) async fn warm_up(&self) {
        let Some(redis) = &self.redis else { return };
        let ping = redis::Script::new("return 1");
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.conn.run::<i64>(&ping, &[], &[]).await.is_err() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Redis when `redis_url` is set, in process otherwise.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        match &config.redis_url {
            Some(url) => Self::redis(url, &config.redis_prefix),
            None => Ok(Self::in_process()),
        }
    }
}

impl RedisLimits {
    async fn hit(&self, key: String, quota: Quota, now_us: Option<u64>) -> Shared {
        let started = Instant::now();
        {
            let outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(outage) = *outage {
                if started < outage.retry_at {
                    return Shared::Down(outage.since);
                }
            }
        }
        let args = [
            quota.interval_us().to_string(),
            quota.burst().to_string(),
            now_us.map(|n| n.to_string()).unwrap_or_default(),
        ];
        let answer: anyhow::Result<(i64, i64)> = self.conn.run(&self.script, &[key], &args).await;
        let mut outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
        match answer {
            Ok((admitted, wait_us)) => {
                if outage.take().is_some() {
                    tracing::info!("rate limits: Redis is back");
                }
                Shared::Decided(if admitted == 1 {
                    Ok(())
                } else {
                    Err(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
                })
            }
            Err(error) => {
                let since = outage.map_or(started, |o| o.since);
                if outage.is_none() {
                    tracing::warn!(%error, "rate limits: Redis unreachable; see each limit's outage rule");
                }
                *outage = Some(Outage {
                    since,
                    retry_at: Instant::now() + REDIS_RETRY_AFTER,
                });
                Shared::Down(since)
            }
        }
    }
}

/// One named limit (e.g. `login_ip`) over many keys.
pub struct Limiter {
    name: &'static str,
    quota: Quota,
    on_outage: OnOutage,
    store: LimitStore,
    /// The clock of the in-process TATs.
    epoch: Instant,
    local: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("name", &self.name)
            .field("quota", &self.quota)
            .field("on_outage", &self.on_outage)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// The limit `name` (a stable identifier: it is part of the Redis keys) of `quota`.
    pub fn new(name: &'static str, quota: Quota, on_outage: OnOutage, store: &LimitStore) -> Self {
        Self {
            name,
            quota,
            on_outage,
            store: store.clone(),
            epoch: Instant::now(),
            local: Mutex::new(HashMap::new()),
        }
    }

    /// An in-process limiter of `per_minute` (tests and the embedded default).
    pub fn in_process(name: &'static str, per_minute: u32) -> Self {
        Self::new(
            name,
            Quota::per_minute(per_minute),
            OnOutage::InProcess,
            &LimitStore::in_process(),
        )
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Admits one request of `key` now, or refuses it with RATE_LIMITED (`retryAfterSeconds`)
    /// or, for a fail-closed limit while Redis is away, UNAVAILABLE.
    pub async fn check(&self, key: &str) -> ApiResult<()> {
        self.acquire(key).await.map_err(|refusal| {
            // Labelled by the limit's fixed name only, never by the key.
            metrics::counter!("leadline_rate_limited_total", "limit" => self.name).increment(1);
            ApiError::from(refusal)
        })
    }

    /// Admits one request of `key` now, or says why not.
    pub async fn acquire(&self, key: &str) -> Result<(), Refusal> {
        self.acquire_at(key, None).await
    }

    /// [`Limiter::acquire`] at an explicit time (µs on the store's clock: the epoch for Redis,
    /// the limiter's creation for the in-process map). `None` is now. For tests.
    pub async fn acquire_at(&self, key: &str, now_us: Option<u64>) -> Result<(), Refusal> {
        if self.quota.is_unlimited() {
            return Ok(());
        }
        let hashed = crate::auth::sha256_hex(key);
        if let Some(redis) = &self.store.redis {
            let redis_key = redis.conn.key(&format!("limit:{}:{hashed}", self.name));
            match redis.hit(redis_key, self.quota, now_us).await {
                Shared::Decided(decision) => return decision.map_err(limited),
                Shared::Down(since) => {
                    if let OnOutage::FailClosedFor(grace) = self.on_outage {
                        if since.elapsed() < grace {
                            return Err(Refusal::Unavailable);
                        }
                    }
                }
            }
        }
        let now = now_us
            .unwrap_or_else(|| u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX));
        self.local_hit(hashed, now).map_err(limited)
    }

    fn local_hit(&self, key: String, now: u64) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update; the TATs are still
        // usable.
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if local.len() > PRUNE_ABOVE {
            // A TAT in the past is an idle key: forgetting it changes no decision.
            local.retain(|_, tat| *tat > now);
        }
        let stored = local.get(&key).copied();
        match gcra(stored, now, self.quota) {
            Decision::Admit { tat } => {
                local.insert(key, tat);
                Ok(())
            }
            Decision::Refuse { wait_us } => Err(Duration::from_micros(wait_us)),
        }
    }
}

/// How long login fails closed at the start of a Redis outage (see the module docs).
pub const LOGIN_FAIL_CLOSED_FOR: Duration = Duration::from_secs(30);

/// The request limits the GraphQL operations check (the AI, send and visitor limits live with
/// their services). Built once at start.
#[derive(Debug)]
pub struct RequestLimits {
    /// Login attempts per e-mail address (`LEADLINE_LOGIN_RATE_PER_MINUTE`): slows password
    /// guessing on one account.
    pub login_email: Limiter,
    /// Login attempts per client IP (`LEADLINE_LOGIN_IP_RATE_PER_MINUTE`): slows one client
    /// trying many accounts.
    pub login_ip: Limiter,
    /// Login attempts of the whole deployment (`LEADLINE_LOGIN_GLOBAL_RATE_PER_MINUTE`): caps
    /// the password hashing a distributed flood can cause.
    pub login_global: Limiter,
    /// Sign-ups per client IP (`LEADLINE_SIGNUP_RATE_PER_MINUTE`).
    pub signup: Limiter,
    /// `setTyping` calls per principal (`LEADLINE_TYPING_RATE_PER_MINUTE`).
    pub typing: Limiter,
}

impl RequestLimits {
    /// The limits of `config`, counted in `store`.
    pub fn new(config: &crate::config::Config, store: &LimitStore) -> Self {
        let login = OnOutage::FailClosedFor(LOGIN_FAIL_CLOSED_FOR);
        let quota = Quota::per_minute;
        Self {
            login_email: Limiter::new(
                "login_email",
                quota(config.login_rate_per_minute),
                login,
                store,
            ),
            login_ip: Limiter::new(
                "login_ip",
                quota(config.login_ip_rate_per_minute),
                login,
                store,
            ),
            login_global: Limiter::new(
                "login_global",
                quota(config.login_global_rate_per_minute),
                login,
                store,
            ),
            signup: Limiter::new(
                "signup_ip",
                quota(config.signup_rate_per_minute),
                OnOutage::InProcess,
                store,
            ),
            typing: Limiter::new(
                "typing",
                quota(config.typing_rate_per_minute),
                OnOutage::InProcess,
                store,
            ),
        }
    }

    /// Checks the three login limits before any password is hashed: the client's IP first (so
    /// one client's flood is refused without spending the global budget everyone shares), then
    /// the global ceiling, then the e-mail address.
    pub async fn check_login(&self, ip: Option<IpAddr>, email: &str) -> ApiResult<()> {
        if let Some(ip) = ip {
            self.login_ip.check(&ip_key(ip)).await?;
        }
        self.login_global.check("all").await?;
        self.login_email.check(&email.trim().to_lowercase()).await
    }
}

/// A refusal with the wait rounded up to whole seconds (clients get `retryAfterSeconds`).
fn limited(wait: Duration) -> Refusal {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Refusal::Limited {
        retry_after: Duration::from_secs(secs.max(1)),
    }
}

/// The key of a client address: IPv4 as is, IPv6 by its /64 (an IPv4-mapped IPv6 address is
/// its IPv4 address).
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000;

    fn wait_secs(result: Result<(), Refusal>) -> Option<u64> {
        match result {
            Err(Refusal::Limited { retry_after }) => Some(retry_after.as_secs()),
            _ => None,
        }
    }

    #[test]
    fn gcra_admits_the_burst_then_spaces_requests_by_the_interval() {
        // 3 a minute: one every 20 s, 3 at once.
        let quota = Quota::per_minute(3);
        let mut tat = None;
        for _ in 0..3 {
            match gcra(tat, 0, quota) {
                Decision::Admit { tat: next } => tat = Some(next),
                refused => panic!("burst refused: {refused:?}"),
            }
        }
        assert_eq!(
            gcra(tat, 0, quota),
            Decision::Refuse {
                wait_us: 20 * SECOND
            }
        );
        assert_eq!(
            gcra(tat, 5 * SECOND, quota),
            Decision::Refuse {
                wait_us: 15 * SECOND
            }
        );
        assert!(matches!(
            gcra(tat, 20 * SECOND, quota),
            Decision::Admit { .. }
        ));
    }

    #[test]
    fn gcra_holds_a_client_to_the_steady_rate_and_forgets_idle_time_beyond_the_burst() {
        let quota = Quota {
            per_minute: 60,
            burst: 2,
        };
        let mut tat = None;
        let mut admitted = 0;
        // One request every 100 ms for 10 s: a burst of 2, then one a second.
        for tick in 0..100_u64 {
            if let Decision::Admit { tat: next } = gcra(tat, tick * SECOND / 10, quota) {
                tat = Some(next);
                admitted += 1;
            }
        }
        assert_eq!(admitted, 2 + 9, "burst of 2, then one per second for 9.9 s");
        // An hour idle gives back the burst, not an hour of requests.
        let later = 3600 * SECOND;
        let mut burst = 0;
        while let Decision::Admit { tat: next } = gcra(tat, later, quota) {
            tat = Some(next);
            burst += 1;
        }
        assert_eq!(burst, 2);
    }

    #[tokio::test]
    async fn in_process_limiter_keys_are_separate_and_retry_after_rounds_up() {
        let limiter = Limiter::in_process("test", 60);
        for _ in 0..60 {
            assert_eq!(limiter.acquire_at("a", Some(0)).await, Ok(()));
        }
        assert_eq!(wait_secs(limiter.acquire_at("a", Some(0)).await), Some(1));
        assert_eq!(limiter.acquire_at("b", Some(0)).await, Ok(()));
        // One a second: 1.5 s later one more is admitted, the next is 0.5 s away → 1 s.
        assert_eq!(limiter.acquire_at("a", Some(1_500_000)).await, Ok(()));
        assert_eq!(
            wait_secs(limiter.acquire_at("a", Some(1_500_000)).await),
            Some(1)
        );
        let slow = Limiter::in_process("slow", 1);
        assert_eq!(slow.acquire_at("a", Some(0)).await, Ok(()));
        assert_eq!(
            wait_secs(slow.acquire_at("a", Some(100_000)).await),
            Some(60)
        );
        let error: ApiError = Refusal::Limited {
            retry_after: Duration::from_secs(60),
        }
        .into();
        assert_eq!(error.code(), "RATE_LIMITED");
        assert_eq!(error.to_json()["extensions"]["retryAfterSeconds"], 60);
    }

    #[tokio::test]
    async fn zero_switches_the_limit_off() {
        let limiter = Limiter::in_process("off", 0);
        for _ in 0..1000 {
            assert_eq!(limiter.acquire_at("k", Some(0)).await, Ok(()));
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        let parse = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(ip_key(parse("203.0.113.9")), "203.0.113.9");
        assert_eq!(
            ip_key(parse("2001:db8:1:2:aaaa::1")),
            ip_key(parse("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(ip_key(parse("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(
            ip_key(parse("2001:db8:1:2::1")),
            ip_key(parse("2001:db8:1:3::1"))
        );
        assert_eq!(ip_key(parse("::ffff:198.51.100.7")), "198.51.100.7");
    }

    #[tokio::test]
    async fn one_ipv6_subscriber_shares_one_budget_across_its_addresses() {
        let limiter = Limiter::in_process("ip", 2);
        let key = |s: &str| ip_key(s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])));
        assert_eq!(
            limiter.acquire_at(&key("2001:db8::1"), Some(0)).await,
            Ok(())
        );
        assert_eq!(
            limiter.acquire_at(&key("2001:db8::2"), Some(0)).await,
            Ok(())
        );
        assert!(limiter
            .acquire_at(&key("2001:db8::ffff"), Some(0))
            .await
            .is_err());
        assert_eq!(
            limiter.acquire_at(&key("2001:db8:0:1::1"), Some(0)).await,
            Ok(()),
            "the next /64 is someone else"
        );
    }

    /// The Redis backend, when `LEADLINE_TEST_REDIS_URL` points at one (skipped otherwise).
    fn redis_store() -> Option<LimitStore> {
        let url = std::env::var("LEADLINE_TEST_REDIS_URL").ok()?;
        let prefix = format!("test-limit-{}", uuid::Uuid::now_v7().simple());
        LimitStore::redis(&url, &prefix).ok()
    }

    /// A time far from any other test's keys (µs since the epoch, as Redis's clock would be).
    fn epoch_now() -> u64 {
        u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0)
    }

    #[tokio::test]
    async fn redis_gcra_admits_the_burst_spaces_requests_and_reports_the_wait() {
        let Some(store) = redis_store() else {
            eprintln!("skipped: LEADLINE_TEST_REDIS_URL is not set");
            return;
        };
        let limiter = Limiter::new("test", Quota::per_minute(3), OnOutage::InProcess, &store);
        let t0 = epoch_now();
        for _ in 0..3 {
            assert_eq!(limiter.acquire_at("a", Some(t0)).await, Ok(()));
        }
        assert_eq!(wait_secs(limiter.acquire_at("a", Some(t0)).await), Some(20));
        assert_eq!(
            wait_secs(limiter.acquire_at("a", Some(t0 + 5 * SECOND)).await),
            Some(15)
        );
        assert_eq!(limiter.acquire_at("b", Some(t0)).await, Ok(()));
        assert_eq!(
            limiter.acquire_at("a", Some(t0 + 20 * SECOND)).await,
            Ok(())
        );
        assert!(limiter
            .acquire_at("a", Some(t0 + 21 * SECOND))
            .await
            .is_err());
        // Redis's own clock: a fresh key is admitted at once.
        assert_eq!(limiter.acquire("c").await, Ok(()));
    }

    #[tokio::test]
    async fn redis_limiters_in_two_processes_share_one_budget_and_keys_expire() -> anyhow::Result<()>
    {
        let Some(store) = redis_store() else {
            eprintln!("skipped: LEADLINE_TEST_REDIS_URL is not set");
            return Ok(());
        };
        // Two limiters on one store stand for two replicas on one Redis.
        let quota = Quota {
            per_minute: 60,
            burst: 4,
        };
        store.warm_up().await;
        let a = Limiter::new("shared", quota, OnOutage::InProcess, &store);
        let b = Limiter::new("shared", quota, OnOutage::InProcess, &store);
        // One instant for the burst: on a loaded machine a second could pass between calls and
        // refill a token, which is the limiter being right and the test being flaky.
        let now = Some(epoch_now());
        for limiter in [&a, &b, &a, &b] {
            assert_eq!(limiter.acquire_at("k", now).await, Ok(()));
        }
        assert!(a.acquire_at("k", now).await.is_err());
        assert!(b.acquire_at("k", now).await.is_err());
        // The steady rate (one a second) holds across both.
        let t0 = epoch_now() + 3600 * SECOND;
        for limiter in [&a, &b, &a, &b] {
            assert_eq!(limiter.acquire_at("steady", Some(t0)).await, Ok(()));
        }
        assert_eq!(b.acquire_at("steady", Some(t0 + SECOND)).await, Ok(()));
        assert!(a.acquire_at("steady", Some(t0 + SECOND)).await.is_err());

        let Some(redis) = &store.redis else {
            panic!("a Redis store has Redis");
        };
        let client = redis::Client::open(std::env::var("LEADLINE_TEST_REDIS_URL")?)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let key = redis
            .conn
            .key(&format!("limit:shared:{}", crate::auth::sha256_hex("k")));
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        // 4 of burst at one a second: the TAT is at most ~5 s ahead, plus a second of slack.
        assert!(ttl > 0 && ttl <= 7_000, "the key expires (PTTL {ttl} ms)");
        Ok(())
    }

    #[tokio::test]
    async fn an_unreachable_redis_fails_closed_briefly_or_falls_back_in_process() {
        // Nothing listens on port 1.
        let Ok(store) = LimitStore::redis("redis://127.0.0.1:1", "down") else {
            panic!("a valid URL");
        };
        let closed = Limiter::new(
            "login",
            Quota::per_minute(2),
            OnOutage::FailClosedFor(Duration::from_secs(60)),
            &store,
        );
        assert_eq!(closed.acquire("a").await, Err(Refusal::Unavailable));
        let error: ApiError = Refusal::Unavailable.into();
        assert_eq!(error.code(), "UNAVAILABLE");
        let open = Limiter::new(
            "visitors",
            Quota::per_minute(2),
            OnOutage::InProcess,
            &store,
        );
        assert_eq!(open.acquire("a").await, Ok(()));
        assert_eq!(open.acquire("a").await, Ok(()));
        assert!(matches!(
            open.acquire("a").await,
            Err(Refusal::Limited { .. })
        ));
        // A grace period that has run out counts in process.
        let brief = Limiter::new(
            "login",
            Quota::per_minute(1),
            OnOutage::FailClosedFor(Duration::ZERO),
            &store,
        );
        assert_eq!(brief.acquire("a").await, Ok(()));
        assert!(matches!(
            brief.acquire("a").await,
            Err(Refusal::Limited { .. })
        ));
    }
}
