//! The local control socket: how `lbdns stats`, `status`, `drain` and `undrain` reach a running
//! daemon. A Unix stream socket, mode 0600 in a 0700 directory, so only root can use it.
//!
//! The protocol is one request line, then the daemon writes its reply and closes. Text both
//! ways keeps it usable with `socat` when the CLI is not at hand.

use std::fs::Permissions;
use std::io::{self, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

/// Where `serve` listens and `stats` connects unless told otherwise.
pub const DEFAULT_PATH: &str = "/run/lbdns/control.sock";

/// A request the daemon understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The socket path's counters, and the XDP program's (summed over CPUs) when it runs.
    Stats,
    /// Every pool, its endpoints, their health and last check.
    Status,
    /// Take an endpoint address out of every pool that has it, without editing the config.
    Drain(IpAddr),
    /// Put a drained endpoint back.
    Undrain(IpAddr),
}

impl Request {
    fn line(self) -> String {
        match self {
            Request::Stats => "stats".to_owned(),
            Request::Status => "status".to_owned(),
            Request::Drain(address) => format!("drain {address}"),
            Request::Undrain(address) => format!("undrain {address}"),
        }
    }

    fn parse(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        let request = match (words.next()?, words.next()) {
            ("stats", None) => Request::Stats,
            ("status", None) => Request::Status,
            ("drain", Some(address)) => Request::Drain(address.parse().ok()?),
            ("undrain", Some(address)) => Request::Undrain(address.parse().ok()?),
            _ => return None,
        };
        words.next().is_none().then_some(request)
    }
}

/// Binds the control socket, replacing a stale one left by a daemon that died, but refusing to
/// take over from one that is still running.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another lbdns is running (its control socket is {})",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers requests with `answer` until the task is dropped. `answer` may block (a drain
/// writes the XDP maps), so it runs on tokio's blocking pool, not on a runtime worker.
pub async fn serve(
    listener: UnixListener,
    answer: impl Fn(Request) -> String + Send + Sync + 'static,
) {
    let answer = std::sync::Arc::new(answer);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let reply = match tokio::io::BufReader::new(read).read_line(&mut line).await {
            Ok(_) => match Request::parse(&line) {
                Some(request) => {
                    let answer = answer.clone();
                    tokio::task::spawn_blocking(move || answer(request))
                        .await
                        .unwrap_or_else(|error| format!("error: {error}\n"))
                }
                None => format!("error: unknown request {:?}\n", line.trim()),
            },
            Err(error) => format!("error: {error}\n"),
        };
        let _ = write.write_all(reply.as_bytes()).await;
    }
}

/// Sends `request` to the daemon at `path` and returns its reply. Blocking: the CLI side.
pub fn ask(path: &Path, request: Request) -> io::Result<String> {
    let mut stream = UnixStream::connect(path).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!(
                "cannot reach lbdns at {}: {error} (is `lbdns serve` running?)",
                path.display()
            ),
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    writeln!(stream, "{}", request.line())?;
    let mut reply = String::new();
    BufReader::new(stream).read_to_string(&mut reply)?;
    if let Some(error) = reply.lines().next().and_then(|l| l.strip_prefix("error: ")) {
        return Err(io::Error::other(error.to_owned()));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stats_round_trip_and_stale_socket_replacement() {
        let dir = std::env::temp_dir().join(format!("lbdns-control-{}", std::process::id()));
        let path = dir.join("sub/control.sock");
        let listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            bind(&path).is_err(),
            "a live daemon's socket is not taken over"
        );
        let server = tokio::spawn(serve(listener, |request| format!("{request:?} ok\n")));
        let asked = path.clone();
        let reply = tokio::task::spawn_blocking(move || ask(&asked, Request::Stats))
            .await
            .unwrap();
        assert_eq!(reply.unwrap(), "Stats ok\n");
        let asked = path.clone();
        let drain = Request::Drain("2001:db8::1".parse().unwrap());
        let reply = tokio::task::spawn_blocking(move || ask(&asked, drain))
            .await
            .unwrap();
        assert_eq!(reply.unwrap(), "Drain(2001:db8::1) ok\n");
        server.abort();
        let _ = server.await;
        // The listener is gone but its file remains, as after a crash.
        bind(&path).expect("a stale socket file is replaced");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod request_tests {
    use super::Request;

    #[test]
    fn requests_round_trip_and_junk_is_refused() {
        for request in [
            Request::Stats,
            Request::Status,
            Request::Drain("198.18.0.1".parse().unwrap()),
            Request::Undrain("2001:db8::1".parse().unwrap()),
        ] {
            assert_eq!(Request::parse(&request.line()), Some(request));
        }
        for junk in ["", "drain", "drain nonsense", "stats now", "reboot"] {
            assert_eq!(Request::parse(junk), None, "{junk:?}");
        }
    }
}
