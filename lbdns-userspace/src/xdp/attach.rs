//! Attaching to interfaces in the requested mode.

use std::path::{Path, PathBuf};

use aya::programs::{
    links::{FdLink, PinnedLink},
    xdp::XdpLink,
    Xdp, XdpMode,
};

use super::XdpError;

/// How to attach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AttachMode {
    /// Native if the driver supports it, else generic.
    #[default]
    Auto,
    /// In the driver: the fast one, and the only one where XDP_TX replies skip the stack.
    Native,
    /// In the kernel stack (SKB mode): works on every interface, slower.
    Generic,
}

impl std::fmt::Display for AttachMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AttachMode::Auto => "auto",
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        })
    }
}

impl std::str::FromStr for AttachMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(AttachMode::Auto),
            "native" => Ok(AttachMode::Native),
            "generic" => Ok(AttachMode::Generic),
            other => Err(format!(
                "unknown XDP mode {other:?}: expected auto, native or generic"
            )),
        }
    }
}

/// The program attached to one interface: the link, taken out of the program so that it can be
/// pinned, handed to the next program, or left behind.
#[derive(Debug)]
pub(super) struct Attachment {
    pub(super) interface: String,
    pub(super) link: XdpLink,
    /// Where the link is pinned; `None` for a netlink attachment, which cannot be.
    pub(super) pin: Option<PathBuf>,
    /// Native or generic: the mode the kernel accepted (for an adopted link, the mode asked).
    pub(super) mode: AttachMode,
}

/// Attaches `program` to `interface`, and pins the link at `pin` when given and possible.
pub(super) fn attach(
    program: &mut Xdp,
    interface: &str,
    mode: AttachMode,
    pin: Option<&Path>,
) -> Result<Attachment, XdpError> {
    let (link, mode) = attach_link(program, interface, mode)?;
    let (link, pin) = match pin {
        Some(path) => pin_link(program, interface, link, path)?,
        None => (link, None),
    };
    Ok(Attachment {
        interface: interface.to_owned(),
        link,
        pin,
        mode,
    })
}

/// Swaps `program` in on the link of `attachment` with one `bpf_link` update (or a netlink
/// replace of the expected program): the interface never runs without a program.
pub(super) fn replace(program: &mut Xdp, attachment: Attachment) -> Result<Attachment, XdpError> {
    let Attachment {
        interface,
        link,
        pin,
        mode,
    } = attachment;
    let link = program
        .attach_to_link(link)
        .and_then(|id| program.take_link(id))
        .map_err(|error| XdpError::attach(&interface, mode, error))?;
    Ok(Attachment {
        interface,
        link,
        pin,
        mode,
    })
}

/// The link pinned at `path` by an earlier process, if there is one, as an attachment to
/// `interface` that [`replace`] can swap a program onto.
pub(super) fn pinned(path: &Path, interface: &str, mode: AttachMode) -> Option<Attachment> {
    let link = PinnedLink::from_pin(path).ok()?;
    let link = XdpLink::try_from(FdLink::from(link)).ok()?;
    Some(Attachment {
        interface: interface.to_owned(),
        link,
        pin: Some(path.to_owned()),
        mode,
    })
}

fn attach_link(
    program: &mut Xdp,
    interface: &str,
    mode: AttachMode,
) -> Result<(XdpLink, AttachMode), XdpError> {
    let attach_in = |program: &mut Xdp, mode: AttachMode| {
        let flags = match mode {
            AttachMode::Generic => XdpMode::Skb,
            AttachMode::Native | AttachMode::Auto => XdpMode::Driver,
        };
        program
            .attach(interface, flags)
            .and_then(|id| program.take_link(id))
            .map(|link| (link, mode))
            .map_err(|error| XdpError::attach(interface, mode, error))
    };
    match mode {
        AttachMode::Native | AttachMode::Generic => attach_in(program, mode),
        AttachMode::Auto => match attach_in(program, AttachMode::Native) {
            Ok(attached) => {
                tracing::info!(interface, "XDP program attached in native mode");
                Ok(attached)
            }
            Err(XdpError::NoInterface(name)) => Err(XdpError::NoInterface(name)),
            Err(native) => {
                let attached = attach_in(program, AttachMode::Generic)?;
                tracing::warn!(
                    interface,
                    "XDP program attached in generic mode; native mode failed: {native}"
                );
                Ok(attached)
            }
        },
    }
}

/// Pins `link` at `path` if it is a bpf_link. `Xdp::attach` falls back to a netlink
/// attachment when the kernel refuses a bpf_link, and that cannot be pinned: then the link
/// stays unpinned, and the log says what restarts do.
fn pin_link(
    program: &Xdp,
    interface: &str,
    link: XdpLink,
    path: &Path,
) -> Result<(XdpLink, Option<PathBuf>), XdpError> {
    if !is_bpf_link(program)? {
        tracing::warn!(
            interface,
            "XDP is attached through netlink, not a bpf_link, so it cannot be pinned: a restart \
             detaches the program, and the socket path answers alone until the new process \
             attaches its own"
        );
        return Ok((link, None));
    }
    // A bpf_link, so neither conversion fails.
    let fd = FdLink::try_from(link).map_err(|error| XdpError::pin(path, error))?;
    let pinned = fd.pin(path).map_err(|error| XdpError::pin(path, error))?;
    let link =
        XdpLink::try_from(FdLink::from(pinned)).map_err(|error| XdpError::pin(path, error))?;
    Ok((link, Some(path.to_owned())))
}

/// Whether `program` is attached through a bpf_link (rather than netlink): a descriptor of this
/// process is an XDP link running it. Asked before converting, as converting a netlink
/// attachment would drop it without detaching; and through `/proc/self/fdinfo`, since listing
/// the kernel's links needs CAP_SYS_ADMIN, which the daemon does not keep.
fn is_bpf_link(program: &Xdp) -> Result<bool, XdpError> {
    let id = program.info().map_err(XdpError::from_program)?.id();
    let wanted = format!("prog_id:\t{id}\n");
    let Ok(entries) = std::fs::read_dir("/proc/self/fdinfo") else {
        return Ok(false);
    };
    Ok(entries.flatten().any(|entry| {
        std::fs::read_to_string(entry.path())
            .is_ok_and(|info| info.contains("link_type:\txdp\n") && info.contains(&wanted))
    }))
}
