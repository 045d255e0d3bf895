//! The TOML configuration file and how it combines with command-line flags.
//!
//! ```toml
//! listen = ["0.0.0.0:53", "[::]:53"]
//! state_file = "/var/lib/lbdns/state.json"   # drains and last health across restarts
//!
//! [[zone]]
//! file = "zones/example.com.zone"   # relative to this file
//! origin = "example.com."           # optional; defaults to the SOA owner
//! provide_xfr = ["198.18.0.0/15 xfr-key"]   # who may transfer it (see `transfer_out`)
//! notify = ["198.18.0.2 xfr-key"]           # told when its serial changes
//!
//! [[zone]]                          # a secondary zone: see `crate::secondary::config`
//! origin = "example.net."
//! primaries = ["192.0.2.1"]
//! file = "example.net.zone"         # the transferred copy, kept here
//!
//! [tcp]
//! idle_timeout_secs = 10
//! max_connections = 512
//!
//! [xdp]
//! interfaces = ["eth0"]   # none: socket path only
//! mode = "auto"           # auto | native | generic
//! pin_dir = "/sys/fs/bpf/lbdns"  # bpffs directory that keeps XDP across restarts; "none": off
//! heartbeat_limit_secs = 10      # XDP stops answering when the daemon is silent this long
//!
//! [server]                # what the server says about itself; each key is off when absent
//! identity = "ns1"        # CH TXT id.server and hostname.bind; `true`: the host name
//! version = "lbdns"       # CH TXT version.bind and version.server
//! nsid = "host-17"        # NSID (RFC 5001) as text, or `nsid_hex = "686f7374"` as octets
//!
//! [dnssec]
//! expiry_warning_days = 7  # warn at load of signatures expiring this soon
//!
//! [metrics]
//! listen = "127.0.0.1:9153"   # absent: no metrics page
//!
//! [[catalog]]                 # a catalog zone (RFC 9432) we consume: see `catalog_zone::config`
//! origin = "catalog.invalid."
//! primaries = ["192.0.2.1"]
//! directory = "catalog"       # its copy, and its members' copies
//!
//! [rrl]                       # response rate limiting (see `rrl::config`); absent: off
//! responses_per_second = 200
//!
//! [[key]]                     # TSIG keys (see `tsig::config`)
//! name = "xfr-key"
//! algorithm = "hmac-sha256"
//! secret = "base64..."        # or secret_file = "path"
//!
//! [cookies]                   # DNS Cookies (see `cookies::config`)
//! secret = "00112233445566778899aabbccddeeff"  # the same on every host of a fleet
//! [geo]                       # client locations and EDNS Client Subnet: see `geo::config`
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::LowerName;
use serde::Deserialize;
use toml::Spanned;

use crate::authority::ServerIdentity;
use crate::catalog_zone::{self, CatalogEntry, Consumed};
use crate::cookies::{Cookies, CookiesSection};
use crate::geo::{GeoEntry, GeoSettings};
use crate::pool::{PoolEntry, Source};
use crate::rrl::{config::RrlSection, RateLimits};
use crate::secondary::config::{SecondarySection, SecondarySpec, TimerBounds};
use crate::server::{TcpLimits, DEFAULT_TCP_IDLE};
use crate::transfer_out::ZoneRules;
use crate::tsig::{KeyEntry, KeyRing};
use crate::xdp::{sizing::Requested, AttachMode, XdpConfig};
use crate::zone::ZoneSpec;

/// Default TCP connection bound: generous for an authoritative server, small for the kernel.
pub const DEFAULT_TCP_CONNECTIONS: usize = 512;

/// Default warning window for signatures about to expire: a week, time to re-sign.
pub const DEFAULT_EXPIRY_WARNING_DAYS: u32 = 7;

