//! The benchmark's own XDP programs (bench/ceiling) and what the kernel counts about any XDP
//! program: run time per packet and map memory. Read through the bpf(2) syscall (aya), because
//! Debian's bpftool cannot be relied on to be installed and cannot open aya objects anyway.

use std::{
    fs,
    os::fd::{AsFd as _, AsRawFd as _, OwnedFd},
    path::{Path, PathBuf},
};

use anyhow::{anyhow, Context as _, Result};
use aya::{
    maps::MapInfo,
    programs::{loaded_programs, ProgramInfo, Xdp, XdpMode},
    sys::{enable_stats, Stats},
    Ebpf, EbpfLoader, TestRun as _, TestRunOptions,
};

use lbdns_common::{
    answer::AnswerSetV4,
    maps::MIN_SLOTS,
    names::{buckets_for, Bucket},
};

use super::{
    netns::{Net, Side},
    targets::ZoneFile,
};
use crate::{ebpf, workspace};
use lbdns_tests::Namespace;

/// The ELF binary of bench/ceiling, holding both programs.
const CEILING_BIN: &str = "ceiling";

/// Builds bench/ceiling with lbdns-ebpf's toolchain and flags; returns the object.
pub fn build_ceiling() -> Result<PathBuf> {
    ebpf::build_crate(&workspace::ceiling_crate(), CEILING_BIN)
}

/// A program of the ceiling object, in native mode on one veth end; detached on drop.
#[derive(Debug)]
pub struct Attached {
    /// Owns the program and its bpf_link: closing them detaches it. aya attaches XDP through
    /// bpf_link on every kernel since 5.9, and a link is detached by closing its fd from any
    /// thread or namespace. (The benchmark checks that nothing is left attached after a target.)
    _ebpf: Ebpf,
}

/// The ceiling object's programs.
#[derive(Clone, Copy, Debug)]
pub enum Program {
    /// Reflects every query with QR set: the upper bound for an XDP responder.
    Ceiling,
    /// Reflects like [`Program::Ceiling`] after two dependent reads in arrays of these sizes:
    /// the upper bound for an XDP responder that looks a name up in a table that large.
    LookupFloor(LookupSizes),
    /// Passes everything: the peer program that lets native XDP_TX reach the client's stack.
    Pass,
}

impl Program {
    fn name(self) -> &'static str {
        match self {
            Program::Ceiling => "ceiling",
            Program::LookupFloor(_) => "lookup_floor",
            Program::Pass => "pass",
        }
    }
}

impl Attached {
    /// Loads `program` from `object` and attaches it in native mode to `side`'s veth end.
    pub fn new(net: &Net, side: Side, object: &Path, program: Program) -> Result<Self> {
        Self::on(net.ns(side), side.interface(), object, program)
    }

    /// Loads `program` from `object` and attaches it in native mode to `interface` of `ns`.
    pub fn on(ns: &Namespace, interface: &str, object: &Path, program: Program) -> Result<Self> {
        let object = object.to_owned();
        let interface = interface.to_owned();
        // Interface names resolve in the calling thread's namespace: attach from a thread in it.
        let ebpf = ns.enter(move || -> Result<Ebpf> {
            let mut ebpf = open(&object, program)?;
            let xdp = load(&mut ebpf, &object, program)?;
            xdp.attach(&interface, XdpMode::Driver).with_context(|| {
                format!(
                    "cannot attach {} to {interface} in native mode",
                    program.name()
                )
            })?;
            Ok(ebpf)
        })??;
        Ok(Self { _ebpf: ebpf })
    }
}

/// The sizes of [`Program::LookupFloor`]'s two arrays, in entries.
#[derive(Clone, Copy, Debug)]
pub struct LookupSizes {
    /// 64-byte buckets, as many as lbdns's name table has.
    pub buckets: u32,
    /// Entries the size of lbdns's A answer set, as many as it has slots.
    pub sets: u32,
}

impl LookupSizes {
    /// The arrays for `zone`: lbdns's name table and A answer sets as the benchmark sizes them
    /// for it, or at their defaults for a zone they hold.
    pub fn for_zone(zone: &ZoneFile) -> Self {
        let entries = zone.xdp_entries().unwrap_or(MIN_SLOTS);
        Self {
            buckets: buckets_for(entries),
            sets: entries,
        }
    }

    /// The bytes of both arrays' values.
    pub fn bytes(&self) -> usize {
        self.buckets as usize * size_of::<Bucket>() + self.sets as usize * size_of::<AnswerSetV4>()
    }
}

/// The ceiling object, read, with its maps created for `program`: the lookup floor's arrays
/// at their sizes for it, at one entry for the others. None of its programs is loaded yet.
fn open(object: &Path, program: Program) -> Result<Ebpf> {
    let mut loader = EbpfLoader::new();
    if let Program::LookupFloor(LookupSizes { buckets, sets }) = &program {
        loader
            .map_max_entries("LOOKUP_BUCKETS", *buckets)
            .map_max_entries("LOOKUP_SETS", *sets)
            .override_global("BUCKETS", buckets, true)
            .override_global("SETS", sets, true);
    }
    loader
        .load_file(object)
        .with_context(|| format!("cannot load {}", object.display()))
}

