//! Query octets → response octets: header checks, EDNS (RFC 6891) and its options, the CHAOS
//! class (the server's identity), and the size limits of RFC 1035 §4.2.1 with RRset-atomic
//! truncation (RFC 2181 §9).

use std::net::IpAddr;

use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_proto::ProtoError;

type ProtoResult<T> = Result<T, ProtoError>;

use lbdns_common::cookie::CookieState;

use super::cookie;
use super::ecs::{Locator, Malformed};
use super::edns::ReplyOptions;
use super::identity::Chaos;
use super::lookup::{resolve, Held, Placed, Resolution};
use super::query::{self, EdnsRequest, ParsedQuery, QueryHeader, Rejected, HEADER_LEN, QR};
use super::zone_data::{Rdata, Rrset, Span};
use super::{Catalog, PoolAnswers};

/// The UDP payload size we advertise and the most we send over UDP: the DNS flag day 2020
/// value, which avoids IP fragmentation on ordinary paths.
const EDNS_PAYLOAD: u16 = 1232;
/// The classic UDP limit for queries without EDNS.
const PLAIN_UDP_LIMIT: usize = 512;
/// Size of an OPT record with no options.
const OPT_LEN: usize = 11;

/// How the query arrived, which decides how large the response may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Who sent a query, and how. The transport bounds the reply's size; the address is what
/// answers that depend on the client key on: its DNS Cookie (RFC 7873), its rate limit, its
/// location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The query's source address, as the socket reported it.
    pub addr: IpAddr,
    pub transport: Transport,
}

impl Client {
    pub const fn new(addr: IpAddr, transport: Transport) -> Self {
        Self { addr, transport }
    }
}

const AA: u16 = 0x0400;
const TC: u16 = 0x0200;

/// Answers one query. `None` means send nothing: the packet is a response, or too short to
/// carry an ID to answer to.
pub fn respond(catalog: &Catalog, query: &[u8], client: Client) -> Option<Vec<u8>> {
    respond_reserving(catalog, query, client, 0)
}

/// [`respond`], keeping `reserve` octets of the size limit free for what the caller appends
/// (a TSIG record).
pub fn respond_reserving(
    catalog: &Catalog,
    query: &[u8],
    client: Client,
    reserve: usize,
) -> Option<Vec<u8>> {
    answer(catalog, query, client, reserve).map(|answered| answered.reply)
}

/// A reply, and what the query's DNS Cookie was worth: a valid server cookie exempts the
/// client from response rate limiting.
#[derive(Debug)]
pub struct Answered {
    pub reply: Vec<u8>,
    pub cookie: CookieState,
}

/// [`respond_reserving`], telling the query's cookie state too.
pub fn answer(catalog: &Catalog, query: &[u8], client: Client, reserve: usize) -> Option<Answered> {
    let pools = catalog.pools();
    let (decided, cookie) = decide(catalog, &pools, query, client, reserve)?;
    Some(Answered {
        reply: decided.write_next(),
        cookie,
    })
}

/// What [`answer_cycle`] gives a query.
#[derive(Debug)]
pub enum Replies<'a> {
    /// The reply depends on more than the query's octets (its DNS Cookie, where its client
    /// is), or its rotation takes too many turns to write out: this query's reply only.
    Single(Answered),
    /// Every reply the query's octets can get, each carrying this query's ID, in the order
    /// the rotation of `counter` (an RRset of the catalog or pool answers given) gives them:
    /// answer `k` is `replies[k % replies.len()]`. Without a counter there is one reply.
    Cycle {
        replies: Vec<Vec<u8>>,
        counter: Option<&'a Rrset>,
    },
}

/// The most replies [`answer_cycle`] writes for one query: a pool's longest schedule, so every
/// pool's replies can be written out.
pub(super) const MAX_TURNS: usize = lbdns_common::limits::MAX_SCHEDULE;

/// [`answer`] to a UDP query, from `catalog` with `pools` as its pool answers, with every reply
/// its octets can get when no other input decides it: what the UDP reply cache (`ReplyCache`)
/// keeps. Takes no turn of any rotation: the caller takes one for each reply it sends.
pub fn answer_cycle<'a>(
    catalog: &'a Catalog,
    pools: &'a PoolAnswers,
    query: &[u8],
    client: Client,
) -> Option<Replies<'a>> {
    let (decided, cookie) = decide(catalog, pools, query, client, 0)?;
    // A cookie's reply carries a server cookie made for this client, at this time.
    if cookie != CookieState::None {
        return Some(Replies::Single(Answered {
            reply: decided.write_next(),
            cookie,
        }));
    }
    Some(decided.write_cycle())
}

