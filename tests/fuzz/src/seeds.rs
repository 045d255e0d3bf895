//! The seed corpus checked into the repository: `seeds/<target>/`, one input per file. The
//! fuzzers start from it (`cargo xtask fuzz` passes it after the working corpus, so libFuzzer
//! never writes into it), and `cargo xtask test` replays every file of it through the same
//! checks. An input that once broke a check stays here, named `regress-<what>`.

use std::path::{Path, PathBuf};

/// The targets, as `cargo xtask fuzz` and the seed directories name them.
pub const TARGETS: [&str; 4] = ["zone", "config", "respond", "xdp"];

/// The seed directory of `target`.
pub fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target)
}

/// Every seed of `target`, with its path, in name order so a replay is the same every time.
pub fn read(target: &str) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut paths = std::fs::read_dir(dir(target))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| std::fs::read(&path).map(|octets| (path, octets)))
        .collect()
}

/// The name a seed with these octets gets: their FNV-1a hash, so writing the same input twice
/// keeps one file.
pub fn name(octets: &[u8]) -> String {
    let hash = octets
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &octet| {
            (hash ^ u64::from(octet)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
}

/// Adds `octets` to the seeds of `target` (once: the file is named by its content).
pub fn write(target: &str, octets: &[u8]) -> std::io::Result<()> {
    std::fs::write(dir(target).join(name(octets)), octets)
}
