//! What the unit tests of the modules that change the served state (`served::zone`,
//! `secondary`) share: a `Served` without the daemon's threads, and a query to it.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::sync::mpsc;

use super::{load, settings, Served};
use crate::authority::{respond, Catalog, Client, Transport};
use crate::config::Overrides;
use crate::health::Checker;
use crate::metrics::Metrics;
use crate::pool::PoolSet;

/// The served state a daemon would build from `catalog`, `pools` and `config`, with a health
/// checker that checks nothing and no fast path.
pub fn served(catalog: Catalog, pools: PoolSet, config: PathBuf) -> Served {
    let (changes, _) = mpsc::unbounded_channel();
    Served::new(
        catalog,
        pools,
        Checker::start([], changes),
        Arc::new(Metrics::default()),
        false,
        Some(config),
        Overrides::default(),
    )
}

/// The served state a daemon loads from the configuration file `config`.
pub fn loaded(config: PathBuf) -> Served {
    let settings = settings(Some(&config), Overrides::default()).unwrap();
    let loaded = load(&settings).unwrap();
    served(loaded.catalog, loaded.pools, config)
}

/// The served state a daemon loads from `dir` once a zone file (name, text) and the
/// configuration `config` (as `lbdns.toml`) are written there.
pub fn written(dir: &Path, (zone_file, zone): (&str, &str), config: &str) -> Served {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(zone_file), zone).unwrap();
    let path = dir.join("lbdns.toml");
    std::fs::write(&path, config).unwrap();
    loaded(path)
}

/// The addresses of `reply`'s A records, sorted.
pub fn addresses(reply: &Message) -> Vec<String> {
    let mut found: Vec<String> = reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect();
    found.sort();
    found
}

/// The socket path's reply to an A query for `name`.
pub fn ask(served: &Served, name: &str) -> Message {
    let mut query = Message::new(7, MessageType::Query, OpCode::Query);
    query.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let reply = respond(
        &served.catalog().load(),
        &query.to_vec().unwrap(),
        Client::new(Ipv4Addr::LOCALHOST.into(), Transport::Udp),
    );
    Message::from_vec(&reply.expect("a reply")).unwrap()
}
