//! TSIG, section by section of RFC 8945.

use std::path::PathBuf;

use hickory_proto::rr::Name;

use super::wire::{self, canonical_name};
use super::*;

const NOW: u64 = 1_700_000_000;

fn key(algorithm: Algorithm) -> Key {
    Key::new(
        Name::from_ascii("xfr-key.").unwrap(),
        algorithm,
        b"a shared secret of some length".to_vec(),
    )
}

fn ring(key: Key) -> KeyRing {
    let mut ring = KeyRing::default();
    ring.insert(key);
    ring
}

/// A query for `www.example.com. A`, ID 0x1234, RD.
fn query() -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["www", "example", "com"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A response to [`query`] with one A record, as a server would build it.
fn response(id: u16) -> Vec<u8> {
    let mut r = query();
    r[0..2].copy_from_slice(&id.to_be_bytes());
    r[2] = 0x85;
    r[7] = 1;
    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    r
}

fn arcount(message: &[u8]) -> u16 {
    u16::from_be_bytes([message[10], message[11]])
}

#[test]
fn rfc8945_4_2_the_record_is_appended_last_and_counted() {
    let key = key(Algorithm::HmacSha256);
    let mut message = query();
    let plain = message.clone();
    sign_request(&mut message, &key, NOW);
    assert_eq!(arcount(&message), 1);
    let found = wire::find(&message).unwrap().unwrap();
    assert_eq!(found.start, plain.len());
    assert_eq!(found.key_name, key.name);
    assert_eq!(found.algorithm.to_ascii(), "hmac-sha256.");
    assert_eq!(found.time_signed, NOW);
    assert_eq!(found.fudge, FUDGE);
    assert_eq!(found.mac.len(), 32);
    assert_eq!(found.original_id, 0x1234);
    assert_eq!((found.error, found.other), (0, &[][..]));
    assert_eq!(found.unsigned_message(&message, true), plain);
}

#[test]
fn rfc8945_5_1_a_tsig_that_is_not_last_is_formerr() {
    let key = key(Algorithm::HmacSha256);
    let mut message = query();
    sign_request(&mut message, &key, NOW);
    // An OPT record after the TSIG.
    message.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    message[11] += 1;
    let error = verify_request(&message, &ring(key), NOW).unwrap_err();
    assert!(matches!(error, TsigError::Malformed(_)), "{error}");
    let reply = error_reply(&message, &error).unwrap();
    assert_eq!(reply[3] & 0xf, 1, "FORMERR");
    assert_eq!(arcount(&reply), 0, "no TSIG on a FORMERR");
}

#[test]
fn rfc8945_5_2_a_good_request_verifies_and_is_returned_without_its_tsig() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let mut message = query();
        sign_request(&mut message, &key, NOW);
        let signed = verify_request(&message, &ring(key), NOW + 299)
            .unwrap()
            .expect("signed");
        assert_eq!(signed.message(), query(), "{algorithm}");
        assert_eq!(signed.key().algorithm, algorithm);
    }
    assert!(verify_request(&query(), &KeyRing::default(), NOW)
        .unwrap()
        .is_none());
}

#[test]
fn rfc8945_5_2_1_an_unknown_key_or_algorithm_is_badkey_unsigned() {
    let mut message = query();
    sign_request(&mut message, &key(Algorithm::HmacSha256), NOW);
    let other_name = Key::new(
        Name::from_ascii("other.").unwrap(),
        Algorithm::HmacSha256,
        b"x".to_vec(),
    );
    for keys in [ring(other_name), ring(key(Algorithm::HmacSha1))] {
        let error = verify_request(&message, &keys, NOW).unwrap_err();
        assert!(matches!(error, TsigError::BadKey { .. }), "{error}");
        let reply = error_reply(&message, &error).unwrap();
        assert_eq!(reply[2] & 0x80, 0x80, "a response");
        assert_eq!(reply[3] & 0xf, 9, "NOTAUTH");
        let found = wire::find(&reply).unwrap().unwrap();
        assert_eq!(found.error, rcode::BADKEY);
        assert!(found.mac.is_empty(), "§5.3.2: BADKEY is never signed");
        assert_eq!(found.key_name.to_ascii(), "xfr-key.");
    }
}

