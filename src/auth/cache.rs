//! Who the subject of one of the service's own tokens is (account or API client, unit, roles),
//! remembered for a moment so that a burst of requests with one token reads the account once.
//!
//! Changes made through this process (`PATCH /users/{id}`, `PATCH /clients/{id}`) forget the
//! entry at once; changes made by another process sharing the database (a second instance, the
//! command line) take effect within the time to live (`CALLER_CACHE_MS`, 0 turns the cache
//! off). Only successful look-ups are kept: an unknown or deactivated subject is read again on
//! every request.
//!
//! The service's own tokens that verified are remembered for the same time to live, by their
//! exact text, with their subject: the signature, issuer, audience and `nbf` of the same bytes
//! verify the same way until the token expires, and an entry is never used at or past the
//! token's `exp`. Checking a token's signature and claims was 7 % of the service's CPU on a
//! `GET` by id (bench/RESULTS.md).

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use super::caller::Resolved;

/// The most subjects remembered at once; past it, the least used are dropped.
const CAPACITY: usize = 10_000;

pub struct CallerCache {
    ttl: Duration,
    entries: Option<Cache<String, (Instant, Resolved)>>,
    /// Verified own tokens: when verified, the `sub` claim and the `exp` claim (Unix seconds).
    tokens: Option<Cache<String, (Instant, String, i64)>>,
}

impl CallerCache {
    pub fn new(ttl: Duration) -> Self {
        CallerCache {
            ttl,
            entries: (!ttl.is_zero()).then(|| Cache::new(CAPACITY)),
            tokens: (!ttl.is_zero()).then(|| Cache::new(CAPACITY)),
        }
    }

    /// The subject of `token` if it verified less than the time to live ago and, at `now`
    /// (Unix seconds), has not expired.
    pub fn verified_subject(&self, token: &str, now: i64) -> Option<String> {
        let (stored, subject, expires) = self.tokens.as_ref()?.get(token)?;
        (fresh(stored.elapsed(), self.ttl) && now < expires).then_some(subject)
    }

    /// Records that `token`, with claims `subject` and `expires`, verified just now.
    pub fn put_verified(&self, token: &str, subject: &str, expires: i64) {
        if let Some(tokens) = &self.tokens {
            tokens.insert(
                token.to_owned(),
                (Instant::now(), subject.to_owned(), expires),
            );
        }
    }

    /// What `subject` resolved to, if that was less than the time to live ago.
    pub fn get(&self, subject: &str) -> Option<Resolved> {
        let (stored, resolved) = self.entries.as_ref()?.get(subject)?;
        fresh(stored.elapsed(), self.ttl).then_some(resolved)
    }

    pub fn put(&self, subject: &str, resolved: Resolved) {
        if let Some(entries) = &self.entries {
            entries.insert(subject.to_owned(), (Instant::now(), resolved));
        }
    }

    /// Forgets `subject` (a token's `sub`: the user id, or `client:<id>`), after its account
    /// or client changed.
    pub fn forget(&self, subject: &str) {
        if let Some(entries) = &self.entries {
            entries.remove(subject);
        }
    }
}

/// Whether an entry of this age may still be used.
fn fresh(age: Duration, ttl: Duration) -> bool {
    age < ttl
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Identity;
    use crate::domain::role::Role;

    fn resolved(id: i64) -> Resolved {
        (
            Identity::User {
                id,
                username: format!("user{id}"),
            },
            Some("PTHQH".into()),
            vec![Role::Officer],
        )
    }

    #[test]
    fn remembers_until_forgotten() {
        let cache = CallerCache::new(Duration::from_secs(60));
        assert_eq!(cache.get("7"), None);
        cache.put("7", resolved(7));
        assert_eq!(cache.get("7"), Some(resolved(7)));
        assert_eq!(cache.get("8"), None);
        cache.forget("7");
        assert_eq!(cache.get("7"), None);
    }

    #[test]
    fn zero_time_to_live_remembers_nothing() {
        let cache = CallerCache::new(Duration::ZERO);
        cache.put("7", resolved(7));
        assert_eq!(cache.get("7"), None);
        cache.put_verified("token", "7", i64::MAX);
        assert_eq!(cache.verified_subject("token", 0), None);
    }

    #[test]
    fn a_verified_token_is_known_by_its_exact_text_until_it_expires() {
        let cache = CallerCache::new(Duration::from_secs(60));
        cache.put_verified("header.claims.signature", "7", 1_000);
        assert_eq!(
            cache.verified_subject("header.claims.signature", 999),
            Some("7".into())
        );
        assert_eq!(
            cache.verified_subject("header.claims.signature", 1_000),
            None
        );
        assert_eq!(cache.verified_subject("header.claims.signaturE", 999), None);
        assert_eq!(
            cache.verified_subject("header.claims.signature ", 999),
            None
        );
    }

    #[test]
    fn entries_expire_at_the_time_to_live() {
        let ttl = Duration::from_millis(1000);
        assert!(fresh(Duration::ZERO, ttl));
        assert!(fresh(Duration::from_millis(999), ttl));
        assert!(!fresh(ttl, ttl));
        assert!(!fresh(Duration::from_secs(5), ttl));
    }
}
