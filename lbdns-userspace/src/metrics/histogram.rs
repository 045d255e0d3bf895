//! Fixed-bucket latency histograms: one kind of atomics for the socket path, where each UDP
//! thread writes its own and the scrape sums them, and a plain one for health checks, which
//! change under their target's lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds, in nanoseconds, of a histogram's buckets; a last bucket (`+Inf`) takes the rest.
pub type Bounds = &'static [u64];

/// The socket path's buckets: a reply takes microseconds, a slow one (a large zone's first
/// query, a reload's allocation) milliseconds.
pub const SOCKET_BOUNDS: Bounds = &[
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
];

/// Health checks' buckets: a TCP connect on a LAN takes a millisecond, an HTTPS check ten, and
/// a timeout seconds.
pub const CHECK_BOUNDS: Bounds = &[
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// The most buckets a histogram has, `+Inf` included.
pub const MAX_BUCKETS: usize = 16;

const _: () = assert!(SOCKET_BOUNDS.len() < MAX_BUCKETS && CHECK_BOUNDS.len() < MAX_BUCKETS);

/// The bucket `nanos` falls in: the first whose bound it does not exceed, else the last.
fn bucket(bounds: Bounds, nanos: u64) -> usize {
    bounds
        .iter()
        .position(|&bound| nanos <= bound)
        .unwrap_or(bounds.len())
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A histogram's totals at one moment: what is encoded. Bucket counts are per bucket, not
/// cumulative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    pub bounds: Bounds,
    pub buckets: [u64; MAX_BUCKETS],
    pub sum_nanos: u64,
}

impl Histogram {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            buckets: [0; MAX_BUCKETS],
            sum_nanos: 0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, duration: Duration) {
        let nanos = nanos(duration);
        self.buckets[bucket(self.bounds, nanos)] += 1;
        self.sum_nanos = self.sum_nanos.wrapping_add(nanos);
    }

    /// Adds another histogram of the same bounds.
    pub fn add(&mut self, other: &Histogram) {
        debug_assert_eq!(self.bounds, other.bounds);
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum_nanos = self.sum_nanos.wrapping_add(other.sum_nanos);
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// `(upper bound in seconds, count in this bucket alone)` for each bucket, `+Inf` last:
    /// the encoder makes them cumulative.
    pub fn per_bucket(&self) -> Vec<(f64, u64)> {
        self.bounds
            .iter()
            .map(|&bound| bound as f64 / 1e9)
            .chain([f64::INFINITY])
            .zip(self.buckets)
            .collect()
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_nanos as f64 / 1e9
    }
}

/// A histogram that threads add to without a lock, of [`SOCKET_BOUNDS`].
#[derive(Debug, Default)]
pub struct AtomicHistogram {
    buckets: [AtomicU64; MAX_BUCKETS],
    sum_nanos: AtomicU64,
}

impl AtomicHistogram {
    /// Counts `count` observations of `duration` each: a batch of UDP replies handed to the
    /// kernel together waited equally long.
    pub fn observe(&self, duration: Duration, count: u64) {
        let nanos = nanos(duration);
        self.buckets[bucket(SOCKET_BOUNDS, nanos)].fetch_add(count, Relaxed);
        self.sum_nanos
            .fetch_add(nanos.saturating_mul(count), Relaxed);
    }

    /// Adds what this histogram holds now to `total` (of [`SOCKET_BOUNDS`]).
    pub fn add_to(&self, total: &mut Histogram) {
        for (sum, bucket) in total.buckets.iter_mut().zip(&self.buckets) {
            *sum += bucket.load(Relaxed);
        }
        total.sum_nanos = total.sum_nanos.wrapping_add(self.sum_nanos.load(Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut h = Histogram::new(SOCKET_BOUNDS);
        h.observe(Duration::from_nanos(5_000));
        h.observe(Duration::from_nanos(5_001));
        h.observe(Duration::from_secs(3));
        assert_eq!(h.buckets[0], 1, "a bound is inclusive (le)");
        assert_eq!(h.buckets[1], 1);
        assert_eq!(h.buckets[SOCKET_BOUNDS.len()], 1, "+Inf");
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum_nanos, 3_000_010_001);
        let buckets = h.per_bucket();
        assert_eq!(buckets.len(), SOCKET_BOUNDS.len() + 1);
        assert_eq!(buckets[0], (5e-6, 1));
        assert_eq!(buckets[1], (1e-5, 1));
        assert_eq!(buckets[2], (2.5e-5, 0));
        assert_eq!(*buckets.last().unwrap(), (f64::INFINITY, 1));
    }

    #[test]
    fn atomic_histograms_sum_into_one() {
        let threads = [AtomicHistogram::default(), AtomicHistogram::default()];
        threads[0].observe(Duration::from_micros(20), 32);
        threads[1].observe(Duration::from_micros(20), 1);
        threads[1].observe(Duration::from_millis(2), 1);
        let mut total = Histogram::new(SOCKET_BOUNDS);
        for thread in &threads {
            thread.add_to(&mut total);
        }
        assert_eq!(total.buckets[2], 33, "20 µs is under 25 µs");
        assert_eq!(total.buckets[8], 1, "2 ms is under 2.5 ms");
        assert_eq!(total.count(), 34);
        assert_eq!(total.sum_nanos, 33 * 20_000 + 2_000_000);
    }
}