#[test]
fn rfc8945_5_2_2_a_wrong_mac_is_badsig_unsigned() {
    let key = key(Algorithm::HmacSha256);
    let mut message = query();
    sign_request(&mut message, &key, NOW);
    // The question changed after signing.
    message[13] = b'W';
    let error = verify_request(&message, &ring(key.clone()), NOW).unwrap_err();
    assert!(matches!(error, TsigError::BadSig(_)), "{error}");
    let reply = error_reply(&message, &error).unwrap();
    assert_eq!(reply[3] & 0xf, 9);
    let found = wire::find(&reply).unwrap().unwrap();
    assert_eq!((found.error, found.mac.len()), (rcode::BADSIG, 0));
    // A different secret under the same name.
    let mut message = query();
    sign_request(&mut message, &key, NOW);
    let forged = Key::new(key.name.clone(), key.algorithm, b"guess".to_vec());
    let error = verify_request(&message, &ring(forged), NOW).unwrap_err();
    assert!(matches!(error, TsigError::BadSig(_)), "{error}");
}

#[test]
fn rfc8945_5_2_2_1_truncated_macs_within_bounds_verify_shorter_ones_are_formerr() {
    let key = key(Algorithm::HmacSha256);
    let truncate = |keep: usize| {
        let mut message = query();
        sign_request(&mut message, &key, NOW);
        let found = wire::find(&message).unwrap().unwrap();
        let mac = found.mac[..keep].to_vec();
        let fields = wire::Fields {
            key_name: canonical_name(&key.name),
            algorithm: canonical_name(&found.algorithm),
            time_signed: NOW,
            fudge: FUDGE,
            error: 0,
            other: Vec::new(),
        };
        let mut truncated = query();
        fields.append(&mut truncated, &mac);
        truncated
    };
    assert!(verify_request(&truncate(16), &ring(key.clone()), NOW)
        .unwrap()
        .is_some());
    let error = verify_request(&truncate(15), &ring(key.clone()), NOW).unwrap_err();
    assert!(matches!(error, TsigError::Malformed(_)), "{error}");
}

#[test]
fn rfc8945_5_2_3_outside_the_window_is_badtime_signed_with_the_server_time() {
    let key = key(Algorithm::HmacSha256);
    let mut message = query();
    let request = sign_request(&mut message, &key, NOW);
    let later = NOW + u64::from(FUDGE) + 1;
    let error = verify_request(&message, &ring(key.clone()), later).unwrap_err();
    assert!(matches!(error, TsigError::BadTime { .. }), "{error}");
    assert!(verify_request(&message, &ring(key.clone()), NOW - 300).is_ok());
    let reply = error_reply(&message, &error).unwrap();
    assert_eq!(reply[3] & 0xf, 9);
    let found = wire::find(&reply).unwrap().unwrap();
    assert_eq!(found.error, rcode::BADTIME);
    assert_eq!(found.time_signed, NOW, "the request's time signed");
    assert_eq!(found.other, &wire::time_octets(later)[..]);
    // The reply is signed: the client verifies it, then learns of the error.
    let mut verifier = ResponseVerifier::new(&key, request);
    let result = verifier.verify(&reply, NOW);
    assert!(
        matches!(result, Err(TsigError::Peer(rcode::BADTIME))),
        "{result:?}"
    );
}

