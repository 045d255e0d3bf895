use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use super::*;
use crate::config::ConfigError;

#[derive(Deserialize)]
struct File {
    geo: GeoEntry,
}

fn load_in(dir: &Path, text: &str) -> Result<GeoSettings, ConfigError> {
    let file: File = toml::from_str(text).unwrap();
    GeoSettings::from_entry(file.geo, Path::new("lbdns.toml"), text, dir)
}

fn load(text: &str) -> Result<GeoSettings, ConfigError> {
    load_in(Path::new("."), text)
}

fn error(text: &str) -> String {
    load(text).unwrap_err().to_string()
}

const REGIONS: &str = r#"
[geo]
[[geo.location]]
name = "eu-west"
fallback = ["eu-central"]
[[geo.location]]
name = "eu-central"
fallback = ["us-east"]
[[geo.location]]
name = "us-east"
[[geo.subnet]]
prefix = "198.51.100.0/24"
location = "eu-west"
[[geo.subnet]]
prefix = "2001:db8:1::/48"
location = "us-east"
"#;

#[test]
fn locations_have_ids_in_order_and_fallbacks_followed_transitively() {
    let geo = load(REGIONS).unwrap();
    let locations = &geo.locations;
    let [eu_west, eu_central, us_east] =
        ["eu-west", "eu-central", "us-east"].map(|n| locations.id(n).unwrap());
    assert_eq!(eu_west, LocationId(0));
    assert_eq!(locations.name(us_east), "us-east");
    assert_eq!(locations.fallback(eu_west), [eu_central, us_east]);
    assert_eq!(
        locations.order(eu_central).collect::<Vec<_>>(),
        [eu_central, us_east]
    );
    assert!(locations.fallback(us_east).is_empty());
    let at = |a: &str| geo.map.locate(a.parse::<IpAddr>().unwrap()).location;
    assert_eq!(at("198.51.100.7"), Some(eu_west));
    assert_eq!(at("2001:db8:1::1"), Some(us_east));
    assert_eq!(at("192.0.2.1"), None);
    assert_eq!(geo.ecs, EcsSettings::default());
}

#[test]
fn errors_name_the_line_unknown_locations_loops_and_bad_prefixes() {
    let unknown = REGIONS.replace("location = \"us-east\"", "location = \"mars\"");
    assert_eq!(
        error(&unknown),
        "lbdns.toml:16: geo.subnet.location: no [[geo.location]] is named \"mars\""
    );
    let looped = REGIONS.replace(
        "name = \"us-east\"",
        "name = \"us-east\"\nfallback = [\"eu-west\"]",
    );
    let message = error(&looped);
    assert!(
        message.starts_with("lbdns.toml:5: geo.location.fallback: the fallback order loops: eu-west → eu-central → us-east → eu-west"),
        "{message}"
    );
    let self_loop = REGIONS.replace("fallback = [\"us-east\"]", "fallback = [\"eu-central\"]");
    assert!(error(&self_loop).starts_with("lbdns.toml:8: geo.location.fallback"));
    let bits = REGIONS.replace("198.51.100.0/24", "198.51.100.1/24");
    assert_eq!(
        error(&bits),
        "lbdns.toml:12: geo.subnet.prefix: \"198.51.100.1/24\" has bits set past its length; did you mean 198.51.100.0/24?"
    );
    let twice = REGIONS.replace("2001:db8:1::/48", "198.51.100.0/24");
    assert!(error(&twice)
        .starts_with("lbdns.toml:15: geo.subnet.prefix: 198.51.100.0/24 is mapped twice"));
    let fallback_unknown = REGIONS.replace("[\"us-east\"]", "[\"us-west\"]");
    assert!(error(&fallback_unknown)
        .starts_with("lbdns.toml:8: geo.location.fallback: no [[geo.location]]"));
    let cap = REGIONS.replace("[geo]\n", "[geo]\necs_max_v4 = 33\n");
    assert_eq!(error(&cap), "lbdns.toml:3: geo.ecs_max_v4: at most 32 bits");
}

#[test]
fn a_subnet_file_lists_prefix_and_location_per_line() {
    let dir = std::env::temp_dir().join(format!("lbdns-geo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("subnets.txt"),
        "# office networks\n203.0.113.0/24 eu-central\n\n2001:db8:2::/48   us-east # lab\n",
    )
    .unwrap();
    let text = REGIONS.replace("[geo]\n", "[geo]\nsubnet_file = \"subnets.txt\"\n");
    let geo = load_in(&dir, &text).unwrap();
    let at = |a: &str| geo.map.locate(a.parse::<IpAddr>().unwrap());
    assert_eq!(at("203.0.113.9").location, geo.locations.id("eu-central"));
    assert_eq!(at("2001:db8:2::5").location, geo.locations.id("us-east"));
    std::fs::write(
        dir.join("subnets.txt"),
        "203.0.113.0/24 eu-central\n10.0.0.0/8 nowhere\n",
    )
    .unwrap();
    let message = load_in(&dir, &text).unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "{}:2: no [[geo.location]] is named \"nowhere\"",
            dir.join("subnets.txt").display()
        )
    );
    std::fs::write(dir.join("subnets.txt"), "10.0.0.0/8\n").unwrap();
    let message = load_in(&dir, &text).unwrap_err().to_string();
    assert!(
        message.ends_with("subnets.txt:1: expected \"prefix location\""),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreadable_database_is_an_error_naming_the_line() {
    let text = format!(
        "{REGIONS}[geo.mmdb]\nfile = \"/nonexistent/country.mmdb\"\ncountries = {{ DE = \"eu-west\" }}\n"
    );
    let message = error(&text);
    assert!(
        message
            .starts_with("lbdns.toml:18: geo.mmdb: unreadable database /nonexistent/country.mmdb"),
        "{message}"
    );
    let text =
        format!("{REGIONS}[geo.mmdb]\nfile = \"x.mmdb\"\ncountries = {{ DE = \"atlantis\" }}\n");
    assert!(error(&text).starts_with("lbdns.toml:19: geo.mmdb.countries: no [[geo.location]]"));
}
