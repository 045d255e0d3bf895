//! The local control socket: how `lbdns stats`, `status`, `reload`, `drain` and `undrain` reach
//! a running daemon. A Unix stream socket, mode 0600 in a 0700 directory, so only root can use
//! it.
//!
//! The protocol is one request line, then the daemon writes its reply and closes. Text both
//! ways keeps it usable with `socat` when the CLI is not at hand. A reply whose first line
//! starts with `error: ` reports a failure; the lines after it (a failed reload's `file:line`
//! errors) belong to it.

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
    Stats(Format),
    /// Every pool, its endpoints, their health and last check.
    Status(Format),
    /// Load the configuration, zones and pools again; the reply says what was loaded, or every
    /// error and that the previous data is still served.
    Reload,
    /// Take an endpoint address out of every pool that has it, without editing the config.
    Drain(IpAddr),
    /// Put a drained endpoint back.
    Undrain(IpAddr),
}

/// How `stats` and `status` replies are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Lines for a person.
    Text,
    /// One JSON document, for scripts.
    Json,
}

impl Format {
    fn suffix(self) -> &'static str {
        match self {
            Format::Text => "",
            Format::Json => " json",
        }
    }
}

impl Request {
    fn line(self) -> String {
        match self {
            Request::Stats(format) => format!("stats{}", format.suffix()),
            Request::Status(format) => format!("status{}", format.suffix()),
            Request::Reload => "reload".to_owned(),
            Request::Drain(address) => format!("drain {address}"),
            Request::Undrain(address) => format!("undrain {address}"),
        }
    }

    fn parse(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        let request = match (words.next()?, words.next()) {
            ("stats", None) => Request::Stats(Format::Text),
            ("stats", Some("json")) => Request::Stats(Format::Json),
            ("status", None) => Request::Status(Format::Text),
            ("status", Some("json")) => Request::Status(Format::Json),
            ("reload", None) => Request::Reload,
            ("drain", Some(address)) => Request::Drain(address.parse().ok()?),
            ("undrain", Some(address)) => Request::Undrain(address.parse().ok()?),
            _ => return None,
        };
        words.next().is_none().then_some(request)
    }

    /// How long the CLI waits for the reply. A reload reads every zone again, which takes
    /// seconds for a million names; everything else answers at once.
    fn timeout(self) -> Duration {
        match self {
            Request::Reload => Duration::from_secs(600),
            _ => Duration::from_secs(5),
        }
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
/// writes the XDP maps, a reload reads every zone), so it runs on tokio's blocking pool, not on
/// a runtime worker, and each connection has a task of its own: `stats` answers during a
/// reload.
pub async fn serve(
    listener: UnixListener,
    answer: impl Fn(Request) -> String + Send + Sync + 'static,
) {
    let answer = std::sync::Arc::new(answer);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let answer = answer.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let reply = match tokio::io::BufReader::new(read).read_line(&mut line).await {
                Ok(_) => match Request::parse(&line) {
                    Some(request) => tokio::task::spawn_blocking(move || answer(request))
                        .await
                        .unwrap_or_else(|error| format!("error: {error}\n")),
                    None => format!("error: unknown request {:?}\n", line.trim()),
                },
                Err(error) => format!("error: {error}\n"),
            };
            let _ = write.write_all(reply.as_bytes()).await;
        });
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
    stream.set_read_timeout(Some(request.timeout()))?;
    writeln!(stream, "{}", request.line())?;
    let mut reply = String::new();
    BufReader::new(stream).read_to_string(&mut reply)?;
    if let Some(error) = reply.strip_prefix("error: ") {
        return Err(io::Error::other(error.trim_end().to_owned()));
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
        let server = tokio::spawn(serve(listener, |request| match request {
            Request::Reload => "error: reload failed\nzone:6: bad address\n".to_owned(),
            _ => format!("{request:?} ok\n"),
        }));
        let asked = path.clone();
        let reply = tokio::task::spawn_blocking(move || ask(&asked, Request::Stats(Format::Json)))
            .await
            .unwrap();
        assert_eq!(reply.unwrap(), "Stats(Json) ok\n");
        let asked = path.clone();
        let drain = Request::Drain("2001:db8::1".parse().unwrap());
        let reply = tokio::task::spawn_blocking(move || ask(&asked, drain))
            .await
            .unwrap();
        assert_eq!(reply.unwrap(), "Drain(2001:db8::1) ok\n");
        // A failure's following lines are part of the error.
        let asked = path.clone();
        let reply = tokio::task::spawn_blocking(move || ask(&asked, Request::Reload))
            .await
            .unwrap();
        assert_eq!(
            reply.unwrap_err().to_string(),
            "reload failed\nzone:6: bad address"
        );
        server.abort();
        let _ = server.await;
        // The listener is gone but its file remains, as after a crash.
        bind(&path).expect("a stale socket file is replaced");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod request_tests {
    use super::{Format, Request};

    #[test]
    fn requests_round_trip_and_junk_is_refused() {
        for request in [
            Request::Stats(Format::Text),
            Request::Stats(Format::Json),
            Request::Status(Format::Text),
            Request::Status(Format::Json),
            Request::Reload,
            Request::Drain("198.18.0.1".parse().unwrap()),
            Request::Undrain("2001:db8::1".parse().unwrap()),
        ] {
            assert_eq!(Request::parse(&request.line()), Some(request));
        }
        for junk in [
            "",
            "drain",
            "drain nonsense",
            "stats now",
            "stats json json",
            "reload now",
            "reboot",
        ] {
            assert_eq!(Request::parse(junk), None, "{junk:?}");
        }
    }
}
