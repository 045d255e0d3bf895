//! The ABI between the lbdns XDP program and the userspace daemon.
//!
//! Everything here is `#[repr(C)]` and `no_std`, so the same definitions compile for
//! `bpfel-unknown-none` and for the host. Userspace enables the `user` feature to get `aya::Pod`.
#![no_std]