/// A reply decided, before its rotating records are written.
#[expect(
    clippy::large_enum_variant,
    reason = "lives on the stack for one query; boxing would allocate for each"
)]
enum Decided<'a> {
    /// Nothing in it rotates: an error, a CHAOS answer, a header-only reply.
    Written(Vec<u8>),
    Resolved(Reply<'a>, Resolution<'a>),
}

impl<'a> Decided<'a> {
    /// The reply, its rotation at the rotating RRset's next turn.
    fn write_next(self) -> Vec<u8> {
        match self {
            Self::Written(reply) => reply,
            Self::Resolved(reply, res) => reply.encode(&res, Turn::Next),
        }
    }

    /// Every reply of the rotation, when the query's octets decide them.
    fn write_cycle(self) -> Replies<'a> {
        let (reply, res) = match self {
            Self::Written(reply) => {
                return Replies::Cycle {
                    replies: vec![reply],
                    counter: None,
                }
            }
            Self::Resolved(reply, res) => (reply, res),
        };
        match Cycle::of(&res).filter(|cycle| !res.located && cycle.turns <= MAX_TURNS) {
            Some(cycle) => Replies::Cycle {
                replies: (0..cycle.turns)
                    .map(|k| reply.encode(&res, Turn::At(k)))
                    .collect(),
                counter: cycle.counter,
            },
            None => Replies::Single(Answered {
                reply: reply.encode(&res, Turn::Next),
                cookie: CookieState::None,
            }),
        }
    }
}

/// How a resolution's replies repeat: after `turns` answers, turned by `counter`'s rotation.
struct Cycle<'a> {
    turns: usize,
    /// The one answer RRset whose records go out in turn; `None` when none does.
    counter: Option<&'a Rrset>,
}

impl<'a> Cycle<'a> {
    /// `None` when more than one answer RRset rotates (their turns would multiply), or one
    /// made for this answer alone does (its counter goes with it).
    fn of(res: &Resolution<'a>) -> Option<Self> {
        let mut rotating = res
            .answer
            .iter()
            .filter(|placed| placed.rrset.rotates() && placed.rrset.rdatas.len() > 1);
        let first = rotating.next();
        if rotating.next().is_some() {
            return None;
        }
        let Some(placed) = first else {
            return Some(Self {
                turns: 1,
                counter: None,
            });
        };
        match placed.rrset {
            Held::Zone(rrset) => Some(Self {
                turns: placed.order.period(rrset.rdatas.len()),
                counter: Some(rrset),
            }),
            Held::Made(_) => None,
        }
    }
}

/// Which turn of its rotation an answer's address RRset takes.
#[derive(Debug, Clone, Copy)]
enum Turn {
    /// The next of its counter's.
    Next,
    /// This one, the counter untouched.
    At(usize),
}

/// Reads `query` and decides its reply: `None` to send nothing.
fn decide<'a>(
    catalog: &'a Catalog,
    pools: &'a PoolAnswers,
    query: &[u8],
    client: Client,
    reserve: usize,
) -> Option<(Decided<'a>, CookieState)> {
    let parsed = match query::parse(query) {
        Ok(parsed) => parsed,
        Err(Rejected::Drop) => return None,
        Err(Rejected::Bare(head, rcode)) => {
            return Some((Decided::Written(bare(head, rcode)), CookieState::None))
        }
    };
    let cookie = parsed
        .edns
        .and_then(|edns| edns.options.cookie)
        .map(|query| cookie::answer(catalog.cookies(), query, client.addr));
    let decided = decide_parsed(
        catalog,
        pools,
        parsed,
        client,
        reserve,
        cookie.map(|(_, data)| data),
    );
    Some((
        decided,
        cookie.map_or(CookieState::None, |(state, _)| state),
    ))
}

