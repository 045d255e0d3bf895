//! Loads the XDP program, attaches it to interfaces, detaches it on drop, and reads its
//! counters. The maps it answers from are written through [`crate::maps::MapWriter`].

mod attach;
mod counters;
mod error;
pub mod pins;
pub mod sizing;

use std::sync::Arc;

use aya::{
    maps::ProgramArray,
    programs::{links::Link as _, ProgramError, Xdp},
    Ebpf, EbpfLoader,
};
use lbdns_common::{maps, names::buckets_for};

pub use attach::AttachMode;
pub use counters::{CounterMap, Counters};
pub use error::XdpError;
pub use pins::{Adoptable, Pins};

use crate::maps::{MapError, MapWriter};

/// Load-time settings: the program's globals and map sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XdpConfig {
    /// The UDP port queries arrive on.
    pub dns_port: u16,
    /// RRsets (A and AAAA apart) the name table holds. Its buckets take 64 bytes per 6 of
    /// them, rounded up to a power of two (`lbdns_common::names::buckets_for`).
    pub rrset_entries: u32,
    /// Bytes for the name table's records: a record is 8 bytes plus its name's wire-format
    /// length rounded up to 8 (`www.example.com.`: 32 bytes). Rounded up to 8.
    pub name_bytes: u32,
    /// Answer-set slots, and RRset ids, for A RRsets: one per hot A RRset, and free ones for
    /// publishing changes. A publish that changes more RRsets than there are free slots waits
    /// for a grace period each time they run out (`lbdns_common::publish`), so a few percent
    /// spare keeps even a change of every RRset quick.
    pub a_slots: u32,
    /// As [`Self::a_slots`], for AAAA RRsets. Sized apart because a zone's A and AAAA counts
    /// can differ by millions, and an AAAA slot is 80 bytes of kernel memory
    /// (`lbdns_common::answer`).
    pub aaaa_slots: u32,
    /// Entries of the signature store, both families': one per signed hot RRset whose DO=1
    /// answers the fast path sends with their RRSIGs, plus free ones for changes (as slots).
    /// 632 bytes each.
    pub signature_entries: u32,
    /// Chunks of the client tables below /16 (`GEO_CHUNKS`), both families': one per /16, /24
    /// and so on that the client map splits further, so that the program finds their clients
    /// without the trie. 1 KiB each; past them the trie answers, more slowly.
    pub geo_chunks: u32,
    /// Slots of the IPv6 /48 table (`GEO_V6_48`): all of them
    /// (`lbdns_common::geo::V6_48_SLOTS`, 2 MiB) for a client map that splits an IPv6 /40,
    /// else 1. The program reads a slot past the table's end as empty, and places the client
    /// from its root table instead.
    pub geo_v6_slots: u32,
    /// Entries of `NEGATIVE_CHILDREN`: the names right below the apexes whose absent names the
    /// program answers, twice over (a publish adds new names before it removes old ones), a
    /// power of two. 16 bytes of buckets each, and an element per name used.
    pub negative_children: u32,
    /// Entries of `FIXED_REPLIES`: the fixed replies, twice over, a power of two. 16 bytes of
    /// buckets each, and an element of about 650 bytes per reply.
    pub fixed_replies: u32,
}

impl Default for XdpConfig {
    fn default() -> Self {
        Self {
            dns_port: 53,
            rrset_entries: maps::DEFAULT_RRSET_ENTRIES,
            name_bytes: default_name_bytes(maps::DEFAULT_RRSET_ENTRIES),
            a_slots: maps::DEFAULT_ANSWER_SLOTS,
            aaaa_slots: maps::DEFAULT_ANSWER_SLOTS,
            signature_entries: maps::DEFAULT_SIGNATURE_ENTRIES,
            geo_chunks: maps::DEFAULT_GEO_CHUNKS,
            geo_v6_slots: lbdns_common::geo::V6_48_SLOTS,
            negative_children: maps::DEFAULT_NEGATIVE_CHILDREN,
            fixed_replies: maps::DEFAULT_FIXED_REPLIES,
        }
    }
}

