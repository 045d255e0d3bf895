//! Running external commands so that every failure names the command that failed.

use std::{
    ffi::OsStr,
    fmt::Write as _,
    process::{Command, Output},
};

use anyhow::{bail, Context as _, Result};

/// The stable `cargo` that is running this xtask, so nested builds use the same toolchain.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `cargo +nightly`, through rustup's proxy: only the nightly can build for BPF.
pub fn nightly_cargo() -> Command {
    let mut cargo = Command::new("cargo");
    cargo.arg("+nightly");
    cargo
}

/// Runs `cmd` with inherited stdio, echoing it first so logs show what ran, and fails unless it
/// exits successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its output whatever its exit status, for probes where failing
/// is an answer rather than an error. Only failing to start it at all is an error.
pub fn probe(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .with_context(|| format!("cannot start `{}`", display(cmd)))
}

/// Runs `cmd` quietly and returns its standard output, trimmed; fails, quoting its standard
/// error, unless it exits successfully.
pub fn stdout(cmd: &mut Command) -> Result<String> {
    let output = probe(cmd)?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            display(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout)
        .map(|stdout| stdout.trim().to_owned())
        .with_context(|| format!("`{}` printed something that is not UTF-8", display(cmd)))
}

/// `cmd` as a shell line: working directory, variables it sets, program and arguments.
pub fn display(cmd: &Command) -> String {
    let mut line = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        let _ = write!(line, "cd {} && ", quote(dir.as_os_str()));
    }
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            let _ = write!(line, "{}={} ", key.to_string_lossy(), quote(value));
        }
    }
    line.push_str(&quote(cmd.get_program()));
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line
}

/// `word` as is when the shell would read it back unchanged, else as an escaped, quoted string.
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+@,%[]".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("{word:?}")
    }
}
