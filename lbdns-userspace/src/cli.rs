//! Command-line arguments. Scripts and benchmarks rely on these names.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use lbdns::config::Overrides;
use lbdns::control::Format;
use lbdns::xdp::AttachMode;
use lbdns::zone::ZoneSpec;

/// XDP-accelerated authoritative DNS for load balancing.
#[derive(Debug, Parser)]
#[command(name = "lbdns", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the zones authoritatively over UDP and TCP, with the XDP fast path on the
    /// interfaces given. SIGHUP (or `lbdns reload`) reloads the zones; a reload that fails keeps
    /// the zones already being served. SIGTERM or SIGINT detaches XDP, unpins it and exits;
    /// SIGUSR2 exits for a restart, leaving XDP attached and pinned for the next process. Under
    /// systemd it reports readiness (Type=notify) and logs to the journal with priorities.
    Serve(Box<ServeArgs>),
    /// Validate zones and configuration; print `file:line: message` for each error.
    Check(ZoneArgs),
    /// Print the running daemon's counters: the socket path's, and the XDP program's (summed
    /// over CPUs) when it runs.
    Stats(ReportArgs),
    /// Show every pool, its endpoints, their health, last check and its age.
    Status(ReportArgs),
    /// Ask the running daemon to reload its configuration and zones, and print the result.
    /// On failure print every `file:line` error and exit non-zero; the daemon keeps serving
    /// what it had.
    Reload(ControlArgs),
    /// Stop answering with an endpoint address, in every pool that has it, until undrained.
    Drain(EndpointArgs),
    /// Answer with a drained endpoint address again.
    Undrain(EndpointArgs),
}

#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// The endpoint's address, as in the pool configuration.
    pub address: IpAddr,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub control: ControlArgs,
}

impl ReportArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            Format::Text
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ZoneArgs {
    /// Zone file to load, as FILE or ORIGIN=FILE (e.g. example.com.=db.example). Repeatable.
    #[arg(long = "zone", value_name = "[ORIGIN=]FILE")]
    pub zones: Vec<ZoneSpec>,
    /// TOML configuration file; flags add zones to it and replace its other settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The daemon's control socket [default: /run/lbdns/control.sock].
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// Address to answer on, over UDP and TCP. Repeatable. Default: 0.0.0.0:53 and [::]:53.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// Close TCP connections idle for this many seconds [default: 10].
    #[arg(long, value_name = "SECS")]
    pub tcp_idle_timeout: Option<u64>,
    /// Most concurrent TCP connections; further ones are closed at once [default: 512].
    #[arg(long, value_name = "N")]
    pub tcp_max_connections: Option<usize>,
    /// Attach the XDP fast path to this interface. Repeatable. None: socket path only.
    #[arg(long = "xdp", value_name = "IFACE")]
    pub xdp: Vec<String>,
    /// XDP attach mode: auto (native, else generic), native, or generic [default: auto].
    #[arg(long, value_name = "MODE")]
    pub xdp_mode: Option<AttachMode>,
    /// Hot RRsets (A and AAAA apart) the XDP name table holds [default: the zones' hot
    /// RRsets at start ×1.25, at least 1024].
    #[arg(long, value_name = "N")]
    pub xdp_rrset_entries: Option<u32>,
    /// Bytes for the XDP name table's names: each takes 8 plus its wire-format length rounded
    /// up to 8 [default: the zones' names at start ×1.25, at least 48 KiB; at least 48 per
    /// --xdp-rrset-entries when that is set].
    #[arg(long, value_name = "BYTES")]
    pub xdp_name_bytes: Option<u32>,
    /// XDP answer-set slots for A RRsets: one per hot A RRset, four for one of more than four
    /// addresses or with weights, plus room for changes [default: what the hot A RRsets take at
    /// start ×1.25, at least 1024].
    #[arg(long, value_name = "N")]
    pub xdp_a_slots: Option<u32>,
    /// XDP answer-set slots for AAAA RRsets, as --xdp-a-slots [default: what the hot AAAA
    /// RRsets take at start ×1.25, at least 1024].
    #[arg(long, value_name = "N")]
    pub xdp_aaaa_slots: Option<u32>,
    /// Serve Prometheus metrics over HTTP at ADDR:PORT/metrics (e.g. 127.0.0.1:9153).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// XDP signature entries: one per signed hot RRset whose DO=1 answers the fast path sends
    /// with their RRSIGs, plus room for changes (632 bytes each) [default: those at start
    /// ×1.25, at least 256].
    #[arg(long, value_name = "N")]
    pub xdp_signature_entries: Option<u32>,
    /// The bpffs directory where the XDP link and maps are pinned so they outlive the process,
    /// one subdirectory per instance (named by its interfaces); `none` pins nothing
    /// [default: /sys/fs/bpf/lbdns].
    #[arg(long, value_name = "DIR")]
    pub xdp_pin_dir: Option<PathBuf>,
    /// Keep drains and the endpoints' last health in this file across restarts [default:
    /// $STATE_DIRECTORY/state.json under systemd; otherwise not kept].
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,
    /// Seconds the XDP program keeps answering after the daemon's last heartbeat; then it
    /// passes everything, so a dead or hung daemon never leaves stale answers; 0: for ever
    /// [default: 10].
    #[arg(long, value_name = "SECS")]
    pub xdp_heartbeat_limit: Option<u64>,
    #[command(flatten)]
    pub control: ControlArgs,
}

impl ServeArgs {
    /// The flags that override the configuration file (zones come from `zone`).
    pub fn overrides(&mut self) -> Overrides {
        Overrides {
            listen: std::mem::take(&mut self.listen),
            tcp_idle_timeout_secs: self.tcp_idle_timeout,
            tcp_max_connections: self.tcp_max_connections,
            xdp_interfaces: std::mem::take(&mut self.xdp),
            xdp_mode: self.xdp_mode,
            xdp_rrset_entries: self.xdp_rrset_entries,
            xdp_name_bytes: self.xdp_name_bytes,
            xdp_a_slots: self.xdp_a_slots,
            xdp_aaaa_slots: self.xdp_aaaa_slots,
            xdp_signature_entries: self.xdp_signature_entries,
            xdp_pin_dir: self.xdp_pin_dir.take(),
            xdp_heartbeat_limit_secs: self.xdp_heartbeat_limit,
            state_file: self.state_file.take(),
            control: self.control.control.take(),
            metrics: self.metrics,
            ..Overrides::default()
        }
    }
}
