#![no_main]
//! libFuzzer over `lbdns_fuzz::config::check`; see that module for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbdns_fuzz::config::check(data));
