//! CPU time and memory of a server's processes, read from /proc.
//!
//! A server is every process in the server namespace (NSD forks workers, Knot and lbdns have
//! threads), so figures are sums over the namespace's pids. Work done by an XDP program runs in
//! softirq context and is not charged to any of them: see the program's ns/packet instead.

use std::{collections::HashMap, fs, time::Duration};

use serde::Serialize;

/// Resident memory of a group of processes, without the BPF maps they have mapped: lbdns maps
/// its answer arrays to write them, and their pages are the kernel's map memory, which the
/// report gives on its own (`bpf_map_kib`). Counted in both, they would count twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// Sum of Rss: counts pages shared between forked workers once per worker.
    pub rss_kib: u64,
    /// Sum of Pss (proportional set size): shared pages split between their users, so the sum
    /// is what the group really holds. The fair figure for comparing servers that fork.
    pub pss_kib: u64,
}

/// User plus system CPU time consumed so far by `pids` (processes that have exited are gone).
pub fn cpu_time(pids: &[i32]) -> Duration {
    let ticks: u64 = pids
        .iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| stat_cpu_ticks(&stat))
        .sum();
    ticks_to_duration(ticks)
}

pub fn memory(pids: &[i32]) -> Memory {
    let mut total = Memory::default();
    for pid in pids {
        if let Ok(smaps) = fs::read_to_string(format!("/proc/{pid}/smaps")) {
            let memory = mapped_memory(&smaps);
            total.rss_kib += memory.rss_kib;
            total.pss_kib += memory.pss_kib;
        }
    }
    total
}

/// Rss and Pss summed over the mappings of a `/proc/PID/smaps` text, except BPF maps.
fn mapped_memory(smaps: &str) -> Memory {
    let mut total = Memory::default();
    let mut bpf_map = false;
    for line in smaps.lines() {
        // A mapping's first line starts with its address range, `7f3e1000-7f3e5000 rw-s ...`,
        // and ends with what is mapped; its `Key: value` lines follow.
        let range = line.split_whitespace().next().unwrap_or("");
        if range.contains('-') && range.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
            bpf_map = line.ends_with("anon_inode:bpf-map");
        } else if !bpf_map {
            total.rss_kib += kib_field(line, "Rss:").unwrap_or(0);
            total.pss_kib += kib_field(line, "Pss:").unwrap_or(0);
        }
    }
    total
}

/// CPU time of every user-space process on the machine, to tell how much of it went to
/// processes other than the benchmark's while a load ran. On a shared machine a compiler
/// started alongside takes cores from the server or the load generator at random; the report
/// flags loads during which that happened instead of presenting their figures as clean.
#[derive(Debug)]
pub struct Machine {
    ticks: HashMap<i32, u64>,
}

impl Machine {
    pub fn sample() -> Self {
        let mut ticks = HashMap::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some(cpu) = stat_cpu_ticks(&stat).filter(|_| !is_kernel_thread(&stat)) {
                ticks.insert(pid, cpu);
            }
        }
        Self { ticks }
    }

    /// CPU time used between `self` and `later` by user-space processes alive at `later`,
    /// except `ours` (this process, the server). Load generators have exited by then, and
    /// kernel threads (softirq work for the veth, XDP) are left out.
    pub fn others_until(&self, later: &Machine, ours: &[i32]) -> Duration {
        let ticks: u64 = later
            .ticks
            .iter()
            .filter(|(pid, _)| !ours.contains(pid))
            .map(|(pid, &t)| t.saturating_sub(self.ticks.get(pid).copied().unwrap_or(0)))
            .sum();
        ticks_to_duration(ticks)
    }
}

/// PF_KTHREAD in the flags (field 9 of proc_pid_stat(5)).
fn is_kernel_thread(stat: &str) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let flags = stat
        .get(stat.rfind(')').map_or(0, |i| i + 1)..)
        .and_then(|rest| rest.split_whitespace().nth(6)?.parse::<u64>().ok());
    flags.is_some_and(|f| f & PF_KTHREAD != 0)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / ticks_per_s)
}

/// utime + stime (fields 14 and 15 of proc_pid_stat(5)), in clock ticks. The command name in
/// field 2 may contain spaces and parentheses, so fields are counted after its last `)`.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    // After the name: state is field 3, so utime (14) is the 12th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The value of a `Key:   1234 kB` line.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_skip_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (nsd: xfrd) (x) S 1 4242 4242 0 -1 4194560 1300 0 0 0 \
                    170 35 0 0 20 0 1 0 12345 30000000 2000 18446744073709551615";
        assert_eq!(stat_cpu_ticks(stat), Some(205));
    }

    #[test]
    fn tells_kernel_threads() {
        let ksoftirqd = "14 (ksoftirqd/0) S 2 0 0 0 -1 69238848 0 0 0 0 0 870 0 0 20 0 1 0 2";
        let nsd = "4242 (nsd) S 1 4242 4242 0 -1 4194560 1300 0 0 0 170 35 0 0 20 0 1 0 12345";
        assert!(is_kernel_thread(ksoftirqd));
        assert!(!is_kernel_thread(nsd));
    }

    #[test]
    fn others_exclude_ours() {
        let before = Machine {
            ticks: HashMap::from([(1, 100), (2, 50)]),
        };
        let later = Machine {
            ticks: HashMap::from([(1, 150), (2, 80), (3, 20)]),
        };
        let hz = ticks_to_duration(1);
        assert_eq!(before.others_until(&later, &[2]), hz * 70);
    }

    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tlbdns\nVmPeak:\t  90000 kB\nVmRSS:\t   12345 kB\n";
        assert_eq!(kib_field(status, "VmRSS:"), Some(12345));
        assert_eq!(kib_field(status, "Pss:"), None);
    }

    #[test]
    fn leaves_mapped_bpf_maps_out() {
        let smaps = "\
55d0a000-55d0b000 r--p 00000000 00:20 123    /usr/sbin/lbdns
Rss:                   8 kB
Pss:                   4 kB
Pss_Dirty:             0 kB
7f3e1000-7f3e5000 rw-s 00000000 00:0f 99     anon_inode:bpf-map
Rss:                 512 kB
Pss:                 512 kB
7f3e6000-7f3e7000 rw-p 00000000 00:00 0
Rss:                  16 kB
Pss:                  16 kB
VmFlags: rd wr mr mw me ac
";
        assert_eq!(
            mapped_memory(smaps),
            Memory {
                rss_kib: 24,
                pss_kib: 20
            }
        );
    }

    #[test]
    fn this_process_uses_memory() {
        let me = [std::process::id() as i32];
        let memory = memory(&me);
        assert!(memory.rss_kib > 0 && memory.pss_kib > 0, "{memory:?}");
    }
}
