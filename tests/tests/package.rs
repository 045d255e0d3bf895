//! The Debian package `cargo xtask deb` builds (named by `LBDNS_DEB`, which `cargo xtask test`
//! sets): unpacked with dpkg-deb, it holds the binary with the XDP program embedded, a man page
//! per command, bash, zsh and fish completions, the unit, the configuration as a conffile whose
//! commented example passes `lbdns check`, and maintainer scripts that create the `lbdns` user
//! and clean up on purge; lintian finds no error in it.
//!
//! No root is needed; dpkg-deb and lintian must be installed. Without the package the tests
//! fail and say so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lbdns_tests::{env::run_ok, workspace_root, TempDir};

/// Bound on dpkg-deb and the unpacked binary; lintian takes longer.
const TIMEOUT: Duration = Duration::from_secs(60);
const LINTIAN_TIMEOUT: Duration = Duration::from_secs(300);

/// The commands, each of which has a man page `lbdns-COMMAND.1`.
const COMMANDS: [&str; 6] = ["serve", "check", "stats", "status", "drain", "undrain"];

fn package() -> PathBuf {
    let Some(path) = std::env::var_os("LBDNS_DEB") else {
        panic!("LBDNS_DEB is not set: run `cargo xtask test`, or `cargo xtask deb` and set it");
    };
    let path = PathBuf::from(path);
    assert!(path.is_file(), "LBDNS_DEB={} is not a file", path.display());
    path
}

fn dpkg_deb(args: &[&str], package: &Path) -> String {
    run_ok(Command::new("dpkg-deb").args(args).arg(package), TIMEOUT)
        .unwrap_or_else(|error| panic!("{error:#}"))
        .stdout
}

/// The package unpacked: its files in `root/`, its control files in `control/`.
struct Unpacked {
    dir: TempDir,
}

impl Unpacked {
    fn new() -> Self {
        let package = package();
        let dir = TempDir::new("deb").expect("temp dir");
        for (option, into) in [("-x", "root"), ("-e", "control")] {
            let into = dir.path().join(into);
            run_ok(
                Command::new("dpkg-deb")
                    .arg(option)
                    .arg(&package)
                    .arg(&into),
                TIMEOUT,
            )
            .unwrap_or_else(|error| panic!("{error:#}"));
        }
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn read(&self, path: &str) -> String {
        let path = self.dir.path().join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }
}

#[test]
fn the_package_holds_the_binary_manual_completions_unit_and_configuration() {
    let listing = dpkg_deb(&["--contents"], &package());
    let mut expected = vec![
        "./usr/sbin/lbdns".to_owned(),
        "./etc/lbdns/lbdns.toml".to_owned(),
        "./usr/lib/systemd/system/lbdns.service".to_owned(),
        "./usr/share/man/man1/lbdns.1.gz".to_owned(),
        "./usr/share/bash-completion/completions/lbdns".to_owned(),
        "./usr/share/zsh/vendor-completions/_lbdns".to_owned(),
        "./usr/share/fish/vendor_completions.d/lbdns.fish".to_owned(),
        "./usr/share/doc/lbdns/copyright".to_owned(),
        "./usr/share/doc/lbdns/changelog.Debian.gz".to_owned(),
        "./usr/share/doc/lbdns/examples/example.com.zone".to_owned(),
    ];
    expected.extend(COMMANDS.map(|command| format!("./usr/share/man/man1/lbdns-{command}.1.gz")));
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .collect();
    for path in &expected {
        assert!(paths.contains(&path.as_str()), "{path} in:\n{listing}");
    }
}

#[test]
fn the_packaged_binary_embeds_the_xdp_program_and_runs() {
    let unpacked = Unpacked::new();
    let binary = unpacked.root().join("usr/sbin/lbdns");
    let bytes = std::fs::read(&binary).expect("the packaged binary");
    let object = lbdns::ebpf_object::PROGRAM;
    assert!(
        bytes.windows(object.len()).any(|window| window == object),
        "{} does not hold the XDP object the tests were built with",
        binary.display()
    );
    let version = run_ok(Command::new(&binary).arg("--version"), TIMEOUT)
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(
        version.stdout.trim(),
        format!("lbdns {}", env!("CARGO_PKG_VERSION"))
    );
    for command in COMMANDS {
        let page = unpacked
            .root()
            .join(format!("usr/share/man/man1/lbdns-{command}.1.gz"));
        assert!(page.is_file(), "{}", page.display());
    }
}

#[test]
fn the_unit_and_the_commented_example_configuration_are_the_repository_s() {
    let unpacked = Unpacked::new();
    let unit = std::fs::read_to_string(workspace_root().join("dist/lbdns.service")).expect("unit");
    assert_eq!(
        unpacked.read("root/usr/lib/systemd/system/lbdns.service"),
        unit
    );
    assert_eq!(
        unpacked.read("control/conffiles").trim(),
        "/etc/lbdns/lbdns.toml"
    );

    // As the comment in the file says: copy the example zone beside it and uncomment the
    // settings; `lbdns check` must accept the result.
    let etc = unpacked.root().join("etc/lbdns");
    std::fs::copy(
        unpacked
            .root()
            .join("usr/share/doc/lbdns/examples/example.com.zone"),
        etc.join("example.com.zone"),
    )
    .expect("copy the example zone");
    let config = unpacked.read("root/etc/lbdns/lbdns.toml");
    let uncommented: String = config
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(setting) if setting.starts_with(|c: char| c == '[' || c.is_ascii_lowercase()) => {
                setting
            }
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(uncommented, config, "the example is commented out");
    let path = etc.join("lbdns.toml");
    std::fs::write(&path, uncommented).expect("write the configuration");
    let check = run_ok(
        Command::new(unpacked.root().join("usr/sbin/lbdns"))
            .args(["check", "--config"])
            .arg(&path),
        TIMEOUT,
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    assert!(
        check.stdout.contains("example.com.: "),
        "{}",
        check.combined()
    );
}

#[test]
fn the_maintainer_scripts_create_the_user_and_clean_up_on_purge() {
    let unpacked = Unpacked::new();
    let control = unpacked.read("control/control");
    let depends = control
        .lines()
        .find_map(|line| line.strip_prefix("Depends: "))
        .unwrap_or_else(|| panic!("no Depends in:\n{control}"));
    assert!(depends.contains("adduser"), "{depends}");
    let postinst = unpacked.read("control/postinst");
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(postinst.contains("deb-systemd-helper"), "{postinst}");
    let postrm = unpacked.read("control/postrm");
    assert!(
        postrm.contains("purge") && postrm.contains("deluser"),
        "{postrm}"
    );
}

#[test]
fn lintian_finds_no_error() {
    let out = run_ok(
        Command::new("lintian")
            .args(["--fail-on", "error", "--tag-display-limit", "0"])
            .arg(package()),
        LINTIAN_TIMEOUT,
    )
    .unwrap_or_else(|error| panic!("{error:#}"));
    // Warnings are allowed, and printed so the run shows them.
    eprintln!("{}", out.combined());
}
