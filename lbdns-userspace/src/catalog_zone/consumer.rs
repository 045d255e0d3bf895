//! The secondary zones' [`Transfer`], with catalogs looked at before they are kept: the kept
//! copy is what the member set is read from (at start-up and at each reload), so a catalog is
//! kept only when it can be applied, and a kept catalog whose member set changed asks the
//! daemon to apply it.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;
use tokio::sync::mpsc::UnboundedSender;

use super::members::{self, CatalogError};
use super::Catalogs;
use crate::authority::ZoneData;
use crate::secondary::config::SecondarySpec;
use crate::secondary::{Fetched, Held, Transfer};
use crate::tsig::Key;

/// `T`'s transfers, and a look at each catalog before `T` keeps it.
#[derive(Debug)]
pub struct Consumer<T> {
    inner: T,
    catalogs: Arc<Catalogs>,
    /// Told the apex of a catalog kept with a changed member set.
    changed: UnboundedSender<Name>,
}

impl<T> Consumer<T> {
    pub fn new(inner: T, catalogs: Arc<Catalogs>, changed: UnboundedSender<Name>) -> Self {
        Self {
            inner,
            catalogs,
            changed,
        }
    }
}

/// A transfer error, or a catalog not kept because it cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Transfer(E),
    #[error("{0}; the member set in force stays")]
    Catalog(#[from] CatalogError),
    #[error("cannot create the catalog's directory {0}: {1}")]
    Directory(std::path::PathBuf, std::io::Error),
}

impl<T: Transfer> Transfer for Consumer<T> {
    type Error = ConsumerError<T::Error>;

    async fn fetch(
        &self,
        primary: SocketAddr,
        key: Option<Arc<Key>>,
        spec: &SecondarySpec,
        current: Option<Held<'_>>,
    ) -> Result<Fetched, Self::Error> {
        self.inner
            .fetch(primary, key, spec, current)
            .await
            .map_err(ConsumerError::Transfer)
    }

    fn keep(&self, zone: &ZoneData, spec: &SecondarySpec) -> Result<(), Self::Error> {
        let Some(catalog) = self.catalogs.find(&spec.origin) else {
            return self.inner.keep(zone, spec).map_err(ConsumerError::Transfer);
        };
        // A catalog is small: its records are read back from the index.
        let source: Arc<std::path::Path> = Arc::from(spec.file.as_path());
        let listed = members::read(&crate::xfr::unindexed(zone, &source)).inspect_err(|error| {
            tracing::error!(catalog = %spec.origin, "catalog refused: {error}; the member set in force stays");
            self.catalogs.refused(&spec.origin, error.to_string());
        })?;
        // The members' directory too: their copies are kept there once this one is.
        let directory = catalog.members_dir();
        std::fs::create_dir_all(&directory)
            .map_err(|error| ConsumerError::Directory(directory, error))?;
        self.inner
            .keep(zone, spec)
            .map_err(ConsumerError::Transfer)?;
        if catalog.unread.is_some() || listed.ids() != catalog.listed {
            tracing::info!(catalog = %spec.origin, members = listed.members.len(), "catalog changed its member set: applying it");
            // The daemon is gone only while it stops.
            let _ = self.changed.send(spec.origin.clone());
        }
        Ok(())
    }
}
