//! The real [`Transfer`]: zone transfers by `xfr::fetch`, copies kept by `zone::write::save`.

use std::net::SocketAddr;
use std::sync::Arc;

use super::config::SecondarySpec;
use super::transfer::{Fetched, Held, Transfer};
use crate::authority::ZoneData;
use crate::tsig::Key;
use crate::xfr::{self, Limits, Primary, XfrError};
use crate::zone::write::{save_records, SaveError};

/// Transfers from the configured primaries, within the client's default limits.
#[derive(Debug, Default)]
pub struct Primaries {
    limits: Limits,
}

/// A transfer that failed, or a copy that could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Xfr(#[from] XfrError),
    #[error(transparent)]
    Save(#[from] SaveError),
}

impl Transfer for Primaries {
    type Error = TransferError;

    async fn fetch(
        &self,
        primary: SocketAddr,
        key: Option<Arc<Key>>,
        spec: &SecondarySpec,
        current: Option<Held<'_>>,
    ) -> Result<Fetched, TransferError> {
        let primary = Primary {
            address: primary,
            key,
        };
        Ok(xfr::fetch(&primary, &spec.origin, current, &self.limits).await?)
    }

    fn keep(&self, zone: &ZoneData, spec: &SecondarySpec) -> Result<(), TransferError> {
        Ok(save_records(&zone.origin, zone.records(), &spec.file)?)
    }
}
