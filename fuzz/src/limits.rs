//! The budget of one parser call: CPU time and peak heap, checked on every call a target
//! makes. Exceeding it panics with what was measured, which libFuzzer reports as a crash and
//! saves under `fuzz/artifacts/<target>/`.
//!
//! Time is this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on a shared
//! machine do not count; a call over the limit is timed twice more and only the fastest of
//! the three counts, so a one-off stall does not either. libFuzzer's own `-timeout` is in
//! whole seconds and is kept only as a guard against hangs.

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
/// took more than [`MAX_CPU`] or its heap peaked above [`alloc_budget`].
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
    if took > MAX_CPU && time_limited() {
        let fastest = (0..2)
            .map(|_| {
                let clock = ThreadTime::now();
                drop(f());
                clock.elapsed()
            })
            .fold(took, Duration::min);
        assert!(
            fastest <= MAX_CPU,
            "{what}: took {:.1} ms of CPU time (fastest of 3) for a {input_len}-byte input; \
             the limit is {} ms",
            fastest.as_secs_f64() * 1e3,
            MAX_CPU.as_millis()
        );
    }
    result
}