/// Loads `program` of `ebpf`, opened from `object`, into the kernel.
fn load<'a>(ebpf: &'a mut Ebpf, object: &Path, program: Program) -> Result<&'a mut Xdp> {
    let xdp: &mut Xdp = ebpf
        .program_mut(program.name())
        .ok_or_else(|| anyhow!("{} has no program {}", object.display(), program.name()))?
        .try_into()?;
    xdp.load()
        .with_context(|| format!("the verifier rejected {}", program.name()))?;
    Ok(xdp)
}

/// Turns on the kernel's per-program run time and run count (what `kernel.bpf_stats_enabled=1`
/// does) for as long as the returned fd is open, and only that long.
///
/// The accounting reads the clock before and after every run, for every XDP target alike, and
/// part of those reads falls inside the interval it reports: see [`accounting_floor`].
pub fn count_run_time() -> Result<OwnedFd> {
    enable_stats(Stats::RunTime).context("cannot enable BPF run-time statistics (BPF_ENABLE_STATS)")
}

/// Runs of [`Program::Pass`] that [`accounting_floor`] averages over.
const FLOOR_RUNS: u32 = 1_000_000;

/// The run time per packet that the accounting reports for a program that returns at once:
/// what every ns/packet figure contains before a program does any work. On a VM the clock is
/// paravirtual and a read costs tens of ns, so this is most of the ceiling's figure.
///
/// Measured with BPF_PROG_TEST_RUN, which runs [`Program::Pass`] from `object` [`FLOOR_RUNS`]
/// times in one call, with no interface. Needs [`count_run_time`]'s fd open.
pub fn accounting_floor(object: &Path) -> Result<f64> {
    let mut ebpf = open(object, Program::Pass)?;
    let xdp = load(&mut ebpf, object, Program::Pass)?;
    let name = Program::Pass.name();
    let id = xdp.info()?.id();
    let before = run_stats(id)?;
    // Any bytes do: the program reads none. 64 is the smallest Ethernet frame.
    let frame = [0u8; 64];
    let options = TestRunOptions {
        data_in: Some(&frame),
        repeat: FLOOR_RUNS,
        ..TestRunOptions::new()
    };
    xdp.test_run(options)
        .with_context(|| format!("BPF_PROG_TEST_RUN of {name} failed"))?;
    before
        .ns_per_run_until(run_stats(id)?)
        .ok_or_else(|| anyhow!("{name} ran but the kernel counted no run time"))
}

/// A program's cumulative run time and run count.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunStats {
    pub run_time_ns: u64,
    pub runs: u64,
}

impl RunStats {
    /// Average ns per run between `self` (earlier) and `later`; `None` if it did not run.
    pub fn ns_per_run_until(self, later: RunStats) -> Option<f64> {
        let runs = later.runs.checked_sub(self.runs)?;
        let time = later.run_time_ns.checked_sub(self.run_time_ns)?;
        (runs > 0).then(|| time as f64 / runs as f64)
    }
}

pub fn run_stats(id: u32) -> Result<RunStats> {
    let info = program(id)?;
    Ok(RunStats {
        run_time_ns: u64::try_from(info.run_time().as_nanos()).unwrap_or(u64::MAX),
        runs: info.run_count(),
    })
}

/// Kernel memory charged to the maps of program `id` (the `memlock` of each map), in bytes.
pub fn map_bytes(id: u32) -> Result<u64> {
    let ids = program(id)?
        .map_ids()
        .with_context(|| format!("cannot list the maps of BPF program {id}"))?
        .unwrap_or_default();
    let mut total = 0;
    for map in ids {
        let info = MapInfo::from_id(map).with_context(|| format!("no BPF map {map}"))?;
        let fd = info
            .fd()
            .with_context(|| format!("cannot open BPF map {map}"))?;
        let fdinfo = format!("/proc/self/fdinfo/{}", fd.as_fd().as_raw_fd());
        let text = fs::read_to_string(&fdinfo).with_context(|| format!("cannot read {fdinfo}"))?;
        total += memlock(&text).with_context(|| format!("no memlock in {fdinfo}"))?;
    }
    Ok(total)
}

/// The loaded program `id`.
pub fn program(id: u32) -> Result<ProgramInfo> {
    for info in loaded_programs() {
        let info = info.context("cannot list loaded BPF programs")?;
        if info.id() == id {
            return Ok(info);
        }
    }
    Err(anyhow!("BPF program {id} is not loaded"))
}

/// The `memlock:\t4096` line of a BPF fd's fdinfo.
fn memlock(fdinfo: &str) -> Option<u64> {
    fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("memlock:"))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memlock_from_map_fdinfo() {
        let fdinfo = "pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t2066\nmap_type:\t1\n\
                      key_size:\t256\nvalue_size:\t8\nmax_entries:\t65536\nmap_flags:\t0x1\n\
                      map_extra:\t0x0\nmemlock:\t17305600\nmap_id:\t41\nfrozen:\t0\n";
        assert_eq!(memlock(fdinfo), Some(17_305_600));
    }

    #[test]
    fn ns_per_run_needs_runs() {
        let before = RunStats {
            run_time_ns: 1_000,
            runs: 10,
        };
        let after = RunStats {
            run_time_ns: 7_100,
            runs: 110,
        };
        assert_eq!(before.ns_per_run_until(after), Some(61.0));
        assert_eq!(after.ns_per_run_until(after), None);
    }
}
