//! What the gateway takes before publishing anything: a rate per credential and a bound on the
//! requests waiting on JetStream. Both refusals come before a single event is published, with
//! `Retry-After`, so a provider's retry loses nothing; both are counted in `/metrics`
//! (`http_requests_refused_total{reason}`, `gateway_refused_total{reason, credential}`).
//!
//! - `gateway.rate_limit_per_second` (unset: no limit): events per second per credential (the
//!   ingest token, each provider), a token bucket (`governor`) whose burst holds one full
//!   request (`gateway.max_batch`). Past it: 429. A provider batch larger than the bucket is
//!   refused too: with a limit, set it to at least the providers' batch sizes.
//! - `gateway.max_in_flight`: requests publishing at once. Past it the gateway sheds: 503, so
//!   a slow JetStream cannot pile up requests without bound.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use relance_shared::http::ApiError;

pub struct Admission {
    limiter: Option<DefaultKeyedRateLimiter<&'static str>>,
    max_in_flight: usize,
    in_flight: AtomicUsize,
}

/// A request counted in flight until dropped.
pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refused(reason: &'static str, credential: &'static str) {
    metrics::counter!("http_requests_refused_total", "reason" => reason).increment(1);
    metrics::counter!("gateway_refused_total", "reason" => reason, "credential" => credential)
        .increment(1);
}

impl Admission {
    pub fn new(rate_per_second: Option<u32>, max_batch: usize, max_in_flight: usize) -> Self {
        let limiter = rate_per_second.and_then(NonZeroU32::new).map(|rate| {
            let burst = u32::try_from(max_batch)
                .ok()
                .and_then(NonZeroU32::new)
                .map_or(rate, |batch| batch.max(rate));
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            limiter,
            max_in_flight,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Admits `events` of `credential` for publishing, or refuses before anything is done.
    pub fn admit(&self, credential: &'static str, events: usize) -> Result<InFlight<'_>, ApiError> {
        let taken = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        if taken >= self.max_in_flight {
            refused("shed", credential);
            return Err(ApiError::Busy {
                detail: "the gateway is busy publishing; retry shortly".into(),
                retry_after_secs: 1,
            });
        }
        let (Some(limiter), Some(events)) = (
            &self.limiter,
            NonZeroU32::new(u32::try_from(events).unwrap_or(u32::MAX)),
        ) else {
            return Ok(guard);
        };
        match limiter.check_key_n(&credential, events) {
            Ok(Ok(())) => Ok(guard),
            Ok(Err(not_until)) => {
                refused("rate_limited", credential);
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::TooManyRequests {
                    detail: format!(
                        "more than gateway.rate_limit_per_second events for {credential}"
                    ),
                    retry_after_secs: wait.as_secs().max(1),
                })
            }
            // More events in one request than the bucket ever holds (max_batch is its floor).
            Err(_) => {
                refused("rate_limited", credential);
                Err(ApiError::TooManyRequests {
                    detail: format!("a request larger than {credential}'s rate allows"),
                    retry_after_secs: 1,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_credential_has_its_own_bucket_and_a_refusal_says_when_to_retry() {
        let admission = Admission::new(Some(5), 5, 100);
        assert!(admission.admit("ingest", 5).is_ok());
        match admission.admit("ingest", 1) {
            Err(ApiError::TooManyRequests {
                retry_after_secs, ..
            }) => assert!(retry_after_secs >= 1),
            _ => panic!("the sixth event within a second is refused"),
        }
        assert!(admission.admit("resend", 5).is_ok(), "another credential");
        let unlimited = Admission::new(None, 1000, 100);
        for _ in 0..100 {
            assert!(unlimited.admit("ingest", 1000).is_ok());
        }
    }

    #[test]
    fn past_the_in_flight_bound_requests_are_shed_until_one_ends() {
        let admission = Admission::new(None, 1000, 2);
        let first = admission.admit("ingest", 1).ok();
        let second = admission.admit("ingest", 1).ok();
        assert!(first.is_some() && second.is_some());
        assert!(matches!(
            admission.admit("ingest", 1),
            Err(ApiError::Busy { .. })
        ));
        drop(first);
        assert!(admission.admit("ingest", 1).is_ok());
    }
}
