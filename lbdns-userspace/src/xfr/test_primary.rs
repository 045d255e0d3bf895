//! A small in-process primary for the transfer client's tests: a TCP listener (and a UDP
//! socket on the same port) that answers each connection with the octets a script makes from
//! the request, well-formed or not.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// What one connection (or one UDP query) gets back: the octets to write, length prefixes
/// included, and whether to keep the connection open without a word afterwards.
pub struct Reply {
    pub octets: Vec<u8>,
    pub hang: bool,
}

pub type Script = Box<dyn Fn(&Message) -> Reply + Send + Sync>;

/// A request as the primary saw it: its type and, for IXFR, the serial the client holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub qtype: RecordType,
    pub serial: Option<u32>,
}

pub struct TestPrimary {
    pub address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl TestPrimary {
    /// Serves the i-th TCP connection with `tcp[i]` (later ones are closed at once) and every
    /// UDP query with `udp`, if given.
    pub async fn start(tcp: Vec<Script>, udp: Option<Script>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let log = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut hanging = Vec::new();
            for script in tcp {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).await.is_err() {
                    continue;
                }
                let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut request).await.is_err() {
                    continue;
                }
                let request = Message::from_vec(&request).expect("the client's request parses");
                log.lock().unwrap().push(seen_in(&request));
                let reply = script(&request);
                // The client may have hung up already (it stops at the final SOA).
                let _ = stream.write_all(&reply.octets).await;
                if reply.hang {
                    hanging.push(stream);
                }
            }
            // Keep hung connections open until the test ends.
            std::future::pending::<()>().await;
        }));
        if let Some(script) = udp {
            let socket = UdpSocket::bind(address).await.unwrap();
            let log = seen.clone();
            tasks.push(tokio::spawn(async move {
                let mut buffer = vec![0u8; 65535];
                while let Ok((len, from)) = socket.recv_from(&mut buffer).await {
                    let request = Message::from_vec(&buffer[..len]).unwrap();
                    log.lock().unwrap().push(seen_in(&request));
                    let reply = script(&request);
                    let _ = socket.send_to(&reply.octets, from).await;
                }
            }));
        }
        Self {
            address,
            seen,
            tasks,
        }
    }

    /// The requests received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestPrimary {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn seen_in(request: &Message) -> Seen {
    let serial = request.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    });
    Seen {
        qtype: request.queries[0].query_type(),
        serial,
    }
}

/// One response message to `request` with these answers, unframed.
pub fn message(request: &Message, rcode: ResponseCode, answers: &[Record]) -> Vec<u8> {
    let mut message = Message::response(request.metadata.id, OpCode::Query);
    message.metadata.authoritative = true;
    message.metadata.response_code = rcode;
    message.add_query(request.queries[0].clone());
    message.add_answers(answers.iter().cloned());
    message.to_vec().unwrap()
}

/// A two-octet length, then the message.
pub fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

/// A script that answers with `chunks` of records, one message each, then closes.
pub fn answers(chunks: Vec<Vec<Record>>) -> Script {
    Box::new(move |request| Reply {
        octets: chunks
            .iter()
            .flat_map(|chunk| framed(&message(request, ResponseCode::NoError, chunk)))
            .collect(),
        hang: false,
    })
}

/// A script that writes `octets` whatever the request, then closes.
pub fn raw(octets: Vec<u8>) -> Script {
    Box::new(move |_| Reply {
        octets: octets.clone(),
        hang: false,
    })
}
