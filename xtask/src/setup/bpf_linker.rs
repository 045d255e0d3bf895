//! bpf-linker, which rustc runs to link BPF objects, built against nightly's own libLLVM.
//!
//! rustc hands bpf-linker LLVM bitcode, which only an LLVM at least as new can read; linking the
//! very library rustc uses rules out any mismatch and saves building LLVM. The library is made
//! visible to llvm-sys through a prefix directory of symlinks; the installed binary's RUNPATH
//! points into it, so that directory is kept beside the binary, under `$CARGO_HOME`.

use std::{
    env,
    ffi::OsStr,
    fs, io,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result};

use super::{nightly::Nightly, Probe};
use crate::cmd;

/// The release we build; 0.13 offers features `llvm-21` to `llvm-23`.
const VERSION: &str = "0.13.0";

/// Checks the bpf-linker that rustc would run: the first on PATH, as rustc looks it up.
pub fn probe(nightly: &Nightly) -> Result<Probe> {
    let Ok(path) = which::which("bpf-linker") else {
        return Ok(Probe::Absent("not on PATH".into()));
    };
    let libllvm = nightly.libllvm()?;
    let wanted = libllvm.file_name().unwrap_or_default();
    // ldd fails on a static binary; that just means no shared libLLVM in the output.
    let ldd = cmd::probe(Command::new("ldd").arg(&path))?;
    let ldd = String::from_utf8_lossy(&ldd.stdout);
    let Some(linked) = ldd
        .lines()
        .find_map(|line| line.trim().strip_prefix("libLLVM"))
    else {
        return Ok(Probe::Absent(format!(
            "{} does not link a shared libLLVM",
            path.display()
        )));
    };
    // An ldd line reads `libLLVM.so.22.1-rust-1.97.0-nightly => /path/to/it (0x...)`.
    let (name, resolved) = linked.split_once(" => ").unwrap_or((linked, ""));
    let name = format!("libLLVM{name}");
    if OsStr::new(&name) != wanted {
        return Ok(Probe::Absent(format!(
            "{} is built against {name}, but nightly has {}",
            path.display(),
            wanted.to_string_lossy()
        )));
    }
    if resolved.starts_with("not found") {
        return Ok(Probe::Absent(format!(
            "{} cannot find its {name}",
            path.display()
        )));
    }
    let version = cmd::probe(Command::new(&path).arg("--version"))?;
    if !version.status.success() {
        return Ok(Probe::Absent(format!(
            "`{} --version` failed: {}",
            path.display(),
            String::from_utf8_lossy(&version.stderr).trim()
        )));
    }
    Ok(Probe::Present)
}

/// Builds bpf-linker against nightly's libLLVM into `$CARGO_HOME/bin` (two minutes or so).
pub fn install(nightly: &Nightly) -> Result<()> {
    let prefix = llvm_prefix()?;
    link_libllvm(&prefix, &nightly.libllvm()?)?;
    cmd::run(
        cmd::nightly_cargo()
            .args([
                "install",
                "bpf-linker",
                "--version",
                VERSION,
                "--locked",
                "--force",
            ])
            .args(["--no-default-features", "--features"])
            .arg(format!("llvm-{}", nightly.llvm_major()))
            .arg("--root")
            .arg(cargo_home()?)
            .env("LLVM_PREFIX", &prefix),
    )
}

/// Makes `prefix/lib` hold exactly two symlinks to `libllvm`: `libLLVM.so`, which the linker
/// looks for, and one under the library's own name, which the binary asks for at run time.
fn link_libllvm(prefix: &Path, libllvm: &Path) -> Result<()> {
    let lib = prefix.join("lib");
    match fs::remove_dir_all(&lib) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("cannot clear {}", lib.display()));
        }
        _ => {}
    }
    fs::create_dir_all(&lib).with_context(|| format!("cannot create {}", lib.display()))?;
    let own_name = libllvm
        .file_name()
        .context("libLLVM path has no file name")?;
    for name in [OsStr::new("libLLVM.so"), own_name] {
        let link = lib.join(name);
        symlink(libllvm, &link)
            .with_context(|| format!("cannot link {} to {}", link.display(), libllvm.display()))?;
    }
    Ok(())
}

/// `$CARGO_HOME/lbdns/nightly-llvm`: it lives exactly as long as the `bin/bpf-linker` that
/// needs it, which a cache directory would not.
fn llvm_prefix() -> Result<PathBuf> {
    Ok(cargo_home()?.join("lbdns").join("nightly-llvm"))
}

/// Where `cargo install` puts binaries by default, and where rustup puts its proxies: on PATH.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = env::var_os("CARGO_HOME") {
        return Ok(home.into());
    }
    let home = env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cargo"))
}
