//! Delivering logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.5): a bounded in-process
//! queue, drained in the background by a few concurrent deliveries, each retried a few times.
//!
//! - **Bounded**: the queue holds at most `queue_capacity` deliveries, and at most `concurrency`
//!   are in flight (the worker takes a delivery from the queue only when a slot is free, so
//!   nothing is held beyond the two). A logout that finds the queue full drops its delivery (an
//!   error log and a [`BackchannelLogoutOutcome::Dropped`] event) rather than wait or grow: a
//!   logout never blocks on a relying party, and a flood of logouts cannot grow the process.
//! - **Not durable**: the queue lives in the process; a process that stops or dies loses the
//!   deliveries still queued (the relying parties' sessions then end on their own, when their
//!   tokens expire or are refused: the grants are revoked before anything is queued).
//! - **Retries** (§2.8): 200 and 204 are success. Any other 4xx than 429 is the relying party's
//!   final answer, and a redirect is not followed (its address was not the one checked); neither
//!   is retried, nor is an address the fetch policy refuses. A 5xx, a 429, a timeout or a
//!   connection failure is tried again after a backoff that grows fourfold (by default 3
//!   attempts: now, after 1 s, after 4 s more).
//! - Sent through the [`Fetcher`] and its SSRF policy (`fetch/mod.rs`), without redirects.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use url::Url;

use super::{FetchError, FetchPolicy, Fetcher};
use crate::host::events::BackchannelLogoutOutcome;

/// The default of [`DeliveryPolicy::queue_capacity`].
pub(crate) const DEFAULT_QUEUE_CAPACITY: usize = 1_000;
/// The default of [`DeliveryPolicy::concurrency`].
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;
/// The default of [`DeliveryPolicy::attempts`].
pub(crate) const DEFAULT_ATTEMPTS: u32 = 3;
/// The default of [`DeliveryPolicy::first_backoff`].
pub(crate) const DEFAULT_FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The deadline of one attempt: connecting, sending, and the response's head and body.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a response body is read (and dropped): §2.8 gives the body no meaning.
const MAX_RESPONSE_BYTES: usize = 4 * 1024;

/// How logout tokens are delivered; set through the builder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeliveryPolicy {
    /// The most deliveries waiting at once (at least 1).
    pub(crate) queue_capacity: usize,
    /// The most deliveries in flight at once (at least 1).
    pub(crate) concurrency: usize,
    /// How many times a delivery is tried (at least 1).
    pub(crate) attempts: u32,
    /// The wait before the second attempt; each later wait is four times the one before.
    pub(crate) first_backoff: Duration,
    /// Whether `http` URLs and loopback or private addresses may be reached (development).
    pub(crate) allow_development: bool,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            concurrency: DEFAULT_CONCURRENCY,
            attempts: DEFAULT_ATTEMPTS,
            first_backoff: DEFAULT_FIRST_BACKOFF,
            allow_development: false,
        }
    }
}

/// One logout token to send.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The relying party's `backchannel_logout_uri`.
    pub(crate) uri: String,
    /// The signed logout token.
    pub(crate) token: String,
    /// The relying party.
    pub(crate) client_id: String,
    /// The user whose session ended.
    pub(crate) subject: String,
    /// The session that ended, if it had an identifier.
    pub(crate) session_id: Option<String>,
}

