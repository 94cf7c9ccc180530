//! # keyward-heap
//!
//! The memory allocator of keyward's wasm builds (the plugin and the activation page), in
//! place of dlmalloc (about 6 KB of each module): blocks of a power-of-two size, each size
//! with its own free list, cut from memory the module grows. Nothing is merged or given back,
//! which suits both: they check short texts again and again, and the same sizes come back
//! each time. The plugin's host also caps its memory and starts a fresh instance after any
//! trap, out-of-memory included.
//!
//! Why not a maintained allocator: `talc` 4 (`TalckWasm`, the smallest of the maintained
//! ones for wasm) was measured in the page on 2026-12-01: the page wasm grew by 2,201 bytes
//! (after wasm-opt), to about 121,550 bytes against its 120,000-byte budget.
//!
//! The bookkeeping ([`Bins`]) is plain Rust, tested natively; `Heap`, the global
//! allocator, exists on single-threaded wasm32 only:
//!
//! ```text
//! #[global_allocator]
//! static HEAP: keyward_heap::Heap = keyward_heap::Heap::new();
//! ```
#![no_std]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

use core::alloc::Layout;
use core::ptr;

/// The wasm page: memory grows by whole pages.
pub const PAGE: usize = 64 * 1024;

/// The smallest block: room for the free list's link, and aligned for any primitive.
const MIN_BLOCK: usize = 16;

/// One free list per size class (`1 << class` bytes).
const CLASSES: usize = usize::BITS as usize;

/// Free lists and the unused end of the memory grown so far.
pub struct Bins {
    /// The first free block of each class; each free block holds the address of the next.
    free: [*mut u8; CLASSES],
    /// Where the next new block may start.
    next: usize,
    /// The end of the memory grown so far.
    end: usize,
}

impl Default for Bins {
    fn default() -> Bins {
        Bins::new()
    }
}

impl Bins {
    /// No memory yet.
    pub const fn new() -> Bins {
        Bins {
            free: [ptr::null_mut(); CLASSES],
            next: 0,
            end: 0,
        }
    }

    /// The size class of a layout: its size and alignment rounded up to a power of two.
    /// Blocks are aligned to their size, so the alignment follows.
    fn class(layout: Layout) -> usize {
        let size = layout.size().max(layout.align()).max(MIN_BLOCK);
        (usize::BITS - (size - 1).leading_zeros()) as usize
    }

    /// A block for `layout`, or null when memory cannot grow. `grow(pages)` adds `pages`
    /// pages of memory and returns the address of the first, or `None`.
    ///
    /// # Safety
    ///
    /// What `grow` returns must be memory this allocator alone may use, page-aligned.
    pub unsafe fn alloc(
        &mut self,
        layout: Layout,
        grow: impl FnMut(usize) -> Option<usize>,
    ) -> *mut u8 {
        let class = Self::class(layout);
        let head = self.free[class];
        if !head.is_null() {
            // SAFETY: a free block of this class, which holds the next one's address.
            self.free[class] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        self.carve(class, grow)
            .map_or(ptr::null_mut(), |a| a as *mut u8)
    }

    /// A new block of `class` from the end of memory, growing it as needed.
    fn carve(
        &mut self,
        class: usize,
        mut grow: impl FnMut(usize) -> Option<usize>,
    ) -> Option<usize> {
        let size = 1usize.checked_shl(class as u32)?;
        loop {
            let start = self.next.checked_next_multiple_of(size)?;
            let stop = start.checked_add(size)?;
            if stop <= self.end {
                self.next = stop;
                return Some(start);
            }
            let pages = (stop - self.end).div_ceil(PAGE);
            let base = grow(pages)?;
            if base != self.end {
                // Not after what we had (the first time, or memory grown by someone else).
                self.next = base;
            }
            self.end = base + pages * PAGE;
        }
    }

    /// Takes back a block.
    ///
    /// # Safety
    ///
    /// `block` came from [`Bins::alloc`] with the same layout and is not used any more.
    pub unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        let class = Self::class(layout);
        // SAFETY: the block is at least MIN_BLOCK bytes, aligned, and ours again.
        unsafe { block.cast::<*mut u8>().write(self.free[class]) };
        self.free[class] = block;
    }

