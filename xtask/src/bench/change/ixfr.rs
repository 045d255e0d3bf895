//! The IXFR case of `bench-change`: lbdns as the secondary of Knot for the large zone. Knot
//! loads the zone file with `zonefile-load: difference`, so a reload of the file with one name
//! changed becomes one IXFR in its journal, and Knot sends lbdns a NOTIFY. Each round reads
//! from lbdns's log the time from the NOTIFY, and from the transfer's end (`transfer
//! received`), to `zone published to both paths`; asks both paths (UDP, answered by XDP, and
//! TCP, by the socket path) until each gives the new address; and reads the peak memory
//! (VmHWM) of the whole change, the kept copy's save included.

use std::{
    fs,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context as _, Result};
use lbdns_tests::{client, run_bounded, wire::Builder};

use super::{
    changed_zone, clear_peak, expect_address, field, last_counts, line_at, status_kib, timestamp_s,
    Daemon, Figures, Setup, TIMEOUT,
};
use crate::bench::{interrupt, mixes, netns::Net, progress::Progress};

/// Where Knot answers, on the server's address.
const KNOT_PORT: u16 = 5300;
/// lbdns's log lines the figures are read between.
const NOTIFIED: &str = "NOTIFY from a primary: refreshing";
const RECEIVED: &str = "transfer received";
const PUBLISHED: &str = "zone published to both paths";
const SERVED: &str = "zone transferred and served";

/// The rounds of IXFR; each adds its figures to `figures`.
pub(super) fn rounds(
    setup: &Setup<'_>,
    figures: &mut Figures,
    progress: &mut Progress,
) -> Result<()> {
    let net = setup.net;
    let dir = setup.out.join("ixfr");
    // A fresh journal and copy: the first transfer is the whole zone.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("knot-db"))?;
    let server = net.server_v4();
    let file = dir.join("large.example.zone");
    fs::write(&file, setup.original)?;
    let conf = dir.join("knot.conf");
    fs::write(&conf, knot_config(&dir, server))?;
    progress.phase("Knot loading the zone", TIMEOUT);
    let knot = Knot::start(net, &conf, &dir.join("knot.log"))?;
    knot.wait_for("loaded, serial", progress)?;

    let kept = dir.join("kept.zone");
    let config = dir.join("lbdns.toml");
    fs::write(
        &config,
        format!(
            "[[zone]]\norigin = \"{}\"\nprimaries = [\"{server}:{KNOT_PORT}\"]\nfile = \"{}\"\n",
            mixes::LARGE_ORIGIN,
            kept.display()
        ),
    )?;
    progress.phase("lbdns: AXFR of the zone from Knot", TIMEOUT);
    let mut daemon = Daemon::spawn(net, setup.lbdns, &[], &config, &dir, &dir.join("lbdns.log"))?;
    daemon.wait_for(SERVED, 0, progress)?;
    wait_until_kept(&kept, None)?;

    for round in 0..setup.rounds {
        progress.phase(format!("IXFR, round {}", round + 1), TIMEOUT);
        let (changed, address) = changed_zone(setup.original, round);
        fs::write(&file, with_serial(&changed, round + 2))?;
        let kept_before = modified(&kept);
        clear_peak(daemon.pid())?;
        let from = daemon.log_len();
        knotc(&conf, &["zone-reload", mixes::LARGE_ORIGIN])?;
        let both = both_answer(net, &address, progress)?;
        let served = daemon.wait_for(SERVED, from, progress)?;
        let text = daemon.log()[from..].to_owned();
        let find = |what: &str| -> Result<usize> {
            text[..served - from]
                .find(what)
                .map(|at| text[..at].rfind('\n').map_or(0, |nl| nl + 1))
                .with_context(|| format!("no `{what}` line before the zone was served"))
        };
        let (notified, received, published) = (find(NOTIFIED)?, find(RECEIVED)?, find(PUBLISHED)?);
        let at = |offset: usize| timestamp_s(line_at(&text, offset));
        let received_line = line_at(&text, received);
        if !received_line.contains("kind=\"IXFR\"") {
            bail!("the change came as a whole zone, not an IXFR: {received_line}");
        }
        figures
            .ixfr_notify_ms
            .push((at(published)? - at(notified)?) * 1e3);
        figures
            .ixfr_received_ms
            .push((at(published)? - at(received)?) * 1e3);
        figures
            .ixfr_publish_ms
            .push(field(line_at(&text, published), "seconds")? * 1e3);
        figures.ixfr_both_ms.push((both - at(notified)?) * 1e3);
        figures.ixfr_counts.push(last_counts(&text[..published])?);
        // The kept copy is saved after serving; the peak counts it too.
        wait_until_kept(&kept, kept_before)?;
        figures
            .lbdns_ixfr_hwm_kib
            .extend(status_kib(daemon.pid(), "VmHWM:"));
    }
    progress.phase("stopping lbdns", Duration::from_secs(10));
    daemon.stop()?;
    nsd_rounds(setup, &dir, &conf, figures, progress)?;
    drop(knot);
    Ok(())
}

