//! The bpffs directory that lets the fast path outlive the process: one per instance,
//! `<pin dir>/<interfaces joined by '+'>/` (`/sys/fs/bpf/lbdns/eth0/` by default; bpffs refuses
//! dots in names, so `eth0.100` becomes `eth0%100`), holding
//!
//! - `link_<interface>`: the program's bpf_link on each interface. While it is pinned the
//!   program stays attached after the process exits; a new process swaps its own program in
//!   with one `bpf_link` update, so the NIC never runs without one;
//! - `maps/`: every map of `lbdns_common::maps::PINNED`, `LIFE` among them, whose layout version
//!   decides whether the next process may reuse them;
//! - `maps_next/`: maps of a program not yet swapped in. After the swap, `maps/` is replaced by
//!   renaming: the pinned set is always one program's whole set.
//!
//! A clean stop removes the directory (and so detaches at once); an exit for a restart leaves
//! it. A directory on a file system that is not bpffs, or that cannot be written, means no
//! pinning: a warning, and restarts detach as a stop does.

use std::io;
use std::path::{Path, PathBuf};

use aya::maps::{Array, Map, MapData};
use lbdns_common::{
    life::{Life, LAYOUT_VERSION},
    maps,
};

use super::XdpConfig;

/// `BPF_FS_MAGIC` from linux/magic.h.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Where one instance's link and maps are pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pins {
    dir: PathBuf,
}

/// Pinned maps this build may reuse: what they were made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adoptable {
    /// Their sizes (the DNS port is the caller's).
    pub config: XdpConfig,
    /// The name table's hash seed.
    pub name_seed: u64,
}

impl Pins {
    /// The directory of the instance serving `interfaces`, under `root`.
    pub fn new(root: &Path, interfaces: &[String]) -> Self {
        Self {
            dir: root.join(interfaces.join("+").replace('.', "%")),
        }
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory; fails unless it is on bpffs and writable.
    pub fn prepare(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        if !is_bpffs(&self.dir)? {
            return Err(io::Error::other(format!(
                "{} is not on a BPF file system (mount -t bpf bpf /sys/fs/bpf)",
                self.dir.display()
            )));
        }
        // Leftovers of a swap that a crash interrupted: never adopted.
        remove_dir(&self.maps_next())?;
        Ok(())
    }

    pub(super) fn link(&self, interface: &str) -> PathBuf {
        self.dir
            .join(format!("link_{}", interface.replace('.', "%")))
    }

    /// The pinned `LIFE` map, whose heartbeat a new process beats while it loads.
    pub fn life(&self) -> PathBuf {
        self.maps().join(maps::LIFE)
    }

    pub(super) fn maps(&self) -> PathBuf {
        self.dir.join("maps")
    }

    pub(super) fn maps_next(&self) -> PathBuf {
        self.dir.join("maps_next")
    }

    /// Whether pinned maps exist and this build may reuse them. Maps of another layout
    /// version, or that are not what `LIFE` says, are never trusted: `None`, and the log says
    /// why (they are replaced when the new maps are swapped in).
    pub fn adoptable(&self, dns_port: u16) -> Option<Adoptable> {
        let dir = self.maps();
        if !dir.join(maps::LIFE).exists() {
            return None;
        }
        match read_adoptable(&dir, dns_port) {
            Ok(adoptable) => Some(adoptable),
            Err(reason) => {
                tracing::warn!(
                    dir = %dir.display(),
                    "not reusing the pinned XDP maps: {reason}; new maps will replace them"
                );
                None
            }
        }
    }

    /// Makes the maps pinned in `maps_next/` the instance's maps, once their program serves.
    pub(super) fn promote_next(&self) -> io::Result<()> {
        let old = self.dir.join("maps_old");
        remove_dir(&old)?;
        if self.maps().exists() {
            std::fs::rename(self.maps(), &old)?;
        }
        std::fs::rename(self.maps_next(), self.maps())?;
        remove_dir(&old)
    }

    /// Removes every pin of the instance: its links (which detaches them once their last
    /// descriptor closes) and its maps.
    pub fn remove(&self) -> io::Result<()> {
        remove_dir(&self.dir)
    }
}

fn read_adoptable(dir: &Path, dns_port: u16) -> Result<Adoptable, String> {
    let life = read_life(&dir.join(maps::LIFE))?;
    if life.layout != LAYOUT_VERSION {
        return Err(format!(
            "their layout version is {}, this build's is {LAYOUT_VERSION}",
            life.layout
        ));
    }
    let entries = |name: &'static str| -> Result<u32, String> {
        let map = MapData::from_pin(dir.join(name)).map_err(|error| format!("{name}: {error}"))?;
        let info = map.info().map_err(|error| format!("{name}: {error}"))?;
        Ok(info.max_entries())
    };
    for name in maps::PINNED {
        entries(name)?;
    }
    let a_slots = entries(maps::ANSWERS_V4)?;
    let aaaa_slots = entries(maps::ANSWERS_V6)?;
    for (ids, slots) in [
        (maps::RRSET_SLOT_V4, a_slots),
        (maps::GEO_ROW_V4, a_slots),
        (maps::RRSET_SLOT_V6, aaaa_slots),
        (maps::GEO_ROW_V6, aaaa_slots),
    ] {
        if entries(ids)? != maps::id_pairs(slots) {
            return Err("their id and slot arrays differ in size".to_owned());
        }
    }
    if entries(maps::NAME_BUCKETS)? != lbdns_common::names::buckets_for(life.rrset_entries) {
        return Err("the name table's buckets do not match LIFE".to_owned());
    }
    Ok(Adoptable {
        config: XdpConfig {
            dns_port,
            rrset_entries: life.rrset_entries,
            name_bytes: entries(maps::NAME_WORDS)?.saturating_mul(8),
            a_slots,
            aaaa_slots,
            signature_entries: entries(maps::SIGNATURES)?,
            geo_chunks: entries(maps::GEO_CHUNKS)? / lbdns_common::geo::CHUNK_LEN,
            geo_v6_slots: entries(maps::GEO_V6_48)?,
            negative_children: entries(maps::NEGATIVE_CHILDREN)?,
            fixed_replies: entries(maps::FIXED_REPLIES)?,
        },
        name_seed: life.name_seed,
    })
}

/// The `LIFE` value of the pinned map at `path`, if it is one of this build's shape.
fn read_life(path: &Path) -> Result<Life, String> {
    let map = MapData::from_pin(path).map_err(|error| format!("LIFE: {error}"))?;
    let info = map.info().map_err(|error| format!("LIFE: {error}"))?;
    if info.value_size() as usize != size_of::<Life>() || info.max_entries() != 1 {
        return Err("LIFE is of a foreign shape".to_owned());
    }
    let array: Array<MapData, Life> =
        Array::try_from(Map::Array(map)).map_err(|error| format!("LIFE: {error}"))?;
    array
        .get(&0, 0)
        .map_err(|error| format!("reading LIFE: {error}"))
}

fn is_bpffs(path: &Path) -> io::Result<bool> {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a zeroed statfs is a valid value to be overwritten.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statfs we own.
    if unsafe { libc::statfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stat.f_type as i64 == BPF_FS_MAGIC)
}

fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}
