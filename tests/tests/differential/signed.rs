//! The signed zones of `signed_zones_agree_with_nsd`: `tests/corpus/dnssec.zone` signed at test
//! time with fresh keys, once with NSEC and once with NSEC3 opt-out, so that every proof NSD
//! and lbdns give can be compared (RFC 4035 §3.1.3, RFC 5155 §7.2).

use std::path::PathBuf;

use anyhow::Result;
use lbdns_tests::signing::{Denial, Signer};
use lbdns_tests::workspace_root;

/// The origins the template is signed as, and how each proves absence.
pub const SIGNED_ZONES: &[(&str, Denial)] = &[
    ("nsec.test", Denial::Nsec),
    ("nsec3.test", Denial::Nsec3OptOut("abcd")),
];

/// The signed zone files (origin, file), kept while this lives.
#[derive(Debug)]
pub struct SignedZones {
    pub zones: Vec<(String, PathBuf)>,
    _signer: Signer,
}

/// Signs the template once per entry of [`SIGNED_ZONES`].
pub fn sign_test_zones() -> Result<SignedZones> {
    let signer = Signer::new()?;
    let template = workspace_root().join("tests/corpus/dnssec.zone");
    let zones = SIGNED_ZONES
        .iter()
        .map(|&(origin, denial)| {
            let zone = signer.sign(&template, origin, denial)?;
            Ok((zone.origin, zone.file))
        })
        .collect::<Result<_>>()?;
    Ok(SignedZones {
        zones,
        _signer: signer,
    })
}
