//! Architectures (x86_64, x86, x32; each by its own numbers), the
//! multiplexed i386 socket calls, runc's -ENOSYS stub, and program shape.

use serde_json::json;

use super::*;
use crate::seccomp::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};

fn deny_mkdir(default: &str, arches: Value) -> Compiled {
    Compiled::new(json!({
        "defaultAction": default,
        "architectures": arches,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                     {"names": ["getpid", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
    }))
}

#[test]
fn each_arch_by_its_own_numbers() {
    let c = deny_mkdir(
        "SCMP_ACT_ALLOW",
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    );
    // mkdir is 83 on x86_64 and x32, 39 on i386 (where 83 is symlink).
    assert_eq!(c.on(Data::new(Arch::X86_64, 83)), errno(13));
    assert_eq!(c.on(Data::new(Arch::X32, 83)), errno(13));
    assert_eq!(c.on(Data::new(Arch::X86, 39)), errno(13));
    assert_eq!(c.on(Data::new(Arch::X86, 83)), ALLOW);
    assert_eq!(c.on(Data::new(Arch::X86_64, 39)), ALLOW);
    // An unknown audit arch never matches.
    let mut d = Data::new(Arch::X86_64, 83);
    d.arch = 0xc000_00b7; // AUDIT_ARCH_AARCH64
    assert_eq!(c.on(d), KILL_PROCESS);
}

#[test]
fn unlisted_arches_get_the_default_never_allow() {
    // Only x86_64 (the native ABI is always there, even when not listed).
    for arches in [json!(["SCMP_ARCH_X86_64"]), json!([]), json!(null)] {
        let c = deny_mkdir("SCMP_ACT_ERRNO", arches.clone());
        assert_eq!(c.on(Data::new(Arch::X86_64, 83)), errno(13));
        assert_eq!(c.on(Data::new(Arch::X86_64, 39)), ALLOW);
        assert_eq!(
            c.on(Data::new(Arch::X86, 39)),
            EPERM,
            "{arches}: i386 gets the default"
        );
        assert_eq!(
            c.on(Data::new(Arch::X86, 20)),
            EPERM,
            "{arches}: even getpid"
        );
        assert_eq!(
            c.on(Data::new(Arch::X32, 39)),
            EPERM,
            "{arches}: x32 gets the default"
        );
        // A blocklist (default ALLOW) cannot be sidestepped through int 0x80 or x32.
        let c = deny_mkdir("SCMP_ACT_ALLOW", arches.clone());
        assert_eq!(c.on(Data::new(Arch::X86_64, 83)), errno(13));
        assert_eq!(c.on(Data::new(Arch::X86, 39)), KILL_PROCESS, "{arches}");
        assert_eq!(c.on(Data::new(Arch::X32, 83)), KILL_PROCESS, "{arches}");
    }
    // x86 listed, x32 not: int 0x80 filtered by i386 numbers, x32 refused.
    let c = deny_mkdir("SCMP_ACT_LOG", json!(["SCMP_ARCH_X86"]));
    assert_eq!(c.on(Data::new(Arch::X86, 39)), errno(13));
    assert_eq!(c.on(Data::new(Arch::X86, 20)), ALLOW);
    assert_eq!(c.on(Data::new(Arch::X86, 83)), LOG);
    assert_eq!(c.on(Data::new(Arch::X86_64, 83)), errno(13));
    assert_eq!(c.on(Data::new(Arch::X32, 83)), KILL_PROCESS);
    // Foreign arches are accepted and change nothing; NATIVE is x86_64.
    let c = deny_mkdir(
        "SCMP_ACT_ERRNO",
        json!(["SCMP_ARCH_NATIVE", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]),
    );
    assert_eq!(c.plan.arches.len(), 1);
    assert_eq!(c.on(Data::new(Arch::X86_64, 83)), errno(13));
}

#[test]
fn x32_is_told_apart_by_the_x32_bit() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                     {"names": ["ioctl"], "action": "SCMP_ACT_KILL"}]
    }));
    // execve: 59 on x86_64, 520 on x32 (the legacy x32 range).
    assert_eq!(c.on(Data::new(Arch::X86_64, 59)), EPERM);
    assert_eq!(c.on(Data::new(Arch::X32, 520)), EPERM);
    assert_eq!(
        c.on(Data::new(Arch::X32, 59)),
        ALLOW,
        "59 means nothing in x32"
    );
    assert_eq!(c.on(Data::new(Arch::X86_64, 520)), ALLOW);
    assert_eq!(c.on(Data::new(Arch::X86_64, 16)), KILL_THREAD);
    assert_eq!(c.on(Data::new(Arch::X32, 514)), KILL_THREAD);
    // A number with the x32 bit but another arch value is not x32.
    let mut d = Data::new(Arch::X32, 520);
    d.arch = AUDIT_ARCH_I386;
    assert_eq!(c.on(d), KILL_PROCESS);
}

#[test]
fn i386_socket_calls_are_also_filtered_through_socketcall_and_ipc() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
            {"names": ["accept", "shmget"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        ]
    }));
    // Direct socket(2), i386 number 359, with the argument test.
    assert_eq!(c.on(Data::new(Arch::X86, 359).args(&[40])), errno(97));
    assert_eq!(c.on(Data::new(Arch::X86, 359).args(&[2])), ALLOW);
    // socketcall(SYS_SOCKET, args): the call number replaces the condition on
    // argument 0 (the real arguments are in memory), as libseccomp does.
    assert_eq!(
        c.on(Data::new(Arch::X86, 102).args(&[1, 0xffd0_0000])),
        errno(97)
    );
    assert_eq!(
        c.on(Data::new(Arch::X86, 102).args(&[3, 0xffd0_0000])),
        ALLOW
    );
    // accept exists on i386 only through socketcall (SYS_ACCEPT = 5).
    assert_eq!(c.on(Data::new(Arch::X86, 102).args(&[5])), EPERM);
    // shmget: direct 395 and ipc(SHMGET = 23).
    assert_eq!(c.on(Data::new(Arch::X86, 395)), EPERM);
    assert_eq!(c.on(Data::new(Arch::X86, 117).args(&[23])), EPERM);
    assert_eq!(c.on(Data::new(Arch::X86, 117).args(&[21])), ALLOW);
    // x86_64 has neither multiplexer.
    assert_eq!(c.x64("socket", &[40]), errno(97));
    assert_eq!(c.x64("accept", &[]), EPERM);
    assert_eq!(
        c.on(Data::new(Arch::X86_64, 102)),
        ALLOW,
        "102 is getuid on x86_64"
    );
}