/// The file as written. Unknown keys are errors, so a typo never silently does nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<Vec<SocketAddr>>,
    #[serde(default)]
    pub zone: Vec<ZoneEntry>,
    #[serde(default)]
    pub tcp: TcpSection,
    #[serde(default)]
    pub xdp: XdpSection,
    #[serde(default)]
    pub dnssec: DnssecSection,
    /// The control socket `lbdns stats` talks to.
    pub control: Option<PathBuf>,
    /// Where drains and health verdicts are kept across restarts.
    pub state_file: Option<PathBuf>,
    /// Load-balancing pools; validated against the zones once they are loaded.
    #[serde(default)]
    pub pool: Vec<PoolEntry>,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    /// Bounds on the secondary zones' SOA timers.
    #[serde(default)]
    pub secondary: SecondarySection,
    /// TSIG keys, by name.
    #[serde(default)]
    pub key: Vec<KeyEntry>,
    /// Catalog zones we consume (RFC 9432).
    #[serde(default)]
    pub catalog: Vec<CatalogEntry>,
    /// Response rate limiting (see `rrl::config`); absent: off.
    pub rrl: Option<RrlSection>,
    /// The DNS Cookies secret (see `cookies::config`).
    #[serde(default)]
    pub cookies: CookiesSection,
    /// Client locations and EDNS Client Subnet (see `geo::config`).
    pub geo: Option<GeoEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneEntry {
    pub file: Spanned<PathBuf>,
    pub origin: Option<Spanned<String>>,
    /// Present: a secondary zone, transferred from these and kept in `file`.
    pub primaries: Option<Spanned<Vec<String>>>,
    /// The TSIG key of a secondary zone's transfers and NOTIFYs.
    pub tsig: Option<Spanned<String>>,
    /// Who may transfer the zone (see `transfer_out`).
    #[serde(default)]
    pub provide_xfr: Vec<Spanned<String>>,
    /// Where NOTIFY goes when the zone's serial changes.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSection {
    pub idle_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XdpSection {
    #[serde(default)]
    pub interfaces: Vec<String>,
    pub mode: Option<Spanned<String>>,
    pub rrset_entries: Option<u32>,
    pub name_bytes: Option<u32>,
    pub a_slots: Option<u32>,
    pub aaaa_slots: Option<u32>,
    pub signature_entries: Option<u32>,
    pub pin_dir: Option<PathBuf>,
    pub heartbeat_limit_secs: Option<u64>,
}

/// What the server says about itself, spelled like NSD's and Knot's `identity`, `version` and
/// `nsid`. Spans are kept so that values the server cannot send name their line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub identity: Option<Spanned<IdentityValue>>,
    pub version: Option<Spanned<String>>,
    pub nsid: Option<Spanned<String>>,
    pub nsid_hex: Option<Spanned<String>>,
}

/// `identity = "text"`, or `identity = true` for the host name (`false` is off, like absent).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum IdentityValue {
    Text(String),
    HostName(bool),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnssecSection {
    /// Signatures of signed zones that expire within this many days are logged at load.
    pub expiry_warning_days: Option<u32>,
}

/// The Prometheus metrics page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Where `/metrics` is served over HTTP; none: not served.
    pub listen: Option<SocketAddr>,
}