/// What the kernel reports about the loaded program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStats {
    /// Instructions the verifier processed (its complexity measure), if the kernel says.
    pub verified_instructions: Option<u32>,
    /// Size after the verifier's rewrites, in bytes.
    pub translated_bytes: Option<u32>,
    /// Size of the JIT-compiled code, in bytes.
    pub jited_bytes: u32,
    /// Total run time; counted only while `kernel.bpf_stats_enabled` is 1.
    pub run_time: std::time::Duration,
    /// Number of runs counted in `run_time`.
    pub run_count: u64,
}

/// The default `name_bytes` for a name table of `rrset_entries` RRsets.
pub const fn default_name_bytes(rrset_entries: u32) -> u32 {
    rrset_entries.saturating_mul(maps::DEFAULT_WORDS_PER_NAME * 8)
}

/// The loaded XDP program and the interfaces it is attached to. Dropping it detaches it and
/// removes its pins, unless [`FastPath::leave_for_restart`] said otherwise.
#[derive(Debug)]
pub struct FastPath {
    ebpf: Ebpf,
    attached: Vec<attach::Attachment>,
    counters: Arc<CounterMap>,
    /// The sizes the maps were made with.
    config: XdpConfig,
    /// The hash seed of the name table.
    name_seed: u64,
    /// Where the link and maps are pinned, if they are.
    pins: Option<Pins>,
    maps: MapOrigin,
    /// Set for an exit before a restart: the pins, and with them the program, stay.
    leave: bool,
}

/// Where a program's maps come from, and where they are pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapOrigin {
    /// Created for this program and not pinned.
    Unpinned,
    /// Created for this program, pinned in `maps_next/` until it is attached.
    Next,
    /// The instance's pinned maps (`maps/`): adopted from an earlier process, or promoted.
    Pinned,
    /// Pinned once, then replaced by another program's maps: nothing of them is pinned.
    Replaced,
}

impl FastPath {
    /// Loads `object` (the compiled lbdns-ebpf ELF) with `config`, through the verifier, with
    /// maps of its own that nothing pins.
    pub fn load(object: &[u8], config: &XdpConfig) -> Result<Self, XdpError> {
        Self::load_with(object, config, random_seed(), None, MapOrigin::Unpinned)
    }

    /// Loads `object` with new maps of `config`'s sizes, pinned in `pins` (in `maps_next/`
    /// until the program is attached or swapped in).
    pub fn load_pinned(object: &[u8], config: &XdpConfig, pins: &Pins) -> Result<Self, XdpError> {
        Self::load_with(object, config, random_seed(), Some(pins), MapOrigin::Next)
    }

    /// Loads `object` with the maps pinned in `pins` by an earlier process, which
    /// [`Pins::adoptable`] found of this build's layout: they keep what they hold, and the
    /// program the earlier process left attached keeps answering from them until this one is
    /// swapped in.
    pub fn adopt(object: &[u8], adopted: &Adoptable, pins: &Pins) -> Result<Self, XdpError> {
        Self::load_with(
            object,
            &adopted.config,
            adopted.name_seed,
            Some(pins),
            MapOrigin::Pinned,
        )
    }