#[test]
fn enosys_for_syscalls_newer_than_the_profile() {
    let arches = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": arches,
        "syscalls": [{"names": ["read", "write", "openat", "close", "exit_group", "pidfd_open"],
                      "action": "SCMP_ACT_ALLOW"},
                     {"names": ["rseq"], "action": "SCMP_ACT_ERRNO"}]
    }));
    // Highest named: pidfd_open, 434 everywhere (x32: with the bit). rseq
    // counts although its rule (same as the default) is dropped.
    assert_eq!(c.x64("clone3", &[]), ENOSYS, "435 > 434");
    assert_eq!(c.x64("fchmodat2", &[]), ENOSYS);
    assert_eq!(
        c.x64("mkdir", &[]),
        EPERM,
        "older than the profile: the default"
    );
    assert_eq!(c.x64("rseq", &[]), EPERM);
    assert_eq!(c.x64("pidfd_open", &[]), ALLOW);
    assert_eq!(c.on(Data::new(Arch::X86_64, 0xffff_ffff)), ENOSYS);
    assert_eq!(c.call(Arch::X86, "clone3", &[]), ENOSYS);
    assert_eq!(c.call(Arch::X86, "mkdir", &[]), EPERM);
    // x32's highest named is rseq (334 | bit): pidfd_open (434) is above.
    assert_eq!(c.call(Arch::X32, "clone3", &[]), ENOSYS);
    assert_eq!(c.call(Arch::X32, "pidfd_open", &[]), ALLOW);
    // x32 has legacy numbers up to 547: an x32 profile naming execve (520)
    // stubs nothing below it, as in runc.
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_KILL_PROCESS",
        "architectures": arches,
        "syscalls": [{"names": ["execve", "read"], "action": "SCMP_ACT_ALLOW"}]
    }));
    assert_eq!(c.call(Arch::X32, "clone3", &[]), KILL_PROCESS);
    assert_eq!(c.on(Data::new(Arch::X32, 548)), ENOSYS);
    assert_eq!(
        c.x64("clone3", &[]),
        ENOSYS,
        "x86_64: highest is execve, 59"
    );
    assert_eq!(c.x64("mkdir", &[]), ENOSYS);
    assert_eq!(c.x64("getpid", &[]), KILL_PROCESS);
    // No stub when the default lets syscalls through, or for an empty profile.
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"] {
        let c = Compiled::new(json!({
            "defaultAction": default,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL"}]
        }));
        assert!(
            c.plan.arches.iter().all(|a| a.enosys_above.is_none()),
            "{default}"
        );
        assert_ne!(c.x64("clone3", &[]), ENOSYS);
    }
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_TRAP"}));
    assert_eq!(c.x64("clone3", &[]), TRAP);
    // The stub adds no instruction: it is one more run in the search tree.
    let with = Compiled::new(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}]}));
    let without = Compiled::new(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}, {"names": ["file_setattr"], "action": "SCMP_ACT_ERRNO"}]}));
    assert_eq!(without.x64("fchmodat2", &[]), EPERM);
    assert_eq!(with.x64("fchmodat2", &[]), ENOSYS);
    assert!(with.filter.program.len() <= without.filter.program.len() + 1);
}

#[test]
fn program_shape_is_compact_and_lookups_are_short() {
    // An allowlist of every x86_64 syscall but a few, in all three ABIs.
    let names: Vec<&str> = crate::seccomp::tables::table(Arch::X86_64)
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !["mount", "umount2", "kexec_load", "reboot", "ptrace"].contains(n))
        .collect();
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
    }));
    let len = c.filter.program.len();
    assert!(len < 300, "{len} instructions");
    let mut worst = 0;
    for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
        for &(name, nr) in crate::seccomp::tables::table(arch) {
            let want = if ["mount", "umount2", "kexec_load", "reboot", "ptrace"].contains(&name) {
                EPERM
            } else if names.contains(&name) {
                ALLOW
            } else {
                EPERM
            };
            let d = Data::new(arch, nr);
            assert_eq!(c.on(d), want, "{arch:?} {name}");
            if arch == Arch::X86 && ["socketcall", "ipc"].contains(&name) {
                // One rule per multiplexed call (20 of them), tried in turn.
                assert!(c.steps(d) <= 50, "{name}: {}", c.steps(d));
            } else {
                worst = worst.max(c.steps(d));
            }
        }
    }
    assert!(worst <= 16, "a lookup took {worst} instructions");
    // The x86_64 path: ld arch, jeq, ld nr, jset, then about log2(runs) jge.
    assert_eq!(c.filter.program[0].k, 4);
    assert_eq!(c.filter.program[1].k, AUDIT_ARCH_X86_64);
    let d = Data::new(Arch::X86_64, 0);
    assert!(c.steps(d) <= 12, "{}", c.steps(d));
    assert!(c.filter.program.iter().any(|i| i.k == X32_SYSCALL_BIT));
}
