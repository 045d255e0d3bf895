//! lbdns's transfer client (`lbdns::xfr`) against real primaries on loopback: NSD serving
//! AXFR signed with TSIG (and refusing the wrong secret), and Knot serving IXFR after a one-name change (`zonefile-load: difference`). The
//! fetched zone must equal the primary's own file as lbdns reads it, record for record.
//!
//! Each primary runs as our own process with its own configuration in a temporary directory,
//! on 127.0.0.1 and a free high port, and is killed when the test ends. Fails (never skips)
//! when nsd, knotd or knotc is missing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hickory_proto::rr::{Name, RData, RecordType};
use lbdns::tsig::{self, Algorithm, Key, TsigError};
use lbdns::xfr::{fetch, soa_serial, Fetched, Limits, Primary, XfrError, XfrErrorKind};
use lbdns::zone::Zone;
use lbdns_tests::env::{free_loopback_port, workspace_root, TempDir};

const SECRET: &str = "c2VjcmV0LWZvci1sYmRucy14ZnItdGVzdHMtMTIzNDU2Nzg=";
const WRONG: &str = "d3Jvbmctc2VjcmV0LWZvci1sYmRucy14ZnItdGVzdHM=";

fn key(secret: &str) -> Key {
    let secret = data_encoding::BASE64
        .decode(secret.as_bytes())
        .expect("base64");
    Key::new(
        Name::from_ascii("xfr-key.").expect("a name"),
        Algorithm::HmacSha256,
        secret,
    )
}

/// A primary's process, killed (by its own PID) when dropped.
struct Daemon {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Daemon {
    fn spawn(name: &'static str, mut command: Command, dir: &Path) -> Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name}: is it installed? ({command:?})"))?;
        Ok(Self { child, name, log })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the primary answers an SOA query for `origin` with `serial` (any serial
    /// when `None`). Bounded: 150 tries of at most 200 ms each.
    async fn wait_for(
        &mut self,
        primary: &Primary,
        origin: &Name,
        serial: Option<u32>,
    ) -> Result<()> {
        let mut last = String::from("no answer yet");
        for _ in 0..150 {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}):\n{}", self.name, self.log());
            }
            match soa_serial(primary, origin, Duration::from_millis(200)).await {
                Ok(s) if serial.is_none_or(|want| want == s) => return Ok(()),
                Ok(s) => last = format!("serial {s}"),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{} never answered {origin} SOA{} (last: {last}):\n{}",
            self.name,
            serial
                .map(|s| format!(" with serial {s}"))
                .unwrap_or_default(),
            self.log()
        )
    }
}

impl Drop for Daemon {
    /// SIGTERM, so that NSD stops its own server and xfrd processes, then SIGKILL after 5 s.
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on the PID of our own child, which we have not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Owner, TTL, class and RDATA of every record, sorted, each once: an RRset holds no
/// duplicates (RFC 2181 §5), so NSD serves a record written twice (rdata.zone has one LOC in
/// both text and `\#` form) once, where lbdns's reader keeps both lines. Owners compare in
/// lower case: NSD keeps one spelling of each name in its domain table, so `MiXeD` in the file
/// may be served as `mixed`. The RDATA of the types in `folded` is compared with ASCII letters in lower case: NSD
/// stores the names inside them in lower case and serves them so (the original file writes
/// some in mixed case to show that lbdns keeps case).
fn contents(zone: &Zone, folded: &[RecordType]) -> Vec<String> {
    let mut all: Vec<_> = zone
        .records
        .iter()
        .map(|r| {
            let r = &r.record;
            let data = match &r.data {
                RData::Unknown { code, rdata } if folded.contains(code) => {
                    format!("{code} {:?}", rdata.anything.to_ascii_lowercase())
                }
                other => format!("{other:?}"),
            };
            format!("{} {} {} {data}", r.name.to_lowercase(), r.ttl, r.dns_class)
        })
        .collect();
    all.sort();
    all.dedup();
    all
}

fn same_zone(fetched: &Zone, file: &Path, origin: &Name, folded: &[RecordType]) -> Result<()> {
    let expected = Zone::load(file, Some(origin.clone())).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (got, want) = (contents(fetched, folded), contents(&expected, folded));
    let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).collect();
    let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).collect();
    if !missing.is_empty() || !extra.is_empty() || got.len() != want.len() {
        bail!(
            "{origin}: the fetched zone differs from {}\nmissing: {missing:#?}\nextra: {extra:#?}",
            file.display()
        );
    }
    Ok(())
}

