//! [`PollWhenWoken`]: a future inside a `select!` loop that is polled only
//! when it has something to say.
//!
//! `tokio::select!` polls every branch each time its task wakes. A panel's
//! task wakes once per step it sends, so its shutdown and keep-alive
//! branches were polled once per frame too. Polling the shutdown future
//! locks the cancellation token's mutex and its `Notify`'s waiter list,
//! both shared by every panel task on both worker threads, so at 1,000
//! panels that was thousands of contended lock round trips per press (see
//! docs/performance.md, "CPU per delivered frame"). Wrapped in
//! [`PollWhenWoken`], such a future is polled once to register, and then
//! only after its own waker fired (or after it returned `Ready`, so a
//! re-armed timer registers again).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;

/// Polls `F` only on its first poll, after its own waker fired, and after
/// it returned `Ready` (a re-usable future such as a timer's tick).
pub struct PollWhenWoken<F> {
    inner: Pin<Box<F>>,
    flag: Arc<Flag>,
    /// The waker handed to `inner`: sets `flag` and wakes our task.
    waker: Waker,
}

struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F: Future> PollWhenWoken<F> {
    pub fn new(inner: F) -> PollWhenWoken<F> {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        PollWhenWoken {
            inner: Box::pin(inner),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    /// Polls the inner future if it may be ready; the same as `poll`.
    pub fn poll_woken(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let mut inner_cx = Context::from_waker(&self.waker);
        match self.inner.as_mut().poll(&mut inner_cx) {
            Poll::Ready(out) => {
                // Poll it again next time: a timer re-arms on its next poll.
                self.flag.woken.store(true, Ordering::Release);
                Poll::Ready(out)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> Future for PollWhenWoken<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // `inner` is boxed, so `Self` is `Unpin`.
        self.get_mut().poll_woken(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;

    #[tokio::test]
    async fn wakes_when_its_future_is_ready_and_not_before() {
        let token = CancellationToken::new();
        let mut cancelled = PollWhenWoken::new(token.clone().cancelled_owned());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(cancelled.poll_woken(&mut cx).is_pending());
        assert!(cancelled.poll_woken(&mut cx).is_pending());
        let canceller = tokio::spawn({
            let token = token.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                token.cancel();
            }
        });
        tokio::time::timeout(Duration::from_secs(5), &mut cancelled)
            .await
            .expect("woken by the cancellation");
        canceller.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_reusable_timer_fires_again_after_ready() {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let mut tick = PollWhenWoken::new(std::future::poll_fn(move |cx| {
            interval.poll_tick(cx).map(|_| ())
        }));
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            (&mut tick).await;
        }
        // The first tick is immediate, then one per second.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }
}
