use std::net::Ipv4Addr;

use super::*;

/// The served zones of these tests: example.com. with a CNAME at alias, a delegation at sub and
/// a DNAME at old, and the signed zone signed.example.com.
struct FakeZones;

impl Zones for FakeZones {
    fn placement(&self, owner: &Name) -> Placement {
        let zone = Name::from_ascii("example.com.").unwrap();
        let sub = Name::from_ascii("sub.example.com.").unwrap();
        let signed = Name::from_ascii("signed.example.com.").unwrap();
        let old = Name::from_ascii("old.example.com.").unwrap();
        if !zone.zone_of(owner) {
            Placement::Outside
        } else if *owner == Name::from_ascii("alias.example.com.").unwrap() {
            Placement::Cname
        } else if sub.zone_of(owner) {
            Placement::Delegated { cut: sub }
        } else if old.zone_of(owner) && *owner != old {
            Placement::Redirected { dname: old }
        } else if signed.zone_of(owner) {
            Placement::Signed { zone: signed }
        } else {
            Placement::Authoritative
        }
    }
}

/// What the configuration file would hold: the pools and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    pool: Vec<PoolEntry>,
}

fn load(text: &str) -> Result<Vec<Pool>, PoolConfigError> {
    let source = Source {
        path: Path::new("lbdns.toml"),
        text,
    };
    let file: File = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        source.error(span, "toml", e.message())
    })?;
    validate(&file.pool, source, &FakeZones, &Default::default())
}

/// Loads `text`, expecting an error on `line` about `field` whose message contains `says`.
#[track_caller]
fn rejects(text: &str, line: usize, field: &str, says: &str) {
    let err = load(text).expect_err("should be rejected");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("lbdns.toml:{line}: {field}: ")),
        "{shown}"
    );
    assert!(shown.contains(says), "{shown}");
}

const FULL: &str = r#"
[[pool]]
name = "www.example.com."
ttl = 20
policy = "failover"
answers = 2
on_all_down = "none"

[pool.check]
type = "https"
port = 8443
path = "/healthz"
status = [200, 204]
body = "ok"
host = "www.example.com"
verify_tls = false
interval = "1500ms"
timeout = "1s"
rise = 1
fall = 4

[[pool.endpoint]]
address = "192.0.2.1"
weight = 3
tier = 1

[[pool.endpoint]]
address = "2001:db8::1"
tier = 2
check_address = "[2001:db8::99]:9000"

[[pool.endpoint]]
address = "192.0.2.2"
weight = 0
check_address = "10.0.0.2"

[[pool]]
name = "api.example.com"

[[pool.endpoint]]
address = "192.0.2.7"
"#;

#[test]
fn a_full_pool_validates_into_the_model() {
    let pools = load(FULL).unwrap();
    assert_eq!(pools.len(), 2);
    let www = &pools[0];
    assert_eq!(www.owner, Name::from_ascii("www.example.com.").unwrap());
    assert_eq!(
        (www.ttl, www.policy, www.answers, www.on_all_down),
        (20, Policy::Failover, Some(2), OnAllDown::None)
    );
    let check = Check {
        probe: Probe::Http(HttpProbe {
            tls: true,
            verify_tls: false,
            path: "/healthz".into(),
            status: vec![200, 204],
            body: Some("ok".into()),
            host: Some("www.example.com".into()),
        }),
        interval: Duration::from_millis(1500),
        timeout: Duration::from_secs(1),
        rise: 1,
        fall: 4,
    };
    let target = |address: &str| {
        Some(Target {
            address: address.parse().unwrap(),
            check: check.clone(),
        })
    };
    assert_eq!(
        www.endpoints,
        [
            Endpoint {
                address: "192.0.2.1".parse().unwrap(),
                weight: 3,
                tier: 1,
                target: target("192.0.2.1:8443"),
                location: None,
            },
            Endpoint {
                address: "2001:db8::1".parse().unwrap(),
                weight: 1,
                tier: 2,
                target: target("[2001:db8::99]:9000"),
                location: None,
            },
            Endpoint {
                address: "192.0.2.2".parse().unwrap(),
                weight: 0,
                tier: 1,
                target: target("10.0.0.2:8443"),
                location: None,
            },
        ]
    );
}

#[test]
fn defaults_are_round_robin_ttl_30_all_answers_fail_open_and_no_check() {
    let pools = load(FULL).unwrap();
    let api = &pools[1];
    assert_eq!(api.owner.to_ascii(), "api.example.com.");
    assert_eq!(
        (api.ttl, api.policy, api.answers, api.on_all_down),
        (30, Policy::RoundRobin, None, OnAllDown::All)
    );
    assert_eq!(
        api.endpoints,
        [Endpoint {
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            weight: 1,
            tier: 1,
            target: None,
            location: None,
        }]
    );
}

