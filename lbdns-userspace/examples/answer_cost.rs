//! Prints what the socket path's answering costs in userspace, per query, without the kernel's
//! share: `lbdns::authority::respond` on the built-in example zone, in one thread, for a hot set
//! of queries (A and AAAA of the load-balanced names), for the other answers of the `mixed`
//! bench mix (MX, a CNAME chain, a name that does not exist, NODATA), and for a random-subdomain
//! flood (300,000 names the zone lacks, each asked once a round, as the `mixed` mix's NXDOMAIN
//! tenth is); then the same queries through a UDP worker's `ReplyCache`, which remembers the
//! first two mixes' replies and none of the flood's (a name is kept on its second sighting, and
//! 300,000 others pass between two). `cargo xtask bench` sees this cost only through dnsperf's
//! queries per second, where the kernel's share of each reply and the load generator on the
//! same cores move the figure by more than the answering does.
//!
//! ```text
//! cargo run --release -p lbdns --example answer_cost
//! ```
//!
//! Each figure is the best of five rounds of 300,000 queries.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use lbdns::authority::{respond, Catalog, Client, ReplyCache, Transport};
use lbdns::zone::Zone;

const ROUNDS: usize = 5;
const QUERIES: usize = 300_000;

fn main() -> Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zones/example.com.zone");
    let zone = Zone::load(&path, None)
        .map_err(|errors| anyhow::anyhow!("{errors}"))
        .with_context(|| format!("cannot load {}", path.display()))?;
    let catalog = Arc::new(Catalog::new(&[zone])?);
    let client = Client::new(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), Transport::Udp);
    let mixes = [
        (
            "hot",
            [
                query("www.example.com.", RecordType::A, true)?,
                query("www.example.com.", RecordType::AAAA, true)?,
                query("api.example.com.", RecordType::A, false)?,
            ]
            .to_vec(),
        ),
        (
            "other",
            [
                query("example.com.", RecordType::MX, true)?,
                query("alias.example.com.", RecordType::A, true)?,
                query("nothing-here.example.com.", RecordType::A, true)?,
                query("mail.example.com.", RecordType::TXT, true)?,
            ]
            .to_vec(),
        ),
        (
            "flood",
            (0..QUERIES)
                .map(|i| query(&format!("nx-{i:08x}.example.com."), RecordType::A, false))
                .collect::<Result<_>>()?,
        ),
    ];
    let mut cache = ReplyCache::new(&catalog);
    for (mix, queries) in &mixes {
        let answered = best_of_rounds(queries, |query| {
            black_box(respond(&catalog, query, client));
        });
        let cached = best_of_rounds(queries, |query| {
            black_box(cache.answer(query, client));
        });
        println!("{mix:<6} {answered:>6.0} ns/query answered, {cached:>6.0} through the cache");
    }
    Ok(())
}

/// The best of [`ROUNDS`] rounds of [`QUERIES`] calls of `answer`, in ns a query.
fn best_of_rounds(queries: &[Vec<u8>], mut answer: impl FnMut(&[u8])) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for query in queries.iter().cycle().take(QUERIES) {
                answer(query);
            }
            started.elapsed().as_nanos() as f64 / QUERIES as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// A query for `name` and `rtype`, with an OPT record of payload 1232 if `edns`.
fn query(name: &str, rtype: RecordType, edns: bool) -> Result<Vec<u8>> {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name)?, rtype));
    if edns {
        let mut opt = Edns::new();
        opt.set_max_payload(1232);
        message.set_edns(opt);
    }
    Ok(message.to_vec()?)
}
