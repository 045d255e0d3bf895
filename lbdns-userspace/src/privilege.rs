//! Least privilege: the daemon keeps the four capabilities it uses and drops every other one
//! before it starts a thread, whether it was started as root or as an unprivileged user with
//! ambient capabilities (the systemd unit, `setpriv`).
//!
//! Capabilities belong to each thread, and a new thread copies its creator's: dropping them on
//! the main thread before the first spawn drops them for the whole process. The user id stays
//! as it is; switching users is the service manager's job.

use std::fmt;

use caps::{CapSet, Capability, CapsHashSet};

use crate::config::Settings;

/// Every capability lbdns uses; the systemd unit grants these and no others.
pub const USED: [Capability; 4] = [
    // Create the XDP maps and load the program.
    Capability::CAP_BPF,
    // The verifier lets only programs loaded with it do some pointer arithmetic (ours does:
    // it rejects the program without it), and spares them the Spectre sanitisation that
    // would cost time on every packet.
    Capability::CAP_PERFMON,
    // Load a networking program type and attach it to interfaces.
    Capability::CAP_NET_ADMIN,
    // Listen on port 53 (below net.ipv4.ip_unprivileged_port_start).
    Capability::CAP_NET_BIND_SERVICE,
];

/// Where the kernel says which ports need CAP_NET_BIND_SERVICE (per network namespace).
const UNPRIVILEGED_PORT_START: &str = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
/// The kernel's default for [`UNPRIVILEGED_PORT_START`].
const DEFAULT_UNPRIVILEGED_PORT_START: u16 = 1024;

/// Why the capabilities could not be read, dropped, or are not enough.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// capget(2) or prctl(2) failed.
    #[error("cannot read this process's {set:?} capabilities: {source}")]
    Read {
        set: CapSet,
        source: caps::errors::CapsError,
    },
    /// capset(2) or prctl(2) failed.
    #[error("cannot drop {set:?} capabilities: {source}")]
    Drop {
        set: CapSet,
        source: caps::errors::CapsError,
    },
    /// The configuration needs capabilities this process does not have.
    #[error(
        "missing {missing} to {purpose}: run lbdns as root, or grant {missing} \
         (AmbientCapabilities= in the systemd unit, or setpriv --ambient-caps)"
    )]
    Missing { missing: Names, purpose: String },
}

/// Capability names as the kernel and systemd spell them, joined by "and".
#[derive(Debug)]
pub struct Names(Vec<Capability>);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&names.join(" and "))
    }
}

/// The capabilities the process holds after [`drop_unused`].
#[derive(Debug)]
pub struct Kept {
    /// In the order of [`USED`].
    held: Vec<Capability>,
}

impl Kept {
    /// Fails, naming every missing capability, unless all of `needed` are held.
    fn require(&self, needed: &[Capability], purpose: String) -> Result<(), PrivilegeError> {
        let missing: Vec<Capability> = needed
            .iter()
            .copied()
            .filter(|cap| !self.held.contains(cap))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(PrivilegeError::Missing {
            missing: Names(missing),
            purpose,
        })
    }

    /// Checks that the capabilities kept are enough for `settings`, before any of it is tried,
    /// so a missing one is named instead of surfacing as a bare EPERM, or as a verifier log
    /// (without CAP_PERFMON), later.
    pub fn check(&self, settings: &Settings) -> Result<(), PrivilegeError> {
        if !settings.xdp.interfaces.is_empty() {
            self.require(
                &[
                    Capability::CAP_BPF,
                    Capability::CAP_PERFMON,
                    Capability::CAP_NET_ADMIN,
                ],
                format!(
                    "load and attach XDP on {}",
                    settings.xdp.interfaces.join(", ")
                ),
            )?;
        }
        let start = unprivileged_port_start();
        let low: Vec<String> = settings
            .listen
            .iter()
            .filter(|address| address.port() < start)
            .map(ToString::to_string)
            .collect();
        if !low.is_empty() {
            self.require(
                &[Capability::CAP_NET_BIND_SERVICE],
                format!("listen on {}", low.join(", ")),
            )?;
        }
        Ok(())
    }
}

/// Drops every capability but those in [`USED`] from all of this thread's sets, and logs what
/// was kept. Call it before the first thread is spawned.
///
/// The bounding set can only shrink with CAP_SETPCAP, which root has and a service started
/// with only [`USED`] does not need: without it the bounding set is left as it is. A process
/// that gains nothing on exec (lbdns never execs) gains nothing from it either.
pub fn drop_unused() -> Result<Kept, PrivilegeError> {
    let used: CapsHashSet = USED.into_iter().collect();
    let permitted = read(CapSet::Permitted)?;
    let keep: CapsHashSet = permitted.intersection(&used).copied().collect();

    if permitted.contains(&Capability::CAP_SETPCAP) {
        for cap in read(CapSet::Bounding)?.difference(&used) {
            caps::drop(None, CapSet::Bounding, *cap).map_err(|source| PrivilegeError::Drop {
                set: CapSet::Bounding,
                source,
            })?;
        }
    }
    // Ambient and inheritable capabilities only matter across exec; none are wanted.
    for set in [CapSet::Ambient, CapSet::Inheritable] {
        caps::clear(None, set).map_err(|source| PrivilegeError::Drop { set, source })?;
    }
    // Effective first: it must stay within the permitted set at every step.
    for set in [CapSet::Effective, CapSet::Permitted] {
        caps::set(None, set, &keep).map_err(|source| PrivilegeError::Drop { set, source })?;
    }

    let held: Vec<Capability> = USED.into_iter().filter(|cap| keep.contains(cap)).collect();
    let dropped = permitted.len() - held.len();
    let kept: Vec<String> = held.iter().map(ToString::to_string).collect();
    tracing::info!(
        kept = %kept.join(","),
        dropped,
        "capabilities"
    );
    Ok(Kept { held })
}

fn read(set: CapSet) -> Result<CapsHashSet, PrivilegeError> {
    caps::read(None, set).map_err(|source| PrivilegeError::Read { set, source })
}

/// The first port that needs no privilege in this network namespace; the kernel's default
/// when the file cannot be read.
fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string(UNPRIVILEGED_PORT_START)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(DEFAULT_UNPRIVILEGED_PORT_START)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_capability_is_named_with_its_purpose() {
        let kept = Kept {
            held: vec![Capability::CAP_NET_ADMIN],
        };
        let error = kept
            .require(
                &[
                    Capability::CAP_BPF,
                    Capability::CAP_NET_ADMIN,
                    Capability::CAP_PERFMON,
                ],
                "load and attach XDP on eth0".to_owned(),
            )
            .expect_err("CAP_BPF and CAP_PERFMON are missing");
        assert_eq!(
            error.to_string(),
            "missing CAP_BPF and CAP_PERFMON to load and attach XDP on eth0: run lbdns as \
             root, or grant CAP_BPF and CAP_PERFMON (AmbientCapabilities= in the systemd \
             unit, or setpriv --ambient-caps)"
        );
    }

    #[test]
    fn nothing_missing_is_no_error() {
        let kept = Kept {
            held: USED.to_vec(),
        };
        kept.require(&[Capability::CAP_BPF], String::new())
            .expect("CAP_BPF is held");
    }
}