    fn load_with(
        object: &[u8],
        config: &XdpConfig,
        name_seed: u64,
        pins: Option<&Pins>,
        maps: MapOrigin,
    ) -> Result<Self, XdpError> {
        // The kernel makes no array of 0 entries.
        let name_words = config.name_bytes.div_ceil(8).max(1);
        let buckets = buckets_for(config.rrset_entries);
        let bucket_mask = buckets - 1;
        let mut loader = EbpfLoader::new();
        loader.override_global(maps::DNS_PORT, &config.dns_port, true);
        loader.override_global(maps::NAME_SEED, &name_seed, true);
        loader.override_global(maps::NAME_BUCKET_MASK, &bucket_mask, true);
        loader.map_max_entries(maps::NAME_BUCKETS, buckets);
        loader.map_max_entries(maps::NAME_WORDS, name_words);
        // A family has as many ids as slots, and every array by RRset id an entry for each id
        // (two to a value): the geo rows too, or a geo pool owner with a high id (an extended
        // set's comes from the top) would have no row. The rotation counters have that for
        // every CPU.
        let cpus = cpus()?;
        let a_stride = maps::rotation_stride(config.a_slots);
        let aaaa_stride = maps::rotation_stride(config.aaaa_slots);
        loader.override_global(maps::ROTATION_STRIDE_V4, &a_stride, true);
        loader.override_global(maps::ROTATION_STRIDE_V6, &aaaa_stride, true);
        for (slots, stride, answers, by_id, rotation) in [
            (
                config.a_slots,
                a_stride,
                maps::ANSWERS_V4,
                [maps::RRSET_SLOT_V4, maps::GEO_ROW_V4],
                maps::ROTATION_V4,
            ),
            (
                config.aaaa_slots,
                aaaa_stride,
                maps::ANSWERS_V6,
                [maps::RRSET_SLOT_V6, maps::GEO_ROW_V6],
                maps::ROTATION_V6,
            ),
        ] {
            loader.map_max_entries(answers, slots);
            for name in by_id {
                loader.map_max_entries(name, maps::id_pairs(slots));
            }
            let counters = stride.checked_mul(cpus).ok_or(XdpError::TooManyCpus {
                cpus,
                map: rotation,
            })?;
            loader.map_max_entries(rotation, counters);
        }
        loader.map_max_entries(maps::SIGNATURES, config.signature_entries.max(1));
        loader.map_max_entries(
            maps::GEO_CHUNKS,
            config
                .geo_chunks
                .max(1)
                .saturating_mul(lbdns_common::geo::CHUNK_LEN),
        );
        loader.map_max_entries(maps::GEO_V6_48, config.geo_v6_slots.max(1));
        loader.map_max_entries(maps::NEGATIVE_CHILDREN, config.negative_children.max(1));
        loader.map_max_entries(maps::FIXED_REPLIES, config.fixed_replies.max(1));
        // aya opens a map pinned at its path, or creates the map and pins it there.
        if let Some(pins) = pins {
            let dir = match maps {
                MapOrigin::Pinned => pins.maps(),
                _ => {
                    // Pins of a program loaded before and never attached (a larger one
                    // replaces it) are not reused.
                    let dir = pins.maps_next();
                    let _ = std::fs::remove_dir_all(&dir);
                    std::fs::create_dir_all(&dir).map_err(|error| XdpError::pin(&dir, error))?;
                    dir
                }
            };
            for name in maps::PINNED {
                loader.map_pin_path(name, dir.join(name));
            }
        }
        let mut ebpf = loader.load(object).map_err(XdpError::from_ebpf)?;
        program_mut(&mut ebpf, maps::PROGRAM)?
            .load()
            .map_err(XdpError::from_program)?;
        load_fixed(&mut ebpf)?;
        let counters = Arc::new(CounterMap::take(&mut ebpf)?);
        Ok(Self {
            ebpf,
            attached: Vec::new(),
            counters,
            config: *config,
            name_seed,
            pins: pins.cloned(),
            maps,
            leave: false,
        })
    }

    /// Whether the program is attached to any interface.
    pub fn is_attached(&self) -> bool {
        !self.attached.is_empty()
    }

    /// Whether the maps were adopted from an earlier process (and so hold its answers).
    pub fn adopted(&self) -> bool {
        self.maps == MapOrigin::Pinned && self.attached.is_empty()
    }

