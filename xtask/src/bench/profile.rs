//! `cargo xtask bench --profile`: where an XDP program spends its time under load, by source
//! line.
//!
//! The kernel run-time statistics give one figure per packet; to find what to cut, the time has
//! to be split. `perf record -a` samples every CPU during a dnsperf load, and each sample that
//! lands in the program's JITed code is charged to the source line the kernel's `jited_line_info`
//! gives for that address (the program's BTF line records, which name the file and hold the
//! line's text). Shares are of the samples in the program, which is what a cut changes.
//!
//! Inlined code is charged to the line it came from (a bounds check in `frame.rs`, an `opaque`
//! round trip in `maps.rs`), so the files' shares say which kind of work costs. The line records
//! do not say where code was inlined, so the report also charges library code (a volatile load,
//! a map helper's wrapper) to the program's own line just before it in the code, which is
//! nearly always its caller: the hottest of those lines say which instance of the work costs.
//! The first report (the hot mix on a 2-core Intel VM) put 9% of the program's samples on the
//! loads of `lookup::touch` and `answer_set` (cache misses of the slot and rotation arrays),
//! and 8% more on the first loads of a name bucket and of a name record.

use std::{
    collections::BTreeMap,
    ffi::c_void,
    fmt::Write as _,
    fs,
    os::fd::{AsFd as _, AsRawFd as _, FromRawFd as _, OwnedFd},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use anyhow::{bail, ensure, Context as _, Result};
use aya_obj::generated::{bpf_btf_info, bpf_cmd, bpf_line_info, bpf_prog_info, btf_header};

/// Lines shown in the report, hottest first.
const TOP_LINES: usize = 40;

/// A `perf record` of every CPU, running beside a load.
pub struct Recording {
    perf: Child,
    data: PathBuf,
    report: PathBuf,
}

impl Recording {
    /// Starts sampling for `secs` seconds; the data and then the report go next to
    /// `log_stem` (`<stem>.perf.data`, `<stem>.profile.txt`).
    pub fn start(log_stem: &Path, secs: u64) -> Result<Self> {
        let data = log_stem.with_extension("perf.data");
        let perf = Command::new("perf")
            .args([
                "record",
                "--all-cpus",
                "--event",
                "cpu-clock",
                "--freq",
                "9999",
            ])
            .arg("--output")
            .arg(&data)
            .args(["--", "sleep", &secs.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run perf (cargo xtask setup installs it with linux-perf)")?;
        Ok(Self {
            perf,
            data,
            report: log_stem.with_extension("profile.txt"),
        })
    }

    /// Waits for the recording, charges its samples to the lines of program `id` and writes the
    /// report; returns its path.
    pub fn finish(mut self, id: u32) -> Result<PathBuf> {
        let status = self.perf.wait().context("perf record did not finish")?;
        ensure!(status.success(), "perf record failed: {status}");
        let lines = LineTable::of_program(id)?;
        let script = Command::new("perf")
            .args(["script", "--fields", "ip", "--input"])
            .arg(&self.data)
            .output()
            .context("cannot run perf script")?;
        ensure!(
            script.status.success(),
            "perf script failed: {}",
            String::from_utf8_lossy(&script.stderr)
        );
        let ips = String::from_utf8_lossy(&script.stdout)
            .lines()
            .filter_map(|line| u64::from_str_radix(line.trim(), 16).ok())
            .collect::<Vec<_>>();
        let report = lines.charge(&ips).render(TOP_LINES);
        fs::write(&self.report, report)
            .with_context(|| format!("cannot write {}", self.report.display()))?;
        Ok(self.report)
    }
}

/// One source line of a program: where it is, and its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    pub file: String,
    pub number: u32,
    pub text: String,
    /// Whether the line is the program's own code, not the standard library's or a
    /// dependency's (inlined: a volatile load, a map helper's wrapper).
    pub own: bool,
}

/// A program's JITed code by address: the address ranges of its functions, and the line each
/// stretch of code came from.
#[derive(Debug)]
pub struct LineTable {
    /// Start and length of each JITed function.
    functions: Vec<(u64, u64)>,
    /// Start address of each line record's code, ascending, with the record's line.
    starts: Vec<(u64, Line)>,
    /// For each record, the last of the program's own lines at or before it in the code: where
    /// inlined library code was called from, as near as the line records tell (they do not
    /// record inlining).
    sites: Vec<Option<usize>>,
}

/// Samples charged to lines.
#[derive(Debug, Default, PartialEq)]
pub struct Charged {
    /// Samples anywhere, and in the program.
    pub total: usize,
    pub in_program: usize,
    pub by_line: BTreeMap<Line, usize>,
    /// The same samples with library lines charged to their [`LineTable`] site.
    pub by_site: BTreeMap<Line, usize>,
}

impl LineTable {
    /// The table of functions and lines, the latter sorted by address.
    pub fn new(functions: Vec<(u64, u64)>, mut starts: Vec<(u64, Line)>) -> Self {
        starts.sort_by_key(|(address, _)| *address);
        let mut site = None;
        let sites = starts
            .iter()
            .enumerate()
            .map(|(i, (_, line))| {
                if line.own {
                    site = Some(i);
                }
                site
            })
            .collect();
        Self {
            functions,
            starts,
            sites,
        }
    }

    /// Reads program `id`'s table from the kernel.
    pub fn of_program(id: u32) -> Result<Self> {
        let program = super::xdp::program(id)?
            .fd()
            .with_context(|| format!("cannot open BPF program {id}"))?;
        let fd = program.as_fd().as_raw_fd();
        // The counts first, then the arrays, sized from them.
        // SAFETY: a generated kernel ABI structure of integers.
        let mut counts = unsafe { zeroed::<bpf_prog_info>() };
        object_info(fd, &mut counts)?;
        ensure!(
            counts.nr_jited_line_info == counts.nr_line_info && counts.nr_line_info > 0,
            "BPF program {id} has no line information for its JITed code (is the JIT on?)"
        );
        let mut ksyms = vec![0u64; counts.nr_jited_ksyms as usize];
        let mut lens = vec![0u32; counts.nr_jited_func_lens as usize];
        let mut lines = vec![
            // SAFETY: as above.
            unsafe { zeroed::<bpf_line_info>() };
            counts.nr_line_info as usize
        ];
        let mut addresses = vec![0u64; counts.nr_jited_line_info as usize];
        let mut info = bpf_prog_info {
            nr_jited_ksyms: counts.nr_jited_ksyms,
            jited_ksyms: ksyms.as_mut_ptr() as u64,
            nr_jited_func_lens: counts.nr_jited_func_lens,
            jited_func_lens: lens.as_mut_ptr() as u64,
            nr_line_info: counts.nr_line_info,
            line_info_rec_size: size_of::<bpf_line_info>() as u32,
            line_info: lines.as_mut_ptr() as u64,
            nr_jited_line_info: counts.nr_jited_line_info,
            jited_line_info_rec_size: size_of::<u64>() as u32,
            jited_line_info: addresses.as_mut_ptr() as u64,
            // SAFETY: as above.
            ..unsafe { zeroed() }
        };
        object_info(fd, &mut info)?;
        let strings = BtfStrings::of(counts.btf_id)?;
        let root = crate::workspace::root().to_string_lossy();
        let functions = ksyms
            .into_iter()
            .zip(lens)
            .map(|(start, len)| (start, u64::from(len)))
            .collect();
        let starts = addresses
            .into_iter()
            .zip(lines)
            .map(|(address, record)| {
                let (file, own) = shown_path(strings.at(record.file_name_off), &root);
                let line = Line {
                    own,
                    file,
                    number: record.line_col >> 10,
                    text: strings.at(record.line_off).trim().to_owned(),
                };
                (address, line)
            })
            .collect();
        Ok(Self::new(functions, starts))
    }

    /// Charges each sampled address to the line whose code holds it, if it is in the program.
    pub fn charge(&self, ips: &[u64]) -> Charged {
        let mut charged = Charged {
            total: ips.len(),
            ..Charged::default()
        };
        for &ip in ips {
            let inside = self
                .functions
                .iter()
                .any(|&(start, len)| (start..start + len).contains(&ip));
            let record = self.starts.partition_point(|(address, _)| *address <= ip);
            if !inside || record == 0 {
                continue;
            }
            charged.in_program += 1;
            let line = &self.starts[record - 1].1;
            *charged.by_line.entry(line.clone()).or_default() += 1;
            let site = self.sites[record - 1].map_or(line, |site| &self.starts[site].1);
            *charged.by_site.entry(site.clone()).or_default() += 1;
        }
        charged
    }
}

impl Charged {
    /// The report: shares by file, then the `top` hottest lines.
    pub fn render(&self, top: usize) -> String {
        let mut out = String::new();
        let share = |n: usize| 100.0 * n as f64 / self.in_program.max(1) as f64;
        let _ = writeln!(
            out,
            "{} samples in the program, of {} on all CPUs; shares are of the program's\n",
            self.in_program, self.total
        );
        let mut by_file = BTreeMap::<&str, usize>::new();
        for (line, n) in &self.by_line {
            *by_file.entry(&line.file).or_default() += n;
        }
        let mut files: Vec<_> = by_file.into_iter().collect();
        files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        for (file, n) in files {
            let _ = writeln!(out, "{:5.1}%  {file}", share(n));
        }
        for (title, lines) in [
            (
                "own lines, inlined library code charged to the own line before it",
                &self.by_site,
            ),
            ("lines, library code as itself", &self.by_line),
        ] {
            let _ = writeln!(out, "\nThe {top} hottest {title}:\n");
            let mut lines: Vec<_> = lines.iter().collect();
            lines.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (line, n) in lines.into_iter().take(top) {
                let place = format!("{}:{}", line.file, line.number);
                let _ = writeln!(out, "{:5.1}%  {place:40} {}", share(*n), line.text);
            }
        }
        out
    }
}

/// The string section of a BTF object loaded in the kernel.
struct BtfStrings(Vec<u8>);

impl BtfStrings {
    /// Reads BTF object `id`'s strings.
    fn of(id: u32) -> Result<Self> {
        ensure!(id != 0, "the program has no BTF, so no line records");
        #[repr(C)]
        struct ById {
            id: u32,
            next_id: u32,
            open_flags: u32,
        }
        let attr = ById {
            id,
            next_id: 0,
            open_flags: 0,
        };
        let fd = bpf(bpf_cmd::BPF_BTF_GET_FD_BY_ID, &attr)
            .with_context(|| format!("cannot open BTF object {id}"))?;
        // SAFETY: the syscall returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a generated kernel ABI structure of integers.
        let mut sized = unsafe { zeroed::<bpf_btf_info>() };
        object_info(fd.as_raw_fd(), &mut sized)?;
        let mut raw = vec![0u8; sized.btf_size as usize];
        let mut info = bpf_btf_info {
            btf: raw.as_mut_ptr() as u64,
            btf_size: sized.btf_size,
            // SAFETY: as above.
            ..unsafe { zeroed() }
        };
        object_info(fd.as_raw_fd(), &mut info)?;
        Self::from_raw(&raw)
    }

    /// The string section of raw BTF (a header, the types, the strings).
    fn from_raw(raw: &[u8]) -> Result<Self> {
        let header_len = size_of::<btf_header>();
        ensure!(raw.len() >= header_len, "BTF shorter than its header");
        let word = |at: usize| u32::from_ne_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
        // btf_header: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len.
        ensure!(raw[..2] == 0xeb9f_u16.to_ne_bytes(), "not BTF (bad magic)");
        let (hdr_len, str_off, str_len) = (word(4), word(16), word(20));
        let start = hdr_len + str_off;
        match raw.get(start..start + str_len) {
            Some(strings) => Ok(Self(strings.to_vec())),
            None => bail!("BTF string section past the object's end"),
        }
    }

    /// The string at `offset`, empty if there is none.
    fn at(&self, offset: u32) -> &str {
        let tail = self.0.get(offset as usize..).unwrap_or_default();
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).unwrap_or("?")
    }
}

/// A source file as the report names it, and whether it is the workspace's own: its path in
/// the workspace `root`, or the last three components of a library's (`src/ptr/mod.rs`).
fn shown_path(path: &str, root: &str) -> (String, bool) {
    if let Some(own) = path.strip_prefix(root).and_then(|p| p.strip_prefix('/')) {
        return (own.to_owned(), true);
    }
    let parts: Vec<&str> = path.rsplit('/').take(3).collect();
    let shown = parts.into_iter().rev().collect::<Vec<_>>().join("/");
    (shown, false)
}

/// A kernel ABI structure with every field 0: what the kernel reads as "not asked for".
///
/// # Safety
///
/// All zero bytes must be a valid `T`: the generated `bpf_*_info` structures, plain integers
/// throughout, are.
unsafe fn zeroed<T>() -> T {
    // SAFETY: the caller's promise.
    unsafe { std::mem::zeroed() }
}

/// BPF_OBJ_GET_INFO_BY_FD into `info`, whose size the kernel is told.
fn object_info<T>(fd: i32, info: &mut T) -> Result<()> {
    #[repr(C)]
    struct InfoByFd {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    let attr = InfoByFd {
        bpf_fd: fd as u32,
        info_len: size_of::<T>() as u32,
        info: std::ptr::from_mut(info) as u64,
    };
    bpf(bpf_cmd::BPF_OBJ_GET_INFO_BY_FD, &attr).context("BPF_OBJ_GET_INFO_BY_FD")?;
    Ok(())
}

/// The bpf(2) syscall with `attr`; its non-negative result.
fn bpf<A>(cmd: bpf_cmd, attr: &A) -> Result<i32> {
    // SAFETY: `attr` is a live, fully initialised attribute block of the size passed; the
    // pointers inside it, if any, point at buffers of the sizes it gives.
    let result = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as i32,
            std::ptr::from_ref(attr).cast::<c_void>(),
            size_of::<A>() as u32,
        )
    };
    if result < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(result as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(file: &str, number: u32) -> Line {
        Line {
            file: file.into(),
            number,
            text: format!("line {number}"),
            own: file != "lib.rs",
        }
    }

    #[test]
    fn samples_are_charged_to_the_line_whose_code_holds_them() {
        // One function at 0x1000..0x1100; line records at 0x1000 (own), 0x1040 (library code
        // inlined there) and 0x1080 (own), given out of order.
        let table = LineTable::new(
            vec![(0x1000, 0x100)],
            vec![
                (0x1080, line("b.rs", 3)),
                (0x1000, line("a.rs", 1)),
                (0x1040, line("lib.rs", 2)),
            ],
        );
        // Outside the function (before, after, at its end), then inside.
        let ips = [
            0x0fff, 0x1100, 0x2000, 0x1000, 0x103f, 0x1040, 0x10ff, 0x1081,
        ];
        let charged = table.charge(&ips);
        assert_eq!(charged.total, 8);
        assert_eq!(charged.in_program, 5);
        let numbers = |lines: &BTreeMap<Line, usize>| -> Vec<(u32, usize)> {
            lines.iter().map(|(l, n)| (l.number, *n)).collect()
        };
        assert_eq!(numbers(&charged.by_line), [(1, 2), (3, 2), (2, 1)]);
        // The library line's sample goes to the own line before it.
        assert_eq!(numbers(&charged.by_site), [(1, 3), (3, 2)]);
        let report = charged.render(2);
        let expected =
            "5 samples in the program, of 8 on all CPUs; shares are of the program's\n\n \
                        40.0%  a.rs\n 40.0%  b.rs\n 20.0%  lib.rs\n\n\
                        The 2 hottest own lines, inlined library code charged to the own line \
                        before it:\n\n \
                        60.0%  a.rs:1                                   line 1\n \
                        40.0%  b.rs:3                                   line 3\n\n\
                        The 2 hottest lines, library code as itself:\n\n \
                        40.0%  a.rs:1                                   line 1\n \
                        40.0%  b.rs:3                                   line 3\n";
        assert_eq!(report, expected);
    }

    #[test]
    fn files_are_shown_in_the_workspace_or_by_their_last_three_components() {
        let root = "/work/main";
        assert_eq!(
            shown_path("/work/main/lbdns-ebpf/src/parse/name.rs", root),
            ("lbdns-ebpf/src/parse/name.rs".to_owned(), true)
        );
        let core =
            "/root/.rustup/toolchains/nightly/lib/rustlib/src/rust/library/core/src/ptr/mod.rs";
        assert_eq!(shown_path(core, root), ("src/ptr/mod.rs".to_owned(), false));
        assert_eq!(
            shown_path("/work/mainline/x.rs", root),
            ("work/mainline/x.rs".to_owned(), false)
        );
        assert_eq!(shown_path("lib.rs", root), ("lib.rs".to_owned(), false));
    }

    #[test]
    fn btf_strings_are_read_after_the_header_at_its_offsets() {
        let strings = b"\0src/parse/name.rs\0let x = 1;\0";
        let mut raw = Vec::new();
        raw.extend(0xeb9f_u16.to_ne_bytes());
        raw.extend([1, 0]);
        // hdr_len, type_off, type_len, str_off, str_len: four bytes of types, then the strings.
        for word in [24u32, 0, 4, 4, strings.len() as u32] {
            raw.extend(word.to_ne_bytes());
        }
        raw.extend([0; 4]);
        raw.extend(strings);
        let parsed = BtfStrings::from_raw(&raw).unwrap();
        assert_eq!(parsed.at(1), "src/parse/name.rs");
        assert_eq!(parsed.at(19), "let x = 1;");
        assert_eq!(parsed.at(0), "");
        assert_eq!(parsed.at(999), "");
        raw[0] = 0;
        assert!(BtfStrings::from_raw(&raw).is_err());
        assert!(BtfStrings::from_raw(&raw[..10]).is_err());
    }
}
