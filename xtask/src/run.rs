//! `cargo xtask run`: a local lbdns answering for the example zone.

use std::{ffi::OsString, os::unix::process::CommandExt as _, process::Command};

use anyhow::{Context as _, Result};

use crate::{
    build::{self, Profile},
    cmd, workspace,
};

/// Port 5353 keeps clear of a system resolver on 53 and needs no privilege.
const LISTEN: [&str; 2] = ["127.0.0.1:5353", "[::1]:5353"];

/// Builds lbdns, then replaces this process with `lbdns serve` for zones/example.com.zone, so
/// Ctrl-C and the exit status belong to the server itself.
pub fn serve_example_zone(profile: Profile, extra_args: &[OsString]) -> Result<()> {
    let binary = build::lbdns(profile)?;
    let mut serve = Command::new(&binary);
    serve
        .arg("serve")
        .arg("--zone")
        .arg(workspace::root().join("zones/example.com.zone"));
    for address in LISTEN {
        serve.args(["--listen", address]);
    }
    serve.args(extra_args);

    eprintln!("Query it with:  dig @127.0.0.1 -p 5353 www.example.com A");
    eprintln!("$ {}", cmd::display(&serve));
    let error = serve.exec();
    Err(error).with_context(|| format!("cannot start `{}`", cmd::display(&serve)))
}