    /// Fails unless an interface of this name exists, so that start-up can report a mistyped
    /// name before the slower work of filling the maps.
    pub fn check_interface(interface: &str) -> Result<(), XdpError> {
        let name = std::ffi::CString::new(interface)
            .map_err(|_| XdpError::NoInterface(interface.to_owned()))?;
        // SAFETY: a NUL-terminated string that outlives the call.
        match unsafe { libc::if_nametoindex(name.as_ptr()) } {
            0 => Err(XdpError::NoInterface(interface.to_owned())),
            _ => Ok(()),
        }
    }

    /// Attaches the program to `interface`. Returns the mode the kernel accepted. When the
    /// instance has a link pinned there by an earlier process, the program is swapped onto it
    /// instead (one `bpf_link` update: the interface never runs without a program), and the
    /// mode is the one asked; a link whose interface is gone is removed and a new one made.
    pub fn attach(&mut self, interface: &str, mode: AttachMode) -> Result<AttachMode, XdpError> {
        let pin = self.pins.as_ref().map(|pins| pins.link(interface));
        let program = program_mut(&mut self.ebpf, maps::PROGRAM)?;
        let adopted = pin
            .as_deref()
            .and_then(|path| attach::pinned(path, interface, mode));
        let attachment = match adopted {
            Some(link) => match attach::replace(program, link) {
                Ok(attachment) => {
                    tracing::info!(interface, "XDP program swapped in on the pinned link");
                    attachment
                }
                Err(error) => {
                    tracing::warn!(
                        interface,
                        "the pinned XDP link is unusable ({error}); attaching anew"
                    );
                    if let Some(path) = &pin {
                        let _ = std::fs::remove_file(path);
                    }
                    attach::attach(program, interface, mode, pin.as_deref())?
                }
            },
            None => attach::attach(program, interface, mode, pin.as_deref())?,
        };
        let accepted = attachment.mode;
        self.attached.push(attachment);
        self.promote_maps()?;
        Ok(accepted)
    }

    /// Swaps this program in for `old` on every interface `old` is attached to, each with one
    /// link update, and makes this program's maps the pinned ones. `old` is left detached from
    /// nothing and pinning nothing: dropping it frees its maps once no program uses them.
    pub fn replace(&mut self, old: &mut FastPath) -> Result<(), XdpError> {
        let program = program_mut(&mut self.ebpf, maps::PROGRAM)?;
        while let Some(attachment) = old.attached.pop() {
            let interface = attachment.interface.clone();
            match attach::replace(program, attachment) {
                Ok(attachment) => self.attached.push(attachment),
                Err(error) => {
                    tracing::error!(interface, "swapping the XDP program: {error}");
                    return Err(error);
                }
            }
        }
        if old.maps != MapOrigin::Unpinned {
            old.maps = MapOrigin::Replaced;
        }
        self.promote_maps()
    }

    /// Once the program runs, its maps are the instance's pinned ones.
    fn promote_maps(&mut self) -> Result<(), XdpError> {
        if let (MapOrigin::Next, Some(pins)) = (self.maps, &self.pins) {
            pins.promote_next()
                .map_err(|error| XdpError::pin(pins.dir(), error))?;
            self.maps = MapOrigin::Pinned;
        }
        Ok(())
    }

