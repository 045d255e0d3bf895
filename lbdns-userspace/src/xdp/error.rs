//! Errors that say what to do next.

use std::io;

use aya::{maps::MapError, programs::ProgramError, EbpfError};

use super::AttachMode;

/// Why the XDP program could not be loaded, attached or read.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The kernel refused for lack of privileges.
    #[error(
        "not allowed to {action}: run as root, or with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON"
    )]
    Permission {
        /// What was refused.
        action: &'static str,
    },
    /// The verifier rejected the program.
    #[error("the kernel verifier rejected the XDP program ({errno}); verifier log:\n{log}")]
    Verifier {
        /// The error the load returned.
        errno: io::Error,
        /// The verifier's own explanation.
        log: String,
    },
    /// The object could not be loaded for another reason.
    #[error("loading the XDP object: {0}")]
    Load(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The object has no program of the expected name.
    #[error(
        "the XDP object has no program {:?} (object and daemon are from different builds?)",
        lbdns_common::maps::PROGRAM
    )]
    NoProgram,
    /// The object has no map of this name.
    #[error("the XDP object has no map {0} (object and daemon are from different builds?)")]
    NoMap(&'static str),
    /// No interface of this name.
    #[error("no network interface named {0:?}")]
    NoInterface(String),
    /// Attaching failed.
    #[error("attaching to {interface} in {mode} mode: {source}{hint}")]
    Attach {
        /// The interface.
        interface: String,
        /// The mode tried.
        mode: AttachMode,
        /// The kernel's answer.
        source: ProgramError,
        /// What to try instead.
        hint: &'static str,
    },
    /// Detaching failed.
    #[error("detaching from {interface}: {source}")]
    Detach {
        /// The interface.
        interface: String,
        /// The kernel's answer.
        source: ProgramError,
    },
    /// Pinning a link failed.
    #[error("pinning the XDP link at {path}: {source}")]
    Pin {
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The kernel's list of possible CPUs could not be read.
    #[error("reading the possible CPUs from {path}: {source}")]
    Cpus {
        /// The file read.
        path: &'static str,
        /// Why it failed, or what it held.
        source: io::Error,
    },
    /// A map with a region per CPU would have more entries than a map can.
    #[error("{map} for {cpus} CPUs would have more than 2^32 entries: fewer XDP slots are needed")]
    TooManyCpus {
        /// The possible CPUs.
        cpus: u32,
        /// The map.
        map: &'static str,
    },
    /// Reading the counters failed.
    #[error("reading the XDP counters: {0}")]
    Counters(MapError),
}

impl XdpError {
    pub(super) fn from_ebpf(error: EbpfError) -> Self {
        if is_permission_denied(&error) {
            return XdpError::Permission {
                action: "create BPF maps",
            };
        }
        XdpError::Load(Box::new(error))
    }

    pub(super) fn from_program(error: ProgramError) -> Self {
        // The verifier reports most rejections as EACCES, so only EPERM means "not allowed".
        if is_permission_denied(&error) {
            return XdpError::Permission {
                action: "load the XDP program",
            };
        }
        match error {
            ProgramError::LoadError {
                io_error,
                verifier_log,
            } => XdpError::Verifier {
                errno: io_error,
                log: verifier_log.to_string(),
            },
            other => XdpError::Load(Box::new(other)),
        }
    }

    pub(super) fn attach(interface: &str, mode: AttachMode, error: ProgramError) -> Self {
        if let ProgramError::UnknownInterface { name } = error {
            return XdpError::NoInterface(name);
        }
        if is_permission_denied(&error) {
            return XdpError::Permission {
                action: "attach XDP programs",
            };
        }
        let hint = match mode {
            AttachMode::Native => "; the driver may not support native XDP: try --xdp-mode generic",
            AttachMode::Generic | AttachMode::Auto => {
                "; another XDP program may already be attached (ip link set dev IFACE xdp off)"
            }
        };
        XdpError::Attach {
            interface: interface.to_owned(),
            mode,
            source: error,
            hint,
        }
    }

    pub(super) fn pin(
        path: &std::path::Path,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        XdpError::Pin {
            path: path.to_owned(),
            source: Box::new(error),
        }
    }

    pub(super) fn detach(interface: &str, error: ProgramError) -> Self {
        XdpError::Detach {
            interface: interface.to_owned(),
            source: error,
        }
    }
}

/// Whether `EPERM` is anywhere in the error's chain. (`EACCES` is not: the verifier uses it.)
fn is_permission_denied(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            if io.raw_os_error() == Some(libc::EPERM) {
                return true;
            }
        }
        next = error.source();
    }
    false
}
