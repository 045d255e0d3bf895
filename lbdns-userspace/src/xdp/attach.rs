//! Attaching to interfaces in the requested mode.

use aya::programs::{xdp::XdpLinkId, Xdp, XdpMode};

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

/// The program attached to one interface.
#[derive(Debug)]
pub(super) struct Attachment {
    interface: String,
    link: XdpLinkId,
    /// Native or generic: the mode the kernel accepted.
    pub(super) mode: AttachMode,
}

pub(super) fn attach(
    program: &mut Xdp,
    interface: &str,
    mode: AttachMode,
) -> Result<Attachment, XdpError> {
    let attach_in = |program: &mut Xdp, mode: AttachMode| {
        let flags = match mode {
            AttachMode::Generic => XdpMode::Skb,
            AttachMode::Native | AttachMode::Auto => XdpMode::Driver,
        };
        program
            .attach(interface, flags)
            .map(|link| Attachment {
                interface: interface.to_owned(),
                link,
                mode,
            })
            .map_err(|error| XdpError::attach(interface, mode, error))
    };
    match mode {
        AttachMode::Native | AttachMode::Generic => attach_in(program, mode),
        AttachMode::Auto => match attach_in(program, AttachMode::Native) {
            Ok(attachment) => {
                tracing::info!(interface, "XDP program attached in native mode");
                Ok(attachment)
            }
            Err(XdpError::NoInterface(name)) => Err(XdpError::NoInterface(name)),
            Err(native) => {
                let attachment = attach_in(program, AttachMode::Generic)?;
                tracing::warn!(
                    interface,
                    "XDP program attached in generic mode; native mode failed: {native}"
                );
                Ok(attachment)
            }
        },
    }
}

pub(super) fn detach(program: &mut Xdp, attachment: Attachment) -> Result<(), XdpError> {
    program
        .detach(attachment.link)
        .map_err(|error| XdpError::detach(&attachment.interface, error))
}
