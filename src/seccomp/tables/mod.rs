//! Syscall tables of the three x86 ABIs, as data (see generate.sh for where
//! they come from). seccompiler has an x86_64 table, but it is private to the
//! crate and has no i386 or x32, so husk carries its own, all from one source.

mod i386;
mod x32;
mod x86_64;

use super::arch::Arch;

/// The table of an architecture: `(name, number)` sorted by name. x32
/// numbers are without `__X32_SYSCALL_BIT`.
pub(super) fn table(arch: Arch) -> &'static [(&'static str, u32)] {
    match arch {
        Arch::X86_64 => x86_64::SYSCALLS,
        Arch::X86 => i386::SYSCALLS,
        Arch::X32 => x32::SYSCALLS,
    }
}

/// The number of `name` in `arch`'s table (x32 without the x32 bit).
pub(super) fn lookup(arch: Arch, name: &str) -> Option<u32> {
    let t = table(arch);
    t.binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| t[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
            let t = table(arch);
            assert!(t.len() > 300, "{arch:?}");
            for w in t.windows(2) {
                assert!(w[0].0 < w[1].0, "{arch:?}: {} before {}", w[0].0, w[1].0);
            }
        }
    }

    #[test]
    fn well_known_numbers() {
        let cases = [
            (Arch::X86_64, "read", 0),
            (Arch::X86_64, "mkdir", 83),
            (Arch::X86_64, "clone3", 435),
            (Arch::X86_64, "fchmodat2", 452),
            (Arch::X86_64, "map_shadow_stack", 453),
            (Arch::X86_64, "file_setattr", 469),
            (Arch::X86, "exit", 1),
            (Arch::X86, "mkdir", 39),
            (Arch::X86, "socketcall", 102),
            (Arch::X86, "ipc", 117),
            (Arch::X86, "socket", 359),
            (Arch::X86, "_llseek", 140),
            (Arch::X86, "clone3", 435),
            (Arch::X86, "fchmodat2", 452),
            (Arch::X32, "read", 0),
            (Arch::X32, "mkdir", 83),
            (Arch::X32, "rt_sigaction", 512),
            (Arch::X32, "execve", 520),
            (Arch::X32, "pwritev2", 547),
            (Arch::X32, "fchmodat2", 452),
        ];
        for (arch, name, nr) in cases {
            assert_eq!(lookup(arch, name), Some(nr), "{arch:?} {name}");
        }
        // Not in every ABI.
        assert_eq!(lookup(Arch::X86, "accept"), None);
        assert_eq!(lookup(Arch::X86, "map_shadow_stack"), None);
        assert_eq!(lookup(Arch::X32, "map_shadow_stack"), None);
        assert_eq!(lookup(Arch::X86_64, "socketcall"), None);
        assert_eq!(lookup(Arch::X86_64, "no_such_call"), None);
    }
}