/// A configuration error, displayed as `file:line: message`, or `file: message` when it
/// belongs to no one line (line 0: a flag, or the file as a whole).
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl ConfigError {
    /// An error at byte `offset` of `file`, whose text is `text`.
    pub fn at(file: &Path, text: &str, offset: usize, message: String) -> Self {
        Self {
            file: file.to_path_buf(),
            line: line_of(text, offset),
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<(Self, ConfigText), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let source = ConfigText {
            path: path.to_path_buf(),
            text,
        };
        Ok((Self::parse(&source)?, source))
    }

    /// The file as written in `source`, its errors naming `source`'s path and line.
    pub fn parse(source: &ConfigText) -> Result<Self, ConfigError> {
        toml::from_str(&source.text).map_err(|e| ConfigError {
            file: source.path.clone(),
            line: e.span().map_or(0, |span| line_of(&source.text, span.start)),
            message: e.message().to_owned(),
        })
    }
}

/// What `serve` and `check` run with, after flags and file are combined.
#[derive(Debug)]
pub struct Settings {
    pub zones: Vec<ZoneSpec>,
    pub listen: Vec<SocketAddr>,
    pub tcp: TcpLimits,
    pub xdp: XdpSettings,
    pub control: PathBuf,
    /// The pools as written, with the file they came from (for `file:line` errors).
    pub pools: Vec<PoolEntry>,
    /// NSID and the CHAOS TXT answers.
    pub identity: ServerIdentity,
    pub source: Option<ConfigText>,
    /// Signatures expiring within this are logged when zones load.
    pub expiry_warning: Duration,
    /// Where the metrics page is served, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// Where drains and health verdicts are kept across restarts: `state_file`, or
    /// `$STATE_DIRECTORY/state.json` under systemd (`StateDirectory=`); `None`: not kept.
    pub state_file: Option<PathBuf>,
    /// The zones transferred from primaries rather than read from a file of ours.
    pub secondaries: Vec<SecondarySpec>,
    pub secondary_timers: TimerBounds,
    /// The TSIG keys of `[[key]]`.
    pub keys: KeyRing,
    /// The zones' `provide_xfr` and `notify` lists.
    pub transfer_rules: Vec<ZoneRules>,
    /// The catalog zones consumed; they and their members are among `secondaries` too.
    pub catalogs: Vec<Consumed>,
    /// Response rate limiting, for both paths.
    pub rate_limits: RateLimits,
    /// The DNS Cookies secrets of `[cookies]`, or this process's random one.
    pub cookies: Cookies,
    /// Locations, the client map and the ECS settings of `[geo]`.
    pub geo: GeoSettings,
}

/// A configuration file's path and text, kept so later checks can name lines.
#[derive(Debug, Clone)]
pub struct ConfigText {
    pub path: PathBuf,
    pub text: String,
}

impl ConfigText {
    pub fn source(&self) -> Source<'_> {
        Source {
            path: &self.path,
            text: &self.text,
        }
    }
}

/// Where and how the XDP fast path runs; no interfaces means socket path only.
#[derive(Debug, Clone)]
pub struct XdpSettings {
    pub interfaces: Vec<String>,
    pub mode: AttachMode,
    /// The UDP port the program answers, from the listen addresses.
    pub dns_port: u16,
    /// Map sizes the operator set; the others are sized from the zones at start
    /// ([`crate::xdp::sizing`]).
    pub sizes: Requested,
    /// The bpffs directory under which the program's link and maps are pinned, so that they
    /// outlive the process (`crate::xdp::pins`); `None`: nothing is pinned.
    pub pin_dir: Option<PathBuf>,
    /// How long the program keeps answering after the daemon's last heartbeat
    /// (`lbdns_common::life`); zero: for ever.
    pub heartbeat_limit: Duration,
}

/// Where XDP pins live unless configured: one directory per instance below it.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/lbdns";
/// How long the XDP program answers without a heartbeat unless configured.
pub const DEFAULT_HEARTBEAT_LIMIT: Duration = Duration::from_secs(10);

/// Flags given on the command line; they add zones to the file's and replace its listen set.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub zones: Vec<ZoneSpec>,
    pub listen: Vec<SocketAddr>,
    pub tcp_idle_timeout_secs: Option<u64>,
    pub tcp_max_connections: Option<usize>,
    pub xdp_interfaces: Vec<String>,
    pub xdp_mode: Option<AttachMode>,
    pub xdp_rrset_entries: Option<u32>,
    pub xdp_name_bytes: Option<u32>,
    pub xdp_a_slots: Option<u32>,
    pub xdp_aaaa_slots: Option<u32>,
    pub xdp_signature_entries: Option<u32>,
    pub xdp_pin_dir: Option<PathBuf>,
    pub xdp_heartbeat_limit_secs: Option<u64>,
    pub control: Option<PathBuf>,
    pub metrics: Option<SocketAddr>,
    pub state_file: Option<PathBuf>,
}

