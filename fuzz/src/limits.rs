//! The budget of one parser call: CPU time and peak heap, checked on every call a target
//! makes. Exceeding it panics with what was measured, which libFuzzer reports as a crash and
//! saves under `fuzz/artifacts/<target>/`.
//!
//! Time is this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on a shared
//! machine do not count; a call over the limit is timed twice more and only the fastest of
//! the three counts, so a one-off stall does not either. libFuzzer's own `-timeout` is in
//! whole seconds and is kept only as a guard against hangs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use cpu_time::ThreadTime;

use crate::alloc_count;

/// Most CPU time one parser call may take.
pub const MAX_CPU: Duration = Duration::from_millis(10);
/// Peak heap per byte of input one call may reach…
pub const ALLOC_FACTOR: usize = 64;
/// …plus this much, for the fixed costs (a verdict's message, a signature check's buffers).
pub const ALLOC_SLACK: usize = 64 * 1024;

/// Set (to anything) to turn the time limit off, e.g. under a debugger or a coverage build;
/// the memory limit always holds.
pub const NO_TIME_LIMIT_VAR: &str = "KEYWARD_FUZZ_NO_TIME_LIMIT";

/// The time limit is [`MAX_CPU`] times this (1 while fuzzing).
static TIME_FACTOR: AtomicU32 = AtomicU32::new(1);

/// How many times [`MAX_CPU`] the replay of saved inputs (`tests/replay.rs`, run by `cargo
/// xtask test` on a machine that is busy building and testing) allows a call. The replay is
/// a regression test, not a timing: the speed goal is held by the fuzz runs, with the exact
/// limit. Ten times the limit still fails every slow input found so far (the 64 KB typo
/// searches of finding 13.1 took 155–230 ms before their fix), and no fast one on a loaded
/// machine (seen: 11.3 ms for a 64 KB input while two builds ran).
pub const REPLAY_TIME_FACTOR: u32 = 10;

/// Sets the time limit to `factor` × [`MAX_CPU`] for every later call.
pub fn set_time_factor(factor: u32) {
    TIME_FACTOR.store(factor.max(1), Ordering::Relaxed);
}

fn time_limited() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os(NO_TIME_LIMIT_VAR).is_none())
}

/// The peak heap allowed for a call on `input_len` bytes.
pub fn alloc_budget(input_len: usize) -> usize {
    ALLOC_FACTOR
        .saturating_mul(input_len)
        .saturating_add(ALLOC_SLACK)
}

/// Runs `f`, one call of a parser (`what`) on an input of `input_len` bytes, and panics if it
/// took more than [`MAX_CPU`] (times the factor set by [`set_time_factor`]) or its heap peaked above [`alloc_budget`].
pub fn call<R>(what: &str, input_len: usize, f: impl Fn() -> R) -> R {
    let start = alloc_count::start();
    let clock = ThreadTime::now();
    let result = f();
    let took = clock.elapsed();
    let peak = alloc_count::peak_since(start);
    let budget = alloc_budget(input_len);
    assert!(
        peak <= budget,
        "{what}: heap peaked at {peak} bytes for a {input_len}-byte input; the limit is \
         {ALLOC_FACTOR} x the input + {ALLOC_SLACK} = {budget} bytes"
    );
    let limit = MAX_CPU * TIME_FACTOR.load(Ordering::Relaxed);
    if took > limit && time_limited() {
        let fastest = (0..2)
            .map(|_| {
                let clock = ThreadTime::now();
                drop(f());
                clock.elapsed()
            })
            .fold(took, Duration::min);
        assert!(
            fastest <= limit,
            "{what}: took {:.1} ms of CPU time (fastest of 3) for a {input_len}-byte input; \
             the limit is {} ms",
            fastest.as_secs_f64() * 1e3,
            limit.as_millis()
        );
    }
    result
}
