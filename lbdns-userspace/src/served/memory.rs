//! Handing freed heap back to the system after a load or a publish.

/// Gives freed heap pages back to the system once the zones' text and records are dropped.
/// Catalogs are built while larger temporaries live (at start-up the parsed records, on reload
/// also the old catalog), and glibc keeps their pages once they are freed: measured on a
/// 1,000,000-name zone, resident memory went from 1.05 GB to 1.88 GB after one reload without
/// this and stayed level with it; at start-up it trims about 50 MB, after the first XDP
/// publish about 340 MB.
pub fn release_freed_memory() {
    // SAFETY: malloc_trim only walks glibc's own free lists; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Fixes glibc's two thresholds for the daemon's life: an allocation of 256 KiB or more gets a
/// mapping of its own, unmapped when freed, and any heap whose free top reaches 1 MiB gives it
/// back. glibc raises both as a process frees large buffers (up to 32 MiB and 64 MiB), and
/// `malloc_trim` trims the top of the main heap only: the heaps of the threads that load and
/// publish zones kept tens of megabytes resident after a million-name start-up.
pub fn fix_allocator_thresholds() {
    // SAFETY: mallopt only sets glibc's tunables; it has no preconditions.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
    }
}
