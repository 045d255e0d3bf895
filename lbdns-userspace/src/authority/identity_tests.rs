//! NSID (RFC 5001) and the CHAOS identity names on the wire: what `respond` sends back.

use std::path::Path;

use super::tests::UDP;
use super::{respond, Catalog, ServerIdentity};
use crate::zone::Zone;

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 198.18.0.53\nwww 60 A 198.18.1.1\n";

fn catalog(identity: ServerIdentity) -> Catalog {
    let zone = Zone::parse(ZONE, Path::new("zone"), None).unwrap();
    Catalog::new(&[zone]).unwrap().with_identity(identity)
}

fn configured() -> ServerIdentity {
    ServerIdentity::default()
        .with_nsid(b"host-17".to_vec())
        .and_then(|id| id.with_identity(b"ns1.example".to_vec()))
        .and_then(|id| id.with_version(b"lbdns 1".to_vec()))
        .unwrap()
}

/// A query for `name` (wire labels, case kept) with an OPT record holding `options`, if given.
fn query(name: &[u8], qtype: u16, qclass: u16, options: Option<&[u8]>) -> Vec<u8> {
    let arcount = u8::from(options.is_some());
    let mut wire = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, arcount];
    wire.extend_from_slice(name);
    wire.extend_from_slice(&qtype.to_be_bytes());
    wire.extend_from_slice(&qclass.to_be_bytes());
    if let Some(options) = options {
        wire.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0]);
        wire.extend_from_slice(&(options.len() as u16).to_be_bytes());
        wire.extend_from_slice(options);
    }
    wire
}

const WWW: &[u8] = b"\x03www\x07example\x04test\x00";
const ID_SERVER: &[u8] = b"\x02ID\x06server\x00";
const NSID: &[u8] = &[0, 3, 0, 0];

/// The OPT record a reply ends with, from its RDLENGTH's position counted from the end.
fn opt_options(reply: &[u8], options_len: usize) -> &[u8] {
    &reply[reply.len() - options_len..]
}

#[test]
fn rfc5001_2_2_the_nsid_answers_a_query_that_asks_and_nothing_else() {
    let on = catalog(configured());
    let reply = respond(&on, &query(WWW, 1, 1, Some(NSID)), UDP).unwrap();
    assert_eq!(opt_options(&reply, 13), b"\0\x0b\0\x03\0\x07host-17");
    // Without the option, or with only others, the OPT record is bare.
    for options in [&[][..], &[0xfd, 0xe9, 0, 1, 7]] {
        let reply = respond(&on, &query(WWW, 1, 1, Some(options)), UDP).unwrap();
        assert_eq!(opt_options(&reply, 2), [0, 0], "{options:?}");
    }
    // Off by default: the option is ignored.
    let off = catalog(ServerIdentity::default());
    let reply = respond(&off, &query(WWW, 1, 1, Some(NSID)), UDP).unwrap();
    assert_eq!(opt_options(&reply, 2), [0, 0]);
    // Error replies carry it too, as NSD's do; BADVERS replies read no options.
    let refused = respond(&on, &query(b"\x02no\x00", 1, 1, Some(NSID)), UDP).unwrap();
    assert_eq!(refused[3] & 0xf, 5);
    assert_eq!(opt_options(&refused, 11), b"\0\x03\0\x07host-17");
    let mut badvers = query(WWW, 1, 1, Some(NSID));
    badvers[WWW.len() + 12 + 4 + 6] = 1;
    let reply = respond(&on, &badvers, UDP).unwrap();
    assert_eq!(opt_options(&reply, 2), [0, 0]);
}

#[test]
fn rfc4892_id_server_answers_with_one_ch_txt_record_of_ttl_0_without_aa() {
    let on = catalog(configured());
    let reply = respond(&on, &query(ID_SERVER, 16, 3, None), UDP).unwrap();
    // QR and RD; no AA (NSD sends none for its CHAOS names); NOERROR; one answer.
    assert_eq!(&reply[2..12], [0x81, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    // The question as sent, case kept, then the record owned by a pointer to it.
    let question_end = 12 + ID_SERVER.len() + 4;
    assert_eq!(&reply[12..question_end - 4], ID_SERVER);
    let mut record = vec![0xc0, 12, 0, 16, 0, 3, 0, 0, 0, 0, 0, 12, 11];
    record.extend_from_slice(b"ns1.example");
    assert_eq!(&reply[question_end..], record);
    // ANY gets the TXT record too; another type, or a name with nothing configured, REFUSED.
    let any = respond(&on, &query(ID_SERVER, 255, 3, None), UDP).unwrap();
    assert_eq!(&any[question_end..], record);
    for (name, qtype) in [(ID_SERVER, 1), (&b"\x07authors\x04bind\x00"[..], 16)] {
        let refused = respond(&on, &query(name, qtype, 3, None), UDP).unwrap();
        assert_eq!(refused[3] & 0xf, 5);
        assert_eq!(&refused[6..8], [0, 0]);
    }
    let version = query(b"\x07version\x04bind\x00", 16, 3, Some(NSID));
    let reply = respond(&on, &version, UDP).unwrap();
    assert!(reply.windows(8).any(|w| w == b"\x07lbdns 1"));
    assert_eq!(opt_options(&reply, 11), b"\0\x03\0\x07host-17");
}

#[test]
fn chaos_names_are_refused_unless_configured() {
    let off = catalog(ServerIdentity::default());
    for name in [
        ID_SERVER,
        b"\x08hostname\x04bind\x00",
        b"\x07version\x06server\x00",
    ] {
        let reply = respond(&off, &query(name, 16, 3, None), UDP).unwrap();
        assert_eq!(reply[3] & 0xf, 5, "{name:?}");
        assert_eq!(&reply[6..8], [0, 0]);
    }
}
