//! `cargo xtask fuzz TARGET --secs N`: one libFuzzer target of tests/fuzz/targets for N
//! seconds, through cargo-fuzz on the nightly toolchain; without a target, the list of them.
//!
//! The run starts from the checked-in seeds (tests/fuzz/seeds/TARGET) and keeps what it finds
//! in a working corpus under the target directory, which libFuzzer writes to: the seeds only
//! change when someone adds an input on purpose. Crashing inputs land beside it, in
//! `fuzz/artifacts/TARGET/`.

use std::{ffi::OsString, path::Path};

use anyhow::{bail, Context as _, Result};

use crate::{build, cmd, ebpf, workspace};

/// The targets: one source file each in `fuzz_targets/`, named as cargo-fuzz names them.
pub fn targets() -> Result<Vec<String>> {
    let dir = workspace::fuzz_crate().join("fuzz_targets");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            if let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) {
                targets.push(stem.to_owned());
            }
        }
    }
    targets.sort();
    Ok(targets)
}

/// Runs `target` for `secs` seconds with the `extra` libFuzzer flags, or lists the targets
/// when there is none.
pub fn run(target: Option<&str>, secs: u64, extra: &[OsString]) -> Result<()> {
    let targets = targets()?;
    let Some(target) = target else {
        println!("fuzz targets (cargo xtask fuzz TARGET --secs N):");
        for target in &targets {
            println!("  {target}");
        }
        return Ok(());
    };
    if !targets.iter().any(|known| known == target) {
        bail!("no fuzz target {target}; there are {}", targets.join(", "));
    }
    let out = workspace::target_dir().join("fuzz");
    let corpus = out.join("corpus").join(target);
    let artifacts = out.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    }
    let seeds = workspace::root().join("tests/fuzz/seeds").join(target);
    let object = ebpf::build()?;
    let mut cargo = cmd::nightly_cargo();
    cargo
        .current_dir(workspace::root())
        .env(build::EBPF_OBJECT_VAR, &object)
        .args(["fuzz", "run", target])
        .arg("--fuzz-dir")
        .arg(workspace::fuzz_crate())
        .arg("--target-dir")
        .arg(&out)
        // No sanitizer: the parsers are safe Rust, where AddressSanitizer finds little and slows
        // every execution; debug assertions and overflow checks stay on (cargo-fuzz's default). Sixteen codegen units build the daemon's dependencies in minutes, not tens.
        .args(["--sanitizer", "none", "--codegen-units", "16"])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        // One input taking seconds is a hang worth a report, not a slow input.
        .arg("-timeout=10")
        .arg("-print_final_stats=1")
        .arg(artifact_prefix(&artifacts))
        .args(extra);
    cmd::run(&mut cargo)
}

/// libFuzzer's `-artifact_prefix`: a directory, so it ends in a slash.
fn artifact_prefix(dir: &Path) -> String {
    format!("-artifact_prefix={}/", dir.display())
}
