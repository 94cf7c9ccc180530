//! The clock behind the per-call time limit: one background thread advances the epoch of
//! every live engine every [`TICK`] while a plugin call is running, and sleeps (parked, no
//! wake-ups) once no call has run for a second, so an idle merchant program pays nothing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use wasmtime::{Engine, EngineWeak};

/// How often the epoch advances during calls: the time limit's resolution.
pub(crate) const TICK: Duration = Duration::from_millis(10);
/// Idle time after which the thread parks.
const IDLE: Duration = Duration::from_secs(1);

struct Ticker {
    engines: Mutex<Vec<EngineWeak>>,
    active: AtomicUsize,
    parked: AtomicBool,
    thread: OnceLock<Thread>,
}

static TICKER: Ticker = Ticker {
    engines: Mutex::new(Vec::new()),
    active: AtomicUsize::new(0),
    parked: AtomicBool::new(false),
    thread: OnceLock::new(),
};

/// The ticker, its thread started on first use.
fn ticker() -> &'static Ticker {
    TICKER.thread.get_or_init(|| {
        thread::Builder::new()
            .name("keyward-epoch".into())
            .spawn(|| run(&TICKER))
            .map(|h| h.thread().clone())
            // Without the thread no deadline passes; calls still work (and fuel, if
            // configured, still bounds them).
            .unwrap_or_else(|_| thread::current())
    });
    &TICKER
}

fn run(t: &'static Ticker) {
    let mut last_busy = Instant::now();
    loop {
        if t.active.load(Ordering::SeqCst) > 0 {
            last_busy = Instant::now();
        } else if last_busy.elapsed() >= IDLE {
            // Announce the park, then look again: a call starting in between either sees
            // `parked` and unparks us, or is seen here.
            t.parked.store(true, Ordering::SeqCst);
            if t.active.load(Ordering::SeqCst) == 0 {
                thread::park();
            }
            t.parked.store(false, Ordering::SeqCst);
            last_busy = Instant::now();
            continue;
        }
        thread::sleep(TICK);
        let mut engines = t.engines.lock().unwrap_or_else(|p| p.into_inner());
        engines.retain(|w| match w.upgrade() {
            Some(e) => {
                e.increment_epoch();
                true
            }
            None => false,
        });
    }
}

/// Advances `engine`'s epoch from now on (until the engine is dropped).
pub(crate) fn register(engine: &Engine) {
    let t = ticker();
    t.engines
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(engine.weak());
}

/// Marks a plugin call as running for as long as it lives.
pub(crate) struct Running(());

impl Running {
    pub(crate) fn start() -> Running {
        let t = ticker();
        t.active.fetch_add(1, Ordering::SeqCst);
        if t.parked.load(Ordering::SeqCst) {
            if let Some(thread) = t.thread.get() {
                thread.unpark();
            }
        }
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        ticker().active.fetch_sub(1, Ordering::SeqCst);
    }
}
