//! The process allocator: the system allocator plus a count of the bytes in use, as Redis's zmalloc keeps
//! one. `maxmemory` is checked against it before commands, and eviction watches it fall key by key, so it
//! must be cheap to read (glibc's `mallinfo2` walks every free chunk: a millisecond on a fragmented heap).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes requested and not yet freed (the requested sizes, not the allocator's rounded-up ones).
static USED: AtomicUsize = AtomicUsize::new(0);

pub struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                USED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                USED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes in use by the process (Redis's `zmalloc_used_memory`).
#[inline]
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_what_is_held() {
        // Other tests allocate and free at the same time: one clean observation out of a few suffices.
        let seen = (0..50).any(|_| {
            let before = super::used();
            let v = vec![1u8; 64 << 20];
            let held = super::used().wrapping_sub(before);
            drop(v);
            let after = super::used().wrapping_sub(before);
            (64 << 20..65 << 20).contains(&held) && after < 1 << 20
        });
        assert!(seen);
    }
}