    /// Detaches the program from every interface and removes its pins. Also done on drop,
    /// unless [`Self::leave_for_restart`] was called.
    pub fn detach_all(&mut self) -> Result<(), XdpError> {
        let mut first_error = None;
        for attachment in self.attached.drain(..) {
            if let Some(path) = &attachment.pin {
                if let Err(error) = std::fs::remove_file(path) {
                    first_error.get_or_insert(XdpError::pin(path, error));
                }
            }
            if let Err(error) = attachment.link.detach() {
                first_error.get_or_insert(XdpError::detach(&attachment.interface, error));
            }
        }
        if let Some(pins) = &self.pins {
            let removed = match self.maps {
                MapOrigin::Pinned => pins.remove(),
                MapOrigin::Next => std::fs::remove_dir_all(pins.maps_next()),
                MapOrigin::Unpinned | MapOrigin::Replaced => Ok(()),
            };
            if let Err(error) = removed {
                first_error.get_or_insert(XdpError::pin(pins.dir(), error));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Gives this program up before it was attached, for another one: it removes no pin
    /// when dropped. (Adopted maps still serve the program an earlier process left attached;
    /// the other program's maps took `maps_next/`.)
    pub fn abandon(&mut self) {
        match self.maps {
            MapOrigin::Pinned => self.leave = true,
            MapOrigin::Next => self.maps = MapOrigin::Replaced,
            MapOrigin::Unpinned | MapOrigin::Replaced => {}
        }
    }

    /// Leaves the program attached and everything pinned when this is dropped, for the next
    /// process to adopt (an exit before a restart). Without pins the program is detached as
    /// usual: nothing would keep it.
    pub fn leave_for_restart(&mut self) {
        self.leave = self.pins.is_some() && self.maps == MapOrigin::Pinned;
        // Unpinned links detach when dropped either way.
        self.attached.retain(|attachment| attachment.pin.is_some());
    }

    /// Takes the writable maps. Call once, before answering anything. Adopted maps keep what
    /// they hold; new ones are stamped with this build's layout version.
    pub fn map_writer(&mut self) -> Result<MapWriter, MapError> {
        let (names, seed) = (self.config.rrset_entries, self.name_seed);
        match self.maps {
            MapOrigin::Pinned => MapWriter::adopt(&mut self.ebpf, names, seed),
            _ => MapWriter::new(&mut self.ebpf, names, seed),
        }
    }

    /// The sizes the maps were made with.
    pub fn config(&self) -> &XdpConfig {
        &self.config
    }

    /// The counters, summed over CPUs.
    pub fn counters(&self) -> Result<Counters, XdpError> {
        self.counters.read()
    }

    /// The counters' map, to read them without holding the program.
    pub fn counter_map(&self) -> Arc<CounterMap> {
        self.counters.clone()
    }

    /// The program, for `aya::programs::TestRun` (BPF_PROG_TEST_RUN) in tests and benchmarks.
    pub fn program(&self) -> &Xdp {
        self.ebpf
            .program(maps::PROGRAM)
            .and_then(|program| program.try_into().ok())
            .expect("load checked that the program exists")
    }

    /// The object's BADCOOKIE entry (`lbdns_common::maps::BADCOOKIE_PROGRAM`) on this
    /// program's maps, loaded through the verifier on first use: the tests run the reply that
    /// response rate limiting's slip sends through it. Never attached.
    pub fn badcookie_program(&mut self) -> Result<&Xdp, XdpError> {
        let program = program_mut(&mut self.ebpf, maps::BADCOOKIE_PROGRAM)?;
        if program.fd().is_err() {
            program.load().map_err(XdpError::from_program)?;
        }
        Ok(program)
    }

    /// Size and run-time statistics from the kernel. The run time includes the fixed replies'
    /// program's: a tail call runs inside its caller's run.
    pub fn stats(&self) -> Result<ProgramStats, XdpError> {
        stats_of(self.program())
    }

    /// Size statistics of the fixed replies' program (`lbdns_common::maps::FIXED_REPLY_PROGRAM`),
    /// which the verifier follows apart from the main one.
    pub fn fixed_stats(&self) -> Result<ProgramStats, XdpError> {
        let program = self
            .ebpf
            .program(maps::FIXED_REPLY_PROGRAM)
            .ok_or(XdpError::NoProgram)?;
        stats_of(program.try_into().map_err(XdpError::from_program)?)
    }
}

fn stats_of(program: &Xdp) -> Result<ProgramStats, XdpError> {
    let info = program.info().map_err(XdpError::from_program)?;
    Ok(ProgramStats {
        verified_instructions: info.verified_instruction_count(),
        translated_bytes: info.size_translated(),
        jited_bytes: info.size_jitted(),
        run_time: info.run_time(),
        run_count: info.run_count(),
    })
}

impl Drop for FastPath {
    fn drop(&mut self) {
        if self.leave {
            return;
        }
        if let Err(error) = self.detach_all() {
            tracing::warn!("detaching the XDP program: {error}");
        }
    }
}

/// Loads the fixed replies' program and puts it where the main program tail-calls it: in the
/// array `ebpf` holds open, and which is pinned with the other maps when the program is (the
/// kernel empties a program array once nothing holds it). With adopted maps, the program left
/// attached by the earlier process calls this one from here on.
fn load_fixed(ebpf: &mut Ebpf) -> Result<(), XdpError> {
    let program = program_mut(ebpf, maps::FIXED_REPLY_PROGRAM)?;
    program.load().map_err(XdpError::from_program)?;
    let fd = program
        .fd()
        .map_err(XdpError::from_program)?
        .try_clone()
        .map_err(|error| XdpError::Load(Box::new(error)))?;
    let map = ebpf
        .map_mut(maps::FIXED_PROGRAM)
        .ok_or(XdpError::NoMap(maps::FIXED_PROGRAM))?;
    let mut array = ProgramArray::try_from(map).map_err(|error| XdpError::Load(Box::new(error)))?;
    array
        .set(0, &fd, 0)
        .map_err(|error| XdpError::Load(Box::new(error)))
}

/// The object's XDP entry `name`.
fn program_mut<'e>(ebpf: &'e mut Ebpf, name: &str) -> Result<&'e mut Xdp, XdpError> {
    ebpf.program_mut(name)
        .ok_or(XdpError::NoProgram)?
        .try_into()
        .map_err(|error: ProgramError| XdpError::from_program(error))
}

/// A seed for the name table's hash from the kernel's random pool, so that the buckets a zone's
/// names fall into differ from one load to the next.
fn random_seed() -> u64 {
    let mut seed = [0u8; 8];
    // SAFETY: getrandom writes at most `seed.len()` bytes into `seed`.
    let filled = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
    // Without the pool (it cannot fail for 8 bytes after boot), a fixed seed still works: it
    // only lets a zone be crafted against it.
    if filled != seed.len() as isize {
        return 0x6c62_646e_735f_7365;
    }
    u64::from_le_bytes(seed)
}

/// How many CPUs the program may run on: one more than the highest possible CPU's number, the
/// bound of what `bpf_get_smp_processor_id` returns (the kernel's `nr_cpu_ids`). Not
/// `aya::util::nr_cpus`, which counts the possible CPUs: fewer than that bound when the list
/// has gaps, and a CPU numbered past the count would find no counter (its hot queries would all
/// go to the socket path).
fn cpus() -> Result<u32, XdpError> {
    const POSSIBLE: &str = "/sys/devices/system/cpu/possible";
    let text = std::fs::read_to_string(POSSIBLE).map_err(|source| XdpError::Cpus {
        path: POSSIBLE,
        source,
    })?;
    cpus_in(&text).ok_or_else(|| XdpError::Cpus {
        path: POSSIBLE,
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{:?} is not a list of CPU ranges", text.trim()),
        ),
    })
}

/// One more than the last CPU of a kernel CPU list (`0-3,8-11`), which is in ascending order.
fn cpus_in(list: &str) -> Option<u32> {
    let last = list.trim().rsplit([',', '-']).next()?;
    last.parse::<u32>().ok()?.checked_add(1)
}

#[cfg(test)]
mod tests {
    use super::cpus_in;

    #[test]
    fn the_cpu_count_is_one_past_the_last_possible_cpu() {
        assert_eq!(cpus_in("0\n"), Some(1));
        assert_eq!(cpus_in("0-1\n"), Some(2));
        assert_eq!(cpus_in("0-3,8-11\n"), Some(12));
        assert_eq!(cpus_in("0,2\n"), Some(3));
        assert_eq!(cpus_in("\n"), None);
        assert_eq!(cpus_in("0-x"), None);
    }
}