    /// Whether a block for `old` also serves `new` (the same class).
    pub fn fits(old: Layout, new: Layout) -> bool {
        Self::class(old) == Self::class(new)
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub use global::Heap;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod global {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::ptr;

    use super::{Bins, PAGE};

    /// The global allocator over [`Bins`] and `memory.grow`, for single-threaded wasm32.
    pub struct Heap(UnsafeCell<Bins>);

    impl Default for Heap {
        fn default() -> Heap {
            Heap::new()
        }
    }

    impl Heap {
        /// An empty heap, for a `#[global_allocator]` static.
        pub const fn new() -> Heap {
            Heap(UnsafeCell::new(Bins::new()))
        }
    }

    // SAFETY: wasm32 without the atomics feature has a single thread.
    unsafe impl Sync for Heap {}

    fn grow(pages: usize) -> Option<usize> {
        let before = core::arch::wasm32::memory_grow(0, pages);
        (before != usize::MAX).then(|| before * PAGE)
    }

    // SAFETY: single-threaded, and the allocator does not allocate, so no call is reentered;
    // memory.grow gives fresh page-aligned memory that nothing else uses.
    unsafe impl GlobalAlloc for Heap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            unsafe { (*self.0.get()).alloc(layout, grow) }
        }

        unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
            unsafe { (*self.0.get()).dealloc(block, layout) }
        }

        unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller guarantees the new size is valid for the alignment.
            let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            if Bins::fits(layout, new) {
                return block;
            }
            let moved = unsafe { self.alloc(new) };
            if !moved.is_null() {
                unsafe {
                    ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                    self.dealloc(block, layout);
                }
            }
            moved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{alloc, dealloc};
    use std::vec::Vec;

    /// Memory for the tests: `pages` pages, handed out by `grow` from the start.
    struct Arena {
        base: *mut u8,
        pages: usize,
        used: usize,
    }

    impl Arena {
        fn new(pages: usize) -> Arena {
            let base = unsafe { alloc(Self::layout(pages)) };
            assert!(!base.is_null());
            Arena {
                base,
                pages,
                used: 0,
            }
        }

        fn layout(pages: usize) -> Layout {
            Layout::from_size_align(pages * PAGE, PAGE).unwrap()
        }

        fn grow(&mut self, pages: usize) -> Option<usize> {
            if self.used + pages > self.pages {
                return None;
            }
            let at = self.base as usize + self.used * PAGE;
            self.used += pages;
            Some(at)
        }
    }

    impl Drop for Arena {
        fn drop(&mut self) {
            unsafe { dealloc(self.base, Self::layout(self.pages)) }
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn classes_are_powers_of_two_covering_size_and_alignment() {
        assert_eq!(Bins::class(layout(0, 1)), 4);
        assert_eq!(Bins::class(layout(16, 1)), 4);
        assert_eq!(Bins::class(layout(17, 1)), 5);
        assert_eq!(Bins::class(layout(8, 64)), 6);
        assert_eq!(Bins::class(layout(PAGE, 1)), 16);
        assert!(Bins::fits(layout(20, 4), layout(32, 4)));
        assert!(!Bins::fits(layout(32, 4), layout(33, 4)));
    }

    #[test]
    fn blocks_are_aligned_distinct_and_reused() {
        let mut arena = Arena::new(8);
        let mut bins = Bins::new();
        let mut blocks = Vec::new();
        for (i, size) in [1, 7, 16, 24, 100, 1000, 5000, 70_000, 3, 300]
            .iter()
            .enumerate()
        {
            let l = layout(*size, 1 << (i % 4));
            let b = unsafe { bins.alloc(l, |n| arena.grow(n)) };
            assert!(!b.is_null(), "{size}");
            assert_eq!(b as usize % l.align(), 0);
            unsafe { ptr::write_bytes(b, i as u8, *size) };
            blocks.push((b, l, i as u8));
        }
        // No block overlaps another: each still holds what was written into it.
        for &(b, l, fill) in &blocks {
            let bytes = unsafe { std::slice::from_raw_parts(b, l.size()) };
            assert!(bytes.iter().all(|&x| x == fill));
            let end = arena.base as usize + arena.used * PAGE;
            assert!(b as usize >= arena.base as usize && b as usize + l.size() <= end);
        }
        let (b, l, _) = blocks[4];
        unsafe { bins.dealloc(b, l) };
        let again = unsafe { bins.alloc(layout(120, 8), |n| arena.grow(n)) };
        assert_eq!(again, b, "a freed block of the class is used again");
        let other = unsafe { bins.alloc(layout(120, 8), |n| arena.grow(n)) };
        assert_ne!(other, b);
    }

    #[test]
    fn out_of_memory_is_null() {
        let mut arena = Arena::new(2);
        let mut bins = Bins::new();
        assert!(unsafe { bins.alloc(layout(3 * PAGE, 1), |n| arena.grow(n)) }.is_null());
        assert!(!unsafe { bins.alloc(layout(PAGE, 1), |n| arena.grow(n)) }.is_null());
        assert!(unsafe { bins.alloc(layout(isize::MAX as usize, 1), |n| arena.grow(n)) }.is_null());
    }
}
