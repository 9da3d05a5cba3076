//! The progress bar of long runs: on stderr, only when stderr is a terminal, and only
//! once a run has taken a second (a hand-written scenario never shows one). It is
//! cleared before the outcome is printed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gil_engine::{Progress, ProgressFn};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before its bar appears (`GIL_PROGRESS_AFTER_MS` sets it, for
/// tests that must see the bar on any machine).
fn show_after() -> Duration {
    std::env::var("GIL_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis)
}

/// Clears the bar (if it was shown) when dropped.
pub struct Bar(Arc<Mutex<Option<ProgressBar>>>);

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = self.0.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
    }
}

/// A progress callback for `Options::progress` and the bar it draws, or `None` when
/// stderr is not a terminal.
pub fn bar() -> Option<(ProgressFn, Bar)> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let started = Instant::now();
    let after = show_after();
    let shown: Arc<Mutex<Option<ProgressBar>>> = Arc::new(Mutex::new(None));
    let slot = shown.clone();
    let callback = move |p: Progress<'_>| {
        if started.elapsed() < after {
            return;
        }
        let Ok(mut slot) = slot.lock() else {
            return;
        };
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(p.total as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{bar:24} {pos}/{len} rule runs · {msg} · eta {eta}")
            {
                bar.set_style(style);
            }
            bar
        });
        bar.set_position(p.done as u64);
        bar.set_message(format!("{} {}", p.year, p.rule));
    };
    Some((ProgressFn(Arc::new(callback)), Bar(shown)))
}

/// A tick to call after each run of a sweep, and the bar it draws (runs/s and an ETA),
/// or `None` when stderr is not a terminal.
pub fn runs_bar(total: u64) -> Option<(Arc<dyn Fn() + Send + Sync>, Bar)> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let started = Instant::now();
    let after = show_after();
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:24} {pos}/{len} runs · {per_sec} · eta {eta}")
    {
        bar.set_style(style);
    }
    let shown: Arc<Mutex<Option<ProgressBar>>> = Arc::new(Mutex::new(Some(bar.clone())));
    let visible = std::sync::atomic::AtomicBool::new(false);
    let tick = move || {
        bar.inc(1);
        if !visible.load(std::sync::atomic::Ordering::Relaxed) && started.elapsed() >= after {
            visible.store(true, std::sync::atomic::Ordering::Relaxed);
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        }
    };
    Some((Arc::new(tick), Bar(shown)))
}
