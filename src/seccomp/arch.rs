//! The syscall ABIs an x86_64 kernel runs, how the filter tells them apart,
//! and how a syscall name becomes numbers in each of them.
//!
//! The kernel hands seccomp `AUDIT_ARCH_X86_64` for both x86_64 and x32 tasks
//! (x32 numbers carry `__X32_SYSCALL_BIT`) and `AUDIT_ARCH_I386` for the
//! int 0x80 / 32-bit path. On i386 the socket and SysV IPC calls also exist
//! multiplexed through `socketcall(2)` and `ipc(2)`; as libseccomp does, a
//! rule for `socket` there also covers `socketcall` with `call == SYS_SOCKET`.

use super::tables;

/// `__X32_SYSCALL_BIT`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `AUDIT_ARCH_X86_64` (EM_X86_64 | 64-bit | little-endian).
pub const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
/// `AUDIT_ARCH_I386` (EM_386 | little-endian).
pub const AUDIT_ARCH_I386: u32 = 3 | 0x4000_0000;

/// One syscall ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    X86,
    X32,
}

impl Arch {
    /// The value of `seccomp_data.arch` for this ABI.
    pub fn audit(self) -> u32 {
        match self {
            Arch::X86_64 | Arch::X32 => AUDIT_ARCH_X86_64,
            Arch::X86 => AUDIT_ARCH_I386,
        }
    }

    /// libseccomp treats x86 and x32 as 32-bit ABIs: argument conditions
    /// compare the low 32 bits only.
    pub fn is_32bit(self) -> bool {
        matches!(self, Arch::X86 | Arch::X32)
    }

    /// The runtime-spec name.
    pub fn oci_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X32 => "SCMP_ARCH_X32",
        }
    }

    /// The ABI husk itself runs as, which every filter covers (libseccomp
    /// always includes the native architecture, whatever `architectures` says).
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else {
            None
        }
    }

    /// The filterable architecture an OCI name stands for on this host:
    /// `Ok(None)` for an architecture this kernel never reports (arm, s390x,
    /// ...), which is then left out as libseccomp's filter would never match it.
    pub fn from_oci(arch: oci_spec::runtime::Arch) -> Option<Arch> {
        use oci_spec::runtime::Arch as A;
        match arch {
            A::ScmpArchNative => Arch::native(),
            A::ScmpArchX86_64 => Some(Arch::X86_64),
            A::ScmpArchX86 => Some(Arch::X86),
            A::ScmpArchX32 => Some(Arch::X32),
            _ => None,
        }
    }

    /// Where `name` goes in this ABI: the direct syscall number (with the x32
    /// bit for x32) and, on i386, the multiplexer with its call number. Empty
    /// if the ABI has no such syscall.
    pub fn resolve(self, name: &str) -> Vec<Target> {
        let mut out = Vec::new();
        if let Some(nr) = tables::lookup(self, name) {
            let nr = if self == Arch::X32 {
                nr | X32_SYSCALL_BIT
            } else {
                nr
            };
            out.push(Target { nr, call: None });
        }
        if self == Arch::X86 {
            if let Some(call) = lookup_call(SOCKETCALLS, name) {
                out.push(Target {
                    nr: SYS_SOCKETCALL,
                    call: Some(call),
                });
            } else if let Some(call) = lookup_call(IPC_CALLS, name) {
                out.push(Target {
                    nr: SYS_IPC,
                    call: Some(call),
                });
            }
        }
        out
    }
}

/// One place a named syscall is filtered at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// `seccomp_data.nr`.
    pub nr: u32,
    /// For a multiplexed call: the value its first argument must have.
    pub call: Option<u32>,
}

/// i386 `socketcall`.
const SYS_SOCKETCALL: u32 = 102;
/// i386 `ipc`.
const SYS_IPC: u32 = 117;

/// `SYS_*` call numbers of socketcall(2) (linux/net.h).
const SOCKETCALLS: &[(&str, u32)] = &[
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// Call numbers of ipc(2) (linux/ipc.h).
const IPC_CALLS: &[(&str, u32)] = &[
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

fn lookup_call(calls: &[(&str, u32)], name: &str) -> Option<u32> {
    calls.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Whether any ABI husk filters knows `name` (unknown names are ignored, as
/// runc ignores what libseccomp cannot resolve).
pub fn known_anywhere(name: &str) -> bool {
    [Arch::X86_64, Arch::X86, Arch::X32]
        .iter()
        .any(|a| !a.resolve(name).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_per_abi() {
        assert_eq!(
            Arch::X86_64.resolve("mkdir"),
            vec![Target { nr: 83, call: None }]
        );
        assert_eq!(
            Arch::X32.resolve("mkdir"),
            vec![Target {
                nr: 83 | X32_SYSCALL_BIT,
                call: None
            }]
        );
        assert_eq!(
            Arch::X86.resolve("mkdir"),
            vec![Target { nr: 39, call: None }]
        );
        // i386 socket: the direct call and socketcall(SYS_SOCKET, ...).
        assert_eq!(
            Arch::X86.resolve("socket"),
            vec![
                Target {
                    nr: 359,
                    call: None
                },
                Target {
                    nr: 102,
                    call: Some(1)
                }
            ]
        );
        // accept has no direct i386 number; semop only goes through ipc.
        assert_eq!(
            Arch::X86.resolve("accept"),
            vec![Target {
                nr: 102,
                call: Some(5)
            }]
        );
        assert_eq!(
            Arch::X86.resolve("semop"),
            vec![Target {
                nr: 117,
                call: Some(1)
            }]
        );
        assert!(Arch::X86_64.resolve("socketcall").is_empty());
        assert!(known_anywhere("socketcall"));
        assert!(!known_anywhere("arm_fadvise64_64"));
    }

    #[test]
    fn audit_values() {
        assert_eq!(AUDIT_ARCH_X86_64, 0xc000_003e);
        assert_eq!(AUDIT_ARCH_I386, 0x4000_0003);
        assert_eq!(Arch::X32.audit(), AUDIT_ARCH_X86_64);
    }
}
