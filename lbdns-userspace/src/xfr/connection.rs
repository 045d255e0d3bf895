//! The TCP side of a transfer: connect, send the request, read length-prefixed messages
//! (RFC 1035 §4.2.2, RFC 7766 §8) within the transfer's `Limits`.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::error::XfrErrorKind;
use super::Limits;

pub(super) struct Connection {
    stream: TcpStream,
    /// When the whole transfer must be over.
    deadline: Instant,
    limits: Limits,
    messages: usize,
    octets: u64,
}

impl Connection {
    pub(super) async fn open(primary: SocketAddr, limits: &Limits) -> Result<Self, XfrErrorKind> {
        let deadline = Instant::now() + limits.transfer_time;
        let stream = timeout_at(
            deadline.min(Instant::now() + limits.idle),
            TcpStream::connect(primary),
        )
        .await
        .map_err(|_| XfrErrorKind::Timeout("connecting"))?
        .map_err(XfrErrorKind::Connect)?;
        // Requests are small and the replies are read whole; Nagle would only delay the request.
        stream.set_nodelay(true).map_err(XfrErrorKind::Io)?;
        Ok(Self {
            stream,
            deadline,
            limits: limits.clone(),
            messages: 0,
            octets: 0,
        })
    }

    pub(super) async fn send(&mut self, message: &[u8]) -> Result<(), XfrErrorKind> {
        let len = u16::try_from(message.len()).expect("a request fits a TCP message");
        let mut framed = Vec::with_capacity(message.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(message);
        bounded(
            self.until(),
            "sending the request",
            self.stream.write_all(&framed),
        )
        .await?
        .map_err(XfrErrorKind::Io)
    }

    /// The next message, or `None` when the primary closed the connection between messages.
    pub(super) async fn receive(&mut self) -> Result<Option<Vec<u8>>, XfrErrorKind> {
        let mut len = [0u8; 2];
        let first = bounded(
            self.until(),
            "waiting for a message",
            self.stream.read(&mut len),
        )
        .await?
        .map_err(XfrErrorKind::Io)?;
        match first {
            0 => return Ok(None),
            1 => {
                let until = self.until();
                bounded(
                    until,
                    "reading a message length",
                    self.stream.read_exact(&mut len[1..]),
                )
                .await?
                .map_err(|e| cut_short(e, self.messages + 1))?;
            }
            _ => {}
        }
        self.messages += 1;
        if self.messages > self.limits.max_messages {
            return Err(XfrErrorKind::Limit(format!(
                "{} messages",
                self.limits.max_messages
            )));
        }
        let len = usize::from(u16::from_be_bytes(len));
        self.octets += len as u64 + 2;
        if self.octets > self.limits.max_octets {
            return Err(XfrErrorKind::Limit(format!(
                "{} octets",
                self.limits.max_octets
            )));
        }
        let mut message = vec![0u8; len];
        let until = self.until();
        bounded(
            until,
            "reading a message",
            self.stream.read_exact(&mut message),
        )
        .await?
        .map_err(|e| cut_short(e, self.messages))?;
        Ok(Some(message))
    }

    /// The idle timeout or the transfer's deadline, whichever comes first.
    fn until(&self) -> Instant {
        self.deadline.min(Instant::now() + self.limits.idle)
    }
}

async fn bounded<T>(
    until: Instant,
    what: &'static str,
    io: impl std::future::Future<Output = T>,
) -> Result<T, XfrErrorKind> {
    timeout_at(until, io)
        .await
        .map_err(|_| XfrErrorKind::Timeout(what))
}

/// A connection closed inside a message is a truncated stream, not an I/O failure.
fn cut_short(e: std::io::Error, message: usize) -> XfrErrorKind {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        XfrErrorKind::Malformed {
            message,
            why: super::error::Malformed::CutShort,
        }
    } else {
        XfrErrorKind::Io(e)
    }
}
