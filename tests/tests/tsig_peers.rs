//! `lbdns::tsig` against real peers (RFC 8945), on loopback:
//! - kdig signs a query; lbdns verifies it and signs the reply; kdig verifies that;
//! - kdig with a wrong secret or an unknown key gets lbdns's §5.2 error replies (kdig shows
//!   the TSIG error as the status, and the record's error field);
//! - lbdns signs an AXFR request to Knot and verifies every message of the stream (§5.3.1),
//!   and a stream verified with the wrong key fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use lbdns::tsig::{self, Algorithm, Key, KeyRing, ResponseSigner, ResponseVerifier};
use lbdns_tests::env::{free_loopback_port, run_bounded};
use lbdns_tests::{preflight, TempDir};

const SECRET: &str = "c2VjcmV0LWZvci1sYmRucy10c2lnLXRlc3RzLTEyMzQ1Ng==";
const WRONG: &str = "d3Jvbmctc2VjcmV0LWZvci1sYmRucy10c2lnLXRlc3Q=";

fn key(algorithm: Algorithm, secret: &str) -> Key {
    Key::new(
        Name::from_ascii("xfr-key.").unwrap(),
        algorithm,
        decode(secret),
    )
}

fn decode(text: &str) -> Vec<u8> {
    data_encoding::BASE64
        .decode(text.as_bytes())
        .expect("base64")
}

/// A one-shot UDP responder that answers `www.example.com A 192.0.2.1` as lbdns's socket path
/// does with TSIG: verify, answer the request without its TSIG, sign the reply; or the §5.2
/// error reply.
fn respond_once(socket: &UdpSocket, keys: &KeyRing) -> Result<()> {
    let mut buf = [0u8; 4096];
    let (len, peer) = socket.recv_from(&mut buf)?;
    let query = &buf[..len];
    let reply = match tsig::verify_request(query, keys, tsig::now()) {
        Ok(Some(signed)) => {
            let mut reply = answer(signed.message());
            ResponseSigner::new(&signed).sign(&mut reply, tsig::now());
            reply
        }
        Ok(None) => answer(query),
        Err(error) => tsig::error_reply(query, &error).context("no error reply")?,
    };
    socket.send_to(&reply, peer)?;
    Ok(())
}

/// The header and question of `query` with QR, AA and one A record.
fn answer(query: &[u8]) -> Vec<u8> {
    let mut end = 12;
    while query[end] != 0 {
        end += 1 + usize::from(query[end]);
    }
    let mut reply = query[..end + 5].to_vec();
    reply[2] |= 0x84;
    reply[6..12].copy_from_slice(&[0, 1, 0, 0, 0, 0]);
    reply.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    reply
}

fn kdig(port: u16, key: &str) -> Result<String> {
    let out = run_bounded(
        Command::new("kdig")
            .args(["-p", &port.to_string(), "@127.0.0.1", "-y", key])
            .args(["+retry=0", "+timeout=3", "www.example.com", "A"]),
        Duration::from_secs(10),
    )?;
    Ok(out.combined())
}

fn with_responder(keys: KeyRing, kdig_key: &str) -> Result<String> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    let port = socket.local_addr()?.port();
    let server = thread::spawn(move || respond_once(&socket, &keys));
    let output = kdig(port, kdig_key)?;
    server.join().expect("responder thread")?;
    Ok(output)
}

#[test]
fn rfc8945_5_3_kdig_verifies_replies_lbdns_signed() -> Result<()> {
    preflight(&["kdig"])?;
    for algorithm in Algorithm::ALL {
        let mut keys = KeyRing::default();
        keys.insert(key(algorithm, SECRET));
        let output = with_responder(keys, &format!("{algorithm}:xfr-key:{SECRET}"))?;
        ensure!(
            output.contains("status: NOERROR") && output.contains("192.0.2.1"),
            "{algorithm}: {output}"
        );
        ensure!(
            output.contains("TSIG PSEUDOSECTION") && output.contains("NOERROR"),
            "{algorithm}: no verified TSIG in the reply:\n{output}"
        );
        ensure!(
            !output.contains("WARNING") && !output.contains("failed"),
            "{algorithm}: kdig did not verify the reply:\n{output}"
        );
    }
    Ok(())
}

