//! A small in-process primary for the transfer client's tests: a TCP listener (and a UDP
//! socket on the same port) that answers each connection with the messages a script makes
//! from the request, well-formed or not, signed with TSIG when it has keys.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::tsig::{self, KeyRing, ResponseSigner};

/// What one connection (or one UDP query) gets back.
pub enum Reply {
    /// These messages, each signed if the primary has keys, framed over TCP.
    Messages(Vec<Vec<u8>>),
    /// [`Reply::Messages`] with one octet of the first message's question changed after
    /// signing, as a forger or a broken middlebox would.
    Tampered(Vec<Vec<u8>>),
    /// These octets as they are: crafted framing, garbage.
    Raw(Vec<u8>),
    /// Nothing, with the connection kept open.
    Hang,
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
    /// UDP query with `udp`, if given. With `keys`, a request must verify and every reply
    /// message is signed (RFC 8945 §5.3); a request that does not verify gets the §5.2 error.
    pub async fn start(tcp: Vec<Script>, udp: Option<Script>, keys: Option<KeyRing>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let log = seen.clone();
        let tcp_keys = keys.clone();
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
                let Some(messages) = respond(&request, &script, tcp_keys.as_ref(), &log) else {
                    hanging.push(stream);
                    continue;
                };
                let octets: Vec<u8> = match messages {
                    Ok(messages) => messages.iter().flat_map(|m| framed(m)).collect(),
                    Err(raw) => raw,
                };
                // The client may have hung up already (it stops at the final SOA).
                let _ = stream.write_all(&octets).await;
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
                    let reply = respond(&buffer[..len], &script, keys.as_ref(), &log);
                    let octets = match reply {
                        Some(Ok(messages)) => messages.concat(),
                        Some(Err(raw)) => raw,
                        None => continue,
                    };
                    let _ = socket.send_to(&octets, from).await;
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

/// The messages answering `request` (octets), signed when there are keys; `Err` for raw
/// octets to send as they are; `None` to say nothing.
fn respond(
    request: &[u8],
    script: &Script,
    keys: Option<&KeyRing>,
    log: &Mutex<Vec<Seen>>,
) -> Option<Result<Vec<Vec<u8>>, Vec<u8>>> {
    let mut signer = None;
    let unsigned = match keys {
        Some(keys) => match tsig::verify_request(request, keys, tsig::now()) {
            Ok(Some(signed)) => {
                signer = Some(ResponseSigner::new(&signed));
                signed.message().to_vec()
            }
            Ok(None) => request.to_vec(),
            Err(error) => return tsig::error_reply(request, &error).map(|reply| Ok(vec![reply])),
        },
        None => request.to_vec(),
    };
    let parsed = Message::from_vec(&unsigned).expect("the client's request parses");
    log.lock().unwrap().push(seen_in(&parsed));
    let (mut messages, tamper) = match script(&parsed) {
        Reply::Messages(messages) => (messages, false),
        Reply::Tampered(messages) => (messages, true),
        Reply::Raw(octets) => return Some(Err(octets)),
        Reply::Hang => return None,
    };
    if let Some(signer) = signer.as_mut() {
        for message in &mut messages {
            signer.sign(message, tsig::now());
        }
    }
    if tamper {
        // The first octet of the question's first label: still a well-formed message.
        messages[0][13] ^= 0x20;
    }
    Some(Ok(messages))
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
    Box::new(move |request| {
        Reply::Messages(
            chunks
                .iter()
                .map(|chunk| message(request, ResponseCode::NoError, chunk))
                .collect(),
        )
    })
}

/// A script that answers with one message carrying `rcode` and no records.
pub fn rcode(rcode: ResponseCode) -> Script {
    Box::new(move |request| Reply::Messages(vec![message(request, rcode, &[])]))
}

/// A script that writes `octets` whatever the request, then closes.
pub fn raw(octets: Vec<u8>) -> Script {
    Box::new(move |_| Reply::Raw(octets.clone()))
}
