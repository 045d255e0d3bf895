//! The nightly toolchain: the only one that can build for BPF. It cannot be installed from here
//! (only package registries are reachable), so its absence is an error; its rust-src component
//! can be.

use std::{fs, path::PathBuf, process::Command};

use anyhow::{bail, Context as _, Result};

use super::Probe;
use crate::cmd;

/// What setup needs to know about the installed nightly.
#[derive(Debug)]
pub struct Nightly {
    sysroot: PathBuf,
    /// The major version of the LLVM inside rustc, which bpf-linker must be built against.
    llvm_major: u32,
}

impl Nightly {
    pub fn probe() -> Result<Self> {
        let sysroot = cmd::stdout(rustc().args(["--print", "sysroot"]))
            .context("the nightly toolchain is required (rustup toolchain install nightly)")?;
        let version = cmd::stdout(rustc().arg("-vV"))?;
        let Some(llvm) = version
            .lines()
            .find_map(|line| line.strip_prefix("LLVM version: "))
        else {
            bail!("`rustc +nightly -vV` names no LLVM version:\n{version}");
        };
        let llvm_major = llvm
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .with_context(|| format!("cannot read the major of LLVM version {llvm:?}"))?;
        Ok(Self {
            sysroot: sysroot.into(),
            llvm_major,
        })
    }

    pub fn llvm_major(&self) -> u32 {
        self.llvm_major
    }

    /// The shared LLVM library that nightly's rustc runs on, e.g.
    /// `libLLVM.so.22.1-rust-1.97.0-nightly`; its name changes with every LLVM or nightly update.
    /// (Beside it, `libLLVM-22-rust-1.97.0-nightly.so` is a linker script naming it.)
    pub fn libllvm(&self) -> Result<PathBuf> {
        let lib = self.sysroot.join("lib");
        let entries =
            fs::read_dir(&lib).with_context(|| format!("cannot list {}", lib.display()))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", lib.display()))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("libLLVM.so.")
            {
                found.push(entry.path());
            }
        }
        match <[PathBuf; 1]>::try_from(found) {
            Ok([libllvm]) => Ok(libllvm),
            Err(found) => bail!(
                "expected exactly one libLLVM.so.* in {}, found {found:?}",
                lib.display()
            ),
        }
    }

    /// build-std compiles `core` from these sources and reads their lock file.
    pub fn probe_rust_src(&self) -> Result<Probe> {
        Ok(if self.rust_src_lock_file().is_file() {
            Probe::Present
        } else {
            Probe::Absent(format!("no {}", self.rust_src_lock_file().display()))
        })
    }

    pub fn install_rust_src(&self) -> Result<()> {
        cmd::run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))
    }

    fn rust_src_lock_file(&self) -> PathBuf {
        self.sysroot.join("lib/rustlib/src/rust/library/Cargo.lock")
    }
}

fn rustc() -> Command {
    let mut rustc = Command::new("rustc");
    rustc.arg("+nightly");
    rustc
}
