//! Compiling a large catalog on several threads, one per CPU.
//!
//! Each thread first finds the hot RRsets of one share of every zone's names, by position
//! (`authority::Share`). Those are then split again, by their place in the image, into as many
//! chunks, and each thread compiles one chunk. Every RRset of a chunk comes before every RRset of
//! the next, so the chunks' images laid end to end are the whole image: nothing is merged.
//!
//! At a million names, compiling took most of the time between the first answer and the fast
//! path's. Each RRset costs a few cache misses to find and to compile, and two CPUs wait on
//! twice as many at once.

use std::{num::NonZeroUsize, thread};

use super::{compile_keyed, hot, image_order, sort_key, CompileError, Compiled, HotRrset, Keyed};
use crate::authority::{Catalog, Share};

/// The fewest names worth a thread of their own.
const NAMES_PER_THREAD: usize = 1 << 16;

/// One RRset in this many goes into the sample that chooses where chunks begin.
const SAMPLE_STRIDE: usize = 64;

/// The image of `catalog`'s hot RRsets (`super::hot_rrsets`) and of `extra` (the geo pools'),
/// compiled on one thread per CPU, and on one only below [`NAMES_PER_THREAD`] names. The caller
/// checks the skipped RRsets (`super::check_skipped`).
pub(super) fn compile(catalog: &Catalog, extra: Vec<HotRrset>) -> Result<Compiled, CompileError> {
    let cpus = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cpus.min(catalog.names() / NAMES_PER_THREAD).max(1);
    compile_on(catalog, extra, threads)
}

/// [`compile`] on `threads` threads.
pub(super) fn compile_on(
    catalog: &Catalog,
    extra: Vec<HotRrset>,
    threads: usize,
) -> Result<Compiled, CompileError> {
    let shares = (0..threads).map(|index| Share {
        index,
        count: threads,
    });
    let mut found = each_on_a_thread(shares.collect(), |share| hot::hot_rrsets_of(catalog, share));
    found[0].extend(extra);
    let parts = each_on_a_thread(chunks(&mut found, threads), compile_keyed);
    Ok(concatenate(parts.into_iter().collect::<Result<_, _>>()?))
}

/// `work` done on each of `items`, the first on this thread and every other on a thread of its
/// own; the results in the items' order.
fn each_on_a_thread<T: Send, R: Send>(items: Vec<T>, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let work = &work;
    thread::scope(|scope| {
        let mut items = items.into_iter();
        let first = items.next();
        let others: Vec<_> = items.map(|item| scope.spawn(move || work(item))).collect();
        let first = first.map(work);
        let others = others.into_iter().map(|other| {
            other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        first.into_iter().chain(others).collect()
    })
}

/// The RRsets of `found` in at most `count` chunks by their place in the image: each RRset of a
/// chunk comes before each of the next. Where chunks begin is chosen from a sample of the
/// RRsets, so that they come out about equal. Equal RRsets (duplicates, which compiling
/// rejects) land in the same chunk.
fn chunks(found: &mut [Vec<HotRrset>], count: usize) -> Vec<Vec<Keyed<'_>>> {
    let mut sample: Vec<(u64, &HotRrset)> = found
        .iter()
        .flatten()
        .step_by(SAMPLE_STRIDE)
        .map(|rrset| (sort_key(rrset), rrset))
        .collect();
    sample.sort_unstable_by(|a, b| image_order((a.0, &a.1.name), (b.0, &b.1.name)));
    // A chunk begins at each bound: the RRsets that sort at or after it, and before the next.
    let bounds: Vec<(u64, Vec<u8>)> = (1..count)
        .filter_map(|k| sample.get(sample.len() * k / count))
        .map(|(key, rrset)| (*key, rrset.name.clone()))
        .collect();
    let total: usize = found.iter().map(Vec::len).sum();
    let mut chunks: Vec<Vec<Keyed>> = (0..=bounds.len())
        .map(|_| Vec::with_capacity(total / count))
        .collect();
    for rrset in found.iter_mut().flatten() {
        let key = sort_key(rrset);
        let chunk = bounds.partition_point(|(bound, name)| {
            image_order((*bound, name), (key, &rrset.name)).is_le()
        });
        chunks[chunk].push((key, rrset));
    }
    chunks
}

/// The chunks' images, each all before the next's, as one.
fn concatenate(mut parts: Vec<Compiled>) -> Compiled {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    let mut whole = Compiled::default();
    let mut rrsets = Vec::with_capacity(parts.iter().map(|part| part.image.rrsets.len()).sum());
    let mut signatures = Vec::new();
    for part in parts {
        rrsets.extend(part.image.rrsets.into_vec());
        signatures.extend(part.image.signatures.into_vec());
        whole.skipped.extend(part.skipped);
        whole.signatures_too_large.extend(part.signatures_too_large);
    }
    whole.image.rrsets = rrsets.into_boxed_slice();
    whole.image.signatures = signatures.into_boxed_slice();
    whole
}
