//! NOTIFY out (RFC 1996): when a served zone's serial changes, each address of its `notify`
//! list is told, signed with the entry's key if it names one, so secondaries refresh at once
//! rather than at their next SOA refresh.
//!
//! Each announcement runs on a thread of its own and never holds up the reload that caused
//! it: per target, up to [`ATTEMPTS`] NOTIFYs over UDP, waiting [`FIRST_WAIT`] for the
//! answer and doubling the wait each time (RFC 1996 §3.6 asks for retries with growing
//! intervals). The outcome is logged.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::authority::Catalog;
use crate::transfer_out::{soa_serial, NotifyTarget};
use crate::tsig::{self, Key, ResponseVerifier};

/// NOTIFYs sent to one target before giving up.
pub const ATTEMPTS: u32 = 5;
/// How long the first NOTIFY waits for its answer; each retry waits twice as long.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

const OPCODE_NOTIFY: u8 = 4;

/// One zone to announce: its origin, its new serial and where to.
#[derive(Debug, Clone)]
pub struct Announcement {
    pub origin: Name,
    pub serial: u32,
    pub targets: Vec<(NotifyTarget, Option<Arc<Key>>)>,
}

/// The zones whose serial differs between `previous` and `current` (or that `current` adds)
/// and that have a `notify` list: what a change of the served catalog must announce.
pub fn changed(previous: Option<&Catalog>, current: &Catalog) -> Vec<Announcement> {
    let transfers = current.transfers();
    transfers
        .zones()
        .filter(|(_, rules)| !rules.notify.is_empty())
        .filter_map(|(origin, rules)| {
            let zone = current.zone_for(&origin).filter(|z| z.origin == origin)?;
            let serial = soa_serial(zone);
            let before = previous
                .and_then(|p| p.zone_for(&origin).filter(|z| z.origin == origin))
                .map(soa_serial);
            if before == Some(serial) {
                return None;
            }
            let targets = rules
                .notify
                .iter()
                .map(|target| {
                    let key = target.key.as_ref().and_then(|k| transfers.keys.get(k));
                    (target.clone(), key.cloned())
                })
                .collect();
            Some(Announcement {
                origin: zone.origin.clone(),
                serial,
                targets,
            })
        })
        .collect()
}

/// Sends every announcement in the background, one thread per target.
pub fn spawn(announcements: Vec<Announcement>) {
    for announcement in announcements {
        for (target, key) in announcement.targets {
            let (origin, serial) = (announcement.origin.clone(), announcement.serial);
            let spawned = thread::Builder::new()
                .name(format!("notify {}", target.address))
                .spawn(move || notify(&origin, serial, target.address, key.as_deref()));
            if let Err(error) = spawned {
                tracing::warn!(%error, "cannot start a NOTIFY thread");
            }
        }
    }
}

/// Tells `address` that `origin` is now at `serial`, retrying; logs the outcome.
fn notify(origin: &Name, serial: u32, address: SocketAddr, key: Option<&Key>) {
    let mut wait = FIRST_WAIT;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match exchange(origin, serial, address, key, wait) {
            Ok(()) => {
                tracing::info!(zone = %origin, serial, %address, attempt, "NOTIFY answered");
                return;
            }
            Err(error) => {
                tracing::debug!(zone = %origin, %address, attempt, %error, "NOTIFY not answered");
                last = error;
            }
        }
        wait *= 2;
    }
    tracing::warn!(zone = %origin, serial, %address, "NOTIFY gave up after {ATTEMPTS} attempts: {last}");
}

/// One NOTIFY and its answer.
fn exchange(
    origin: &Name,
    serial: u32,
    address: SocketAddr,
    key: Option<&Key>,
    wait: Duration,
) -> Result<(), String> {
    let id: u16 = rand_id();
    let mut message = message(id, origin);
    let now = tsig::now();
    let mut verifier = key.map(|key| {
        let mac = tsig::sign_request(&mut message, key, now);
        ResponseVerifier::new(key, mac)
    });
    let local: SocketAddr = if address.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    socket.connect(address).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(wait))
        .map_err(|e| e.to_string())?;
    socket.send(&message).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    // Bounded: each receive waits at most `wait`; a stray datagram costs one more round.
    for _ in 0..4 {
        let len = socket.recv(&mut buf).map_err(|e| e.to_string())?;
        let reply = &buf[..len];
        if reply.len() < 12 || reply[..2] != id.to_be_bytes() || reply[2] & 0x80 == 0 {
            continue;
        }
        if let Some(verifier) = &mut verifier {
            verifier
                .verify(reply, tsig::now())
                .map_err(|e| format!("answer's TSIG: {e}"))?;
        }
        let opcode = (reply[2] >> 3) & 0xf;
        let rcode = reply[3] & 0xf;
        if opcode != OPCODE_NOTIFY || rcode != 0 {
            return Err(format!(
                "answered with opcode {opcode} rcode {rcode} (serial {serial})"
            ));
        }
        return Ok(());
    }
    Err("no matching answer".into())
}

