//! MaxMind-format databases: a real country database from the npm registry (CC0, the flat
//! `country_code` schema, separate IPv4 and IPv6 files), checked address by address against
//! `mmdblookup` on the same file; and a small database in MaxMind's own schema
//! (`country.iso_code`, `continent.code`), written at test time by the `mmdb-writer` PyPI
//! package. Both are kept under `target/geo-data`, never in the repository. Clients are
//! steered by ECS addresses (the databases' networks are the Internet's), sent over loopback.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use lbdns_tests::env::run_ok;
use lbdns_tests::wire::rtype;

use crate::{addrs, cache_dir, utf8, Daemon};

/// Bound on a download or an install, and on one `mmdblookup`.
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

const PACKAGE: &str = "@ip-location-db/geo-whois-asn-country-mmdb";

/// The package's two files, downloaded once with `npm pack` and unpacked.
fn country_databases() -> Result<(PathBuf, PathBuf)> {
    let dir = cache_dir()?.join("geo-whois-asn-country-mmdb");
    let v4 = dir.join("package/geo-whois-asn-country-ipv4.mmdb");
    let v6 = dir.join("package/geo-whois-asn-country-ipv6.mmdb");
    if !v4.exists() || !v6.exists() {
        std::fs::create_dir_all(&dir)?;
        let packed = run_ok(
            Command::new("npm")
                .args(["pack", "--silent", PACKAGE, "--pack-destination"])
                .arg(&dir),
            FETCH_TIMEOUT,
        )
        .context("npm (from nodejs, or Debian's npm) must be installed and reach its registry")?;
        let tarball = dir.join(packed.stdout.trim());
        run_ok(
            Command::new("tar")
                .arg("xzf")
                .arg(&tarball)
                .arg("-C")
                .arg(&dir),
            FETCH_TIMEOUT,
        )?;
    }
    Ok((v4, v6))
}

/// What `mmdblookup` says `path`'s record at `addr` holds at `path_in_record` (a string).
fn mmdblookup(file: &Path, addr: IpAddr, path_in_record: &[&str]) -> Result<Option<String>> {
    let out = lbdns_tests::run_bounded(
        Command::new("mmdblookup")
            .arg("--file")
            .arg(file)
            .arg("--ip")
            .arg(addr.to_string())
            .args(path_in_record),
        LOOKUP_TIMEOUT,
    )
    .context("mmdblookup (Debian mmdb-bin, `cargo xtask setup`) must be installed")?;
    // `"DE" <utf8_string>`; no entry: a message on stderr and no such line.
    Ok(out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_suffix(" <utf8_string>"))
        .map(|s| s.trim_matches('"').to_owned()))
}

/// An ECS option for `addr` with all its bits.
fn ecs_host(addr: IpAddr) -> Vec<u8> {
    let (family, octets): (u16, Vec<u8>) = match addr {
        IpAddr::V4(a) => (1, a.octets().to_vec()),
        IpAddr::V6(a) => (2, a.octets().to_vec()),
    };
    let mut data = family.to_be_bytes().to_vec();
    data.extend([(octets.len() * 8) as u8, 0]);
    data.extend(octets);
    let mut option = vec![0, 8];
    option.extend((data.len() as u16).to_be_bytes());
    option.extend(data);
    option
}

/// A geo configuration of one location per country in `countries` (`loc-XX`), each with one
/// endpoint 198.18.80+i.1, reading `files` with `mapping` (the `[geo.mmdb]` keys).
fn database_config(files: &[&Path], countries: &[String], mapping: &str) -> Result<String> {
    let mut text = String::from("[geo]\necs_max_v4 = 32\necs_max_v6 = 128\n");
    for code in countries {
        text.push_str(&format!("[[geo.location]]\nname = \"loc-{code}\"\n"));
    }
    let files: Vec<String> = files
        .iter()
        .map(|f| Ok(format!("\"{}\"", utf8(f)?)))
        .collect::<Result<_>>()?;
    text.push_str(&format!(
        "[geo.mmdb]\nfiles = [{}]\n{mapping}\n",
        files.join(", ")
    ));
    text.push_str("[[pool]]\nname = \"www.geo.example.\"\npolicy = \"geo\"\n");
    for (i, code) in countries.iter().enumerate() {
        text.push_str(&format!(
            "[[pool.endpoint]]\naddress = \"198.18.{}.1\"\nlocation = \"loc-{code}\"\n",
            80 + i
        ));
    }
    Ok(text)
}

/// The address of `countries[i]`'s endpoint.
fn endpoint_of(countries: &[String], code: &str) -> String {
    let i = countries.iter().position(|c| c == code).expect("listed");
    format!("198.18.{}.1", 80 + i)
}

