//! The malformed-packet corpus: crafted bad queries, each with the outcomes a correct server
//! may produce.
//!
//! The acceptable outcomes follow the RFCs: a response (QR=1) must never be answered (RFC 1035
//! 4.1.1 and loop avoidance), a header shorter than 12 bytes cannot be answered meaningfully,
//! an unimplemented opcode gets NOTIMP (RFC 1035 4.1.1), two OPT records get FORMERR (RFC 6891
//! 6.1.1), and anything else that cannot be parsed gets FORMERR with the query's ID or is
//! dropped. Packets are deterministic (a fixed-seed PRNG), so failures reproduce.

use std::fmt;

use crate::wire::{flag, name, raw_labels, rcode, rtype, Builder, Header};

/// What the server did with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No reply within the timeout (UDP), or no reply frame before close/timeout (TCP).
    Drop,
    /// A well-formed reply header with QR=1, the query's ID and this RCODE.
    Rcode(u8),
}

impl Outcome {
    pub const FORMERR: Self = Self::Rcode(rcode::FORMERR);
    pub const NOTIMP: Self = Self::Rcode(rcode::NOTIMP);
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Drop => f.write_str("drop"),
            Self::Rcode(r) => {
                let n = [
                    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                ];
                match n.get(usize::from(*r)) {
                    Some(s) => f.write_str(s),
                    None => write!(f, "RCODE {r}"),
                }
            }
        }
    }
}

/// Classifies a reply to `sent`. Errors describe replies that are wrong whatever the packet
/// was: too short, QR clear, or an ID that differs from the query's.
pub fn classify(sent: &[u8], reply: Option<&[u8]>) -> Result<Outcome, String> {
    let Some(reply) = reply else {
        return Ok(Outcome::Drop);
    };
    let h =
        Header::parse(reply).ok_or_else(|| format!("reply shorter than a header: {reply:02x?}"))?;
    if !h.qr() {
        return Err(format!("reply has QR=0: {reply:02x?}"));
    }
    if sent.len() >= 2 && h.id != u16::from_be_bytes([sent[0], sent[1]]) {
        return Err(format!("reply ID {:#06x} differs from the query's", h.id));
    }
    Ok(Outcome::Rcode(h.rcode()))
}

/// One crafted packet.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub packet: Vec<u8>,
    /// Outcomes a correct server may produce.
    pub ok: &'static [Outcome],
}

const DROP: &[Outcome] = &[Outcome::Drop];
const FORMERR_OR_DROP: &[Outcome] = &[Outcome::FORMERR, Outcome::Drop];
const FORMERR: &[Outcome] = &[Outcome::FORMERR];
const NOTIMP: &[Outcome] = &[Outcome::NOTIMP];

/// xorshift64*: deterministic filler bytes.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }
}

/// The question section of a valid `www.example.com A IN` query.
fn www_question() -> Vec<u8> {
    let mut q = name("www.example.com");
    q.extend_from_slice(&[0, 1, 0, 1]);
    q
}

/// A header (ID `id`, flags 0) with the given counts followed by `body`.
fn with_counts(id: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let [qd, an, ns, ar] = counts;
    Builder::new(id, 0).counts(qd, an, ns, ar).raw(body).build()
}

