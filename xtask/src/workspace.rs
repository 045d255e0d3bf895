//! Where things are in the repository, so that every task agrees on paths.

use std::{
    env,
    path::{self, Path, PathBuf},
};

/// The repository root: the parent of this crate's directory.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in a subdirectory of the repository")
}

/// The eBPF crate, which is not a workspace member (it needs nightly and its own target).
pub fn ebpf_crate() -> PathBuf {
    root().join("lbdns-ebpf")
}

/// The benchmark's reference XDP programs (the ceiling and a pass-through), another BPF crate
/// outside the workspace.
pub fn ceiling_crate() -> PathBuf {
    root().join("bench/ceiling")
}

/// The cargo-fuzz crate (nightly, libFuzzer), outside the workspace; its targets call the
/// checks of `tests/fuzz`, a member.
pub fn fuzz_crate() -> PathBuf {
    root().join("tests/fuzz/targets")
}

/// The userspace workspace's target directory, honouring `CARGO_TARGET_DIR` as cargo does
/// (a relative one is taken from the current directory, where cargo was started).
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => path::absolute(&dir).unwrap_or_else(|_| dir.into()),
        None => root().join("target"),
    }
}