#[test]
fn check_defaults_interval_5s_timeout_2s_rise_2_fall_3_status_200_path_slash() {
    let pools = load("[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"http\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n").unwrap();
    let target = pools[0].endpoints[0].target.clone().unwrap();
    assert_eq!(target.address, "192.0.2.1:80".parse().unwrap());
    assert_eq!(
        target.check,
        Check {
            probe: Probe::Http(HttpProbe {
                tls: false,
                verify_tls: true,
                path: "/".into(),
                status: vec![200],
                body: None,
                host: None
            }),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
        }
    );
    // https defaults to 443; a short interval shortens the default timeout to fit.
    let pools = load("[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"https\"\ninterval = \"1s\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n").unwrap();
    let target = pools[0].endpoints[0].target.clone().unwrap();
    assert_eq!(target.address.port(), 443);
    assert_eq!(target.check.timeout, Duration::from_secs(1));
    // type = "none" is the same as no check.
    let pools = load("[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"none\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n").unwrap();
    assert_eq!(pools[0].endpoints[0].target, None);
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = "[[pool]]\nname = \"www.example.com\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\nwieght = 2\n";
    rejects(text, 5, "toml", "unknown field `wieght`");
    let text = "[[pool]]\nname = \"www.example.com\"\npolicy = \"random\"\n";
    rejects(text, 3, "toml", "unknown variant `random`");
    let text = "[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"tcp\"\nport = 80\nretries = 3\n";
    rejects(text, 6, "toml", "unknown field `retries`");
}

#[test]
fn durations_need_a_unit() {
    let text = "[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"tcp\"\nport = 80\ninterval = \"5\"\n";
    rejects(text, 6, "toml", "expected a duration like");
    let text = "[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"tcp\"\nport = 80\ninterval = 5\n";
    rejects(text, 6, "toml", "invalid type: integer");
    assert_eq!(
        ConfigDuration::try_from("2m".to_owned()),
        Ok(ConfigDuration(Duration::from_secs(120)))
    );
    assert_eq!(
        ConfigDuration::try_from("250ms".to_owned()),
        Ok(ConfigDuration(Duration::from_millis(250)))
    );
    assert!(ConfigDuration::try_from("1.5s".to_owned()).is_err());
    assert!(ConfigDuration::try_from("s".to_owned()).is_err());
}

#[test]
fn weights_that_are_all_zero_are_an_error() {
    let text = "[[pool]]\nname = \"www.example.com\"\npolicy = \"weighted\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\nweight = 0\n[[pool.endpoint]]\naddress = \"192.0.2.2\"\nweight = 0\n";
    rejects(
        text,
        6,
        "pool.endpoint.weight",
        "every endpoint of pool www.example.com. has weight 0",
    );
}

#[test]
fn the_owner_must_be_inside_a_served_zone_without_a_cname_or_delegation() {
    let pool = |name: &str| {
        format!("[[pool]]\nname = \"{name}\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n")
    };
    rejects(
        &pool("www.example.net."),
        2,
        "pool.name",
        "www.example.net. is not inside any served zone",
    );
    rejects(&pool("alias.example.com."), 2, "pool.name", "has a CNAME");
    rejects(
        &pool("a.sub.example.com."),
        2,
        "pool.name",
        "below the delegation at sub.example.com.",
    );
    rejects(&pool("*.example.com."), 2, "pool.name", "is a wildcard");
    rejects(
        &pool("www.old.example.com."),
        2,
        "pool.name",
        "is below the DNAME at old.example.com.",
    );
    rejects(
        &pool("www.signed.example.com."),
        2,
        "pool.name",
        "is in the signed zone signed.example.com.: lbdns does not sign online",
    );
    rejects(
        &pool("a..example.com."),
        2,
        "pool.name",
        "is not a domain name",
    );
}

#[test]
fn duplicate_endpoints_and_pools_are_errors() {
    let text = "[[pool]]\nname = \"www.example.com\"\n[[pool.endpoint]]\naddress = \"2001:db8::1\"\n[[pool.endpoint]]\naddress = \"2001:db8:0::1\"\n";
    rejects(
        text,
        6,
        "pool.endpoint.address",
        "2001:db8::1 is listed twice in pool www.example.com.",
    );
    let text = "[[pool]]\nname = \"www.example.com\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n[[pool]]\nname = \"WWW.example.com.\"\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n";
    rejects(text, 6, "pool.name", "a second pool for");
}

#[test]
fn an_interval_shorter_than_the_timeout_is_an_error() {
    let text = "[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"tcp\"\nport = 80\ninterval = \"1s\"\ntimeout = \"1500ms\"\n";
    rejects(
        text,
        6,
        "pool.check.interval",
        "interval 1s is shorter than the timeout 1.5s",
    );
    // Only the timeout written: its own line.
    let text = "[[pool]]\nname = \"www.example.com\"\n[pool.check]\ntype = \"tcp\"\nport = 80\ntimeout = \"6s\"\n";
    rejects(
        text,
        6,
        "pool.check.interval",
        "interval 5s is shorter than the timeout 6s",
    );
}

#[test]
fn keys_that_do_not_apply_to_the_check_type_are_errors() {
    let check = |body: &str| {
        format!("[[pool]]\nname = \"www.example.com\"\n[pool.check]\n{body}\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n")
    };
    rejects(
        &check("type = \"tcp\"\nport = 80\npath = \"/\""),
        6,
        "pool.check.path",
        "does not apply to tcp checks",
    );
    rejects(
        &check("type = \"none\"\ninterval = \"1s\""),
        5,
        "pool.check.interval",
        "does not apply to none checks",
    );
    rejects(
        &check("type = \"http\"\nverify_tls = false"),
        5,
        "pool.check.verify_tls",
        "https checks only",
    );
    rejects(
        &check("type = \"tcp\""),
        4,
        "pool.check.port",
        "a tcp check needs a port",
    );
    rejects(
        &check("type = \"http\"\npath = \"healthz\""),
        5,
        "pool.check.path",
        "starts with /",
    );
    rejects(
        &check("type = \"http\"\npath = \"/a b\""),
        5,
        "pool.check.path",
        "no spaces",
    );
    rejects(
        &check("type = \"http\"\nstatus = [200, 42]"),
        5,
        "pool.check.status",
        "42 is not an HTTP status",
    );
    rejects(
        &check("type = \"http\"\nstatus = []"),
        5,
        "pool.check.status",
        "at least one",
    );
    rejects(
        &check("type = \"http\"\nhost = \"a\\r\\nX: y\""),
        5,
        "pool.check.host",
        "a host name",
    );
    rejects(
        &check("type = \"http\"\nbody = \"\""),
        5,
        "pool.check.body",
        "matches anything",
    );
    rejects(
        &check("type = \"tcp\"\nport = 80\nrise = 0"),
        6,
        "pool.check.rise",
        "at least 1",
    );
    rejects(
        &check("type = \"tcp\"\nport = 80\ntimeout = \"0ms\""),
        6,
        "pool.check.timeout",
        "longer than 0",
    );
}

#[test]
fn pool_level_limits() {
    let pool = |extra: &str, endpoint: &str| {
        format!("[[pool]]\nname = \"www.example.com\"\n{extra}\n[[pool.endpoint]]\naddress = \"192.0.2.1\"\n{endpoint}\n")
    };
    rejects(
        &pool("answers = 0", ""),
        3,
        "pool.answers",
        "between 1 and 16",
    );
    rejects(
        &pool("answers = 17", ""),
        3,
        "pool.answers",
        "between 1 and 16",
    );
    rejects(
        &pool("ttl = 2147483648", ""),
        3,
        "pool.ttl",
        "at most 2147483647",
    );
    rejects(
        &pool("", "weight = 2"),
        6,
        "pool.endpoint.weight",
        "use policy = \"weighted\"",
    );
    rejects(
        &pool("policy = \"weighted\"", "tier = 2"),
        6,
        "pool.endpoint.tier",
        "only failover pools have tiers",
    );
    rejects(
        &pool("", "check_address = \"10.0.0.1\""),
        6,
        "pool.endpoint.check_address",
        "the pool has no check",
    );
    rejects(
        &pool("", "check_address = \"10.0.0.1:x\""),
        6,
        "toml",
        "expected an address like",
    );
    rejects(
        "[[pool]]\nname = \"www.example.com\"\n",
        2,
        "pool.endpoint",
        "has no [[pool.endpoint]]",
    );
    // Weight 0 and 1 are fine in a round-robin pool.
    assert!(load(&pool(
        "",
        "weight = 0\n[[pool.endpoint]]\naddress = \"192.0.2.2\"\nweight = 1"
    ))
    .is_ok());
}