/// The whole corpus, in a fixed order; IDs are distinct so stray replies are recognisable.
pub fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut id: u16 = 0xa000;
    let mut add = |name: String, packet: Vec<u8>, ok: &'static [Outcome]| {
        cases.push(Case { name, packet, ok });
    };
    let mut next_id = || {
        id += 1;
        id
    };
    let valid = |id| Builder::query(id, "www.example.com", rtype::A);

    // Truncated headers: 0..=11 bytes of a valid query. With fewer than 2 bytes there is not
    // even an ID to echo.
    let full = valid(next_id()).build();
    for n in 0..12 {
        let ok = if n < 2 { DROP } else { FORMERR_OR_DROP };
        add(
            format!("header truncated to {n} bytes"),
            full[..n].to_vec(),
            ok,
        );
    }

    // Compression pointers in the question name.
    let q = |id, name_wire: &[u8]| {
        Builder::new(id, 0)
            .question_raw(name_wire, rtype::A, 1)
            .build()
    };
    add(
        "pointer to itself".into(),
        q(next_id(), &[0xc0, 12]),
        FORMERR_OR_DROP,
    );
    // Name at 12 points to 14, which points back to 12.
    let mutual = with_counts(next_id(), [1, 0, 0, 0], &[0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
    add("mutual pointers".into(), mutual, FORMERR_OR_DROP);
    add(
        "label then pointer to its start (endless name)".into(),
        q(next_id(), &[1, b'a', 0xc0, 12]),
        FORMERR_OR_DROP,
    );
    add(
        "pointer past the end".into(),
        q(next_id(), &[0xc0, 0xff]),
        FORMERR_OR_DROP,
    );
    add(
        "pointer with offset 0x3fff".into(),
        q(next_id(), &[0xff, 0xff]),
        FORMERR_OR_DROP,
    );
    add(
        "truncated pointer (one byte)".into(),
        with_counts(next_id(), [1, 0, 0, 0], &[0xc0]),
        FORMERR_OR_DROP,
    );
    let mut an_loop = www_question();
    an_loop.extend_from_slice(&[0xc0, 33, 0, 1, 0, 1, 0, 0, 0, 60, 0, 0]);
    add(
        "answer-section owner points to itself".into(),
        with_counts(next_id(), [1, 1, 0, 0], &an_loop),
        FORMERR_OR_DROP,
    );

    // Labels over 63 octets (the length byte then has a reserved label type) and long names.
    for len in [64u8, 0x7f, 0x80, 0xbf] {
        let mut n = vec![len];
        n.extend(std::iter::repeat_n(b'a', usize::from(len)));
        n.extend(name("example.com"));
        add(
            format!("label length byte {len:#04x}"),
            q(next_id(), &n),
            FORMERR_OR_DROP,
        );
    }
    let l63 = [b'a'; 63];
    let l62 = [b'b'; 62];
    add(
        "name of 256 octets".into(),
        q(next_id(), &raw_labels(&[&l63, &l63, &l63, &l62])),
        FORMERR_OR_DROP,
    );
    add(
        "name of 321 octets".into(),
        q(next_id(), &raw_labels(&[&l63[..]; 5])),
        FORMERR_OR_DROP,
    );
    add(
        "name of 128 one-octet labels (257 octets)".into(),
        q(next_id(), &raw_labels(&[&b"a"[..]; 128])),
        FORMERR_OR_DROP,
    );
    add(
        "name without terminating root label".into(),
        with_counts(
            next_id(),
            [1, 0, 0, 0],
            &[3, b'w', b'w', b'w', 7, b'e', b'x'],
        ),
        FORMERR_OR_DROP,
    );

    // Header counts that disagree with the data.
    let wq = www_question();
    add(
        "QDCOUNT=0, no body".into(),
        with_counts(next_id(), [0; 4], &[]),
        FORMERR_OR_DROP,
    );
    add(
        "QDCOUNT=0 with a question in the body".into(),
        with_counts(next_id(), [0; 4], &wq),
        FORMERR_OR_DROP,
    );
    let two = Builder::query(next_id(), "www.example.com", rtype::A)
        .question("mail.example.com", rtype::A)
        .build();
    add("QDCOUNT=2 with two questions".into(), two, FORMERR_OR_DROP);
    add(
        "QDCOUNT=2 with one question".into(),
        with_counts(next_id(), [2, 0, 0, 0], &wq),
        FORMERR_OR_DROP,
    );
    add(
        "QDCOUNT=65535 with one question".into(),
        with_counts(next_id(), [0xffff, 0, 0, 0], &wq),
        FORMERR_OR_DROP,
    );
    add(
        "QDCOUNT=1, no body".into(),
        with_counts(next_id(), [1, 0, 0, 0], &[]),
        FORMERR_OR_DROP,
    );
    add(
        "ANCOUNT=1, no record".into(),
        with_counts(next_id(), [1, 1, 0, 0], &wq),
        FORMERR_OR_DROP,
    );
    add(
        "NSCOUNT=3, no records".into(),
        with_counts(next_id(), [1, 0, 3, 0], &wq),
        FORMERR_OR_DROP,
    );
    add(
        "ARCOUNT=1, no record".into(),
        with_counts(next_id(), [1, 0, 0, 1], &wq),
        FORMERR_OR_DROP,
    );
    let one_opt = valid(next_id()).edns(1232).counts(1, 0, 0, 2).build();
    add("ARCOUNT=2 with one OPT".into(), one_opt, FORMERR_OR_DROP);
    add(
        "all counts 65535".into(),
        with_counts(next_id(), [0xffff; 4], &wq),
        FORMERR_OR_DROP,
    );
    for cut in [1, 2, 3, 4] {
        let body = &wq[..wq.len() - cut];
        add(
            format!("question missing {cut} of its 4 type/class bytes"),
            with_counts(next_id(), [1, 0, 0, 0], body),
            FORMERR_OR_DROP,
        );
    }
    let mut rr = wq.clone();
    rr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 200, 1, 2, 3, 4]);
    add(
        "answer RDLENGTH 200 with 4 bytes of RDATA".into(),
        with_counts(next_id(), [1, 1, 0, 0], &rr),
        FORMERR_OR_DROP,
    );

    // Garbage. Queries (QR=0, opcode 0) whose question starts with a reserved label type, so
    // no random tail can turn into something valid.
    let mut rng = Rng(0x1bd1_5eed_0000_0053);
    for len in [1usize, 5, 40, 300, 1400, 4000] {
        let mut tail = rng.bytes(len);
        tail[0] |= 0x80;
        tail[0] &= 0xbf;
        add(
            format!("query header + {len} garbage bytes"),
            with_counts(next_id(), [1, 0, 0, 0], &tail),
            FORMERR_OR_DROP,
        );
    }
    add("64 zero bytes".into(), vec![0; 64], FORMERR_OR_DROP);
    for len in [12usize, 100, 512] {
        let mut p = rng.bytes(len);
        p[2] |= 0x80; // QR=1: random bytes that claim to be a response
        add(format!("{len} random bytes with QR=1"), p, DROP);
    }
    add("512 bytes of 0xff".into(), vec![0xff; 512], DROP);

    // Responses must never be answered.
    add(
        "valid query with QR=1".into(),
        valid(next_id()).set_flags(flag::QR).build(),
        DROP,
    );
    add(
        "QR=1 header only".into(),
        Builder::new(next_id(), flag::QR).build(),
        DROP,
    );
    let resp = valid(next_id())
        .set_flags(flag::QR | flag::AA)
        .record(1, &[0xc0, 12], rtype::A, 1, 60, &[198, 18, 1, 1])
        .build();
    add(
        "well-formed answer (QR=1, AA, one A record)".into(),
        resp,
        DROP,
    );
    add(
        "QR=1 with RCODE FORMERR".into(),
        valid(next_id()).set_flags(flag::QR | 1).build(),
        DROP,
    );
    add(
        "QR=1 with opcode 15".into(),
        valid(next_id()).set_flags(flag::QR).opcode(15).build(),
        DROP,
    );

    // Unimplemented opcodes (1 = obsolete IQUERY, 2 = STATUS, 3 and 6..15 unassigned).
    for op in [1u8, 2, 3, 6, 7, 9, 15] {
        add(
            format!("opcode {op}"),
            valid(next_id()).opcode(op).build(),
            NOTIMP,
        );
    }

    // Bad OPT records.
    add(
        "two OPT records".into(),
        valid(next_id()).edns(1232).edns(4096).build(),
        FORMERR,
    );
    let opt_owner = name("example.com");
    add(
        "OPT owned by example.com.".into(),
        valid(next_id()).opt(&opt_owner, 1232, 0, 0, &[]).build(),
        FORMERR_OR_DROP,
    );
    let opt_in_answer = valid(next_id())
        .record(1, &[0], rtype::OPT, 1232, 0, &[])
        .build();
    add(
        "OPT in the answer section".into(),
        opt_in_answer,
        FORMERR_OR_DROP,
    );
    let mut opt_long = valid(next_id()).opt(&[0], 1232, 0, 0, &[]).build();
    let n = opt_long.len();
    opt_long[n - 2..].copy_from_slice(&50u16.to_be_bytes()); // RDLENGTH 50, no RDATA
    add(
        "OPT RDLENGTH past the end".into(),
        opt_long,
        FORMERR_OR_DROP,
    );
    // Option code 10 (COOKIE) claiming 40 bytes with 8 present.
    let opt_bad_len = [0, 10, 0, 40, 1, 2, 3, 4, 5, 6, 7, 8];
    add(
        "OPT option length past RDATA".into(),
        valid(next_id()).opt(&[0], 1232, 0, 0, &opt_bad_len).build(),
        FORMERR_OR_DROP,
    );
    add(
        "OPT with a 3-byte option header".into(),
        valid(next_id()).opt(&[0], 1232, 0, 0, &[0, 10, 0]).build(),
        FORMERR_OR_DROP,
    );

    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_large_and_unique() {
        let c = corpus();
        assert!(c.len() >= 50, "only {} cases", c.len());
        let names: std::collections::BTreeSet<_> = c.iter().map(|x| &x.name).collect();
        assert_eq!(names.len(), c.len(), "duplicate case names");
        assert!(c.iter().all(|x| x.packet.len() <= 65535));
    }

    #[test]
    fn classify_checks_id_and_qr() {
        let q = Builder::query(7, "a", rtype::A).build();
        let ok = Builder::new(7, flag::QR | 1).build();
        assert_eq!(classify(&q, Some(&ok)), Ok(Outcome::FORMERR));
        assert!(classify(&q, Some(&Builder::new(8, flag::QR).build())).is_err());
        assert!(classify(&q, Some(&Builder::new(7, 0).build())).is_err());
        assert_eq!(classify(&q, None), Ok(Outcome::Drop));
    }
}
