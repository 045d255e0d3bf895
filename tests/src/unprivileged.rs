//! A system user to run lbdns as, with only the capabilities the systemd unit grants, set by
//! util-linux's `setpriv` as systemd's `User=` and `AmbientCapabilities=` would.

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::env::{run_bounded, run_ok};
use crate::netns::Namespace;

/// Bound on `useradd`, `id` and `chown`; they finish in milliseconds.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The capabilities of `dist/lbdns.service`, in setpriv's spelling.
pub const UNIT_CAPS: [&str; 4] = ["bpf", "perfmon", "net_admin", "net_bind_service"];

/// A system user without a home or a login shell.
#[derive(Debug)]
pub struct User {
    name: String,
    uid: u32,
    gid: u32,
}

impl User {
    /// The system user `name`, created (with a group of its own) if it is missing. It is left
    /// in place afterwards: it owns nothing, and concurrent suites may be using it.
    pub fn system(name: &str) -> Result<Self> {
        // One creation at a time: parallel tests would otherwise race useradd against useradd
        // and against setpriv's look-up of a half-written user.
        static CREATING: Mutex<()> = Mutex::new(());
        let _creating = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
        let exists = |name: &str| -> Result<bool> {
            Ok(run_bounded(Command::new("id").args(["-u", name]), TIMEOUT)?
                .status
                .success())
        };
        if !exists(name)? {
            let out = run_bounded(
                Command::new("useradd")
                    .args(["--system", "--user-group", "--no-create-home"])
                    .args(["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"])
                    .arg(name),
                TIMEOUT,
            )?;
            // Another test process may have made it meanwhile.
            if !out.status.success() && !exists(name)? {
                bail!("cannot create the user {name}: {}", out.combined().trim());
            }
        }
        let id = |flag: &str| -> Result<u32> {
            let out = run_ok(Command::new("id").args([flag, name]), TIMEOUT)?;
            out.stdout
                .trim()
                .parse()
                .with_context(|| format!("`id {flag} {name}` printed {:?}", out.stdout))
        };
        Ok(Self {
            name: name.to_owned(),
            uid: id("-u")?,
            gid: id("-g")?,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Makes `path` the user's (a directory it must write in, e.g. for the control socket).
    pub fn give(&self, path: &Path) -> Result<()> {
        run_ok(
            Command::new("chown")
                .arg(format!("{}:{}", self.uid, self.gid))
                .arg(path),
            TIMEOUT,
        )
        .map(|_| ())
    }

    /// A command that runs `program` in `ns` as this user, with `caps` (setpriv's names, e.g.
    /// [`UNIT_CAPS`]) as its only capabilities: permitted, effective, inheritable, ambient
    /// and bounding sets alike. RLIMIT_MEMLOCK is 0, which it cannot raise without
    /// CAP_SYS_RESOURCE: the kernel charges BPF maps to the memory cgroup instead (Linux 5.11
    /// and later), so the unit needs neither.
    pub fn command(&self, ns: &Namespace, caps: &[&str], program: &Path) -> Command {
        let set: String = std::iter::once("-all".to_owned())
            .chain(caps.iter().map(|cap| format!("+{cap}")))
            .collect::<Vec<_>>()
            .join(",");
        let mut cmd = ns.command("prlimit");
        cmd.arg("--memlock=0:0")
            .arg("setpriv")
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--init-groups")
            .arg(format!("--inh-caps={set}"))
            .arg(format!("--ambient-caps={set}"))
            .arg(format!("--bounding-set={set}"))
            .arg(program);
        cmd
    }
}
