//! Loads the XDP program, attaches it to interfaces, detaches it on drop, and reads its
//! counters. The maps it answers from are written through [`crate::maps::MapWriter`].

mod attach;
mod counters;
mod error;
pub mod sizing;

use std::sync::Arc;

use aya::{
    programs::{ProgramError, Xdp},
    Ebpf, EbpfLoader,
};
use lbdns_common::{maps, names::buckets_for};

pub use attach::AttachMode;
pub use counters::{CounterMap, Counters};
pub use error::XdpError;

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
    /// can differ by millions, and an AAAA slot is 304 bytes of kernel memory.
    pub aaaa_slots: u32,
    /// Entries of the signature store, both families': one per signed hot RRset whose DO=1
    /// answers the fast path sends with their RRSIGs, plus free ones for changes (as slots).
    /// 632 bytes each.
    pub signature_entries: u32,
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

/// The loaded XDP program and the interfaces it is attached to. Dropping it detaches it.
#[derive(Debug)]
pub struct FastPath {
    ebpf: Ebpf,
    attached: Vec<attach::Attachment>,
    counters: Arc<CounterMap>,
    /// The sizes the maps were made with.
    config: XdpConfig,
    /// The hash seed this load drew for the name table.
    name_seed: u64,
}

impl FastPath {
    /// Loads `object` (the compiled lbdns-ebpf ELF) with `config`, through the verifier.
    pub fn load(object: &[u8], config: &XdpConfig) -> Result<Self, XdpError> {
        // The kernel makes no array of 0 entries.
        let name_words = config.name_bytes.div_ceil(8).max(1);
        let buckets = buckets_for(config.rrset_entries);
        let bucket_mask = buckets - 1;
        let name_seed = random_seed();
        let mut loader = EbpfLoader::new();
        loader.override_global(maps::DNS_PORT, &config.dns_port, true);
        loader.override_global(maps::NAME_SEED, &name_seed, true);
        loader.override_global(maps::NAME_BUCKET_MASK, &bucket_mask, true);
        loader.map_max_entries(maps::NAME_BUCKETS, buckets);
        loader.map_max_entries(maps::NAME_WORDS, name_words);
        for name in [maps::RRSET_SLOT_V4, maps::ANSWERS_V4, maps::ROTATION_V4] {
            loader.map_max_entries(name, config.a_slots);
        }
        for name in [maps::RRSET_SLOT_V6, maps::ANSWERS_V6, maps::ROTATION_V6] {
            loader.map_max_entries(name, config.aaaa_slots);
        }
        loader.map_max_entries(maps::SIGNATURES, config.signature_entries.max(1));
        let mut ebpf = loader.load(object).map_err(XdpError::from_ebpf)?;
        program_mut(&mut ebpf)?
            .load()
            .map_err(XdpError::from_program)?;
        let counters = Arc::new(CounterMap::take(&mut ebpf)?);
        Ok(Self {
            ebpf,
            attached: Vec::new(),
            counters,
            config: *config,
            name_seed,
        })
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

    /// Attaches the program to `interface`. Returns the mode the kernel accepted.
    pub fn attach(&mut self, interface: &str, mode: AttachMode) -> Result<AttachMode, XdpError> {
        let attachment = attach::attach(program_mut(&mut self.ebpf)?, interface, mode)?;
        let accepted = attachment.mode;
        self.attached.push(attachment);
        Ok(accepted)
    }

    /// Detaches the program from every interface. Also done on drop.
    pub fn detach_all(&mut self) -> Result<(), XdpError> {
        let program = program_mut(&mut self.ebpf)?;
        let mut first_error = None;
        for attachment in self.attached.drain(..) {
            if let Err(error) = attach::detach(program, attachment) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Takes the writable maps. Call once, before answering anything.
    pub fn map_writer(&mut self) -> Result<MapWriter, MapError> {
        MapWriter::new(&mut self.ebpf, self.config.rrset_entries, self.name_seed)
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

    /// Size and run-time statistics from the kernel.
    pub fn stats(&self) -> Result<ProgramStats, XdpError> {
        let info = self.program().info().map_err(XdpError::from_program)?;
        Ok(ProgramStats {
            verified_instructions: info.verified_instruction_count(),
            translated_bytes: info.size_translated(),
            jited_bytes: info.size_jitted(),
            run_time: info.run_time(),
            run_count: info.run_count(),
        })
    }
}

impl Drop for FastPath {
    fn drop(&mut self) {
        if let Err(error) = self.detach_all() {
            tracing::warn!("detaching the XDP program: {error}");
        }
    }
}

fn program_mut(ebpf: &mut Ebpf) -> Result<&mut Xdp, XdpError> {
    ebpf.program_mut(maps::PROGRAM)
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
