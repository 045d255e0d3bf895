//! What lbdns tells systemd, and how it finds out that systemd is listening: readiness and
//! reload state over the notification socket (`notify`), and whether stderr is the journal
//! (`journal`). Both work without systemd too: they then do nothing.

pub mod journal;
pub mod notify;

pub use notify::Notifier;
