//! The arrays userspace writes (`NAME_BUCKETS`, `NAME_WORDS`, `RRSET_SLOT_*`, `ANSWERS_*`),
//! mapped into this process.
//!
//! Through the mapping, pointing an RRset id at a new slot is one aligned atomic 4-byte store,
//! and storing a name table entry one aligned atomic 8-byte store.
//! Through `bpf(2)` it would be a kernel `memcpy`, which is not guaranteed to be a single store
//! (`lbdns_common::publish`, rule 4). Answer sets are written and compared in place too: a
//! million of them are a million memory copies rather than a million system calls, and the
//! writer keeps no copy of what the maps hold.

use std::{
    io,
    marker::PhantomData,
    os::fd::{AsFd, AsRawFd},
    ptr::NonNull,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

use aya::{
    maps::{Map, MapData},
    Pod,
};
use lbdns_common::{
    maps::{id_pair, IdPair},
    names::Bucket,
};

use super::MapError;

/// `BPF_F_MMAPABLE` from linux/bpf.h.
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// One mmapable array map of `T`, readable and writable in place.
pub(super) struct MappedArray<T> {
    name: &'static str,
    /// The first value; `entries` values follow, `stride` bytes apart.
    base: NonNull<u8>,
    entries: u32,
    /// The kernel lays array values out `round_up(value_size, 8)` bytes apart (`elem_size` in
    /// kernel/bpf/arraymap.c), and maps them from offset 0.
    stride: usize,
    mapped_len: usize,
    /// Keeps the map alive as long as the mapping (the mapping holds a reference too).
    _map: MapData,
    _values: PhantomData<T>,
}

// SAFETY: the mapping belongs to this value alone; moving it to another thread moves nothing
// that is tied to the creating one.
unsafe impl<T> Send for MappedArray<T> {}

impl<T> std::fmt::Debug for MappedArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedArray")
            .field("name", &self.name)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl<T: Pod> MappedArray<T> {
    /// Maps `map`, which must be the program's `name` array of `T` created mmapable.
    pub(super) fn new(map: Map, name: &'static str) -> Result<Self, MapError> {
        let Map::Array(map) = map else {
            return Err(MapError::Layout {
                map: name,
                reason: "not an array",
            });
        };
        let info = map
            .info()
            .map_err(MapError::during("reading the map's info", name))?;
        if info.value_size() as usize != size_of::<T>() {
            return Err(MapError::Layout {
                map: name,
                reason: "of values of another size",
            });
        }
        if info.map_flags() & BPF_F_MMAPABLE == 0 {
            return Err(MapError::Layout {
                map: name,
                reason: "not created with BPF_F_MMAPABLE",
            });
        }
        const { assert!(align_of::<T>() <= 8, "values are 8-aligned in the mapping") };
        let entries = info.max_entries();
        let stride = size_of::<T>().next_multiple_of(8);
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let mapped_len = (entries as usize * stride).next_multiple_of(page);
        // SAFETY: a fresh shared mapping of the map's values; the kernel checks the length
        // against the map's size.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.fd().as_fd().as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(MapError::Mmap {
                map: name,
                source: io::Error::last_os_error(),
            });
        }
        Ok(Self {
            name,
            base: NonNull::new(base.cast()).expect("mmap succeeded"),
            entries,
            stride,
            mapped_len,
            _map: map,
            _values: PhantomData,
        })
    }

    /// The number of values.
    pub(super) fn entries(&self) -> u32 {
        self.entries
    }

    /// Value `index`: in bounds, 8-aligned (page-aligned base, stride a multiple of 8).
    pub(super) fn value(&self, index: u32) -> *mut T {
        assert!(index < self.entries, "{index} beyond {}", self.name);
        // SAFETY: `index` is in bounds, so the value lies inside the mapping.
        unsafe { self.base.as_ptr().add(index as usize * self.stride).cast() }
    }

    /// A copy of value `index`.
    pub(super) fn read(&self, index: u32) -> T {
        // SAFETY: an aligned value inside the mapping, and `T: Pod` takes any bytes. Only this
        // process writes the array, and not concurrently with this read.
        unsafe { self.value(index).read_volatile() }
    }

    /// Asks the CPU to start loading value `index` into its cache, for a read soon after.
    pub(super) fn prefetch(&self, index: u32) {
        crate::cache::prefetch(self.value(index).cast_const());
    }

    /// Overwrites value `index`, which no program may be reading: the copy is not atomic.
    pub(super) fn write(&self, index: u32, value: &T) {
        // SAFETY: an aligned value inside the mapping; programs only read it, and the caller
        // guarantees none is reading it now (`lbdns_common::publish`, rule 3).
        unsafe { self.value(index).write_volatile(*value) }
    }
}