/// The types whose embedded names NSD serves in lower case, whatever the file says.
const NSD_FOLDS: [RecordType; 5] = [
    RecordType::DNAME,
    RecordType::NAPTR,
    RecordType::HTTPS,
    RecordType::Unknown(17), // RP
    RecordType::Unknown(18), // AFSDB
];

fn limits() -> Limits {
    Limits {
        idle: Duration::from_secs(10),
        transfer_time: Duration::from_secs(60),
        ..Limits::default()
    }
}

#[tokio::test]
async fn rfc8945_signed_axfr_from_nsd_equals_its_zone_files() -> Result<()> {
    let dir = TempDir::new("xfr-nsd")?;
    let d = dir.path().display();
    let port = free_loopback_port()?;
    let zones = [
        (
            "rdata.test.",
            workspace_root().join("tests/corpus/rdata.zone"),
        ),
        (
            "lbdns.test.",
            workspace_root().join("tests/corpus/lbdns.test.zone"),
        ),
        (
            "example.com.",
            workspace_root().join("zones/example.com.zone"),
        ),
    ];
    // NSD serves the files as lbdns saves them (`zone::write::save`): NSD cannot read the
    // RRSIG times of rdata.zone as written, and this checks that NSD reads lbdns's kept copies.
    let mut served = Vec::new();
    for (origin, file) in &zones {
        let zone = Zone::load(file, None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let copy = dir.path().join(format!("{origin}zone"));
        lbdns::zone::write::save(&zone, &copy)?;
        served.push((*origin, copy));
    }
    let mut conf = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  server-count: 1\n  \
         zonesdir: \"\"\n  database: \"\"\n  username: \"\"\n  chroot: \"\"\n  \
         pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
         zonelistfile: \"{d}/zone.list\"\n  verbosity: 1\n\
         remote-control:\n  control-enable: no\n"
    );
    for (origin, file) in &served {
        conf.push_str(&format!(
            "zone:\n  name: \"{origin}\"\n  zonefile: \"{}\"\n  provide-xfr: 127.0.0.1 xfr-key\n",
            file.display()
        ));
    }
    conf.push_str(&format!(
        "key:\n  name: xfr-key\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n"
    ));
    let conf = dir.write("nsd.conf", &conf)?;
    let mut command = Command::new("nsd");
    command.arg("-d").arg("-c").arg(&conf);
    let mut nsd = Daemon::spawn("nsd", command, dir.path())?;
    let primary = Primary {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        key: Some(Arc::new(key(SECRET))),
    };
    for ((origin, file), (_, copy)) in zones.iter().zip(&served) {
        let origin = Name::from_ascii(origin)?;
        nsd.wait_for(&primary, &origin, None).await?;
        let fetched = fetch(&primary, &origin, None, &limits())
            .await
            .with_context(|| format!("AXFR of {origin} from NSD:\n{}", nsd.log()))?;
        let Fetched::Full { zone } = fetched else {
            bail!("an AXFR with no zone held must be a full zone: {fetched:?}");
        };
        same_zone(&zone, copy, &origin, &NSD_FOLDS)?;
        same_zone(&zone, file, &origin, &NSD_FOLDS)?;
    }
    // The wrong secret: NSD answers NOTAUTH with BADSIG (RFC 8945 §5.2.2), and no zone comes.
    let forged = Primary {
        key: Some(Arc::new(key(WRONG))),
        ..primary
    };
    let origin = Name::from_ascii("example.com.")?;
    match fetch(&forged, &origin, None, &limits()).await {
        Err(XfrError {
            kind: XfrErrorKind::Tsig(TsigError::Peer(tsig::rcode::BADSIG)),
            ..
        }) => {}
        other => bail!("a transfer signed with the wrong secret must fail with BADSIG: {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn ixfr_from_knot_after_a_one_name_change() -> Result<()> {
    let dir = TempDir::new("xfr-knot")?;
    let d = dir.path().display();
    let port = free_loopback_port()?;
    let origin = Name::from_ascii("example.com.")?;
    let v1_text = std::fs::read_to_string(workspace_root().join("zones/example.com.zone"))?;
    let v2_text = v1_text
        .replace("2026112101 ; serial", "2026112102 ; serial")
        .replace("198.18.1.4", "198.18.1.5");
    assert_ne!(
        v1_text, v2_text,
        "the example zone still has the serial and address changed"
    );
    let file = dir.write("example.com.zone", &v1_text)?;
    // Knot keeps its journal (the IXFR history) there and does not create it.
    std::fs::create_dir(dir.path().join("db"))?;
    let conf = dir.write(
        "knot.conf",
        &format!(
            "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n\
             control:\n    listen: {d}/knot.sock\n\
             database:\n    storage: {d}/db\n\
             log:\n  - target: stderr\n    any: info\n\
             acl:\n  - id: local\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    \
             zonefile-load: difference\n    journal-content: changes\n    semantic-checks: off\n\
             zone:\n  - domain: example.com.\n    file: example.com.zone\n    acl: local\n"
        ),
    )?;
    let mut command = Command::new("knotd");
    command.arg("-c").arg(&conf);
    let mut knot = Daemon::spawn("knotd", command, dir.path())?;
    let primary = Primary {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        key: None,
    };
    knot.wait_for(&primary, &origin, Some(2026112101)).await?;
    let Fetched::Full { zone: v1 } = fetch(&primary, &origin, None, &limits()).await? else {
        bail!("the first transfer of a zone is a full one");
    };
    same_zone(&v1, &file, &origin, &[])?;

    // One name changes in the file; Knot turns the difference into its journal's IXFR.
    std::fs::write(&file, &v2_text)?;
    let reload = Command::new("knotc")
        .arg("-c")
        .arg(&conf)
        .args(["zone-reload", "example.com."])
        .output()
        .context("running knotc")?;
    if !reload.status.success() {
        bail!(
            "knotc zone-reload failed: {}{}",
            String::from_utf8_lossy(&reload.stdout),
            String::from_utf8_lossy(&reload.stderr)
        );
    }
    knot.wait_for(&primary, &origin, Some(2026112102)).await?;
    let fetched = fetch(
        &primary,
        &origin,
        Some(&lbdns::authority::ZoneData::new(&v1)),
        &limits(),
    )
    .await
    .with_context(|| format!("IXFR from Knot:\n{}", knot.log()))?;
    let Fetched::Incremental { patch } = fetched else {
        bail!(
            "Knot has the difference in its journal, so this must be an IXFR: {fetched:?}\n{}",
            knot.log()
        );
    };
    // The owner the difference names, and the apex for its SOA.
    assert_eq!(
        patch.changed_names(),
        [Name::from_ascii("www.example.com.")?, origin.clone()]
    );
    let mut v2 = v1.clone();
    patch.apply_to(&mut v2);
    same_zone(&v2, &file, &origin, &[])?;
    // And nothing more to fetch.
    let again = fetch(
        &primary,
        &origin,
        Some(&lbdns::authority::ZoneData::new(&v2)),
        &limits(),
    )
    .await?;
    assert!(
        matches!(again, Fetched::UpToDate { serial: 2026112102 }),
        "{again:?}"
    );
    Ok(())
}
