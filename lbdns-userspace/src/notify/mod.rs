//! NOTIFY (RFC 1996). `out`: telling secondaries that a zone changed.

pub mod out;