/// The BADCOOKIE reply (RFC 7873 §5.2.3–5.2.4) to a query with a client cookie: the question
/// only, and the client cookie with a fresh server cookie, extended RCODE 23. What response
/// rate limiting sends, instead of a truncated reply, to a query over the limit that carries a
/// cookie. `None` if the query has none (or is not one to answer at all).
pub fn badcookie(catalog: &Catalog, query: &[u8], client: Client) -> Option<Vec<u8>> {
    let ParsedQuery {
        head,
        question,
        edns,
    } = query::parse(query).ok()?;
    let edns = edns.filter(|edns| edns.version == 0)?;
    let (_, data) = cookie::answer(catalog.cookies(), edns.options.cookie?, client.addr);
    let reply = Reply {
        head,
        question,
        edns: Some(edns),
        options: ReplyOptions {
            cookie: Some(data),
            ..ReplyOptions::default()
        },
        limit: size_limit(client.transport, Some(edns)),
    };
    Some(reply.error(ResponseCode::BADCOOKIE))
}

/// The reply to a well-formed query, with `cookie` as the COOKIE option's data if it had one.
fn decide_parsed<'a>(
    catalog: &'a Catalog,
    pools: &'a PoolAnswers,
    parsed: ParsedQuery,
    client: Client,
    reserve: usize,
    cookie: Option<[u8; lbdns_common::cookie::REPLY_LEN]>,
) -> Decided<'a> {
    let ParsedQuery {
        head,
        question,
        edns,
    } = parsed;
    let mut reply = Reply {
        head,
        question,
        edns,
        options: ReplyOptions::default(),
        limit: size_limit(client.transport, edns).saturating_sub(reserve),
    };
    // RFC 6891 §6.1.3: a version the server does not implement gets BADVERS, its options unread.
    if edns.is_some_and(|e| e.version > 0) {
        return Decided::Written(reply.error(ResponseCode::BADVERS));
    }
    // RFC 7871 §7.2.1: with ECS off the option is ignored like any unknown one; on, a
    // malformed one is FORMERR and a valid one is echoed.
    let geo = catalog.geo();
    let subnet = match edns.and_then(|e| e.options.ecs).filter(|_| geo.ecs.enabled) {
        Some(Err(Malformed)) => return Decided::Written(reply.error(ResponseCode::FormErr)),
        Some(Ok(subnet)) => Some(subnet),
        None => None,
    };
    if let Some(edns) = edns {
        reply.options =
            ReplyOptions::answering(catalog.identity(), edns.options, cookie, subnet.as_ref());
    }
    let question = &reply.question;
    match question.query_type() {
        RecordType::OPT => return Decided::Written(reply.error(ResponseCode::FormErr)),
        // Zone transfers are TCP's (`transfer_out` takes them there, RFC 5936 §4.2).
        RecordType::AXFR | RecordType::IXFR => {
            return Decided::Written(reply.error(ResponseCode::Refused))
        }
        _ => {}
    }
    let locator = Locator::new(&geo.map, client.addr, subnet.as_ref(), &geo.ecs);
    let resolution = match question.query_class() {
        DNSClass::IN => resolve(
            catalog,
            pools,
            &locator,
            question.name(),
            question.query_type(),
            edns.is_some_and(|e| e.dnssec_ok),
        ),
        DNSClass::CH => {
            return Decided::Written(
                match catalog
                    .identity()
                    .chaos(question.name(), question.query_type())
                {
                    Chaos::Txt(text) => reply.chaos_txt(text),
                    Chaos::Refused => reply.error(ResponseCode::Refused),
                },
            )
        }
        _ => None,
    };
    let Some(resolution) = resolution else {
        // A zone we serve but hold no data for (a secondary not yet transferred, or expired)
        // fails the query, as NSD and Knot do; a name in no zone of ours is refused.
        let unavailable =
            question.query_class() == DNSClass::IN && catalog.is_unavailable(question.name());
        return Decided::Written(reply.error(if unavailable {
            ResponseCode::ServFail
        } else {
            ResponseCode::Refused
        }));
    };
    reply.options.set_ecs_scope(resolution.ecs_scope);
    Decided::Resolved(reply, resolution)
}

/// RFC 1035 §4.2.1 and RFC 6891 §6.2.5: what the client can take, capped at what we send.
fn size_limit(transport: Transport, edns: Option<EdnsRequest>) -> usize {
    match (transport, edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => PLAIN_UDP_LIMIT,
        (Transport::Udp, Some(e)) => {
            usize::from(e.payload).clamp(PLAIN_UDP_LIMIT, usize::from(EDNS_PAYLOAD))
        }
    }
}

