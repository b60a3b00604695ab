//! A floor under the pace of request bodies. Header time is bounded by actix itself
//! (`client_request_timeout`); a body has no such bound, so a client trickling one byte a
//! second would hold its connection, its buffers and, for an upload, its place in the
//! device's upload allowance for as long as it liked. Every body must arrive within a
//! grace time plus one second for every `min_rate` bytes received (the rule of Apache's
//! `mod_reqtimeout`): a slow village network at a few kB/s passes, a trickle is cut off.
//! An upload keeps what arrived before the cut, so the phone resumes from the offset.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::rt::time::{Instant, Sleep, sleep_until};
use actix_web::web::{Bytes, Data};
use bangfu_sync::Code;
use futures_util::Stream;

use crate::infra::error::Error;

/// How slowly a body may arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    /// Time every body gets before the rate counts.
    pub grace: Duration,
    /// Bytes per second that earn one more second.
    pub min_rate: u64,
}

impl Default for BodyPace {
    fn default() -> Self {
        BodyPace {
            grace: Duration::from_secs(20),
            min_rate: 500,
        }
    }
}

impl BodyPace {
    /// How long a body that has delivered `received` bytes may have taken by now.
    pub fn allowance(&self, received: u64) -> Duration {
        self.grace + Duration::from_secs(received / self.min_rate.max(1))
    }
}

/// The error a paced body ends with, so the extractors can tell it apart and answer 408.
#[derive(Debug, thiserror::Error)]
#[error("request body below the minimum rate")]
struct TooSlow;

fn too_slow() -> PayloadError {
    PayloadError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, TooSlow))
}

/// Whether a payload error is this module's cut-off.
pub fn is_too_slow(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<TooSlow>()))
}

/// The answer for a body that could not be read: too slow (408) or broken off (400).
pub fn unreadable(e: &PayloadError) -> Error {
    if is_too_slow(e) {
        Error::BodyTooSlow
    } else {
        Error::BadRequest {
            code: Code::BodyUnreadable,
            detail: crate::infra::error::Msg::fixed(
                "请求体读取失败。",
                "The request body could not be read.",
            ),
        }
    }
}

/// Wraps every request's body in the pace check of the install's [`BodyPace`].
pub async fn pace_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let pace = req
        .app_data::<Data<BodyPace>>()
        .map(|p| *p.get_ref())
        .unwrap_or_default();
    // Requests without a body (most reads, pulls among them) need no timer.
    match req.take_payload() {
        Payload::None => {}
        inner => req.set_payload(Payload::Stream {
            payload: Box::pin(Paced::new(inner, pace)),
        }),
    }
    next.call(req).await
}

/// A body stream that fails with [`TooSlow`] once it falls behind its allowance.
struct Paced {
    inner: Payload,
    pace: BodyPace,
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    done: bool,
}

impl Paced {
    fn new(inner: Payload, pace: BodyPace) -> Paced {
        let started = Instant::now();
        Paced {
            inner,
            pace,
            started,
            received: 0,
            timer: Box::pin(sleep_until(started + pace.allowance(0))),
            done: false,
        }
    }
}

impl Stream for Paced {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                let deadline = this.started + this.pace.allowance(this.received);
                this.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => {
                this.done = other.is_none();
                Poll::Ready(other)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(too_slow())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rate_worth_of_bytes_earns_a_second() {
        let pace = BodyPace {
            grace: Duration::from_secs(20),
            min_rate: 500,
        };
        assert_eq!(pace.allowance(0), Duration::from_secs(20));
        assert_eq!(pace.allowance(499), Duration::from_secs(20));
        assert_eq!(pace.allowance(5_000), Duration::from_secs(30));
        // A photo of 3 MB may take 6,020 s at the floor: 500 B/s, a very poor network.
        assert_eq!(pace.allowance(3_000_000), Duration::from_secs(6_020));
    }

    #[test]
    fn only_the_cut_off_reads_as_too_slow() {
        let cut = too_slow();
        assert!(is_too_slow(&cut));
        assert!(matches!(unreadable(&cut), Error::BodyTooSlow));
        // A timeout of another kind, even with the same words, is not the cut-off.
        let other = PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            TooSlow.to_string(),
        ));
        assert!(!is_too_slow(&other));
        assert!(!is_too_slow(&PayloadError::Incomplete(None)));
    }

    fn boxed(s: impl Stream<Item = Result<Bytes, PayloadError>> + 'static) -> Payload {
        Payload::Stream {
            payload: Box::pin(s),
        }
    }

    #[actix_web::test]
    async fn a_trickle_is_cut_off_and_a_steady_body_is_not() {
        use futures_util::StreamExt;
        let pace = BodyPace {
            grace: Duration::from_millis(200),
            min_rate: 1_000,
        };
        // Never sends anything: cut at the grace time.
        let silent = boxed(futures_util::stream::pending());
        let mut paced = Paced::new(silent, pace);
        let t = Instant::now();
        let first = paced.next().await;
        assert!(matches!(first, Some(Err(ref e)) if is_too_slow(e)));
        assert!(t.elapsed() >= Duration::from_millis(200));
        assert!(paced.next().await.is_none());
        // Sends everything at once: passes.
        let body = boxed(futures_util::stream::iter([Ok(Bytes::from_static(b"{}"))]));
        let mut paced = Paced::new(body, pace);
        assert_eq!(
            paced.next().await.and_then(|r| r.ok()).as_deref(),
            Some(&b"{}"[..])
        );
        assert!(paced.next().await.is_none());
    }
}
