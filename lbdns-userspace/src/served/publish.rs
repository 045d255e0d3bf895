//! Publishing to the fast path: the XDP program and the writer of its maps, and the one step
//! that carries the catalog in force to them (catalog → hot RRsets → compile → map writer).

use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use std::time::Instant;

use hickory_proto::rr::LowerName;

use crate::authority::Catalog;
use crate::compile::{fixed::FixedParts, negative::NegativeParts, Compiled, MapImage, RrsetId};
use crate::config::XdpSettings;
use crate::maps::plan::Scope;
use crate::maps::{MapError, MapWriter, PreparedReport, PublishReport};
use crate::xdp::sizing::{self, Need, Requested};
use crate::xdp::{Adoptable, FastPath, Pins, XdpConfig};
use crate::{compile, ebpf_object};

use super::heartbeat::Heart;
use super::memory::release_freed_memory;

/// The XDP program and the writer of its maps, kept together for the daemon's lifetime.
pub struct Xdp {
    pub(super) fast: FastPath,
    pub(super) writer: MapWriter,
    /// The zones' shares of what the program answers NXDOMAIN from, and of its fixed replies.
    negative: NegativeParts,
    fixed: FixedParts,
    /// What building larger maps needs; `None` for a program tests drive.
    growth: Option<Growth>,
}

/// What a publish that outgrows the maps needs to build larger ones and swap them in.
struct Growth {
    settings: XdpSettings,
    pins: Option<Pins>,
    heart: Arc<Heart>,
}

/// How to make the program's maps: adopted from an earlier process, new and pinned, or new
/// and unpinned.
#[derive(Clone, Debug)]
pub enum Origin {
    /// Maps an earlier process pinned, of this build's layout.
    Adopt(Pins, Adoptable),
    /// New maps, pinned once the program serves.
    Pinned(Pins),
    /// New maps nothing pins.
    Unpinned,
}

impl std::fmt::Debug for Xdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xdp")
            .field("fast", &self.fast)
            .finish_non_exhaustive()
    }
}

impl Xdp {
    /// Starts loading the program (creating its maps, or opening adopted ones, and running the
    /// verifier) on a thread of its own: with large maps that takes seconds, as does reading
    /// large zones, and neither needs the other once the sizes are known (`xdp::sizing`).
    pub fn load(config: XdpConfig, origin: Origin) -> std::thread::JoinHandle<Result<FastPath>> {
        tracing::info!(
            a_slots = config.a_slots,
            aaaa_slots = config.aaaa_slots,
            rrset_entries = config.rrset_entries,
            name_bytes = config.name_bytes,
            signature_entries = config.signature_entries,
            negative_children = config.negative_children,
            fixed_replies = config.fixed_replies,
            adopted = matches!(origin, Origin::Adopt(..)),
            "XDP map sizes"
        );
        std::thread::spawn(move || {
            let object = ebpf_object::PROGRAM;
            match &origin {
                Origin::Adopt(pins, adoptable) => FastPath::adopt(object, adoptable, pins),
                Origin::Pinned(pins) => FastPath::load_pinned(object, &config, pins),
                Origin::Unpinned => FastPath::load(object, &config),
            }
            .context("cannot load the XDP program")
        })
    }

    /// The loaded program, with a writer of its maps; nothing published, nothing attached.
    pub fn new(mut fast: FastPath) -> Result<Self> {
        let writer = fast.map_writer().context("cannot open the XDP maps")?;
        Ok(Self {
            fast,
            writer,
            negative: NegativeParts::default(),
            fixed: FixedParts::default(),
            growth: None,
        })
    }

    /// The loaded program, for the suites that run it on frames between publishes.
    pub fn fast_path(&self) -> &FastPath {
        &self.fast
    }

    /// The program and its map writer apart, for the suites that run the program on frames
    /// and write synthetic images after the daemon's own publish.
    pub fn into_parts(self) -> (FastPath, MapWriter) {
        (self.fast, self.writer)
    }

