//! RFC 6672 DNAME redirection: finding the DNAME that owns a name's subtree, the name it
//! redirects to, and the CNAME that stands for the redirection in an answer.
//!
//! The zone keeps a DNAME as RFC 3597 octets (its target, uncompressed, RFC 6672 §2.1);
//! this module decodes the target when a query needs it.

use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{LowerName, Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::zone_data::{Encloser, Node, Rdata, Rrset};

/// A DNAME that redirects the names below its owner.
#[derive(Debug)]
pub struct Redirect<'z> {
    pub owner: LowerName,
    pub node: &'z Node,
    pub rrset: &'z Rrset,
    /// Where the DNAME points: the suffix that replaces the owner.
    pub target: Name,
}

/// The DNAME at `encloser`, the closest encloser of a name that does not exist. Zone
/// loading rejects data below a DNAME (RFC 6672 §2.4, as NSD does), so a name below a DNAME
/// owner never exists and its closest encloser is that owner.
pub fn at<'z>(encloser: &Encloser<'z>) -> Option<Redirect<'z>> {
    let node = encloser.node?;
    let rrset = node.get(RecordType::DNAME)?;
    let target = target(rrset.rdatas.first()?)?;
    Some(Redirect {
        owner: encloser.name.clone(),
        node,
        rrset,
        target,
    })
}

/// A DNAME record's target, or `None` for RDATA that is not one name filling it (zone loading
/// writes only well-formed targets, so this is never expected).
fn target(rdata: &Rdata) -> Option<Name> {
    let octets = match rdata.other()? {
        RData::Unknown { rdata, .. } => &rdata.anything,
        _ => return None,
    };
    let mut decoder = BinDecoder::new(octets);
    let name = Name::read(&mut decoder).ok()?;
    decoder.is_empty().then_some(name)
}

/// RFC 6672 §2.2: `name` with its suffix `owner` replaced by `target`, keeping the query's
/// spelling of the labels in front; `None` when the result is longer than 255 octets.
pub fn substitute(name: &Name, owner: &Name, target: &Name) -> Option<Name> {
    let kept = usize::from(name.num_labels() - owner.num_labels());
    Name::from_labels(name.iter().take(kept))
        .ok()?
        .append_name(target)
        .ok()
}

/// RFC 6672 §3.3 step 3c: the CNAME to `next`, with the DNAME's TTL as NSD gives it (§3.3
/// allows the TTL of the DNAME or lower); its owner is the name being redirected.
pub fn synthesise(next: &Name, ttl: u32) -> Rrset {
    let rdata = Rdata::from(RData::CNAME(CNAME(next.clone())));
    Rrset::new(RecordType::CNAME, ttl, vec![rdata])
}
