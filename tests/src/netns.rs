//! Network namespaces and the two-host topology the suites run in.
//!
//! Why namespaces: the server binds port 53 on real interface addresses (and may attach XDP to
//! them) without touching the host's network, and parallel tests get isolated copies of the
//! same addresses. Only 198.18.0.0/15 and 2001:db8::/32 are used, so no packet can leave for a
//! real network even if a route leaked.
//!
//! Deleting a namespace removes its veth end (and with it any XDP program attached to it) and
//! the peer end in the other namespace.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::env::{run_bounded, run_ok};

/// Bound on every `ip` invocation; they finish in milliseconds.
const IP_TIMEOUT: Duration = Duration::from_secs(20);

fn ip(args: &[&str]) -> Result<()> {
    run_ok(Command::new("ip").args(args), IP_TIMEOUT).map(|_| ())
}

/// A named network namespace (`ip netns add`), deleted on drop together with every process
/// still running inside it.
#[derive(Debug)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Creates `lbt-<pid>-<n>-<role>` with `lo` up. The pid and a process-wide counter make the
    /// name unique across parallel tests and concurrent test binaries.
    pub fn new(role: &str) -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        static SWEPT: Once = Once::new();
        SWEPT.call_once(remove_orphans);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("lbt-{}-{n}-{role}", std::process::id());
        // A stale namespace of the same name can only be ours from a reused pid; replace it.
        let _ = run_bounded(Command::new("ip").args(["netns", "del", &name]), IP_TIMEOUT);
        ip(&["netns", "add", &name]).context("creating network namespace")?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        // Addresses are added with `nodad` too; this also covers addresses added later by tests.
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `Command` that runs `program` inside this namespace (`ip netns exec NAME program`).
    /// `ip netns exec` execs the program, so the child's pid is the program's pid.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `ip -n NAME args...`, failing on a non-zero exit.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Makes `mac` the permanent neighbour entry of `address` on `dev`: tools that find the
    /// peer's MAC in the neighbour table (kxdpgun) need it before any traffic has resolved it.
    pub fn permanent_neighbour(&self, address: &str, mac: &str, dev: &str) -> Result<()> {
        self.ip(&[
            "neigh",
            "replace",
            address,
            "lladdr",
            mac,
            "dev",
            dev,
            "nud",
            "permanent",
        ])
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let kv = format!("{key}={value}");
        run_ok(self.command("sysctl").args(["-qw", &kv]), IP_TIMEOUT).map(|_| ())
    }

    /// Runs `f` on a fresh thread that has joined this namespace with `setns(2)` and returns
    /// its result.
    ///
    /// Sockets keep the namespace they were created in, so a socket opened inside `f` can be
    /// returned and used from any thread afterwards. Only the helper thread changes
    /// namespace; the test thread stays where it was.
    pub fn enter<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let path = format!("/var/run/netns/{}", self.name);
        let file = File::open(&path).with_context(|| format!("opening {path}"))?;
        thread::spawn(move || -> Result<T> {
            // SAFETY: `file` is an open namespace fd for the duration of the call; setns only
            // affects the calling (helper) thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                bail!("setns({path}): {}", std::io::Error::last_os_error());
            }
            Ok(f())
        })
        .join()
        .map_err(|_| anyhow!("namespace helper thread panicked"))?
    }

    /// Pids of the processes running in this namespace (`ip netns pids`).
    pub fn pids(&self) -> Vec<i32> {
        namespace_pids(&self.name)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// Ends every process in namespace `name`, then deletes it. Processes keep a namespace alive
/// after `ip netns del`; everything in one of ours was started by the test that named it.
fn remove(name: &str) {
    for pid in namespace_pids(name) {
        // SAFETY: plain kill(2) on a pid that `ip netns pids` reported for that namespace.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = run_bounded(Command::new("ip").args(["netns", "del", name]), IP_TIMEOUT);
}

/// Pids of the processes running in namespace `name` (`ip netns pids`).
fn namespace_pids(name: &str) -> Vec<i32> {
    run_bounded(Command::new("ip").args(["netns", "pids", name]), IP_TIMEOUT)
        .map(|o| {
            o.stdout
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the namespaces of test processes that no longer run: a test binary killed by a
/// timeout or a signal never runs its `Drop`s, and its namespaces (with XDP programs and
/// daemons inside) would stay until reboot. Run once per test process, before its first
/// namespace. A name's pid that is alive again (reused) is left alone.
fn remove_orphans() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let owner = name
            .strip_prefix("lbt-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = owner {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                remove(&name);
            }
        }
    }
}

/// Two hosts: a "server" and a "client" namespace joined by one veth pair, with IPv4 and IPv6
/// addresses on both ends.
///
/// | host   | interface | IPv4          | IPv6            |
/// |--------|-----------|---------------|-----------------|
/// | server | `veth-srv`| 198.19.53.1/24 | 2001:db8:53::1/64 |
/// | client | `veth-cli`| 198.19.53.2/24 | 2001:db8:53::2/64 |
///
/// The addresses are the same in every topology; namespaces keep parallel tests apart.
#[derive(Debug)]
pub struct Topology {
    // Field order matters for drop: client first, then server (which holds the veth pair).
    pub client: Namespace,
    pub server: Namespace,
    pub server_v4: Ipv4Addr,
    pub client_v4: Ipv4Addr,
    pub server_v6: Ipv6Addr,
    pub client_v6: Ipv6Addr,
}

impl Topology {
    /// Name of the server's veth end (e.g. for XDP attachment).
    pub const SERVER_IF: &'static str = "veth-srv";
    /// Name of the client's veth end.
    pub const CLIENT_IF: &'static str = "veth-cli";

    /// Builds the topology. Both links are up when this returns; IPv6 needs no DAD wait.
    pub fn new() -> Result<Self> {
        let server = Namespace::new("srv")?;
        let client = Namespace::new("cli")?;
        let topo = Self {
            client,
            server,
            server_v4: Ipv4Addr::new(198, 19, 53, 1),
            client_v4: Ipv4Addr::new(198, 19, 53, 2),
            server_v6: "2001:db8:53::1".parse().expect("valid literal"),
            client_v6: "2001:db8:53::2".parse().expect("valid literal"),
        };
        // Create the pair inside the server namespace with its peer directly in the client
        // namespace, so nothing ever appears in the host namespace (no name clashes there).
        topo.server.ip(&[
            "link",
            "add",
            Self::SERVER_IF,
            "type",
            "veth",
            "peer",
            "name",
            Self::CLIENT_IF,
            "netns",
            topo.client.name(),
        ])?;
        for (ns, ifname, v4, v6) in [
            (
                &topo.server,
                Self::SERVER_IF,
                topo.server_v4,
                topo.server_v6,
            ),
            (
                &topo.client,
                Self::CLIENT_IF,
                topo.client_v4,
                topo.client_v6,
            ),
        ] {
            ns.ip(&["addr", "add", &format!("{v4}/24"), "dev", ifname])?;
            ns.ip(&["addr", "add", &format!("{v6}/64"), "dev", ifname, "nodad"])?;
            ns.ip(&["link", "set", ifname, "up"])?;
        }
        Ok(topo)
    }

    /// `server_v4:port`.
    pub fn server_v4_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.server_v4), port)
    }

    /// `[server_v6]:port`.
    pub fn server_v6_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(self.server_v6), port)
    }

    /// Both server addresses on `port`, IPv4 first.
    pub fn server_addrs(&self, port: u16) -> Vec<SocketAddr> {
        vec![self.server_v4_addr(port), self.server_v6_addr(port)]
    }
}