impl Settings {
    pub fn new(config: Option<&Path>, flags: Overrides) -> Result<Self, ConfigError> {
        match config {
            Some(path) => {
                let (file, source) = ConfigFile::load(path)?;
                Self::combine(file, Some(source), flags)
            }
            None => Self::combine(ConfigFile::default(), None, flags),
        }
    }

    /// [`Settings::new`] from a configuration's text rather than its file, `path` naming it in
    /// errors and anchoring its relative paths: what the fuzz target of the configuration
    /// reads.
    pub fn from_text(path: &Path, text: String, flags: Overrides) -> Result<Self, ConfigError> {
        let source = ConfigText {
            path: path.to_path_buf(),
            text,
        };
        Self::combine(ConfigFile::parse(&source)?, Some(source), flags)
    }

    fn combine(
        file: ConfigFile,
        source: Option<ConfigText>,
        flags: Overrides,
    ) -> Result<Self, ConfigError> {
        // Owned: `source` itself moves into the settings at the end.
        let config_path = source.as_ref().map(|source| source.path.clone());
        let config = config_path.as_deref();
        let base = config.and_then(Path::parent).unwrap_or(Path::new(""));
        let keys = match (config, &source) {
            (Some(path), Some(text)) => KeyRing::from_entries(file.key, path, &text.text, base)?,
            _ => KeyRing::default(),
        };
        let rate_limits = match (config, &source) {
            (Some(path), Some(text)) => RateLimits::from_section(file.rrl, path, &text.text)?,
            _ => RateLimits::default(),
        };
        let cookies = match (config, &source) {
            (Some(path), Some(text)) => file.cookies.cookies(path, &text.text, base)?,
            _ => Cookies::default(),
        };
        let geo = match (config, &source, file.geo) {
            (Some(path), Some(text), Some(entry)) => {
                GeoSettings::from_entry(entry, path, &text.text, base)?
            }
            _ => GeoSettings::default(),
        };
        let mut zones = Vec::new();
        let mut secondaries = Vec::new();
        let mut transfer_rules = Vec::new();
        for entry in file.zone {
            let file = base.join(entry.file.get_ref());
            let at = |span: std::ops::Range<usize>, message| ConfigError {
                file: config.map(Path::to_path_buf).unwrap_or_default(),
                line: source.as_ref().map_or(0, |s| line_of(&s.text, span.start)),
                message,
            };
            // An error about the table as a whole names the line of its `origin`, else `file`.
            let table = entry
                .origin
                .as_ref()
                .map_or_else(|| entry.file.span(), Spanned::span);
            let origin_text = entry.origin.as_ref().map(|o| o.get_ref().as_str());
            let (file, origin) = match &entry.primaries {
                Some(primaries) => {
                    let spec = SecondarySpec::new(
                        origin_text,
                        primaries.get_ref(),
                        entry.tsig.as_ref().map(|t| t.get_ref().as_str()),
                        file,
                    )
                    .map_err(|message| at(primaries.span(), message))?;
                    if let Some(key) = spec.tsig.as_ref().filter(|key| keys.get(key).is_none()) {
                        let message = format!("zone.tsig: no [[key]] is named {key}");
                        return Err(at(primaries.span(), message));
                    }
                    secondaries.push(spec.clone());
                    (spec.file, Some(spec.origin))
                }
                None if entry.tsig.is_some() => {
                    let message = "zone.tsig: only a zone with primaries has one".into();
                    let span = entry.tsig.as_ref().map_or(table, Spanned::span);
                    return Err(at(span, message));
                }
                None => {
                    let spec = ZoneSpec::new(file, origin_text)
                        .map_err(|message| at(table.clone(), message))?;
                    zones.push(spec.clone());
                    (spec.file, spec.origin)
                }
            };
            let rules =
                ZoneRules::parse(file, origin, &entry.provide_xfr, &entry.notify, &keys, at)?;
            transfer_rules.extend(rules);
        }
        zones.extend(flags.zones);
        let catalogs = catalogs(
            &file.catalog,
            &zones,
            &secondaries,
            &keys,
            base,
            config,
            source.as_ref(),
        )?;
        for catalog in &catalogs {
            secondaries.push(catalog.spec.clone());
            secondaries.extend(catalog.member_specs());
        }
        let listen = if !flags.listen.is_empty() {
            flags.listen
        } else {
            file.listen.unwrap_or_else(default_listen)
        };
        let tcp = TcpLimits {
            idle_timeout: flags
                .tcp_idle_timeout_secs
                .or(file.tcp.idle_timeout_secs)
                .map_or(DEFAULT_TCP_IDLE, Duration::from_secs),
            max_connections: flags
                .tcp_max_connections
                .or(file.tcp.max_connections)
                .unwrap_or(DEFAULT_TCP_CONNECTIONS),
        };
        let error = |message: String| ConfigError {
            file: config.map(Path::to_path_buf).unwrap_or_default(),
            line: 0,
            message,
        };
        let mode = match (flags.xdp_mode, file.xdp.mode) {
            (Some(mode), _) => mode,
            (None, Some(text)) => text.get_ref().parse().map_err(|e| ConfigError {
                file: config.map(Path::to_path_buf).unwrap_or_default(),
                line: source
                    .as_ref()
                    .map_or(0, |s| line_of(&s.text, text.span().start)),
                message: format!("xdp.mode: {e}"),
            })?,
            (None, None) => AttachMode::default(),
        };
        let interfaces = if flags.xdp_interfaces.is_empty() {
            file.xdp.interfaces
        } else {
            flags.xdp_interfaces
        };
        let dns_port = if interfaces.is_empty() {
            XdpConfig::default().dns_port
        } else {
            xdp_port(&listen).map_err(error)?
        };
        let sizes = Requested {
            rrset_entries: flags.xdp_rrset_entries.or(file.xdp.rrset_entries),
            name_bytes: flags.xdp_name_bytes.or(file.xdp.name_bytes),
            a_slots: flags.xdp_a_slots.or(file.xdp.a_slots),
            aaaa_slots: flags.xdp_aaaa_slots.or(file.xdp.aaaa_slots),
            signature_entries: flags.xdp_signature_entries.or(file.xdp.signature_entries),
        };
        sizes.check().map_err(error)?;
        let xdp = XdpSettings {
            interfaces,
            mode,
            dns_port,
            sizes,
            pin_dir: match flags.xdp_pin_dir.or(file.xdp.pin_dir) {
                None => Some(PathBuf::from(DEFAULT_PIN_DIR)),
                Some(dir) if dir.as_os_str().is_empty() || dir == Path::new("none") => None,
                Some(dir) => Some(dir),
            },
            heartbeat_limit: flags
                .xdp_heartbeat_limit_secs
                .or(file.xdp.heartbeat_limit_secs)
                .map_or(DEFAULT_HEARTBEAT_LIMIT, Duration::from_secs),
        };
        let control = flags
            .control
            .or(file.control)
            .unwrap_or_else(|| PathBuf::from(crate::control::DEFAULT_PATH));
        let identity = server_identity(file.server, config, source.as_ref())?;
        let secondary_timers = TimerBounds::new(&file.secondary).map_err(error)?;
        Ok(Self {
            zones,
            listen,
            tcp,
            xdp,
            control,
            pools: file.pool,
            identity,
            source,
            expiry_warning: Duration::from_secs(
                86_400
                    * u64::from(
                        file.dnssec
                            .expiry_warning_days
                            .unwrap_or(DEFAULT_EXPIRY_WARNING_DAYS),
                    ),
            ),
            metrics: flags.metrics.or(file.metrics.listen),
            state_file: flags.state_file.or(file.state_file).or_else(|| {
                std::env::var_os("STATE_DIRECTORY")
                    // systemd may list several, separated by colons: the first is ours.
                    .and_then(|dirs| dirs.to_str()?.split(':').next().map(PathBuf::from))
                    .map(|dir| dir.join("state.json"))
            }),
            secondaries,
            secondary_timers,
            keys,
            transfer_rules,
            catalogs,
            rate_limits,
            cookies,
            geo,
        })
    }
}

