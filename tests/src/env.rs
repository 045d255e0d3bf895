//! The environment the suites need: the lbdns binary, root, external tools, temp dirs, and
//! bounded child processes.
//!
//! The rule is *fail, never skip*: a suite that cannot run its real parts returns an error that
//! says why, so a CI box without root or kdig shows red instead of a silent green.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Root of the Cargo workspace (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate lives inside the workspace")
        .to_path_buf()
}

/// The example zone the suites assert against (`zones/example.com.zone`).
pub fn example_zone() -> PathBuf {
    workspace_root().join("zones").join("example.com.zone")
}

/// The text of a zone that holds its apex's SOA and NS and the name server's address alone, at
/// `origin` (without the final dot): the start of the zones tests write for themselves.
pub fn apex_only_zone(origin: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n@ 300 SOA ns1 h 1 3600 600 86400 60\n@ 300 NS ns1\n\
         ns1 300 A 198.18.0.53\n"
    )
}

/// The www A RRset of the example zone, in zone order.
pub const EXAMPLE_WWW_A: [&str; 4] = ["198.18.1.1", "198.18.1.2", "198.18.1.3", "198.18.1.4"];
/// The www AAAA RRset of the example zone, in zone order.
pub const EXAMPLE_WWW_AAAA: [&str; 4] = [
    "2001:db8:1::1",
    "2001:db8:1::2",
    "2001:db8:1::3",
    "2001:db8:1::4",
];

/// Keeps the calling thread, and the processes it starts, on CPU 0. The XDP program's rotation
/// counters are per CPU, and a veth hands a packet to its peer's XDP on the sending CPU (and
/// BPF_PROG_TEST_RUN runs on the caller's), so a pinned sender sees every query advance one
/// counter by exactly one.
pub fn pin_to_cpu0() -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity only reads it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Locates the lbdns binary under test.
///
/// `LBDNS_BIN` wins (set by `cargo xtask test`, which may build a release or differently
/// targeted binary); otherwise `<workspace>/target/debug/lbdns`. `cargo test` does not build
/// other packages' binaries, so a missing binary is an error that tells how to build it rather
/// than a skipped test.
pub fn lbdns_bin() -> Result<PathBuf> {
    let (path, origin) = match std::env::var_os("LBDNS_BIN") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), "LBDNS_BIN"),
        _ => (
            workspace_root().join("target").join("debug").join("lbdns"),
            "default location",
        ),
    };
    if !path.is_file() {
        bail!(
            "lbdns binary not found at {} ({origin}); run `cargo xtask build` first \
             (or point LBDNS_BIN at a built binary)",
            path.display()
        );
    }
    Ok(path)
}

/// Whether `tool` is an executable file somewhere on `PATH` (or an existing path itself).
fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if tool.contains('/') {
        return is_exec(Path::new(tool));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| is_exec(&dir.join(tool)))
}

/// Checks that a namespace test can really run: root (network namespaces and port 53 need
/// it), `ip` from iproute2, and every tool in `tools` (e.g. `"kdig"`, `"dig"`, `"nsd"`).
///
/// Returns an error naming everything that is missing; callers propagate it with `?` so the
/// test fails with that message.
pub fn preflight(tools: &[&str]) -> Result<()> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root privileges (network namespaces and port 53 need them)".to_string());
    }
    for tool in std::iter::once(&"ip").chain(tools) {
        if !on_path(tool) {
            missing.push(format!("`{tool}` on PATH"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "this test cannot run its real parts; missing: {}",
            missing.join(", ")
        );
    }
    Ok(())
}

/// A uniquely named directory under the system temp dir, removed (recursively) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/lbdns-tests-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("lbdns-tests-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` inside the directory and returns the full path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        std::fs::write(&p, contents).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A BPF file system of its own, mounted on a temporary directory: a daemon pins its XDP link
/// and maps there (`--xdp-pin-dir`) without meeting another test's. Unmounted on drop, which
/// removes every pin left in it, so a failing test leaves no program attached through one.
#[derive(Debug)]
pub struct BpfFs {
    dir: TempDir,
}

impl BpfFs {
    pub fn mount() -> Result<Self> {
        let dir = TempDir::new("bpffs")?;
        run_ok(
            Command::new("mount")
                .args(["-t", "bpf", "bpf"])
                .arg(dir.path()),
            Duration::from_secs(10),
        )
        .context("mounting a BPF file system (needs root)")?;
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A port free on 127.0.0.1 for both TCP and UDP at the time of asking, below the kernel's
/// ephemeral range (32768 and up by default): a port handed out for "port 0" could be given
/// again to any client socket before the primary binds it, including the transfer client's
/// own UDP socket in this very process. Each call starts at a new port, so that tests run
/// in parallel never pick the same one.
pub fn free_loopback_port() -> Result<u16> {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    // Spread over processes too, in case two runs of the suite share the host.
    let base = 20_000 + (std::process::id() % 100) as u16 * 100;
    for _ in 0..100 {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 100;
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return Ok(port);
        }
    }
    bail!("no port free for both TCP and UDP on 127.0.0.1")
}

/// Output of a process run by [`run_bounded`].
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout followed by stderr, for "the message appears somewhere" checks.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion with captured output, killing it if it runs past `timeout`
/// (which is then an error carrying what it printed so far). Stdin is closed.
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {desc}"))?;
    let pump = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = pump(child.stdout.take().map(|s| Box::new(s) as _));
    let err = pump(child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => bail!(
            "{desc} did not finish within {timeout:?} and was killed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ),
    }
}

/// Runs `cmd` with [`run_bounded`] and fails unless it exits 0.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let desc = format!("{cmd:?}");
    let out = run_bounded(cmd, timeout)?;
    if !out.status.success() {
        bail!("{desc} failed ({}): {}", out.status, out.combined().trim());
    }
    Ok(out)
}
