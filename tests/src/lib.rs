//! Test harness shared by the end-to-end suites: network namespaces, veth pairs, and the lbdns process.
