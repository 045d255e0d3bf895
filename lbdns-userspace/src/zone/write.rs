//! A `Zone` → a master file that `Zone::load` (and NSD) reads back to the same records, written
//! so that a crash at any moment leaves either the previous file or the new one whole.
//!
//! Every owner is absolute and every record has its TTL and class, so the file needs no
//! `$ORIGIN` or `$TTL`. The nine types lbdns keeps typed are written in presentation form;
//! every other type in RFC 3597 `\#` form from the wire octets lbdns holds, which reads back
//! to exactly those octets, whether or not lbdns can write the type's presentation form.

use std::borrow::Borrow;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::{rtype, Zone};

/// Writing the kept copy failed; the file at `path`, if there was one, is unchanged.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the zone file {}: {source}", path.display())]
pub struct SaveError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Writes `zone` to `path` through a temporary file in the same directory, synced, renamed
/// over `path`, and the directory synced so that the rename itself survives a crash.
pub fn save(zone: &Zone, path: &Path) -> Result<(), SaveError> {
    // The SOA first, as a master file conventionally starts; then the rest in order.
    let (soa, rest): (Vec<_>, Vec<_>) = zone
        .records
        .iter()
        .partition(|r| r.record.record_type() == hickory_proto::rr::RecordType::SOA);
    let records = soa.into_iter().chain(rest).map(|r| &r.record);
    save_records(&zone.origin, records, path)
}

/// [`save`] for records that are not held as a `Zone` (a secondary keeps only its index): the
/// zone at `origin` with `records`, in the order given (the SOA first, by convention).
pub fn save_records<R: Borrow<Record>>(
    origin: &Name,
    records: impl Iterator<Item = R>,
    path: &Path,
) -> Result<(), SaveError> {
    let error = |source| SaveError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| error(std::io::Error::other("the path names no file")))?;
    // Unique per process and call, so two saves never share a temporary file.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(
        ".tmp{}.{}",
        std::process::id(),
        SAVES.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = dir.join(temp_name);
    let written = write_synced(origin, records, &temp).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        // Best effort: the error that matters is the one that stopped the write.
        let _ = fs::remove_file(&temp);
        return Err(error(e));
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(error)
}

fn write_synced<R: Borrow<Record>>(
    origin: &Name,
    records: impl Iterator<Item = R>,
    path: &Path,
) -> std::io::Result<()> {
    let file = File::create(path)?;
    let mut out = BufWriter::new(file);
    writeln!(out, "; zone {} written by lbdns", present_name(origin))?;
    let mut line = String::with_capacity(256);
    for record in records {
        line.clear();
        present(record.borrow(), &mut line);
        out.write_all(line.as_bytes())?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// One record as a master-file line, newline included.
fn present(record: &Record, out: &mut String) {
    let _ = write!(
        out,
        "{} {} IN {} ",
        present_name(&record.name),
        record.ttl,
        rtype::name(record.record_type())
    );
    let _ = match &record.data {
        RData::A(a) => write!(out, "{}", a.0),
        RData::AAAA(aaaa) => write!(out, "{}", aaaa.0),
        RData::NS(ns) => write!(out, "{}", present_name(&ns.0)),
        RData::CNAME(cname) => write!(out, "{}", present_name(&cname.0)),
        RData::PTR(ptr) => write!(out, "{}", present_name(&ptr.0)),
        RData::MX(mx) => write!(out, "{} {}", mx.preference, present_name(&mx.exchange)),
        RData::SRV(srv) => write!(
            out,
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            present_name(&srv.target)
        ),
        // Refresh, retry and expire are unsigned on the wire; hickory holds them as i32.
        RData::SOA(soa) => write!(
            out,
            "{} {} {} {} {} {} {}",
            present_name(&soa.mname),
            present_name(&soa.rname),
            soa.serial,
            soa.refresh.cast_unsigned(),
            soa.retry.cast_unsigned(),
            soa.expire.cast_unsigned(),
            soa.minimum
        ),
        RData::TXT(txt) => {
            for (i, string) in txt.txt_data.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push('"');
                for &b in string.iter() {
                    text_octet(b, out);
                }
                out.push('"');
            }
            Ok(())
        }
        other => generic(other, out),
    };
    out.push('\n');
}

/// RFC 3597 §5: `\# <length> <hex>`.
fn generic(rdata: &RData, out: &mut String) -> std::fmt::Result {
    let wire = match rdata {
        RData::Unknown { rdata, .. } => rdata.anything.clone(),
        // The zone reader makes no other variant; encode whatever hickory holds all the same.
        other => {
            let mut wire = Vec::new();
            let mut encoder = BinEncoder::new(&mut wire);
            if other.emit(&mut encoder).is_err() {
                return write!(out, "\\# 0");
            }
            wire
        }
    };
    write!(out, "\\# {}", wire.len())?;
    if !wire.is_empty() {
        out.push(' ');
        out.push_str(&data_encoding::HEXUPPER.encode(&wire));
    }
    Ok(())
}

/// An absolute name, every octet outside letters, digits, `-`, `_` and `*` as `\DDD`, which
/// the zone reader (and every master-file reader) decodes back into the same label.
fn present_name(name: &Name) -> String {
    if name.is_root() {
        return ".".into();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for label in name.iter() {
        for &b in label {
            name_octet(b, &mut out);
        }
        out.push('.');
    }
    out
}

/// A label octet: letters, digits, `-`, `_` and `*` as themselves, the rest as `\DDD`.
fn name_octet(b: u8, out: &mut String) {
    if b.is_ascii_alphanumeric() || b"-_*".contains(&b) {
        out.push(char::from(b));
    } else {
        let _ = write!(out, "\\{b:03}");
    }
}

/// An octet of a quoted character-string: printable ASCII as itself but for the quote, the
/// backslash and the characters a lexer might still look at, the rest as `\DDD`.
fn text_octet(b: u8, out: &mut String) {
    if (b' '..=b'~').contains(&b) && !b"\"\\();".contains(&b) {
        out.push(char::from(b));
    } else {
        let _ = write!(out, "\\{b:03}");
    }
}

#[cfg(test)]
mod tests;
