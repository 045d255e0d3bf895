//! Test harness shared by the end-to-end suites: network namespaces, veth pairs, and the lbdns process.
//!
//! Every suite follows the same shape:
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use lbdns_tests::{preflight, Query, Server, Topology};
//! preflight(&["kdig"])?; // fails (never skips) when not root or a tool is missing
//! let topo = Topology::new()?; // server + client namespaces joined by a veth pair
//! let server = Server::lbdns_example(&topo)?; // waits until it answers on every address
//! let resp = topo.kdig(topo.server_v4_addr(53), &Query::new("www.example.com", "A"))?;
//! assert_eq!(resp.rcode, "NOERROR");
//! # drop(server); Ok(()) }
//! ```
//!
//! Everything that creates state outside the test process (namespaces, processes, temp
//! directories) is an RAII guard, so a failing or panicking test still cleans up. Declare the
//! [`Topology`] before the [`Server`] so the server is killed before its namespace is deleted.

pub mod client;
pub mod dig;
pub mod env;
pub mod frame;
pub mod link;
pub mod malformed;
pub mod netns;
pub mod server;
pub mod signing;
pub mod unprivileged;
pub mod wire;

pub use client::{TcpConn, TcpRecv};
pub use dig::{DigResponse, Query, Record, Tool};
pub use env::{
    apex_only_zone, example_zone, lbdns_bin, preflight, run_bounded, workspace_root, TempDir,
};
pub use netns::{Namespace, Topology};
pub use server::Server;
pub use wire::{Builder, Message};