/// The `[[catalog]]` tables, each with the members its kept copy lists; an error names the
/// table's `origin` or `primaries` line.
fn catalogs(
    entries: &[CatalogEntry],
    zones: &[ZoneSpec],
    secondaries: &[SecondarySpec],
    keys: &KeyRing,
    base: &Path,
    config: Option<&Path>,
    source: Option<&ConfigText>,
) -> Result<Vec<Consumed>, ConfigError> {
    let mut configured: Vec<_> = zones
        .iter()
        .filter_map(|zone| zone.origin.as_ref())
        .chain(secondaries.iter().map(|spec| &spec.origin))
        .map(LowerName::new)
        .collect();
    let mut catalogs = Vec::new();
    for entry in entries {
        let at = |span: std::ops::Range<usize>, message| ConfigError {
            file: config.map(Path::to_path_buf).unwrap_or_default(),
            line: source.map_or(0, |s| line_of(&s.text, span.start)),
            message,
        };
        let catalog = Consumed::new(entry, base, &configured)
            .map_err(|message| at(entry.origin.span(), message))?;
        if let Some(key) = catalog
            .spec
            .tsig
            .as_ref()
            .filter(|key| keys.get(key).is_none())
        {
            let message = format!("catalog.tsig: no [[key]] is named {key}");
            return Err(at(entry.primaries.span(), message));
        }
        configured.push(LowerName::new(&catalog.spec.origin));
        catalogs.push(catalog);
    }
    catalog_zone::config::claim_once(&mut catalogs);
    Ok(catalogs)
}

