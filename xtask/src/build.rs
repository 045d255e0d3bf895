//! `cargo xtask build`: the `lbdns` binary, with the XDP program built first and embedded.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Result;

use crate::{cmd, ebpf, workspace};

/// Tells `lbdns-userspace/build.rs` which BPF object to embed. Without it that build script
/// compiles lbdns-ebpf itself, which is right for a plain `cargo build` but would repeat the work
/// `cargo xtask` has already done, once per profile and per cargo subcommand.
pub const EBPF_OBJECT_VAR: &str = "LBDNS_EBPF_OBJECT";

/// The cargo profile of the userspace build. The BPF object is always optimised.
#[derive(Clone, Copy, Debug)]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    pub fn from_release_flag(release: bool) -> Self {
        if release {
            Self::Release
        } else {
            Self::Debug
        }
    }

    /// The directory under the target directory that cargo builds this profile into.
    fn dir(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
        }
    }
}

/// Builds the XDP program, then `lbdns` around it; returns the absolute path of the binary.
pub fn lbdns(profile: Profile) -> Result<PathBuf> {
    let mut cargo = userspace_cargo(&ebpf::build()?);
    cargo.args(["build", "--package", "lbdns"]);
    if let Profile::Release = profile {
        cargo.arg("--release");
    }
    cmd::run(&mut cargo)?;
    Ok(workspace::target_dir().join(profile.dir()).join("lbdns"))
}

/// Builds the example `name` of the `lbdns` package with the release profile; returns its path.
pub fn lbdns_example(name: &str) -> Result<PathBuf> {
    let mut cargo = userspace_cargo(&ebpf::build()?);
    cargo.args([
        "build",
        "--release",
        "--package",
        "lbdns",
        "--example",
        name,
    ]);
    cmd::run(&mut cargo)?;
    Ok(workspace::target_dir()
        .join(Profile::Release.dir())
        .join("examples")
        .join(name))
}

/// Stable `cargo` for the userspace workspace, embedding `object` rather than building its own.
pub fn userspace_cargo(object: &Path) -> Command {
    let mut cargo = cmd::cargo();
    cargo
        .current_dir(workspace::root())
        .env(EBPF_OBJECT_VAR, object);
    cargo
}