#[test]
fn rfc8945_5_3_a_response_is_signed_over_the_request_mac() {
    for algorithm in Algorithm::ALL {
        let key = key(algorithm);
        let mut message = query();
        let mac = sign_request(&mut message, &key, NOW);
        let signed = verify_request(&message, &ring(key.clone()), NOW)
            .unwrap()
            .unwrap();
        let mut signer = ResponseSigner::new(&signed);
        let mut reply = response(0x1234);
        let plain = reply.clone();
        signer.sign(&mut reply, NOW + 1);
        assert_eq!(reply.len(), plain.len() + signer.overhead());
        let mut verifier = ResponseVerifier::new(&key, mac.clone());
        assert_eq!(verifier.verify(&reply, NOW + 2).unwrap(), plain);
        verifier.finish().unwrap();
        // The same reply does not verify against another request.
        let mut other = query();
        other[1] = 0x35;
        let other_mac = sign_request(&mut other, &key, NOW + 5);
        let mut verifier = ResponseVerifier::new(&key, other_mac);
        let result = verifier.verify(&reply, NOW + 2);
        assert!(matches!(result, Err(TsigError::BadSig(_))), "{result:?}");
        // Nor an unsigned reply, nor one out of the window.
        let mut verifier = ResponseVerifier::new(&key, mac.clone());
        assert!(matches!(
            verifier.verify(&plain, NOW),
            Err(TsigError::Unsigned)
        ));
        let mut verifier = ResponseVerifier::new(&key, mac);
        let result = verifier.verify(&reply, NOW + 1000);
        assert!(
            matches!(result, Err(TsigError::BadTime { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn rfc8945_5_3_1_a_stream_chains_every_message_to_the_one_before() {
    let key = key(Algorithm::HmacSha1);
    let mut message = query();
    let mac = sign_request(&mut message, &key, NOW);
    let signed = verify_request(&message, &ring(key.clone()), NOW)
        .unwrap()
        .unwrap();
    let mut signer = ResponseSigner::new(&signed);
    let stream: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            let mut reply = response(0x1234);
            signer.sign(&mut reply, NOW);
            reply
        })
        .collect();
    let mut verifier = ResponseVerifier::new(&key, mac.clone());
    for reply in &stream {
        assert_eq!(verifier.verify(reply, NOW).unwrap(), response(0x1234));
    }
    verifier.finish().unwrap();
    // Out of order, the chain breaks.
    let mut verifier = ResponseVerifier::new(&key, mac.clone());
    verifier.verify(&stream[0], NOW).unwrap();
    assert!(matches!(
        verifier.verify(&stream[2], NOW),
        Err(TsigError::BadSig(_))
    ));
    // A stream that ends unsigned is refused at its end.
    let mut verifier = ResponseVerifier::new(&key, mac);
    verifier.verify(&stream[0], NOW).unwrap();
    verifier.verify(&response(0x1234), NOW).unwrap();
    assert!(matches!(verifier.finish(), Err(TsigError::Unsigned)));
}

#[test]
fn rfc8945_5_3_1_unsigned_messages_are_covered_by_the_next_signature() {
    let key = key(Algorithm::HmacSha512);
    let mut message = query();
    let request = sign_request(&mut message, &key, NOW);
    let signed = verify_request(&message, &ring(key.clone()), NOW)
        .unwrap()
        .unwrap();
    let mut signer = ResponseSigner::new(&signed);
    let mut first = response(0x1234);
    signer.sign(&mut first, NOW);
    let first_mac = wire::find(&first).unwrap().unwrap().mac.to_vec();
    // A signer that signs every other message: the third covers the second.
    let middle = response(0x1234);
    let mut last = response(0x1234);
    let fields = wire::Fields {
        key_name: canonical_name(&key.name),
        algorithm: canonical_name(&Name::from_ascii("hmac-sha512.").unwrap()),
        time_signed: NOW,
        fudge: FUDGE,
        error: 0,
        other: Vec::new(),
    };
    let prefix = (first_mac.len() as u16).to_be_bytes();
    let mac = sign::mac(
        &key,
        &[&prefix, &first_mac, &middle, &last, &fields.timers()],
    );
    fields.append(&mut last, &mac);
    let mut verifier = ResponseVerifier::new(&key, request);
    for reply in [&first, &middle, &last] {
        verifier.verify(reply, NOW).unwrap();
    }
    verifier.finish().unwrap();
    // But no more than 99 in a row.
    let mut request = query();
    let mac = sign_request(&mut request, &key, NOW);
    let signed = verify_request(&request, &ring(key.clone()), NOW)
        .unwrap()
        .unwrap();
    let mut first = response(0x1234);
    ResponseSigner::new(&signed).sign(&mut first, NOW);
    let mut verifier = ResponseVerifier::new(&key, mac);
    verifier.verify(&first, NOW).unwrap();
    for _ in 0..MAX_UNSIGNED_RUN {
        verifier.verify(&middle, NOW).unwrap();
    }
    assert!(matches!(
        verifier.verify(&middle, NOW),
        Err(TsigError::UnsignedRun)
    ));
}

#[test]
fn rfc8945_5_3_2_a_peer_s_unsigned_error_is_reported_as_its_error() {
    let key = key(Algorithm::HmacSha256);
    let mut message = query();
    let mac = sign_request(&mut message, &key, NOW);
    let error = TsigError::BadSig(key.name.to_string());
    let reply = error_reply(&message, &error).unwrap();
    let mut verifier = ResponseVerifier::new(&key, mac);
    let result = verifier.verify(&reply, NOW);
    assert!(
        matches!(result, Err(TsigError::Peer(rcode::BADSIG))),
        "{result:?}"
    );
    // A response is never answered.
    let mut response = response(1);
    sign_request(&mut response, &key, NOW);
    assert!(error_reply(&response, &error).is_none());
}

#[test]
fn rfc8945_6_algorithm_names_and_mac_lengths() {
    for (algorithm, name, len) in [
        (Algorithm::HmacSha1, "hmac-sha1.", 20),
        (Algorithm::HmacSha256, "HMAC-SHA256", 32),
        (Algorithm::HmacSha384, "hmac-sha384", 48),
        (Algorithm::HmacSha512, "hmac-sha512.", 64),
    ] {
        assert_eq!(Algorithm::from_name(name), Some(algorithm));
        assert_eq!(algorithm.mac_len(), len);
    }
    assert_eq!(Algorithm::from_name("hmac-md5.sig-alg.reg.int."), None);
    assert!(!format!("{:?}", key(Algorithm::HmacSha1)).contains("secret"));
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lbdns-tsig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn key_tables_load_and_their_errors_name_the_line() {
    use crate::config::{Overrides, Settings};
    write("k.secret", "c2VjcmV0\n");
    let path = write(
        "keys.toml",
        "[[key]]\nname = \"A.example\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n\
         [[key]]\nname = \"b\"\nalgorithm = \"hmac-sha1\"\nsecret_file = \"k.secret\"\n",
    );
    let settings = Settings::new(Some(&path), Overrides::default()).unwrap();
    assert_eq!(settings.keys.len(), 2);
    let a = settings
        .keys
        .get(&Name::from_ascii("a.example.").unwrap())
        .unwrap();
    assert_eq!(a.algorithm, Algorithm::HmacSha256);
    assert!(settings.keys.get(&Name::from_ascii("b").unwrap()).is_some());
    for (text, line, message) in [
        (
            "[[key]]\nname = \"a\"\nalgorithm = \"hmac-md5\"\nsecret = \"c2VjcmV0\"\n",
            3,
            "is not one of",
        ),
        (
            "[[key]]\nname = \"a\"\nalgorithm = \"hmac-sha1\"\nsecret = \"not base64!\"\n",
            4,
            "not base64",
        ),
        (
            "[[key]]\nname = \"a\"\nalgorithm = \"hmac-sha1\"\n",
            2,
            "is required",
        ),
        (
            "[[key]]\nname = \"a\"\nalgorithm = \"hmac-sha1\"\nsecret_file = \"missing\"\n",
            4,
            "cannot read",
        ),
        (
            "[[key]]\nname = \"a\"\nalgorithm = \"hmac-sha1\"\nsecret = \"c2VjcmV0\"\n\
             [[key]]\nname = \"A.\"\nalgorithm = \"hmac-sha1\"\nsecret = \"c2VjcmV0\"\n",
            6,
            "defined twice",
        ),
        (
            "[[key]]\nname = \"a\"\nalgorithm = \"hmac-sha1\"\nsecret = \"c2VjcmV0\"\nsize = 3\n",
            5,
            "unknown field",
        ),
    ] {
        let path = write("bad-key.toml", text);
        let error = Settings::new(Some(&path), Overrides::default()).unwrap_err();
        assert_eq!(error.line, line, "{text}: {error}");
        assert!(error.to_string().contains(message), "{text}: {error}");
        assert!(
            error.to_string().contains("bad-key.toml:"),
            "{text}: {error}"
        );
    }
}

#[test]
fn rfc8945_5_1_signed_queries_are_told_apart_without_allocating() {
    let mut message = query();
    assert!(!is_signed(&message));
    // An OPT record alone.
    message.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    message[11] = 1;
    assert!(!is_signed(&message));
    sign_request(&mut message, &key(Algorithm::HmacSha256), NOW);
    assert!(is_signed(&message));
    assert!(!is_signed(&message[..20]));
    assert!(!is_signed(&[0; 3]));
}
