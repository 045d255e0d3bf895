//! Writes lbdns's man pages (one per command) and its bash, zsh and fish completions into the
//! directory given, generated from the very clap definitions the binary parses (`src/cli.rs`),
//! so they cannot fall behind its flags. `cargo xtask deb` runs it and packages the result:
//!
//! ```text
//! OUT/man/lbdns.1, OUT/man/lbdns-serve.1, ...
//! OUT/completions/lbdns.bash, OUT/completions/_lbdns, OUT/completions/lbdns.fish
//! ```

#[path = "../src/cli.rs"]
#[expect(
    dead_code,
    reason = "only the definitions are read here; the binary uses the rest"
)]
mod cli;

use std::{env, fs, path::PathBuf};

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;
use clap_complete::Shell;

fn main() -> Result<()> {
    let out = PathBuf::from(
        env::args_os()
            .nth(1)
            .context("usage: manual OUT_DIR (man/ and completions/ are made in it)")?,
    );
    let command = cli::Cli::command();

    let man = out.join("man");
    fs::create_dir_all(&man).with_context(|| format!("cannot create {}", man.display()))?;
    clap_mangen::generate_to(command.clone(), &man)
        .with_context(|| format!("cannot write the man pages into {}", man.display()))?;

    let completions = out.join("completions");
    fs::create_dir_all(&completions)
        .with_context(|| format!("cannot create {}", completions.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = command.clone();
        clap_complete::generate_to(shell, &mut command, "lbdns", &completions).with_context(
            || {
                format!(
                    "cannot write the {shell} completions into {}",
                    completions.display()
                )
            },
        )?;
    }
    Ok(())
}