/// Hears what became of each delivery (the provider's event sink, reached without keeping the
/// provider alive).
pub(crate) type Report = Arc<dyn Fn(&Delivery, BackchannelLogoutOutcome<'_>) + Send + Sync>;

/// The queue and its worker.
pub(crate) struct Notifier {
    sender: mpsc::Sender<Delivery>,
    /// Taken by the first delivery, which starts the worker on the runtime it runs on (the
    /// builder may run outside one).
    receiver: Mutex<Option<mpsc::Receiver<Delivery>>>,
    fetcher: Fetcher,
    policy: DeliveryPolicy,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Notifier {
    /// A queue under `policy`, its worker not started yet.
    pub(crate) fn new(policy: DeliveryPolicy) -> Result<Self, FetchError> {
        let policy = DeliveryPolicy {
            queue_capacity: policy.queue_capacity.max(1),
            concurrency: policy.concurrency.max(1),
            attempts: policy.attempts.max(1),
            ..policy
        };
        let fetcher = Fetcher::without_redirects(FetchPolicy {
            timeout: ATTEMPT_TIMEOUT,
            max_bytes: MAX_RESPONSE_BYTES,
            allow_private_addresses: policy.allow_development,
            allow_http: policy.allow_development,
        })?;
        let (sender, receiver) = mpsc::channel(policy.queue_capacity);
        Ok(Self { sender, receiver: Mutex::new(Some(receiver)), fetcher, policy })
    }

    /// Queues `delivery` without waiting; gives it back when the queue is full. `report` makes the
    /// reporter the worker uses, called once, by the first delivery.
    pub(crate) fn enqueue(&self, delivery: Delivery, report: impl FnOnce() -> Report) -> Result<(), Box<Delivery>> {
        let receiver = self.receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(receiver) = receiver {
            tokio::spawn(work(receiver, self.fetcher.clone(), self.policy, report()));
        }
        self.sender.try_send(delivery).map_err(|error| match error {
            mpsc::error::TrySendError::Full(delivery) | mpsc::error::TrySendError::Closed(delivery) => {
                Box::new(delivery)
            }
        })
    }
}

/// Drains the queue, at most `policy.concurrency` deliveries at once, until every sender is
/// gone (the provider was dropped).
async fn work(mut receiver: mpsc::Receiver<Delivery>, fetcher: Fetcher, policy: DeliveryPolicy, report: Report) {
    let slots = Arc::new(Semaphore::new(policy.concurrency));
    loop {
        // A slot first, then a delivery: while every slot is busy the deliveries stay in the
        // queue, so that what is held is exactly the queue's capacity plus the slots.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        let Some(delivery) = receiver.recv().await else { return };
        let (fetcher, report) = (fetcher.clone(), Arc::clone(&report));
        tokio::spawn(async move {
            deliver(&fetcher, &delivery, policy, &report).await;
            drop(slot);
        });
    }
}

/// Sends one logout token, retrying what may succeed later, and reports the outcome.
async fn deliver(fetcher: &Fetcher, delivery: &Delivery, policy: DeliveryPolicy, report: &Report) {
    let Ok(url) = Url::parse(&delivery.uri) else {
        report(delivery, BackchannelLogoutOutcome::Failed { attempts: 0, reason: "the URI is not a URL" });
        return;
    };
    // §2.5: the token is the one form parameter `logout_token`.
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", &delivery.token).finish();
    let mut backoff = policy.first_backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let reason = match fetcher.post_form(&url, body.clone()).await {
            // §2.8: "If the logout succeeded, the RP MUST respond with HTTP 200 OK", and 204 is
            // what many answer.
            Ok(200 | 204) => {
                report(delivery, BackchannelLogoutOutcome::Delivered { attempts: attempt });
                return;
            }
            Ok(status) if status == 429 || status >= 500 => format!("the relying party answered {status}"),
            Ok(status) => {
                // A refusal (§2.8: 400 with an error) or a redirect: asking again will not change it.
                let reason = format!("the relying party answered {status}");
                report(delivery, BackchannelLogoutOutcome::Failed { attempts: attempt, reason: &reason });
                return;
            }
            Err(error @ (FetchError::Refused(_) | FetchError::Address)) => {
                let reason = error.to_string();
                report(delivery, BackchannelLogoutOutcome::Failed { attempts: attempt, reason: &reason });
                return;
            }
            Err(error) => error.to_string(),
        };
        if attempt >= policy.attempts {
            report(delivery, BackchannelLogoutOutcome::Failed { attempts: attempt, reason: &reason });
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(4);
    }
}