/// A header-only error reply, for queries whose question cannot be trusted.
fn bare(head: QueryHeader, rcode: ResponseCode) -> Vec<u8> {
    let mut out = vec![0; HEADER_LEN];
    write_header(&mut out, head, rcode, 0, [0; 4]);
    out
}

fn write_header(
    out: &mut [u8],
    head: QueryHeader,
    rcode: ResponseCode,
    flags: u16,
    counts: [u16; 4],
) {
    let flags =
        QR | u16::from(head.opcode) << 11 | flags | head.copied_flags | u16::from(rcode.low());
    out[0..2].copy_from_slice(&head.id.to_be_bytes());
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    for (i, count) in counts.iter().enumerate() {
        out[4 + 2 * i..6 + 2 * i].copy_from_slice(&count.to_be_bytes());
    }
}

/// Everything a response to a well-formed query carries besides its records.
struct Reply<'a> {
    head: QueryHeader,
    question: Query,
    edns: Option<EdnsRequest>,
    /// The options of the OPT record, if the query had one.
    options: ReplyOptions<'a>,
    /// The most octets the whole message may have.
    limit: usize,
}

impl Reply<'_> {
    /// A response with the question (and OPT) but no records.
    fn error(&self, rcode: ResponseCode) -> Vec<u8> {
        self.write(rcode, 0, false, |_, _| ([0; 3], false))
    }

    /// The answer to a CHAOS-class identity or version question: one TXT record owned by the
    /// question name, TTL 0, and no AA, as NSD sends it.
    fn chaos_txt(&self, text: &[u8]) -> Vec<u8> {
        self.write(ResponseCode::NoError, 0, false, |enc, limit| {
            let before = enc.offset();
            if write_chaos_txt(enc, text).is_ok() && enc.offset() <= limit {
                return ([1, 0, 0], false);
            }
            enc.set_offset(before);
            enc.trim();
            ([0; 3], true)
        })
    }

    /// The reply with `res`'s records, its rotating RRset at `turn`.
    fn encode(&self, res: &Resolution<'_>, turn: Turn) -> Vec<u8> {
        let flags = if res.authoritative { AA } else { 0 };
        let question = self.question.name();
        if let Some(soa) = res.negative_soa().filter(|soa| soa.applies(question)) {
            // The zone's SOA as written once: the question needs no compression targets.
            return self.write(res.rcode, flags, false, |enc, limit| soa.write(enc, limit));
        }
        let targets = compresses_against(res, question);
        self.write(res.rcode, flags, targets, |enc, limit| {
            write_sections(enc, limit, res, question, turn)
        })
    }

    /// Writes header, question, whatever `records` adds within the limit, then OPT. With
    /// `targets`, the question name's suffixes become compression targets for the names
    /// `records` writes.
    fn write(
        &self,
        rcode: ResponseCode,
        mut flags: u16,
        targets: bool,
        records: impl FnOnce(&mut BinEncoder<'_>, usize) -> ([u16; 3], bool),
    ) -> Vec<u8> {
        let mut buf = Vec::with_capacity(512);
        let (counts, truncated) = {
            let mut enc = BinEncoder::new(&mut buf);
            let ok = enc.emit_vec(&[0; HEADER_LEN]).is_ok()
                && emit_question(&mut enc, &self.question, targets).is_ok();
            debug_assert!(ok, "a decoded question always re-encodes");
            let opt_room = if self.edns.is_some() {
                OPT_LEN + self.options.len()
            } else {
                0
            };
            let result = records(&mut enc, self.limit - opt_room);
            if let Some(edns) = self.edns {
                let ttl = u32::from(rcode.high()) << 24 | if edns.dnssec_ok { 0x8000 } else { 0 };
                let ok = emit_opt(&mut enc, ttl, &self.options).is_ok();
                debug_assert!(ok, "room for OPT was set aside");
            }
            result
        };
        if truncated {
            flags |= TC;
        }
        let additional = counts[2] + u16::from(self.edns.is_some());
        write_header(
            &mut buf,
            self.head,
            rcode,
            flags,
            [1, counts[0], counts[1], additional],
        );
        buf
    }
}

