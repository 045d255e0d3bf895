//! `cargo xtask run`: a local lbdns answering for the example zone, with the XDP fast path on
//! `lo` where it can attach.

use std::{
    ffi::OsString,
    io::ErrorKind,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};

use crate::{
    build::{self, Profile},
    cmd, workspace,
};

/// Port 5353 keeps clear of a system resolver on 53 and needs no privilege.
const LISTEN: [&str; 2] = ["127.0.0.1:5353", "[::1]:5353"];

/// The fast path on loopback: generic mode, because no driver runs native XDP on `lo`, and a
/// generic-mode XDP_TX needs no program on a peer to be delivered.
const XDP: [&str; 4] = ["--xdp", "lo", "--xdp-mode", "generic"];

/// How long the example zone may take to be served with XDP attached: well under a second
/// normally; the bound only keeps a wedged start from hanging the task.
const READY_WITHIN: Duration = Duration::from_secs(60);

const DIG: [&str; 5] = ["@127.0.0.1", "-p", "5353", "www.example.com", "A"];

/// Builds lbdns and serves zones/example.com.zone with the XDP fast path on `lo`, then shows a
/// query and the counters that prove the program answered it. Where XDP cannot attach (no
/// root, no BPF), says so and serves from the sockets alone. Extra arguments that choose
/// interfaces or the control socket leave the choice to the user: `lbdns serve` then runs as
/// given.
pub fn serve_example_zone(profile: Profile, extra_args: &[OsString]) -> Result<()> {
    let binary = build::lbdns(profile)?;
    let control = workspace::target_dir().join("xtask-run/control.sock");
    let user_chooses = extra_args.iter().any(|arg| {
        arg.to_str().is_some_and(|arg| {
            ["--xdp", "--control"]
                .iter()
                .any(|flag| arg.starts_with(flag))
        })
    });
    if user_chooses {
        return exec_sockets_only(serve(&binary, extra_args, None));
    }
    let dir = control.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let mut with_xdp = serve(&binary, extra_args, Some(&control));
    with_xdp.args(XDP);
    eprintln!("$ {}", cmd::display(&with_xdp));
    let mut child = with_xdp
        .spawn()
        .with_context(|| format!("cannot start `{}`", cmd::display(&with_xdp)))?;
    match wait_for_xdp(&mut child, &binary, &control)? {
        Ready::Xdp => {}
        Ready::Exited => {
            eprintln!(
                "XDP could not attach to lo (lbdns said why above); serving from the sockets only."
            );
            return exec_sockets_only(serve(&binary, extra_args, Some(&control)));
        }
    }
    show_the_fast_path(&binary, &control);
    let status = child.wait().context("cannot wait for lbdns")?;
    if !status.success() {
        bail!("lbdns serve exited with {status}");
    }
    Ok(())
}

/// `lbdns serve` for the example zone on [`LISTEN`].
fn serve(binary: &Path, extra_args: &[OsString], control: Option<&PathBuf>) -> Command {
    let mut serve = Command::new(binary);
    serve
        .arg("serve")
        .arg("--zone")
        .arg(workspace::root().join("zones/example.com.zone"));
    for address in LISTEN {
        serve.args(["--listen", address]);
    }
    if let Some(control) = control {
        serve.arg("--control").arg(control);
    }
    serve.args(extra_args);
    serve
}

/// Replaces this process with `serve`, so Ctrl-C and the exit status belong to the server.
fn exec_sockets_only(mut serve: Command) -> Result<()> {
    eprintln!("Query it with:  dig {}", DIG.join(" "));
    eprintln!("$ {}", cmd::display(&serve));
    let error = serve.exec();
    Err(error).with_context(|| format!("cannot start `{}`", cmd::display(&serve)))
}

enum Ready {
    /// The program is attached and its maps are filled: `lbdns stats` shows its counters.
    Xdp,
    /// lbdns stopped during start-up.
    Exited,
}

fn wait_for_xdp(child: &mut Child, binary: &Path, control: &Path) -> Result<Ready> {
    let started = Instant::now();
    while started.elapsed() < READY_WITHIN {
        if child.try_wait().context("cannot wait for lbdns")?.is_some() {
            return Ok(Ready::Exited);
        }
        if stats(binary, control).is_some_and(|stats| stats.contains("answered_a")) {
            return Ok(Ready::Xdp);
        }
        thread::sleep(Duration::from_millis(100));
    }
    // Not ready in a minute: stop it rather than leave it running behind an error.
    let _ = child.kill();
    let _ = child.wait();
    bail!("lbdns did not report the XDP fast path within {READY_WITHIN:?}")
}

/// `lbdns stats` against `control`, if the daemon answers.
fn stats(binary: &Path, control: &Path) -> Option<String> {
    let output = cmd::probe(
        Command::new(binary)
            .arg("stats")
            .arg("--control")
            .arg(control),
    )
    .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Sends one query with dig, if installed, then prints `lbdns stats`, whose `answered_a` says
/// the program answered it; prints both commands either way.
fn show_the_fast_path(binary: &Path, control: &Path) {
    let mut dig = Command::new("dig");
    dig.args(DIG).arg("+short");
    let stats_line = format!("{} stats --control {}", binary.display(), control.display());
    eprintln!("XDP fast path attached to lo (generic mode).");
    match dig.output() {
        Ok(output) => {
            eprintln!("$ {}", cmd::display(&dig));
            eprint!("{}", String::from_utf8_lossy(&output.stdout));
            eprintln!("$ {stats_line}");
            match stats(binary, control) {
                Some(stats) => eprint!("{stats}"),
                None => eprintln!("(lbdns stats failed)"),
            }
            eprintln!("answered_a counts the A queries the XDP program answered.");
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            eprintln!("dig is not installed (Debian: dnsutils). With it:");
        }
        Err(error) => eprintln!("cannot run dig: {error}"),
    }
    eprintln!("Query it with:  dig {}", DIG.join(" "));
    eprintln!("Then see XDP's answers with:  {stats_line}");
    eprintln!("Ctrl-C stops lbdns.");
}
