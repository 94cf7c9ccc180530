//! A global allocator that counts, per thread, the bytes live on the heap and their peak, so
//! each parser call's peak memory can be checked against its input's size.
//!
//! Hand-written because the check needs a peak that is reset before every call and kept per
//! thread (the replay test runs targets on several threads at once); the counting allocator
//! crates track totals or a global limit, not that. Memory comes from the system allocator;
//! only the counting is added.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The counting allocator, installed as the global allocator of every binary and test that
/// links this crate.
pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

thread_local! {
    // Signed: memory allocated on one thread may be freed on another, which can take a
    // thread's count below its starting point. Only differences within one call matter.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    // `try_with`: no counting while the thread's locals are being torn down. Const-initialised
    // `Cell`s of integers need no allocation and no destructor, so counting cannot recurse.
    let _ = LIVE.try_with(|live| {
        let now = live.get().wrapping_add(bytes as isize);
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

fn shrank(bytes: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().wrapping_sub(bytes as isize)));
}

// SAFETY: every method forwards to `System` with the same arguments and returns its result
// unchanged; the bookkeeping touches only thread-local integers.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller guarantees a valid `new_size`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the new block before the old one is gone: a reallocation may copy.
            grew(new_size);
            shrank(layout.size());
        }
        p
    }
}

/// Bytes live on this thread's heap now (relative: only differences are meaningful).
pub fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a measurement: the peak is reset to what is live now. Returns the starting point.
pub fn start() -> isize {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

/// The highest number of bytes that were live, above `start`, since [`start`] was called.
pub fn peak_since(start: isize) -> usize {
    PEAK.with(Cell::get).saturating_sub(start).max(0) as usize
}
