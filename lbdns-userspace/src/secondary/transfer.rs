//! What a secondary zone needs from outside: a transfer from a primary, and a safe place on
//! disk for the copy. A trait, so the scheduler is tested against a fake primary.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use super::config::SecondarySpec;
use crate::authority::ZoneData;
use crate::tsig::Key;
pub use crate::xfr::{Fetched, Held};

/// Zone transfers in and the kept copy.
pub trait Transfer: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Asks `primary` for `spec`'s zone: IXFR from `current`'s serial when there is a copy,
    /// AXFR otherwise, signed with `key` (`spec`'s TSIG key) when there is one. The zone
    /// returned is validated like a zone file; an error names the primary.
    fn fetch(
        &self,
        primary: SocketAddr,
        key: Option<Arc<Key>>,
        spec: &SecondarySpec,
        current: Option<Held<'_>>,
    ) -> impl Future<Output = Result<Fetched, Self::Error>> + Send;

    /// Writes `zone` as `spec`'s kept copy, so that a crash leaves the old copy or the new.
    fn keep(&self, zone: &ZoneData, spec: &SecondarySpec) -> Result<(), Self::Error>;
}
