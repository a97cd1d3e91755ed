//! Waiting for AWS to reach a state, with a timeout and jittered backoff, saying what was
//! waited for: the one wait loop, which the engine runs around a kind's
//! [`ready`](crate::Resource::ready) and [`gone`](crate::Resource::gone) polls.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::resource::Progress;
use crate::retry::full_jitter;

/// How long and how often to poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Give up after this long.
    pub timeout: Duration,
    /// The first pause between polls (at most: pauses have [full jitter](full_jitter)).
    pub initial_delay: Duration,
    /// The longest pause between polls.
    pub max_delay: Duration,
}

impl Default for Wait {
    /// Ten minutes: NAT gateways and load balancers take a few.
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Wait {
    /// Ten minutes, polling from every second to every fifteen.
    pub const DEFAULT: Wait = Wait::new(
        Duration::from_secs(600),
        Duration::from_secs(1),
        Duration::from_secs(15),
    );

    /// A wait of at most `timeout`, polling after `initial_delay` and then at most every
    /// `max_delay` (a kind's [`WAIT`](crate::Resource::WAIT)).
    pub const fn new(timeout: Duration, initial_delay: Duration, max_delay: Duration) -> Self {
        Self {
            timeout,
            initial_delay,
            max_delay,
        }
    }

    /// A wait of at most `timeout`.
    pub fn timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }

    /// Polls until `poll` returns `Some`, an error, or the timeout passes, which is an
    /// [`Error::WaitTimedOut`] naming `what`. The timeout holds during a poll too: a poll
    /// still unanswered at the deadline is dropped.
    pub async fn until<T, F, Fut>(&self, what: &str, mut poll: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        self.poll(what, || {
            let polled = poll();
            async move {
                Ok(match polled.await? {
                    Some(done) => Progress::Done(done),
                    None => Progress::pending(what),
                })
            }
        })
        .await
    }

    /// Polls until `poll` is [`Progress::Done`], fails, or the timeout passes, which is an
    /// [`Error::WaitTimedOut`] naming what the last [`Progress::Pending`] waited for
    /// (`what` before any). A pending poll's `after` sets the next pause (at most what is
    /// left); else the pauses back off with full jitter. A wait that really waits (its first
    /// poll is pending) is announced through [`events`](crate::events), under the first
    /// pending poll's `what`.
    pub async fn poll<T, F, Fut>(&self, what: &str, mut poll: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Progress<T>, Error>>,
    {
        let start = Instant::now();
        let mut attempt = 0;
        let mut announced: Option<String> = None;
        let mut waiting_for = what.to_owned();
        // What the timeout's error says: what is waited for, and what AWS said lately.
        let mut last = what.to_owned();
        let ended = |announced: &Option<String>| {
            if let Some(what) = announced {
                crate::events::wait_ended(what, start.elapsed());
            }
        };
        loop {
            let left = self.timeout.saturating_sub(start.elapsed());
            let Ok(polled) = tokio::time::timeout(left, poll()).await else {
                ended(&announced);
                return Err(Error::WaitTimedOut {
                    what: last,
                    waited: start.elapsed(),
                });
            };
            let after = match polled {
                Ok(Progress::Pending {
                    what,
                    after,
                    lately,
                }) => {
                    last = match lately {
                        Some(lately) => format!("{what}; {lately}"),
                        None => what.clone(),
                    };
                    waiting_for = what;
                    after
                }
                Ok(Progress::Done(done)) => {
                    ended(&announced);
                    tracing::info!(what = %waiting_for, elapsed = ?start.elapsed(), "done waiting");
                    return Ok(done);
                }
                Err(err) => {
                    ended(&announced);
                    return Err(err);
                }
            };
            // Only waits that really wait are news; a first poll that finds it done is not.
            if announced.is_none() {
                crate::events::wait_started(&waiting_for);
                announced = Some(waiting_for.clone());
            }
            let waited = start.elapsed();
            if waited >= self.timeout {
                ended(&announced);
                return Err(Error::WaitTimedOut { what: last, waited });
            }
            tracing::debug!(what = %waiting_for, ?waited, "waiting");
            let delay =
                after.unwrap_or_else(|| full_jitter(self.initial_delay, self.max_delay, attempt));
            tokio::time::sleep(delay.min(self.timeout - waited)).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_when_ready() {
        let mut polls = 0;
        let wait = Wait {
            timeout: Duration::from_secs(1),
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let got = wait
            .until("the thing", || {
                polls += 1;
                let ready = polls == 3;
                async move { Ok(ready.then_some("ok")) }
            })
            .await
            .unwrap();
        assert_eq!((got, polls), ("ok", 3));
    }

    #[tokio::test]
    async fn a_poll_that_hangs_times_out_at_the_deadline() {
        let wait = Wait {
            timeout: Duration::from_millis(50),
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let start = Instant::now();
        let mut polls = 0;
        let err = wait
            .until("the load balancer to be active", || {
                polls += 1;
                let first = polls == 1;
                async move {
                    if first {
                        Ok(None)
                    } else {
                        std::future::pending::<Result<Option<()>, Error>>().await
                    }
                }
            })
            .await
            .unwrap_err();
        let took = start.elapsed();
        assert!(
            matches!(err, Error::WaitTimedOut { ref what, .. } if what == "the load balancer to be active"),
            "{err}"
        );
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[tokio::test]
    async fn timeout_names_what_it_waited_for() {
        let wait = Wait {
            timeout: Duration::from_millis(10),
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(2),
        };
        let err = wait
            .until("NAT gateway nat-1 to be available", || async {
                Ok(None::<()>)
            })
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("timed out after ")
                && text.ends_with("waiting for NAT gateway nat-1 to be available"),
            "{text}"
        );
    }
}
