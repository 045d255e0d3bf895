//! The XDP program the client's veth end needs: native XDP_TX on a veth reaches the peer only
//! if the peer has a program attached. This one is lbdns's own with empty maps, so it passes
//! every packet. Shared by the suites that attach natively to a veth (`#[path]` modules: the
//! harness library drives the lbdns binary and does not link lbdns itself).

use anyhow::{anyhow, Result};
use lbdns::{
    ebpf_object,
    xdp::{AttachMode, FastPath, XdpConfig},
};

use lbdns_tests::{Namespace, Topology};

/// The pass-through program, attached natively to the client's veth end. Detached when dropped.
#[derive(Debug)]
pub struct PeerProgram {
    _fast: FastPath,
}

impl PeerProgram {
    /// Loads the program with the smallest maps and attaches it inside `client`.
    pub fn attach(client: &Namespace) -> Result<Self> {
        Self::attach_to(client, Topology::CLIENT_IF)
    }

    /// As [`Self::attach`], to the veth end `interface` of namespace `client`.
    #[allow(dead_code, reason = "only the suites with a second client link use it")]
    pub fn attach_to(client: &Namespace, interface: &'static str) -> Result<Self> {
        let fast = client
            .enter(|| -> Result<FastPath, String> {
                let config = XdpConfig {
                    rrset_entries: 1,
                    name_bytes: 8,
                    a_slots: 1,
                    aaaa_slots: 1,
                    signature_entries: 1,
                    ..XdpConfig::default()
                };
                let mut fast = FastPath::load(ebpf_object::PROGRAM, &config)
                    .map_err(|error| error.to_string())?;
                fast.attach(interface, AttachMode::Native)
                    .map_err(|error| error.to_string())?;
                Ok(fast)
            })?
            .map_err(|error| anyhow!("the client's pass-through program: {error}"))?;
        Ok(Self { _fast: fast })
    }
}