    /// Fills the maps of the loaded program from `catalog`, then attaches it: maps first, so
    /// the program never runs with maps that lag behind the socket path. On a link an earlier
    /// process pinned, attaching swaps the program in atomically; adopted maps are only
    /// brought up to date. If they are too small, larger ones are built and swapped in.
    pub fn start(
        fast: FastPath,
        settings: &XdpSettings,
        pins: Option<Pins>,
        heart: Arc<Heart>,
        catalog: &Catalog,
    ) -> Result<Self> {
        let started = std::time::Instant::now();
        let adopted = fast.adopted();
        let mut xdp = Self::new(fast)?;
        heart.set(Some(xdp.writer.heartbeat()));
        heart.set_rrl_log(Some(xdp.writer.rrl_log()));
        xdp.growth = Some(Growth {
            settings: settings.clone(),
            pins,
            heart,
        });
        let (_, compiled) = xdp.publish_image(catalog)?;
        // A publish that outgrew the maps attached the larger ones already.
        if !xdp.fast.is_attached() {
            xdp.attach(settings)?;
        }
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            adopted,
            "XDP fast path ready"
        );
        // Only now is the image of every hot RRset freed, with its copies on the way: at a
        // million names that took a quarter of a second, which the fast path need not wait
        // for.
        drop(compiled);
        release_freed_memory();
        Ok(xdp)
    }

    fn attach(&mut self, settings: &XdpSettings) -> Result<()> {
        for interface in &settings.interfaces {
            let mode = self
                .fast
                .attach(interface, settings.mode)
                .with_context(|| format!("cannot attach XDP to {interface}"))?;
            tracing::info!(%interface, %mode, port = settings.dns_port, "XDP fast path attached");
        }
        Ok(())
    }

    /// Makes the maps answer exactly what `catalog` answers directly: every hot RRset
    /// compiled, and each compared with what the maps hold. What start-up does, and a change
    /// that cannot be narrowed down to names. When the image outgrows the maps, builds larger
    /// ones, fills them, and swaps them in with their program on every interface, never
    /// detaching (`xdp::FastPath::replace`).
    pub fn publish(&mut self, catalog: &Catalog) -> Result<PublishReport> {
        Ok(self.publish_image(catalog)?.0)
    }

    /// [`Self::publish`], handing back the image it wrote, for a caller that would rather free
    /// it later.
    fn publish_image(&mut self, catalog: &Catalog) -> Result<(PublishReport, Compiled)> {
        let started = Instant::now();
        let compiled =
            compile::compile_catalog(catalog).context("cannot compile the zones for XDP")?;
        let report = self.write(catalog, &compiled, Scope::Whole)?;
        self.publish_rest(catalog, Some(&compiled.image))?;
        log(&report, started, "whole");
        Ok((report, compiled))
    }

    /// Makes the maps answer what `catalog` answers directly at `names`, and leaves every
    /// other name as it is: a health change, a drain or a changed name costs the RRsets of
    /// the names it touches, whatever the zones' size.
    pub fn publish_names<'n>(
        &mut self,
        catalog: &Catalog,
        names: impl IntoIterator<Item = &'n LowerName>,
    ) -> Result<PublishReport> {
        let started = Instant::now();
        let part = compile::hot_rrsets_at(catalog, names);
        let compiled = compile::compile_geo(part.rrsets, part.geo)
            .context("cannot compile the changed names for XDP")?;
        let removed: Vec<RrsetId> = part
            .ids
            .into_iter()
            .filter(|id| {
                compiled
                    .image
                    .rrsets
                    .binary_search_by(|(other, _)| other.cmp(id))
                    .is_err()
            })
            .collect();
        let report = self.write(catalog, &compiled, Scope::Part { removed: &removed })?;
        self.publish_rest(catalog, None)?;
        log(&report, started, "part");
        Ok(report)
    }

    /// Writes a compiled image within `scope`, saying which maps were too small if it did not
    /// fit.
    fn write(
        &mut self,
        catalog: &Catalog,
        compiled: &Compiled,
        scope: Scope<'_>,
    ) -> Result<PublishReport> {
        for skipped in &compiled.skipped {
            tracing::info!(rrset = ?skipped.id, reason = ?skipped.reason, "left to the socket path");
        }
        for rrset in &compiled.signatures_too_large {
            tracing::info!(
                ?rrset,
                "RRSIGs larger than the XDP signature store: DO=1 queries left to the socket path"
            );
        }
        let written = match scope {
            Scope::Whole => self.writer.publish(&compiled.image),
            Scope::Part { removed } => self.writer.publish_part(&compiled.image, removed),
        };
        match written {
            Ok(report) => Ok(report),
            Err(error @ (MapError::Full(_) | MapError::NameTableFull)) => {
                let outgrown =
                    sizing::outgrown(self.fast.config(), &need(catalog, compiled, scope));
                if self.growth.is_none() {
                    return Err(anyhow::Error::new(error)
                        .context(format!("the XDP maps are too small: {outgrown}")));
                }
                tracing::info!("the XDP maps are too small ({outgrown}): building larger ones");
                let whole = matches!(scope, Scope::Whole).then_some(&compiled.image);
                self.grow(catalog, whole)
            }
            Err(error) => Err(anyhow::Error::new(error).context("cannot write the XDP maps")),
        }
    }

    /// Publishes what the program reads beside the answer sets: its prepared replies, its
    /// settings and the client map. When the prepared replies outgrow their maps, builds larger
    /// maps as [`Self::write`] does, from `whole` (the image of every hot RRset, if the caller
    /// has it).
    fn publish_rest(&mut self, catalog: &Catalog, whole: Option<&MapImage>) -> Result<()> {
        match self.publish_prepared(catalog) {
            Err(error @ MapError::PreparedFull { .. }) if self.growth.is_some() => {
                tracing::info!("{error}: building larger XDP maps");
                self.grow(catalog, whole)?;
            }
            written => written.context("cannot write the XDP prepared replies")?,
        }
        self.publish_settings(catalog)?;
        self.publish_geo(catalog)
    }

    /// Publishes what the program answers NXDOMAIN and NODATA from (`compile::negative`) and
    /// its fixed replies (`compile::fixed`), after the answer sets, compiling again only the
    /// zones that changed.
    fn publish_prepared(&mut self, catalog: &Catalog) -> Result<(), MapError> {
        self.update_prepared(catalog);
        let (negative, fixed) = (self.negative.image(), self.fixed.image());
        let report = self.writer.publish_prepared(negative, fixed)?;
        if report != PreparedReport::default() {
            tracing::info!(
                zones = negative.zones.len(),
                zones_written = report.zones_written,
                zones_removed = report.zones_removed,
                names_added = report.children_added,
                names_removed = report.children_removed,
                fixed = fixed.len(),
                fixed_written = report.fixed_written,
                fixed_removed = report.fixed_removed,
                "XDP prepared replies published"
            );
        }
        Ok(())
    }

    /// Brings the NXDOMAIN and NODATA image and the fixed replies up to date with `catalog`,
    /// the fixed replies first: the NODATA marks come from them.
    fn update_prepared(&mut self, catalog: &Catalog) {
        self.fixed.update(catalog);
        self.negative.update(catalog, &self.fixed);
    }

    /// Publishes the ECS settings and the client map of `catalog`: only the prefixes that
    /// differ from what the tries hold are written, so a reload that changes a few subnets
    /// writes those.
    fn publish_geo(&mut self, catalog: &Catalog) -> Result<()> {
        let geo = catalog.geo();
        self.writer
            .publish_ecs(geo.ecs.enabled.then_some((geo.ecs.max_v4, geo.ecs.max_v6)));
        let report = self
            .writer
            .publish_geo_map(&geo.map)
            .context("cannot write the XDP client map")?;
        if report.written + report.removed > 0 {
            tracing::info!(
                written = report.written,
                removed = report.removed,
                unchanged = report.unchanged,
                "XDP client map published"
            );
        }
        Ok(())
    }

    /// What the catalog carries beyond its RRsets for the program: the NSID and the DNS Cookies
    /// secrets its EDNS options answer with, and the rate limits.
    fn publish_settings(&mut self, catalog: &Catalog) -> Result<()> {
        self.writer
            .publish_nsid(compile::nsid(catalog.identity()).as_ref())
            .context("cannot write the XDP program's NSID")?;
        self.writer
            .publish_cookies(catalog.cookies().secrets())
            .context("cannot write the XDP program's cookie secrets")?;
        self.writer
            .publish_rate_limits(catalog.rate_limits())
            .context("cannot write the XDP program's rate limits")
    }

    /// Loads the program again with maps large enough for `catalog` (with the usual headroom,
    /// never smaller than now), fills them, and swaps it in for the running one, or attaches it
    /// if none runs yet. The running program answers from the old maps until the swap; a
    /// failure leaves it serving them. Larger maps must hold every hot RRset: `whole` is their
    /// image, compiled here if the caller has only a part.
    fn grow(&mut self, catalog: &Catalog, whole: Option<&MapImage>) -> Result<PublishReport> {
        let compiled;
        let image = match whole {
            Some(image) => image,
            None => {
                compiled = compile::compile_catalog(catalog)
                    .context("cannot compile the zones for XDP")?;
                &compiled.image
            }
        };
        self.update_prepared(catalog);
        let need = Need {
            negative_children: self.negative.image().children.len() as u64,
            fixed_replies: self.fixed.image().len() as u64,
            ..Need::of(image)
        };
        let growth = self.growth.as_ref().expect("checked by the caller");
        let current = *self.fast.config();
        let wanted = sizing::sized(&need, &Requested::default(), current.dns_port);
        let config = XdpConfig {
            rrset_entries: wanted.rrset_entries.max(current.rrset_entries),
            name_bytes: wanted.name_bytes.max(current.name_bytes),
            a_slots: wanted.a_slots.max(current.a_slots),
            aaaa_slots: wanted.aaaa_slots.max(current.aaaa_slots),
            signature_entries: wanted.signature_entries.max(current.signature_entries),
            negative_children: wanted.negative_children.max(current.negative_children),
            fixed_replies: wanted.fixed_replies.max(current.fixed_replies),
            ..current
        };
        let origin = match &growth.pins {
            Some(pins) => Origin::Pinned(pins.clone()),
            None => Origin::Unpinned,
        };
        let fast = Self::load(config, origin)
            .join()
            .map_err(|_| anyhow::anyhow!("the XDP loading thread panicked"))??;
        let mut larger = Self::new(fast)?;
        larger.negative = std::mem::take(&mut self.negative);
        larger.fixed = std::mem::take(&mut self.fixed);
        let report = larger
            .writer
            .publish(image)
            .context("cannot fill the larger XDP maps")?;
        larger.publish_rest(catalog, Some(image))?;
        // The new program answers only while its own heartbeat is fresh.
        growth.heart.set(Some(larger.writer.heartbeat()));
        growth.heart.set_rrl_log(Some(larger.writer.rrl_log()));
        if self.fast.is_attached() {
            larger
                .fast
                .replace(&mut self.fast)
                .context("cannot swap in the larger XDP maps")?;
        } else {
            // Maps adopted at start-up, too small for the zones: the program the earlier
            // process left on the pinned links keeps answering from them until the swap.
            self.fast.abandon();
            larger.attach(&growth.settings)?;
        }
        tracing::info!(
            a_slots = config.a_slots,
            aaaa_slots = config.aaaa_slots,
            rrset_entries = config.rrset_entries,
            name_bytes = config.name_bytes,
            signature_entries = config.signature_entries,
            negative_children = config.negative_children,
            fixed_replies = config.fixed_replies,
            "XDP maps outgrown: built larger ones and swapped them in with the program, \
             without detaching"
        );
        self.fast = larger.fast;
        self.writer = larger.writer;
        self.negative = larger.negative;
        self.fixed = larger.fixed;
        Ok(report)
    }

    /// Stops beating, and detaches and unpins the program; or, `for_restart`, leaves it
    /// attached and pinned for the next process, whose heartbeat must then come within the
    /// limit.
    pub fn stop(mut self, for_restart: bool) {
        if let Some(growth) = &self.growth {
            growth.heart.set(None);
            growth.heart.set_rrl_log(None);
        }
        if for_restart {
            self.fast.leave_for_restart();
        }
    }

    /// The counters as `name value` lines, for `lbdns stats` and the exit log.
    pub fn stats(&self) -> String {
        let mut out = String::new();
        match self.fast.counters() {
            Ok(counters) => {
                for (counter, total) in counters.iter() {
                    out.push_str(&format!("{} {total}\n", counter.name()));
                }
                for (tally, total) in counters.tallies() {
                    out.push_str(&format!("{} {total}\n", tally.name()));
                }
            }
            Err(error) => out.push_str(&format!("error: {error}\n")),
        }
        if let Ok(stats) = self.fast.stats() {
            if stats.run_count > 0 {
                let ns = stats.run_time.as_nanos() / u128::from(stats.run_count);
                out.push_str(&format!("ns_per_packet {ns}\n"));
            }
        }
        out
    }

    /// The counters for `--json`: `counters` by name, and `ns_per_packet` when the kernel
    /// measures run time.
    pub fn stats_json(&self) -> Value {
        let counters = match self.fast.counters() {
            Ok(counters) => counters
                .iter()
                .map(|(counter, total)| (counter.name(), total))
                .chain(
                    counters
                        .tallies()
                        .map(|(tally, total)| (tally.name(), total)),
                )
                .map(|(name, total)| (name.to_owned(), total.into()))
                .collect::<serde_json::Map<_, _>>(),
            Err(error) => return json!({ "state": "running", "error": error.to_string() }),
        };
        let ns_per_packet = self.fast.stats().ok().and_then(|stats| {
            (stats.run_count > 0)
                .then(|| stats.run_time.as_nanos() / u128::from(stats.run_count))
                .and_then(|ns| u64::try_from(ns).ok())
        });
        json!({ "state": "running", "counters": counters, "ns_per_packet": ns_per_packet })
    }
}

/// What the maps must hold for `catalog`, of which `compiled` is the whole image or a part: a
/// part that did not fit is measured against every hot RRset, as a restart would size them.
fn need(catalog: &Catalog, compiled: &Compiled, scope: Scope<'_>) -> Need {
    match scope {
        Scope::Whole => Need::of(&compiled.image),
        Scope::Part { .. } => compile::compile_catalog(catalog).map_or_else(
            |_| Need::of(&compiled.image),
            |whole| Need::of(&whole.image),
        ),
    }
}

/// One line per publish, with what it wrote: how a change's cost shows in the log.
fn log(report: &PublishReport, started: Instant, scope: &'static str) {
    tracing::info!(
        scope,
        written = report.written,
        removed = report.removed,
        unchanged = report.unchanged,
        grace_period = report.waited,
        seconds = started.elapsed().as_secs_f64(),
        "XDP maps published"
    );
}