/// A NOTIFY for `origin` (RFC 1996 §3.7): opcode NOTIFY, AA, the question `origin SOA IN`.
fn message(id: u16, origin: &Name) -> Vec<u8> {
    let mut message = id.to_be_bytes().to_vec();
    message.extend_from_slice(&[OPCODE_NOTIFY << 3 | 0x04, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in origin.iter() {
        message.push(label.len() as u8);
        message.extend_from_slice(label);
    }
    message.extend_from_slice(&[0, 0, 6, 0, 1]);
    message
}

/// A message ID no one on the path can guess (RFC 5452 §9.2's advice for queries).
fn rand_id() -> u16 {
    let mut id = [0u8; 2];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).is_err() {
        return std::process::id() as u16;
    }
    u16::from_be_bytes(id)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::transfer_out::{Transfers, ZoneRules};
    use crate::tsig::{Algorithm, KeyRing, ResponseSigner};
    use crate::zone::{Zone, ZoneSpec};

    fn catalog(serial: u32, notify: &str) -> Catalog {
        let text = format!(
            "$ORIGIN example.test.\n$TTL 60\n@ SOA ns h {serial} 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n"
        );
        let zone = Zone::parse(&text, Path::new("n.zone"), None).unwrap();
        let mut keys = KeyRing::default();
        keys.insert(Key::new(
            Name::from_ascii("k.").unwrap(),
            Algorithm::HmacSha256,
            b"notify secret".to_vec(),
        ));
        let rules = ZoneRules {
            file: PathBuf::from("n.zone"),
            origin: None,
            provide_xfr: Vec::new(),
            notify: vec![NotifyTarget::parse(notify).unwrap()],
        };
        let spec = ZoneSpec {
            file: PathBuf::from("n.zone"),
            origin: None,
        };
        let transfers = Transfers::new(keys, &[rules], &[(spec.file.clone(), zone.origin.clone())]);
        Catalog::new(&[zone]).unwrap().with_transfers(transfers)
    }

    #[test]
    fn rfc1996_4_a_serial_change_is_announced_an_unchanged_zone_is_not() {
        let old = catalog(1, "192.0.2.9 k");
        assert!(changed(Some(&old), &catalog(1, "192.0.2.9 k")).is_empty());
        let announced = changed(Some(&old), &catalog(2, "192.0.2.9 k"));
        assert_eq!(announced.len(), 1);
        assert_eq!(announced[0].serial, 2);
        assert_eq!(announced[0].origin.to_ascii(), "example.test.");
        assert!(announced[0].targets[0].1.is_some(), "the key is found");
        assert_eq!(changed(None, &old).len(), 1, "a zone first served");
    }

    #[test]
    fn rfc1996_3_7_a_signed_notify_is_answered_and_checked() {
        let key = Key::new(
            Name::from_ascii("k.").unwrap(),
            Algorithm::HmacSha256,
            b"notify secret".to_vec(),
        );
        let mut keys = KeyRing::default();
        keys.insert(key.clone());
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = peer.local_addr().unwrap();
        let secondary = thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let (len, from) = peer.recv_from(&mut buf).unwrap();
            let signed = tsig::verify_request(&buf[..len], &keys, tsig::now())
                .unwrap()
                .expect("signed");
            let request = signed.message();
            assert_eq!((request[2] >> 3) & 0xf, OPCODE_NOTIFY);
            let mut reply = request.to_vec();
            reply[2] |= 0x80;
            ResponseSigner::new(&signed).sign(&mut reply, tsig::now());
            peer.send_to(&reply, from).unwrap();
        });
        let origin = Name::from_ascii("example.test.").unwrap();
        exchange(&origin, 2, address, Some(&key), Duration::from_secs(5)).unwrap();
        secondary.join().unwrap();
    }
}