/// Whether a name `res` writes may compress against the question's suffixes: any but an owner
/// spelled as the question, which is a pointer to it whole. Address records hold no names;
/// every other type, and signatures, may.
fn compresses_against(res: &Resolution<'_>, question: &Name) -> bool {
    [&res.answer, &res.authority, &res.additional]
        .into_iter()
        .flatten()
        .any(|placed| {
            placed.signatures.is_some()
                || !matches!(placed.rrset.rtype, RecordType::A | RecordType::AAAA)
                || matches!(Owner::of(&placed.owner, question), Owner::Name(_))
        })
}

/// Writes the question as the query spelled it (a query's name is never compressed). With
/// `targets` the encoder writes it, recording each suffix of the name as a compression target,
/// an allocation each; without, its octets go in one write.
fn emit_question(enc: &mut BinEncoder<'_>, question: &Query, targets: bool) -> ProtoResult<()> {
    if targets {
        return question.emit(enc);
    }
    let mut octets = [0; MAX_QUESTION];
    let mut len = 0;
    for label in question.name().iter() {
        // A decoded name fits in 255 octets, its root label included; should one not, the
        // encoder writes it rather than a worker panicking.
        let Some(room) = octets.get_mut(len..len + 1 + label.len() + 5) else {
            return question.emit(enc);
        };
        room[0] = label.len() as u8;
        room[1..1 + label.len()].copy_from_slice(label);
        len += 1 + label.len();
    }
    // The root label (`octets` is zeroed), then type and class: the room was checked above.
    len += 1;
    octets[len..len + 2].copy_from_slice(&u16::from(question.query_type()).to_be_bytes());
    octets[len + 2..len + 4].copy_from_slice(&u16::from(question.query_class()).to_be_bytes());
    enc.emit_vec(&octets[..len + 4])
}

/// The longest question: a name of 255 octets, its root label included, type and class.
const MAX_QUESTION: usize = 255 + 4;