/// The `[server]` section as the authority takes it; an error names the offending key's line.
fn server_identity(
    section: ServerSection,
    path: Option<&Path>,
    source: Option<&ConfigText>,
) -> Result<ServerIdentity, ConfigError> {
    let error = |span: std::ops::Range<usize>, message: String| ConfigError {
        file: path.map(Path::to_path_buf).unwrap_or_default(),
        line: source.map_or(0, |s| 1 + s.text[..span.start].matches('\n').count()),
        message,
    };
    let nsid = match (section.nsid, section.nsid_hex) {
        (Some(_), Some(hex)) => {
            return Err(error(
                hex.span(),
                "server.nsid_hex: give `nsid` (text) or `nsid_hex` (octets), not both".into(),
            ))
        }
        (Some(text), None) => Some((text.span(), text.into_inner().into_bytes())),
        (None, Some(hex)) => {
            let span = hex.span();
            let octets = parse_hex(hex.get_ref()).ok_or_else(|| {
                error(
                    span.clone(),
                    format!(
                        "server.nsid_hex: {:?} is not pairs of hex digits",
                        hex.get_ref()
                    ),
                )
            })?;
            Some((span, octets))
        }
        (None, None) => None,
    };
    let identity = match section.identity {
        None => None,
        Some(value) => {
            let span = value.span();
            match value.into_inner() {
                IdentityValue::Text(text) if text.is_empty() => None,
                IdentityValue::Text(text) => Some((span, text.into_bytes())),
                IdentityValue::HostName(false) => None,
                IdentityValue::HostName(true) => Some((
                    span.clone(),
                    host_name().map_err(|e| {
                        error(
                            span,
                            format!("server.identity: cannot read the host name: {e}"),
                        )
                    })?,
                )),
            }
        }
    };
    let version = section
        .version
        .map(|v| (v.span(), v.into_inner().into_bytes()))
        .filter(|(_, text)| !text.is_empty());
    let mut built = ServerIdentity::default();
    if let Some((span, octets)) = nsid {
        built = built
            .with_nsid(octets)
            .map_err(|e| error(span, format!("server.nsid: {e}")))?;
    }
    if let Some((span, text)) = identity {
        built = built
            .with_identity(text)
            .map_err(|e| error(span, format!("server.identity: {e}")))?;
    }
    if let Some((span, text)) = version {
        built = built
            .with_version(text)
            .map_err(|e| error(span, format!("server.version: {e}")))?;
    }
    Ok(built)
}

