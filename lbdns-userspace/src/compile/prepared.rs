//! The program's copy of records a prepared reply carries (`lbdns_common::prepared`): shared
//! by NXDOMAIN ([`super::negative`]) and fixed replies ([`super::fixed`]).

use lbdns_common::{
    csum::folded_sum,
    prepared::{Pointer, Records, INTO_RECORD, MAX_RECORD_LEN, MIN_RECORD_LEN, SIGNED_ZONE},
};

use crate::authority::PointerTarget;

/// `octets` with zeroes where the moving `pointers` go, their sum, and the pointers; marked
/// [`SIGNED_ZONE`] if `signed`. `None` if they do not fit.
pub fn records(
    octets: &[u8],
    pointers: impl Iterator<Item = (usize, PointerTarget)>,
    signed: bool,
) -> Option<Records> {
    if !(MIN_RECORD_LEN..=MAX_RECORD_LEN).contains(&octets.len()) {
        return None;
    }
    let mut value = Records {
        len: octets.len() as u16,
        flags: if signed { SIGNED_ZONE } else { 0 },
        ..Records::default()
    };
    value.octets[..octets.len()].copy_from_slice(octets);
    for (at, target) in pointers {
        let slot = value.pointers.get_mut(usize::from(value.pointer_count))?;
        let to = match target {
            PointerTarget::Question(offset) => u16::try_from(offset).ok()?,
            PointerTarget::Record(offset) => u16::try_from(offset).ok()? | INTO_RECORD,
        };
        if to & INTO_RECORD != 0 && matches!(target, PointerTarget::Question(_)) {
            return None;
        }
        *slot = Pointer {
            at: u16::try_from(at).ok()?,
            to,
        };
        value.octets.get_mut(at..at + 2)?.fill(0);
        value.pointer_count += 1;
    }
    value.sum = folded_sum(&value.octets);
    Some(value)
}