/// Writes answer, authority and additional RRsets whole, each with its signatures, stopping
/// at the first that does not fit, the answer's rotating RRset at `turn`. Returns the record
/// counts and whether data the client needs was left out.
fn write_sections(
    enc: &mut BinEncoder<'_>,
    limit: usize,
    res: &Resolution<'_>,
    question: &Name,
    turn: Turn,
) -> ([u16; 3], bool) {
    let mut counts = [0u16; 3];
    // RFC 2181 §9: TC only when data the client needs is missing; extra addresses may simply
    // be left out, except glue in a referral (RFC 9471).
    let sections: [(&[Placed<'_>], bool); 3] = [
        (&res.answer, true),
        (&res.authority, true),
        (&res.additional, res.referral),
    ];
    for (index, (rrsets, required)) in sections.into_iter().enumerate() {
        let section_start = enc.offset();
        for placed in rrsets {
            let owner = Owner::of(&placed.owner, question);
            let span = match (index, turn) {
                (0, Turn::Next) => placed.rrset.next_answer(placed.order),
                (0, Turn::At(k)) => placed.rrset.answer_at(placed.order, k),
                _ => placed.rrset.whole(),
            };
            let before = enc.offset();
            if !fits(enc, limit, |enc| write_rrset(enc, placed, owner, span)) {
                let whole_section = index == 0 && res.answer_atomic;
                enc.set_offset(if whole_section { section_start } else { before });
                enc.trim();
                if whole_section {
                    counts[0] = 0;
                }
                return (counts, required);
            }
            counts[index] += span.count as u16;
            let Some(signatures) = placed.signatures else {
                continue;
            };
            // RFC 4035 §3.1.1: an RRset and its signatures stay together in the answer and
            // authority sections; in the additional section the signatures may be left out
            // without TC (and glue, the only additional data a referral needs, has none).
            let after_rrset = enc.offset();
            if fits(enc, limit, |enc| {
                write_signatures(enc, placed, owner, signatures)
            }) {
                counts[index] += signatures.rdatas.len() as u16;
            } else if index == 2 {
                enc.set_offset(after_rrset);
                enc.trim();
                return (counts, false);
            } else {
                enc.set_offset(before);
                enc.trim();
                counts[index] -= span.count as u16;
                return (counts, true);
            }
        }
    }
    (counts, false)
}

/// Runs `write` and reports whether it succeeded within `limit` octets.
fn fits(
    enc: &mut BinEncoder<'_>,
    limit: usize,
    write: impl FnOnce(&mut BinEncoder<'_>) -> ProtoResult<()>,
) -> bool {
    write(enc).is_ok() && enc.offset() <= limit
}

/// Writes the records of `placed` that `span` selects, in rotation order.
fn write_rrset(
    enc: &mut BinEncoder<'_>,
    placed: &Placed<'_>,
    owner: Owner<'_>,
    span: Span,
) -> ProtoResult<()> {
    let rdatas = &placed.rrset.rdatas;
    for i in 0..span.count {
        let rdata = &rdatas[(span.start + i) % rdatas.len()];
        write_record(enc, owner, placed.rrset.rtype, placed.ttl, rdata)?;
    }
    Ok(())
}

/// Writes the signatures of `placed` under its owner.
fn write_signatures(
    enc: &mut BinEncoder<'_>,
    placed: &Placed<'_>,
    owner: Owner<'_>,
    signatures: &Rrset,
) -> ProtoResult<()> {
    let ttl = placed.signature_ttl(signatures);
    for rdata in signatures.rdatas.iter() {
        write_record(enc, owner, RecordType::RRSIG, ttl, rdata)?;
    }
    Ok(())
}

/// How a record's owner goes on the wire.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owner<'n> {
    /// Spelled as the question, octet for octet: the pointer to it that compression finds,
    /// written without the encoder's search (most answers' owners are the question).
    Question,
    Name(&'n Name),
}

impl<'n> Owner<'n> {
    pub(super) fn of(owner: &'n Name, question: &Name) -> Self {
        // Case matters: compression points only at the same octets, and 0x20 case is kept.
        if owner.eq_case(question) {
            Self::Question
        } else {
            Self::Name(owner)
        }
    }

    fn emit(self, enc: &mut BinEncoder<'_>) -> ProtoResult<()> {
        match self {
            Self::Question => enc.emit_u16(QUESTION_POINTER),
            Self::Name(name) => name.emit(enc),
        }
    }
}

/// A compression pointer (RFC 1035 §4.1.4) to the question name, right after the header.
const QUESTION_POINTER: u16 = 0xc000 | HEADER_LEN as u16;

pub(super) fn write_record(
    enc: &mut BinEncoder<'_>,
    owner: Owner<'_>,
    rtype: RecordType,
    ttl: u32,
    rdata: &Rdata,
) -> ProtoResult<()> {
    owner.emit(enc)?;
    emit_type_class_ttl(enc, rtype, DNSClass::IN.into(), ttl)?;
    let length = enc.place::<u16>()?;
    rdata.emit(enc)?;
    let written = enc.len_since_place(&length) as u16;
    length.replace(enc, written)
}

/// A record's type, class and TTL, in one write: the encoder checks its room once.
fn emit_type_class_ttl(
    enc: &mut BinEncoder<'_>,
    rtype: RecordType,
    class: u16,
    ttl: u32,
) -> ProtoResult<()> {
    let mut fixed = [0; 8];
    fixed[..2].copy_from_slice(&u16::from(rtype).to_be_bytes());
    fixed[2..4].copy_from_slice(&class.to_be_bytes());
    fixed[4..].copy_from_slice(&ttl.to_be_bytes());
    enc.emit_vec(&fixed)
}

/// RFC 6891 §6.1.2: root owner, our payload size as class, extended RCODE and flags as TTL,
/// then the options.
fn emit_opt(enc: &mut BinEncoder<'_>, ttl: u32, options: &ReplyOptions<'_>) -> ProtoResult<()> {
    enc.emit(0)?;
    emit_type_class_ttl(enc, RecordType::OPT, EDNS_PAYLOAD, ttl)?;
    // `ServerIdentity` keeps the options far below 65535 octets.
    enc.emit_u16(options.len() as u16)?;
    options.emit(enc)
}

/// A TXT record in class CH, owned by the question name (a pointer to it), TTL 0, holding
/// `text` as one character-string (`ServerIdentity` keeps it within 255 octets).
fn write_chaos_txt(enc: &mut BinEncoder<'_>, text: &[u8]) -> ProtoResult<()> {
    enc.emit_u16(QUESTION_POINTER)?;
    emit_type_class_ttl(enc, RecordType::TXT, DNSClass::CH.into(), 0)?;
    enc.emit_u16(1 + text.len() as u16)?;
    enc.emit(text.len() as u8)?;
    enc.emit_vec(text)
}