/// The 1-based line of `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text[..offset.min(text.len())].matches('\n').count()
}

/// `address[/length]`, as configurations write networks: an address alone is a host prefix.
/// Bits past the length are the caller's to judge: an allow list masks them, a subnet map
/// refuses them.
pub fn parse_prefix(text: &str) -> Result<(IpAddr, u8), String> {
    let (address, length) = match text.trim().split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (text.trim(), None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{address:?} is not an IP address"))?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    let length = match length {
        None => bits,
        Some(length) => length
            .parse::<u8>()
            .ok()
            .filter(|&length| length <= bits)
            .ok_or_else(|| format!("/{length} is not a prefix length of {address}"))?,
    };
    Ok((address, length))
}

/// Hex digits, in pairs, to octets; `None` for anything else.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// The host name, as `hostname` prints it.
fn host_name() -> std::io::Result<Vec<u8>> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(buf[..len].to_vec())
}

/// The XDP program answers one UDP port: the one every listen address shares.
fn xdp_port(listen: &[SocketAddr]) -> Result<u16, String> {
    let mut ports = listen.iter().map(SocketAddr::port);
    let first = ports.next().unwrap_or(53);
    match ports.find(|&port| port != first) {
        None => Ok(first),
        Some(other) => Err(format!(
            "listen addresses use ports {first} and {other}; the XDP fast path answers one port"
        )),
    }
}