#[test]
fn a_real_country_database_places_addresses_as_mmdblookup_reads_them() -> Result<()> {
    let (v4, v6) = country_databases()?;
    // Addresses of registries and public resolvers, on several continents; only their
    // entries are read, nothing is sent to them.
    let samples = [
        "193.0.6.139",
        "8.8.8.8",
        "202.12.29.205",
        "200.160.2.3",
        "196.216.2.1",
        "2001:67c:2e8:22::c100:68b",
        "2001:dc0:2001:11::194",
        "2001:4860:4860::8888",
    ];
    let mut expected: BTreeMap<IpAddr, String> = BTreeMap::new();
    for sample in samples {
        let addr: IpAddr = sample.parse()?;
        let file = if addr.is_ipv4() { &v4 } else { &v6 };
        let code = mmdblookup(file, addr, &["country_code"])?
            .with_context(|| format!("mmdblookup has no country for {addr}"))?;
        expected.insert(addr, code);
    }
    let mut countries: Vec<String> = expected.values().cloned().collect();
    countries.sort();
    countries.dedup();
    ensure!(
        countries.len() >= 3,
        "too few distinct countries: {countries:?}"
    );
    let mapping = format!(
        "countries = {{ {} }}",
        countries
            .iter()
            .map(|c| format!("{c} = \"loc-{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let lbdns = Daemon::start(&database_config(&[&v4, &v6], &countries, &mapping)?)?;
    for (addr, code) in &expected {
        let reply = lbdns.ask(Ipv4Addr::LOCALHOST, crate::WWW, rtype::A, &ecs_host(*addr))?;
        let seen: std::collections::BTreeSet<IpAddr> = reply.answer_ips().into_iter().collect();
        ensure!(
            seen == addrs(&[&endpoint_of(&countries, code)]),
            "{addr}: mmdblookup says {code}, lbdns answered {seen:?}"
        );
    }
    Ok(())
}

/// The `mmdb-writer` package, installed once under the cache directory.
fn mmdb_writer() -> Result<PathBuf> {
    let dir = cache_dir()?.join("python");
    if !dir.join("mmdb_writer").exists() {
        run_ok(
            Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--target"])
                .arg(&dir)
                .arg("mmdb-writer"),
            FETCH_TIMEOUT,
        )
        .context("python3 with pip (Debian python3-pip) must be installed and reach PyPI")?;
    }
    Ok(dir)
}

/// A database in MaxMind's GeoIP2 schema: three /24s with country and continent, one with a
/// continent only.
const WRITE_MAXMIND: &str = r#"
import sys
from netaddr import IPSet
from mmdb_writer import MMDBWriter
w = MMDBWriter(ip_version=4, database_type="GeoLite2-Country", languages=["en"])
def put(net, country, continent):
    record = {"continent": {"code": continent}}
    if country:
        record["country"] = {"iso_code": country}
    w.insert_network(IPSet([net]), record)
put("198.18.8.0/24", "DE", "EU")
put("198.18.9.0/24", "US", "NA")
put("198.18.10.0/24", "FR", "EU")
put("198.18.11.0/24", None, "AS")
w.to_db_file(sys.argv[1])
"#;

#[test]
fn maxminds_schema_maps_countries_then_continents() -> Result<()> {
    let python = mmdb_writer()?;
    let dir = lbdns_tests::TempDir::new("geo-maxmind")?;
    let file = dir.path().join("country.mmdb");
    let script = dir.write("write.py", WRITE_MAXMIND)?;
    run_ok(
        Command::new("python3")
            .arg(&script)
            .arg(&file)
            .env("PYTHONPATH", &python),
        FETCH_TIMEOUT,
    )?;
    // The generated file reads as MaxMind's schema with the reference reader too.
    let de: IpAddr = "198.18.8.1".parse()?;
    ensure!(mmdblookup(&file, de, &["country", "iso_code"])?.as_deref() == Some("DE"));
    ensure!(mmdblookup(&file, de, &["continent", "code"])?.as_deref() == Some("EU"));
    let countries: Vec<String> = ["DE", "EU", "US"].map(String::from).to_vec();
    let mapping =
        "countries = { DE = \"loc-DE\", US = \"loc-US\" }\ncontinents = { EU = \"loc-EU\" }";
    let lbdns = Daemon::start(&database_config(&[&file], &countries, mapping)?)?;
    let answer = |addr: &str| -> Result<Vec<IpAddr>> {
        let reply = lbdns.ask(
            Ipv4Addr::LOCALHOST,
            crate::WWW,
            rtype::A,
            &ecs_host(addr.parse()?),
        )?;
        Ok(reply.answer_ips())
    };
    ensure!(answer("198.18.8.7")? == [crate::ip(&endpoint_of(&countries, "DE"))]);
    ensure!(answer("198.18.9.7")? == [crate::ip(&endpoint_of(&countries, "US"))]);
    // FR is not mapped, its continent is.
    ensure!(answer("198.18.10.7")? == [crate::ip(&endpoint_of(&countries, "EU"))]);
    // AS maps nowhere, and neither does an address outside the database: every endpoint.
    ensure!(answer("198.18.11.7")?.len() == 3);
    ensure!(answer("198.18.12.7")?.len() == 3);
    Ok(())
}
