//! A restart without systemd that loses no query: the new process takes the running one's
//! sockets instead of binding its own, so both read the same sockets, and the old one stops
//! reading only once the new one answers.
//!
//! The running daemon listens at `<control socket>.handover` (mode 0600). A new `lbdns serve`
//! with the same control socket connects there before anything else and sends `handover`.
//! The old daemon then leaves XDP to it (stops writing the maps and beating, keeps the pins)
//! and replies `ok` with every socket it serves on attached (`SCM_RIGHTS`). The new process
//! adopts the pinned maps, serves on those sockets, and once they answer sends `done`: the
//! old one exits. If the new process goes away before `done`, the old one keeps serving on the
//! sockets (without XDP, which it gave up) and logs it.

use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::fds;
use super::inherit::Inherited;

/// Bound on each step of the exchange; the old daemon answers in milliseconds.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the daemon using `control` listens for a successor.
pub fn path(control: &Path) -> PathBuf {
    let mut path = control.as_os_str().to_owned();
    path.push(".handover");
    PathBuf::from(path)
}

/// The running daemon's side: listens at [`path`] on a thread of its own. On a request it
/// calls `leave` (give XDP up), passes `sockets`, and calls `done` once the successor answers.
pub fn listen(
    control: &Path,
    sockets: Vec<OwnedFd>,
    leave: impl Fn() + Send + 'static,
    done: impl FnOnce() + Send + 'static,
) -> io::Result<()> {
    let path = path(control);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new()
        .name("handover".to_owned())
        .spawn(move || {
            // One successor at a time; ends with the first that completes.
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                match hand_over(stream, &sockets, &leave) {
                    Ok(()) => {
                        tracing::info!("the new process answers: exiting, XDP stays pinned");
                        done();
                        return;
                    }
                    Err(error) => tracing::error!(
                        "handover to a new process failed ({error}); serving on, without XDP \
                         if it was given up"
                    ),
                }
            }
        })?;
    Ok(())
}

fn hand_over(stream: UnixStream, sockets: &[OwnedFd], leave: &impl Fn()) -> io::Result<()> {
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line.trim() != "handover" {
        return Err(io::Error::other(format!(
            "unknown request {:?}",
            line.trim()
        )));
    }
    tracing::info!("a new process takes over: giving it the sockets and XDP");
    leave();
    let borrowed: Vec<_> = sockets.iter().map(AsFd::as_fd).collect();
    fds::send(stream.as_fd(), b"ok\n", &borrowed)?;
    // The new process loads its zones before it answers: seconds for millions of names.
    stream.set_read_timeout(None)?;
    line.clear();
    reader.read_line(&mut line)?;
    match line.trim() {
        "done" => Ok(()),
        "" => Err(io::Error::other(
            "the new process went away before it answered",
        )),
        other => Err(io::Error::other(format!("unknown reply {other:?}"))),
    }
}

/// The new process's side of a handover in progress.
#[derive(Debug)]
pub struct Takeover {
    stream: UnixStream,
}

/// Asks a daemon running with `control` for its sockets. `None` when none listens (a first
/// start, or a restart by systemd, whose fd store carries the sockets instead).
pub fn request(control: &Path) -> io::Result<Option<(Takeover, Inherited)>> {
    let Ok(mut stream) = UnixStream::connect(path(control)) else {
        return Ok(None);
    };
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    stream.write_all(b"handover\n")?;
    let mut reply = [0u8; 16];
    let (len, received) = fds::recv(stream.as_fd(), &mut reply)?;
    if &reply[..len] != b"ok\n" {
        return Err(io::Error::other("the running daemon refused the handover"));
    }
    Ok(Some((Takeover { stream }, Inherited::from_fds(received))))
}

impl Takeover {
    /// This process answers: the old one may stop reading and exit. Returns once it has
    /// (bounded), so that its control socket is free.
    pub fn done(mut self, control: &Path) -> io::Result<()> {
        self.stream.write_all(b"done\n")?;
        let deadline = std::time::Instant::now() + STEP_TIMEOUT;
        // The old daemon removes its handover socket as it exits; 10 ms steps, bounded.
        while path(control).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}
