//! What a secondary zone needs from outside: a transfer from a primary, and a safe place on
//! disk for the copy. A trait, so the scheduler is tested against a fake primary.

use std::future::Future;
use std::net::SocketAddr;

use hickory_proto::rr::Name;

use super::config::SecondarySpec;
use crate::zone::Zone;

/// What a primary sent in answer to a refresh.
#[derive(Debug)]
pub enum Fetched {
    /// The primary's serial is not newer than ours: nothing to transfer (RFC 1995 §4).
    UpToDate { serial: u32 },
    /// The whole zone (AXFR, or an IXFR answered AXFR-style).
    Full { zone: Zone },
    /// Our copy with an IXFR's differences applied; `changed_names` are the owners touched.
    Incremental {
        zone: Zone,
        changed_names: Vec<Name>,
    },
}

/// Zone transfers in and the kept copy.
pub trait Transfer: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Asks `primary` for `spec`'s zone: IXFR from `current`'s serial when there is a copy,
    /// AXFR otherwise. The zone returned is validated like a zone file.
    fn fetch(
        &self,
        primary: SocketAddr,
        spec: &SecondarySpec,
        current: Option<&Zone>,
    ) -> impl Future<Output = Result<Fetched, Self::Error>> + Send;

    /// Writes `zone` as `spec`'s kept copy, so that a crash leaves the old copy or the new.
    fn keep(&self, zone: &Zone, spec: &SecondarySpec) -> Result<(), Self::Error>;
}