/// NSD as Knot's secondary in lbdns's place, given the same one-name IXFRs: its peak memory
/// (VmHWM, the largest of its processes) from each NOTIFY until it answers the new address.
fn nsd_rounds(
    setup: &Setup<'_>,
    dir: &Path,
    knot_conf: &Path,
    figures: &mut Figures,
    progress: &mut Progress,
) -> Result<()> {
    let net = setup.net;
    let server = net.server_v4();
    let nsd_dir = dir.join("nsd");
    fs::create_dir_all(&nsd_dir)?;
    let d = nsd_dir.display();
    let conf = nsd_dir.join("nsd.conf");
    fs::write(
        &conf,
        format!(
            "server:\n  ip-address: {server}@53\n  server-count: 1\n  zonesdir: \"{d}\"\n  \
             database: \"\"\n  username: \"\"\n  chroot: \"\"\n  pidfile: \"{d}/nsd.pid\"\n  \
             xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  zonelistfile: \"{d}/zone.list\"\n  \
             rrl-ratelimit: 0\n  verbosity: 2\n\
             remote-control:\n  control-enable: no\n\
             zone:\n  name: \"{}\"\n  zonefile: \"large.example.zone\"\n  \
             request-xfr: {server}@{KNOT_PORT} NOKEY\n  allow-notify: {server} NOKEY\n",
            mixes::LARGE_ORIGIN
        ),
    )?;
    progress.phase("NSD: AXFR of the zone from Knot", TIMEOUT);
    let log = fs::File::create(nsd_dir.join("nsd.log"))?;
    let mut nsd = Guard(
        net.server()
            .command("nsd")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start nsd")?,
    );
    // The last address lbdns was given is the zone's now.
    let (_, current) = changed_zone(setup.original, setup.rounds - 1);
    wait_for_address(net, &current, &mut nsd, progress)?;
    for round in 0..setup.rounds {
        progress.phase(format!("NSD IXFR, round {}", round + 1), TIMEOUT);
        let step = setup.rounds + round;
        let (changed, address) = changed_zone(setup.original, step);
        fs::write(
            dir.join("large.example.zone"),
            with_serial(&changed, step + 2),
        )?;
        let pids = net.server().pids();
        let nsd_pids: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|&pid| command_of(pid).is_some_and(|c| c.starts_with("nsd")))
            .collect();
        for &pid in &nsd_pids {
            clear_peak(pid)?;
        }
        knotc(knot_conf, &["zone-reload", mixes::LARGE_ORIGIN])?;
        wait_for_address(net, &address, &mut nsd, progress)?;
        let now: Vec<i32> = net
            .server()
            .pids()
            .into_iter()
            .filter(|&pid| command_of(pid).is_some_and(|c| c.starts_with("nsd")))
            .collect();
        figures.nsd_ixfr_hwm_kib.extend(
            now.iter()
                .filter_map(|&pid| status_kib(pid, "VmHWM:"))
                .max(),
        );
    }
    Ok(())
}

