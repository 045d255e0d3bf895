//! The XDP program, compiled from lbdns-ebpf and embedded at build time (see `build.rs`), so the
//! `lbdns` binary is all an edge host needs.

/// The BPF ELF object, for `aya::Ebpf::load`, aligned as aya's ELF parser needs.
pub static PROGRAM: &[u8] = aya::include_bytes_aligned!(env!("LBDNS_EBPF_OBJECT_PATH"));

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
        // ELF64 headers are 8-byte aligned, and so is every BPF instruction.
        assert_eq!(PROGRAM.as_ptr().align_offset(8), 0);
    }
}
