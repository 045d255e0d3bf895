//! `RRSET_SLOT_*` mapped into this process, so that pointing an RRset id at a new slot is one
//! aligned atomic 4-byte store. Through `bpf(2)` it would be a kernel `memcpy`, which is not
//! guaranteed to be a single store (`lbdns_common::publish`, rule 4).

use std::{
    io,
    os::fd::AsFd,
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
};

use aya::maps::{Map, MapData};

use super::MapError;

/// The kernel lays array values out `round_up(value_size, 8)` bytes apart (`elem_size` in
/// kernel/bpf/arraymap.c), and a `BPF_F_MMAPABLE` array maps them from offset 0.
const ELEM_SIZE: usize = 8;
/// `BPF_F_MMAPABLE` from linux/bpf.h.
const BPF_F_MMAPABLE: u32 = 1 << 10;

/// One `RRSET_SLOT_*` array, writable in place.
pub(super) struct SlotTable {
    name: &'static str,
    /// The first value; `entries` values follow, `ELEM_SIZE` apart.
    base: NonNull<u8>,
    entries: u32,
    mapped_len: usize,
    /// Keeps the map alive as long as the mapping (the mapping holds a reference too).
    _map: MapData,
}

// SAFETY: the mapping belongs to this value alone and is only written through atomics; moving
// it to another thread moves nothing that is tied to the creating one.
unsafe impl Send for SlotTable {}

impl std::fmt::Debug for SlotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotTable")
            .field("name", &self.name)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl SlotTable {
    /// Maps `map`, which must be the program's `name` array of `u32` created mmapable.
    pub(super) fn new(map: Map, name: &'static str) -> Result<Self, MapError> {
        let Map::Array(map) = map else {
            return Err(MapError::Layout {
                map: name,
                reason: "not an array",
            });
        };
        let info = map.info().map_err(|source| MapError::Map {
            op: "reading the map's info",
            map: name,
            source,
        })?;
        if info.value_size() as usize != size_of::<u32>() {
            return Err(MapError::Layout {
                map: name,
                reason: "values are not u32",
            });
        }
        if info.map_flags() & BPF_F_MMAPABLE == 0 {
            return Err(MapError::Layout {
                map: name,
                reason: "not created with BPF_F_MMAPABLE",
            });
        }
        let entries = info.max_entries();
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let mapped_len = (entries as usize * ELEM_SIZE).div_ceil(page) * page;
        // SAFETY: a fresh shared mapping of the map's values; the kernel checks the length
        // against the map's size.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&map.fd().as_fd()),
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
            mapped_len,
            _map: map,
        })
    }

    /// The number of ids.
    pub(super) fn entries(&self) -> u32 {
        self.entries
    }

    /// Points `id` at `slot` with one 4-byte store. A program reading it sees the old slot or
    /// the new one. Release ordering: the new set, written before, is in place first.
    pub(super) fn point(&self, id: u32, slot: u32) {
        assert!(id < self.entries, "id {id} beyond {}", self.name);
        // SAFETY: `id` is in bounds, so the value is inside the mapping and 8-aligned (page
        // aligned base, `ELEM_SIZE` stride); the kernel and this process only access it with
        // 4-byte loads and stores.
        let value = unsafe {
            &*self
                .base
                .as_ptr()
                .add(id as usize * ELEM_SIZE)
                .cast::<AtomicU32>()
        };
        value.store(slot, Ordering::Release);
    }
}

impl Drop for SlotTable {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; nothing refers to it after this.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped_len) };
    }
}
