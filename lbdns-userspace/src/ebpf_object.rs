//! The XDP program, compiled from lbdns-ebpf and embedded at build time (see `build.rs`), so the
//! `lbdns` binary is all an edge host needs.

/// The BPF ELF object, for `aya::Ebpf::load`.
pub static PROGRAM: &[u8] = &OBJECT.0;

/// aya reads ELF structures from the bytes in place, so they need more than byte alignment.
/// This is what `aya::include_bytes_aligned!` expands to; it is spelled out because the crate
/// does not otherwise depend on aya yet.
#[repr(C, align(32))]
struct Aligned<Bytes: ?Sized>(Bytes);

static OBJECT: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("LBDNS_EBPF_OBJECT_PATH")));

#[cfg(test)]
mod tests {
    use super::PROGRAM;

    /// The ELF machine number for BPF.
    const EM_BPF: u16 = 247;

    #[test]
    fn embeds_an_aligned_little_endian_bpf_elf_object() {
        assert_eq!(PROGRAM[..4], *b"\x7fELF", "ELF magic");
        assert_eq!(PROGRAM[5], 1, "EI_DATA: little-endian");
        assert_eq!(PROGRAM[18..20], EM_BPF.to_le_bytes(), "e_machine");
        assert_eq!(PROGRAM.as_ptr().align_offset(32), 0);
    }
}
