//! What one read that misses every cache costs on this machine, from userspace, with the pages
//! the kernel maps BPF arrays with (4 KiB) and with transparent 2 MiB pages.
//!
//! At a million names the XDP lookup is two dependent reads that miss (`lookup-floor`), and each
//! costs the memory's latency plus, when the TLB misses too, a walk of the page tables: in a
//! virtual machine a walk of the guest's tables through the host's. The kernel gives a large BPF
//! array (and every memory-mapped one, which lbdns's name table is) 4 KiB vmalloc pages, so a
//! program cannot avoid the walk; this probe shows how much of a miss it is, and so how much of
//! the floor no layout of the maps can remove.

use std::{hint::black_box, ptr::NonNull, time::Instant};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use super::mixes::Rng;

/// The line the chase reads one of at a time: the CPU fetches memory in lines of this size.
const LINE: usize = 64;
/// Reads per measurement: enough to average out the walk's own cache hits, about half a second.
const READS: usize = 2_000_000;
/// The seed of the chase's order, fixed so that every run reads in the same order.
const SEED: u64 = 0x6d65_6d6f_7279;
/// A transparent huge page.
const HUGE_PAGE: usize = 2 << 20;

/// The cost of one dependent read over a region of [`MemoryReads::mib`].
#[derive(Debug, Serialize)]
pub struct MemoryReads {
    /// The region's size: the lookup floor's two arrays at the large zone.
    pub mib: usize,
    /// ns per read with 4 KiB pages, as large BPF arrays have.
    pub small_pages_ns: f64,
    /// ns per read with 2 MiB pages where the kernel gave them.
    pub huge_pages_ns: f64,
    /// How much of the region the kernel backed with 2 MiB pages for the second measurement.
    pub huge_mib: usize,
}

/// Measures both page sizes over `bytes` (rounded up to whole 2 MiB).
pub fn measure(bytes: usize) -> Result<MemoryReads> {
    let bytes = bytes.next_multiple_of(HUGE_PAGE);
    let small = Region::new(bytes, libc::MADV_NOHUGEPAGE)?;
    let small_pages_ns = small.chase();
    drop(small);
    let huge = Region::new(bytes, libc::MADV_HUGEPAGE)?;
    let huge_pages_ns = huge.chase();
    Ok(MemoryReads {
        mib: bytes >> 20,
        small_pages_ns,
        huge_pages_ns,
        huge_mib: huge.huge_kib()? >> 10,
    })
}

/// An anonymous mapping whose lines each hold the index of the next line to read: one cycle
/// through every line in a random order, so that each read depends on the one before and the
/// hardware cannot guess the next.
#[derive(Debug)]
struct Region {
    start: NonNull<u32>,
    bytes: usize,
}

impl Region {
    /// Maps `bytes` (a multiple of [`HUGE_PAGE`]), advises the kernel on its pages with
    /// `advice`, and writes the cycle.
    fn new(bytes: usize, advice: libc::c_int) -> Result<Self> {
        // A huge page more than needed, so that the region can start on a 2 MiB boundary.
        let room = bytes + HUGE_PAGE;
        // SAFETY: a new private anonymous mapping; no existing memory is touched.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                room,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("cannot map {} MiB", room >> 20));
        }
        let lead = (mapped as usize).next_multiple_of(HUGE_PAGE) - mapped as usize;
        // SAFETY: the parts before and after the aligned region are inside the mapping and
        // nothing uses them.
        unsafe {
            if lead > 0 {
                libc::munmap(mapped, lead);
            }
            libc::munmap(
                mapped.cast::<u8>().add(lead + bytes).cast(),
                HUGE_PAGE - lead,
            );
        }
        // SAFETY: `lead` is inside the mapping, which is not null.
        let start = unsafe { NonNull::new_unchecked(mapped.cast::<u8>().add(lead)) };
        let region = Self {
            start: start.cast(),
            bytes,
        };
        // SAFETY: the region is this mapping, of `bytes`.
        if unsafe { libc::madvise(start.as_ptr().cast(), bytes, advice) } != 0 {
            bail!(
                "madvise of {} MiB failed: {}",
                bytes >> 20,
                std::io::Error::last_os_error()
            );
        }
        region.write_cycle();
        Ok(region)
    }

    fn lines(&self) -> usize {
        self.bytes / LINE
    }

    /// A pointer to the first word of `line`.
    fn line(&self, line: usize) -> *mut u32 {
        debug_assert!(line < self.lines());
        // SAFETY: inside the region.
        unsafe { self.start.as_ptr().add(line * (LINE / 4)) }
    }

    /// Sattolo's shuffle: a random permutation that is one cycle through every line.
    fn write_cycle(&self) {
        let mut order: Vec<u32> = (0..self.lines() as u32).collect();
        let mut rng = Rng::new(SEED);
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64) as usize;
            order.swap(i, j);
        }
        for (line, &next) in order.iter().enumerate() {
            // SAFETY: a line of the region, which is writable.
            unsafe { self.line(line).write(next) };
        }
    }

    /// Follows the cycle for [`READS`] reads; returns the ns per read.
    fn chase(&self) -> f64 {
        let first = self.start.as_ptr();
        let mut at = 0u32;
        let started = Instant::now();
        for _ in 0..READS {
            // Not through `line`: xtask builds unoptimised, and the loop should be the read.
            // SAFETY: every line holds the index of a line of the region.
            at = unsafe { first.add(at as usize * (LINE / 4)).read_volatile() };
        }
        let elapsed = started.elapsed();
        black_box(at);
        elapsed.as_secs_f64() * 1e9 / READS as f64
    }

    /// The KiB of the region that are 2 MiB pages (`AnonHugePages` in /proc/self/smaps).
    fn huge_kib(&self) -> Result<usize> {
        let smaps =
            std::fs::read_to_string("/proc/self/smaps").context("cannot read /proc/self/smaps")?;
        let heading = format!("{:x}-", self.start.as_ptr() as usize);
        let mut lines = smaps.lines().skip_while(|line| !line.starts_with(&heading));
        if lines.next().is_none() {
            bail!("/proc/self/smaps has no mapping at {heading}");
        }
        // Every mapping's block has the field, so the first one after the heading is its.
        lines
            .find_map(|line| line.strip_prefix("AnonHugePages:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .context("/proc/self/smaps gives no AnonHugePages for the region")
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the region is this mapping, used by nothing else.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.bytes) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chase_visits_every_line_once_before_it_returns() {
        let region = Region::new(HUGE_PAGE, libc::MADV_NOHUGEPAGE).unwrap();
        let mut seen = vec![false; region.lines()];
        let mut at = 0usize;
        for _ in 0..region.lines() {
            assert!(!seen[at], "line {at} came twice");
            seen[at] = true;
            // SAFETY: a line of the region.
            at = unsafe { region.line(at).read() } as usize;
        }
        assert_eq!(at, 0, "the cycle returns to its start");
        assert!(seen.iter().all(|&s| s));
    }
}