#[test]
fn rfc8945_5_2_kdig_gets_badsig_and_badkey_from_lbdns() -> Result<()> {
    preflight(&["kdig"])?;
    let mut keys = KeyRing::default();
    keys.insert(key(Algorithm::HmacSha256, SECRET));
    let output = with_responder(keys.clone(), &format!("hmac-sha256:xfr-key:{WRONG}"))?;
    ensure!(
        output.contains("TSIG\t") && output.contains(" BADSIG ") && output.contains("ANSWER: 0"),
        "a wrong secret:\n{output}"
    );
    let output = with_responder(keys.clone(), &format!("hmac-sha256:other-key:{SECRET}"))?;
    ensure!(
        output.contains("TSIG\t") && output.contains(" BADKEY ") && output.contains("ANSWER: 0"),
        "an unknown key:\n{output}"
    );
    let output = with_responder(keys, &format!("hmac-sha1:xfr-key:{SECRET}"))?;
    ensure!(
        output.contains("TSIG\t") && output.contains(" BADKEY ") && output.contains("ANSWER: 0"),
        "the key's name with another algorithm:\n{output}"
    );
    Ok(())
}

/// Knot serving a zone large enough for a multi-message AXFR, with `xfr-key` required.
struct Knot {
    child: std::process::Child,
    port: u16,
    _dir: TempDir,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn knot(names: usize) -> Result<Knot> {
    let dir = TempDir::new("tsig-knot")?;
    let mut zone = String::from(
        "$ORIGIN example.com.\n$TTL 60\n@ SOA ns h 7 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\n",
    );
    for i in 0..names {
        zone.push_str(&format!("host{i} A 192.0.2.{}\n", i % 250 + 1));
        zone.push_str(&format!("host{i} TXT \"{}\"\n", "x".repeat(60)));
    }
    dir.write("example.com.zone", &zone)?;
    let port = free_loopback_port()?;
    let d = dir.path().display();
    let conf = format!(
        "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n\
         database:\n  storage: \"{d}\"\n\
         key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
         acl:\n  - id: xfr\n    key: xfr-key\n    action: transfer\n\
         template:\n  - id: default\n    storage: \"{d}\"\n    journal-content: none\n\
         zone:\n  - domain: example.com\n    file: example.com.zone\n    acl: xfr\n"
    );
    let conf = dir.write("knot.conf", &conf)?;
    let child = Command::new("knotd")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("spawning knotd")?;
    let knot = Knot {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        ensure!(Instant::now() < deadline, "knotd did not listen on {port}");
        thread::sleep(Duration::from_millis(100));
    }
    Ok(knot)
}

/// Sends an AXFR request signed with `signer`, verifies the stream with `verifier_key`, and
/// returns how many messages and records it held.
fn axfr(port: u16, signer: &Key, verifier_key: &Key) -> Result<(usize, usize)> {
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = vec![0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    request.extend_from_slice(b"\x07example\x03com\x00\x00\xfc\x00\x01");
    let mac = tsig::sign_request(&mut request, signer, tsig::now());
    let mut frame = (request.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(&request);
    stream.write_all(&frame)?;
    let mut verifier = ResponseVerifier::new(verifier_key, mac);
    let (mut messages, mut records, mut soas) = (0, 0, 0);
    // Bounded: at most 10,000 messages, each read with a timeout.
    while soas < 2 && messages < 10_000 {
        let mut length = [0u8; 2];
        stream.read_exact(&mut length)?;
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut message)?;
        let plain = verifier.verify(&message, tsig::now())?;
        let parsed = Message::from_vec(&plain)?;
        messages += 1;
        records += parsed.answers.len();
        soas += parsed
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count();
    }
    verifier.finish()?;
    if soas < 2 {
        bail!("the transfer did not end with the SOA");
    }
    Ok((messages, records))
}

#[test]
fn rfc8945_5_3_1_lbdns_verifies_a_multi_message_axfr_knot_signed() -> Result<()> {
    preflight(&["knotd"])?;
    let names = 3000;
    let knot = knot(names)?;
    let good = key(Algorithm::HmacSha256, SECRET);
    let (messages, records) = axfr(knot.port, &good, &good)?;
    ensure!(messages > 1, "only {messages} message: not a stream");
    ensure!(records == 2 * names + 4, "{records} records");
    // The same stream checked with another secret fails on its first message.
    let wrong = key(Algorithm::HmacSha256, WRONG);
    let error = axfr(knot.port, &good, &wrong).unwrap_err();
    ensure!(
        error.to_string().contains("does not verify"),
        "wrong key: {error:#}"
    );
    // Knot does not know this key: its unsigned BADKEY reply is reported as such.
    let unknown = Key::new(
        Name::from_ascii("other-key.").unwrap(),
        Algorithm::HmacSha256,
        decode(SECRET),
    );
    let error = axfr(knot.port, &unknown, &unknown).unwrap_err();
    ensure!(
        error.to_string().contains("BADKEY"),
        "unknown key: {error:#}"
    );
    Ok(())
}
