//! lbdns: an authoritative DNS responder for load balancing, with an XDP fast path.
//!
//! Data flows one way: `zone` (master files → records) → `authority` (records → answers) →
//! `server` (sockets); `authority` → `compile` (hot RRsets → map image) → `maps` (the XDP maps);
//! `health` verdicts → `pool` state. `served` owns the state both paths answer from and the
//! one way a change (reload, health verdict, drain) reaches them. See ARCHITECTURE.md for the
//! whole picture.

pub mod authority;
pub mod blocking;
pub mod cache;
pub mod catalog_zone;
pub mod compile;
pub mod config;
pub mod control;
pub mod cookies;
pub mod dnssec;
pub mod ebpf_object;
pub mod geo;
pub mod health;
pub mod maps;
pub mod metrics;
pub mod notify;
pub mod pool;
pub mod privilege;
pub mod rrl;
pub mod secondary;
pub mod served;
pub mod server;
pub mod systemd;
pub mod transfer_out;
pub mod tsig;
pub mod xdp;
pub mod xfr;
pub mod zone;
