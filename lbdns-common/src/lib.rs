//! The ABI between the lbdns XDP program and the userspace daemon.
//!
//! Everything here is `#[repr(C)]` and `no_std`, so the same definitions compile for
//! `bpfel-unknown-none` and for the host. Userspace enables the `user` feature to get `aya::Pod`.
//!
//! - [`limits`]: sizes both sides must agree on (longest name, addresses per answer, UDP sizes).
//! - [`qtype`]: the record types the fast path answers.
//! - [`names`]: the name table: how a question (name, type) finds its RRset id.
//! - [`answer`]: the answer sets the program copies into replies.
//! - [`signature`]: the RRSIG records the program adds to DO=1 answers of signed RRsets.
//! - [`negative`]: NXDOMAIN at the NIC: which zones, which names exist, the SOA record.
//! - [`publish`]: how userspace replaces answers while the program runs, and why in that order.
//! - [`life`]: the layout version pinned with the maps, and the daemon's heartbeat.
//! - [`geo`]: client address → location → the location's answer set (geo pools, ECS).
//! - [`edns`]: EDNS option codes, their order in replies, what the program is told of them.
//! - [`cookie`]: DNS Cookies: the server cookie (RFC 9018), SipHash-2-4, what a cookie is worth.
//! - [`csum`]: the checksum shares userspace computes once for what the program copies.
//! - [`counters`]: the per-CPU counters the program keeps, one enum for both sides.
//! - [`maps`]: map and global names, and default map sizes.
//! - [`rrl`]: response rate limiting, the one rule both paths apply.
#![no_std]

pub mod answer;
pub mod cookie;
pub mod counters;
pub mod csum;
pub mod edns;
pub mod fixed;
pub mod geo;
pub mod life;
pub mod limits;
pub mod maps;
pub mod names;
pub mod negative;
pub mod prepared;
pub mod publish;
pub mod qtype;
pub mod rrl;
pub mod signature;