impl MappedArray<u32> {
    /// Points `id` at `slot` with one 4-byte store. A program reading it sees the old slot or
    /// the new one. Release ordering: the new set, written before, is in place first.
    pub(super) fn point(&self, id: u32, slot: u32) {
        // SAFETY: an aligned `u32` inside the mapping, which the kernel and this process only
        // access with 4-byte loads and stores.
        let value = unsafe { AtomicU32::from_ptr(self.value(id)) };
        value.store(slot, Ordering::Release);
    }
}

/// An array of one `u32` per RRset id, packed two to a value
/// (`lbdns_common::maps::IdPair`): `RRSET_SLOT_*` and `GEO_ROW_*`.
pub(super) struct IdArray(MappedArray<IdPair>);

impl IdArray {
    pub(super) fn new(array: MappedArray<IdPair>) -> Self {
        Self(array)
    }

    /// The number of ids.
    pub(super) fn entries(&self) -> u32 {
        self.0.entries().saturating_mul(2)
    }

    fn word(&self, id: u32) -> *mut u32 {
        let (value, half) = id_pair(id);
        // SAFETY: `half` is 0 or 1, inside the value.
        unsafe { self.0.value(value).cast::<u32>().add(half) }
    }

    /// The value of `id`.
    pub(super) fn read(&self, id: u32) -> u32 {
        // SAFETY: an aligned `u32` inside the mapping; only this process writes it.
        unsafe { self.word(id).read_volatile() }
    }

    /// Stores `value` for `id` with one 4-byte store, as [`MappedArray::point`].
    pub(super) fn point(&self, id: u32, value: u32) {
        // SAFETY: an aligned `u32` inside the mapping, which the kernel and this process only
        // access with 4-byte loads and stores.
        let word = unsafe { AtomicU32::from_ptr(self.word(id)) };
        word.store(value, Ordering::Release);
    }
}

impl MappedArray<u64> {
    /// Stores `value` at `index` with one 8-byte store, which a program reads whole. Release
    /// ordering: what the value leads to is in place first.
    pub(super) fn store(&self, index: u32, value: u64) {
        // SAFETY: an aligned `u64` inside the mapping (values are 8-aligned), which the kernel
        // and this process only access with 8-byte loads and stores.
        let cell = unsafe { AtomicU64::from_ptr(self.value(index)) };
        cell.store(value, Ordering::Release);
    }
}

impl MappedArray<Bucket> {
    /// Stores entry `index` of bucket `bucket` with one 8-byte store. A program reading it sees
    /// the old entry or the new one. Release ordering: the record it leads to is in place first.
    pub(super) fn store_entry(&self, bucket: u32, index: usize, entry: u64) {
        let entries = self.value(bucket).cast::<u64>();
        assert!(index < size_of::<Bucket>() / 8);
        // SAFETY: an aligned `u64` inside the mapping (values are 8-aligned), which the kernel
        // and this process only access with 8-byte loads and stores.
        let value = unsafe { AtomicU64::from_ptr(entries.add(index)) };
        value.store(entry, Ordering::Release);
    }
}

impl<T> Drop for MappedArray<T> {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; nothing refers to it after this.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped_len) };
    }
}