/// Port 53 on every IPv4 and IPv6 address.
fn default_listen() -> Vec<SocketAddr> {
    vec![
        "0.0.0.0:53".parse().expect("valid literal"),
        "[::]:53".parse().expect("valid literal"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lbdns-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn unknown_keys_and_bad_values_name_file_and_line() {
        let path = write(
            "typo.toml",
            "listen = [\"127.0.0.1:53\"]\n\n[tcp]\nidle_timeout = 5\n",
        );
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(
            err.to_string()
                .contains("typo.toml:4: unknown field `idle_timeout`"),
            "{err}"
        );
        let path = write("addr.toml", "listen = [\"not an address\"]\n");
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 1, "{err}");
        let path = write(
            "origin.toml",
            "[[zone]]\nfile = \"db\"\norigin = \"a..b.\"\n",
        );
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let path = write("tsig.toml", "[[zone]]\nfile = \"db\"\n\ntsig = \"k\"\n");
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        let path = write(
            "mode.toml",
            "[xdp]\ninterfaces = [\"lo\"]\nmode = \"fast\"\n",
        );
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("mode.toml:3: xdp.mode"), "{err}");
    }

    #[test]
    fn an_error_of_no_one_line_names_the_file_alone() {
        let err = ConfigError {
            file: PathBuf::from("/etc/lbdns/lbdns.toml"),
            line: 0,
            message: "cannot read it".into(),
        };
        assert_eq!(err.to_string(), "/etc/lbdns/lbdns.toml: cannot read it");
    }

    #[test]
    fn zone_paths_are_relative_to_the_file_and_flags_take_precedence() {
        let path = write("ok.toml", "listen = [\"127.0.0.1:5300\"]\n[[zone]]\nfile = \"db.example\"\norigin = \"example.test.\"\n[tcp]\nmax_connections = 7\n");
        let flags = Overrides {
            zones: vec!["extra.zone".parse().unwrap()],
            tcp_idle_timeout_secs: Some(3),
            ..Overrides::default()
        };
        let settings = Settings::new(Some(&path), flags).unwrap();
        assert_eq!(
            settings.zones[0].file,
            path.parent().unwrap().join("db.example")
        );
        assert_eq!(
            settings.zones[0].origin.as_ref().unwrap().to_ascii(),
            "example.test."
        );
        assert_eq!(settings.zones[1].file, PathBuf::from("extra.zone"));
        assert_eq!(
            settings.listen,
            ["127.0.0.1:5300".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(settings.tcp.max_connections, 7);
        assert_eq!(settings.tcp.idle_timeout, Duration::from_secs(3));
        let cli = Overrides {
            listen: vec!["[::1]:53".parse().unwrap()],
            ..Overrides::default()
        };
        assert_eq!(Settings::new(Some(&path), cli).unwrap().listen.len(), 1);
        assert_eq!(
            Settings::new(None, Overrides::default())
                .unwrap()
                .listen
                .len(),
            2
        );
    }

    #[test]
    fn server_identity_keys_and_their_errors_name_the_line() {
        let path = write(
            "identity.toml",
            "[server]\nidentity = \"ns1\"\nversion = \"v1\"\nnsid_hex = \"686f7374\"\n",
        );
        let settings = Settings::new(Some(&path), Overrides::default()).unwrap();
        let expected = ServerIdentity::default()
            .with_nsid(b"host".to_vec())
            .and_then(|id| id.with_identity(b"ns1".to_vec()))
            .and_then(|id| id.with_version(b"v1".to_vec()))
            .unwrap();
        assert_eq!(settings.identity, expected);
        let path = write("host.toml", "[server]\nidentity = true\nnsid = \"a\"\n");
        let settings = Settings::new(Some(&path), Overrides::default()).unwrap();
        assert_ne!(
            settings.identity,
            ServerIdentity::default().with_nsid(b"a".to_vec()).unwrap()
        );
        assert_eq!(
            Settings::new(None, Overrides::default()).unwrap().identity,
            ServerIdentity::default()
        );
        for (text, line, message) in [
            ("[server]\nnsid = \"a\"\nnsid_hex = \"61\"\n", 3, "not both"),
            (
                "[server]\n\nnsid_hex = \"6g\"\n",
                3,
                "not pairs of hex digits",
            ),
            (
                "[server]\nnsid_hex = \"616\"\n",
                2,
                "not pairs of hex digits",
            ),
            ("[server]\nnsid = \"\"\n", 2, "empty NSID"),
            (
                "[server]\nversion = \"\"\nidentity = 3\n",
                3,
                "did not match",
            ),
        ] {
            let path = write("bad-identity.toml", text);
            let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
            assert_eq!(err.line, line, "{text}: {err}");
            assert!(err.to_string().contains(message), "{text}: {err}");
        }
        let long = format!("[server]\nversion = \"{}\"\n", "v".repeat(256));
        let err =
            Settings::new(Some(&write("long.toml", &long)), Overrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("long.toml:2: server.version: 256 octets"),
            "{err}"
        );
    }

    #[test]
    fn metrics_are_off_unless_asked_for_and_the_flag_wins() {
        assert_eq!(
            Settings::new(None, Overrides::default()).unwrap().metrics,
            None
        );
        let path = write("metrics.toml", "[metrics]\nlisten = \"127.0.0.1:9153\"\n");
        let file = Settings::new(Some(&path), Overrides::default()).unwrap();
        assert_eq!(file.metrics, Some("127.0.0.1:9153".parse().unwrap()));
        let flag = Overrides {
            metrics: Some("[::1]:9100".parse().unwrap()),
            ..Overrides::default()
        };
        let both = Settings::new(Some(&path), flag).unwrap();
        assert_eq!(both.metrics, Some("[::1]:9100".parse().unwrap()));
        let path = write("metrics-bad.toml", "\n[metrics]\nlisten = \"localhost\"\n");
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let path = write(
            "metrics-typo.toml",
            "[metrics]\nlisen = \"127.0.0.1:9153\"\n",
        );
        let err = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert!(
            err.to_string().contains(":2: unknown field `lisen`"),
            "{err}"
        );
    }
}
