//! Cache hints for the loops that walk a million values in an order their memory is not in:
//! the compiler over the hot RRsets in the image's order, the map writer over the image's
//! names and buckets. Each value is a cache miss; asked for some steps ahead, the misses
//! overlap instead of coming one after the other.

/// Asks the CPU to start loading the cache line at `at` for a read soon after. Only a hint: any
/// address will do, and nothing changes if the CPU ignores it.
pub fn prefetch<T>(at: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch neither faults nor changes memory, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(at.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// [`prefetch`] for every cache line of `value`.
pub fn prefetch_value<T>(value: &T) {
    let start = std::ptr::from_ref(value).cast::<u8>();
    for offset in (0..size_of::<T>()).step_by(64) {
        prefetch(start.wrapping_add(offset));
    }
}