/// Waits until the server answers the changed name with `address`, failing if `nsd` exits.
fn wait_for_address(
    net: &Net,
    address: &[u8; 4],
    nsd: &mut Guard,
    progress: &mut Progress,
) -> Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    while expect_address(net, address).is_err() {
        interrupt::check()?;
        if let Some(status) = nsd.0.try_wait()? {
            bail!("nsd exited ({status})");
        }
        if Instant::now() > deadline {
            bail!("NSD did not serve the new address within {TIMEOUT:?}");
        }
        progress.tick();
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The command name of `pid` (`/proc/PID/comm`).
fn command_of(pid: i32) -> Option<String> {
    Some(
        fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()?
            .trim()
            .to_owned(),
    )
}

/// A child process killed on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn knot_config(dir: &Path, server: Ipv4Addr) -> String {
    let d = dir.display();
    format!(
        "server:\n    listen: {server}@{KNOT_PORT}\n    rundir: {d}\n\
         control:\n    listen: {d}/knot.sock\n\
         database:\n    storage: {d}/knot-db\n\
         log:\n  - target: stderr\n    any: info\n\
         remote:\n  - id: lbdns\n    address: {server}@53\n\
         acl:\n  - id: secondary\n    address: {server}\n    action: transfer\n\
         template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    \
         zonefile-load: difference\n    journal-content: changes\n    semantic-checks: off\n\
         zone:\n  - domain: {}\n    file: large.example.zone\n    acl: secondary\n    \
         notify: lbdns\n",
        mixes::LARGE_ORIGIN
    )
}

/// `text` with the SOA serial `serial` (the generated zone's is 1).
fn with_serial(text: &str, serial: u32) -> String {
    text.replacen(
        "@ IN SOA ns1 hostmaster 1 ",
        &format!("@ IN SOA ns1 hostmaster {serial} "),
        1,
    )
}

fn knotc(conf: &Path, args: &[&str]) -> Result<()> {
    let mut command = Command::new("knotc");
    command.arg("-c").arg(conf).args(args);
    let output = run_bounded(&mut command, Duration::from_secs(60))?;
    if !output.status.success() {
        bail!("knotc {args:?} failed: {}", output.combined());
    }
    Ok(())
}

/// Asks both paths for the changed name until each carries `address`: UDP (the XDP program)
/// and TCP (the socket path). Returns when both did, in seconds since midnight (UTC), as the
/// log's timestamps count.
fn both_answer(net: &Net, address: &[u8; 4], progress: &mut Progress) -> Result<f64> {
    let server = SocketAddr::from((net.server_v4(), 53));
    let query = Builder::query(0x0c4b, &mixes::large_name(0), 1).build();
    let (mut udp, mut tcp) = (false, false);
    let deadline = Instant::now() + TIMEOUT;
    while !(udp && tcp) {
        interrupt::check()?;
        if Instant::now() > deadline {
            bail!("the new address was not served on both paths within {TIMEOUT:?}");
        }
        udp = udp || expect_address(net, address).is_ok();
        tcp = tcp
            || client::tcp_query(net.client(), server, &query, Duration::from_secs(1))
                .is_ok_and(|reply| reply.wire.windows(4).any(|w| w == address));
        progress.tick();
        thread::sleep(Duration::from_millis(2));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    Ok(now.as_secs_f64() % 86_400.0)
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Waits until the kept copy at `path` is newer than `before` (written at all, for `None`).
fn wait_until_kept(path: &Path, before: Option<SystemTime>) -> Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    while modified(path).is_none() || modified(path) == before {
        interrupt::check()?;
        if Instant::now() > deadline {
            bail!("{} was not written within {TIMEOUT:?}", path.display());
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// knotd in the server namespace, its log in a file; killed on drop.
struct Knot {
    child: Child,
    log: PathBuf,
}

impl Knot {
    fn start(net: &Net, conf: &Path, log: &Path) -> Result<Self> {
        let file = fs::File::create(log)?;
        let child = net
            .server()
            .command("knotd")
            .arg("-c")
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .context("cannot start knotd")?;
        Ok(Self {
            child,
            log: log.to_owned(),
        })
    }

    fn wait_for(&self, what: &str, progress: &mut Progress) -> Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        while !fs::read_to_string(&self.log)
            .unwrap_or_default()
            .contains(what)
        {
            interrupt::check()?;
            if Instant::now() > deadline {
                bail!("no `{what}` from knotd: see {}", self.log.display());
            }
            progress.tick();
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serial_is_raised_in_the_soa_only() {
        let text = "@ IN SOA ns1 hostmaster 1 3600 600 1209600 60\nx IN A 198.18.0.1\n";
        assert_eq!(
            with_serial(text, 3),
            "@ IN SOA ns1 hostmaster 3 3600 600 1209600 60\nx IN A 198.18.0.1\n"
        );
    }
}
