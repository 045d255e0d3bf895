//! Real backends for the health checks: a TCP listener that can be stopped and started again,
//! and an HTTP server whose status and body can be switched while it runs.
//!
//! They listen on endpoint addresses added to the server namespace's `lo`, so the daemon's
//! probes reach them over loopback and nothing leaves the namespace. Each listener is opened on
//! a thread that joined the namespace (a socket keeps the namespace it was made in) and served
//! by a plain thread of the test process, which the guard stops and joins on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lbdns_tests::Namespace;

/// How often the accept loop looks at its stop flag when no connection is waiting.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// Bound on reading one request or writing one response; probes are tiny.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// A listener in a namespace whose connections are handed to `serve`, one at a time. Closed
/// (new connections are refused) when dropped.
#[derive(Debug)]
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start(
        ns: &Namespace,
        address: SocketAddr,
        serve: impl Fn(TcpStream) + Send + 'static,
    ) -> Result<Self> {
        let listener = ns
            .enter(move || TcpListener::bind(address))?
            .with_context(|| format!("binding backend {address} in {}", ns.name()))?;
        // Non-blocking accepts let the thread notice the stop flag without a wake-up connection.
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(false).is_ok() {
                            serve(stream);
                        }
                    }
                    // WouldBlock, or a connection reset before it was accepted.
                    Err(_) => thread::sleep(ACCEPT_POLL),
                }
            }
            // The listener is dropped here: from now on connections are refused.
        });
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A TCP service that accepts and closes connections: what a `type = "tcp"` check calls up.
/// [`TcpBackend::stop`] closes the listening socket, so probes get "connection refused", and
/// [`TcpBackend::start`] opens it again on the same address.
#[derive(Debug)]
pub struct TcpBackend {
    address: SocketAddr,
    listener: Option<Listener>,
}

impl TcpBackend {
    /// Starts listening on `address` in `ns`.
    pub fn start_in(ns: &Namespace, address: SocketAddr) -> Result<Self> {
        let mut backend = Self {
            address,
            listener: None,
        };
        backend.start(ns)?;
        Ok(backend)
    }

    /// Opens the listener again in `ns`, its namespace (no-op if it is open).
    pub fn start(&mut self, ns: &Namespace) -> Result<()> {
        if self.listener.is_none() {
            // SO_REUSEADDR (std sets it) lets the port be bound again at once although
            // connections accepted earlier may still be in TIME_WAIT.
            self.listener = Some(Listener::start(ns, self.address, drop)?);
        }
        Ok(())
    }

    /// Closes the listener: from now on connections to the address are refused.
    pub fn stop(&mut self) {
        self.listener = None;
    }
}

/// What the HTTP backend answers every request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
        }
    }
}

/// An HTTP/1.1 server answering every request with the current [`Reply`] and closing the
/// connection, as a health endpoint that can be made sick and well again.
#[derive(Debug)]
pub struct HttpBackend {
    reply: Arc<Mutex<Reply>>,
    _listener: Listener,
}

impl HttpBackend {
    pub fn start(ns: &Namespace, address: SocketAddr, reply: Reply) -> Result<Self> {
        let reply = Arc::new(Mutex::new(reply));
        let current = reply.clone();
        let listener = Listener::start(ns, address, move |stream| {
            let reply = current
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            // A probe that gives up early is the prober's business, not a test failure.
            let _ = respond(stream, &reply);
        })?;
        Ok(Self {
            reply,
            _listener: listener,
        })
    }

    /// Answers every later request with `reply`.
    pub fn set(&self, reply: Reply) {
        *self
            .reply
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = reply;
    }
}

/// Reads one request head (the probe sends no body) and writes `reply`.
fn respond(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if Instant::now() >= deadline || head.len() > 64 * 1024 {
            return Ok(());
        }
        match stream.read(&mut chunk)? {
            0 => return Ok(()),
            n => head.extend_from_slice(&chunk[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 {} Test\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}
