//! Default action, every action with its value, rule order, flags, errors.

use serde_json::json;

use super::*;
use crate::seccomp::profile::flag;

#[test]
fn default_action_and_errno() {
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_ERRNO"}));
    assert_eq!(c.x64("mkdir", &[]), EPERM, "runc's default errno is EPERM");
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13}));
    assert_eq!(c.x64("mkdir", &[]), errno(13));
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert_eq!(c.x64("mkdir", &[]), ALLOW);
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_KILL"}));
    assert_eq!(c.x64("read", &[]), KILL_THREAD);
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_TRACE", "defaultErrnoRet": 42}));
    assert_eq!(c.x64("read", &[]), trace(42));
    let c = Compiled::new(json!({"defaultAction": "SCMP_ACT_LOG"}));
    assert_eq!(c.x64("read", &[]), LOG);
    // A filter without rules is three instructions plus the arch check.
    assert!(c.filter.program.len() <= 8, "{}", c.filter.program.len());
}

#[test]
fn every_action_in_one_profile() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "listenerPath": "/run/agent.sock",
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["chdir"], "action": "SCMP_ACT_KILL"},
            {"names": ["fchdir"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["getuid"], "action": "SCMP_ACT_TRAP"},
            {"names": ["getgid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["geteuid"], "action": "SCMP_ACT_TRACE"},
            {"names": ["read", "close"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["write"], "action": "SCMP_ACT_LOG"},
            {"names": ["openat"], "action": "SCMP_ACT_NOTIFY"},
        ]
    }));
    assert_eq!(c.x64("mkdir", &[]), errno(13));
    assert_eq!(c.x64("rmdir", &[]), EPERM);
    assert_eq!(c.x64("chdir", &[]), KILL_THREAD);
    assert_eq!(c.x64("fchdir", &[]), KILL_THREAD);
    assert_eq!(c.x64("getppid", &[]), KILL_PROCESS);
    assert_eq!(c.x64("getuid", &[]), TRAP);
    assert_eq!(c.x64("getgid", &[]), trace(7));
    assert_eq!(
        c.x64("geteuid", &[]),
        trace(1),
        "TRACE without errnoRet: EPERM as runc"
    );
    assert_eq!(c.x64("read", &[]), ALLOW);
    assert_eq!(c.x64("close", &[]), ALLOW);
    assert_eq!(c.x64("write", &[]), LOG);
    assert_eq!(c.x64("openat", &[]), NOTIFY);
    assert_eq!(c.x64("getpid", &[]), EPERM);
    assert_eq!(c.filter.flags, flag::NEW_LISTENER);
    let l = c.filter.listener.as_ref().unwrap();
    assert_eq!(l.path, std::path::Path::new("/run/agent.sock"));
    assert_eq!(l.metadata, None);
}

#[test]
fn rules_like_the_default_are_skipped() {
    // runc drops a rule whose action equals the default action, so it does
    // not override the conditional rule as an unconditional one would.
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7e02_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        ]
    }));
    assert_eq!(c.x64("clone", &[0x0001_1200]), ALLOW);
    assert_eq!(c.x64("clone", &[0x1000_0000]), EPERM, "CLONE_NEWUSER");
    // ... but only when the errno matches too.
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0x7e02_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        ]
    }));
    assert_eq!(c.x64("clone", &[0x0001_1200]), ENOSYS);
}

#[test]
fn several_rules_for_one_syscall() {
    // Conditional rules in profile order, the first match decides.
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                      {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
        ]
    }));
    assert_eq!(c.x64("socket", &[16, 3, 9]), errno(22));
    assert_eq!(c.x64("socket", &[16, 3, 0]), LOG);
    assert_eq!(c.x64("socket", &[40, 1, 0]), errno(97));
    assert_eq!(c.x64("socket", &[2, 1, 0]), ALLOW);
    // An unconditional rule wins over conditional ones, wherever it is;
    // the first unconditional one wins (libseccomp's database).
    for order in [[0, 1, 2], [1, 0, 2], [1, 2, 0]] {
        let rules = [
            json!({"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
                   "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}),
            json!({"names": ["kill"], "action": "SCMP_ACT_LOG"}),
            json!({"names": ["kill"], "action": "SCMP_ACT_TRAP"}),
        ];
        let c = Compiled::new(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": order.iter().map(|&i| rules[i].clone()).collect::<Vec<_>>()
        }));
        let first_uncond =
            if order.iter().position(|&i| i == 1) < order.iter().position(|&i| i == 2) {
                LOG
            } else {
                TRAP
            };
        assert_eq!(c.x64("kill", &[1, 9]), first_uncond, "{order:?}");
        assert_eq!(c.x64("kill", &[1, 15]), first_uncond, "{order:?}");
    }
}

#[test]
fn names_share_a_rule_and_unknown_names_are_ignored() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_syscall", "mkdir", "arm_fadvise64_64", "rmdir"],
                      "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"}]}]
    }));
    assert_eq!(c.x64("mkdir", &[0, 0o700]), EPERM);
    assert_eq!(c.x64("mkdir", &[0, 0o755]), ALLOW);
    assert_eq!(c.x64("rmdir", &[0, 0o700]), EPERM);
    // The two syscalls share one rule block.
    let shared = c.filter.program.iter().filter(|i| i.k == 0o700).count();
    assert_eq!(shared, 1);
}

#[test]
fn flags() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]
    }));
    assert_eq!(c.filter.flags, flag::LOG | flag::SPEC_ALLOW | flag::TSYNC);
    assert!(c.filter.listener.is_none());
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"],
        "listenerPath": "/run/a.sock", "listenerMetadata": "hello",
        "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert_eq!(
        c.filter.flags,
        flag::WAIT_KILLABLE_RECV | flag::TSYNC | flag::TSYNC_ESRCH | flag::NEW_LISTENER
    );
    assert_eq!(
        c.filter.listener.as_ref().unwrap().metadata.as_deref(),
        Some("hello")
    );
    assert_eq!(c.x64("mkdirat", &[]), NOTIFY);
    assert_eq!(c.x64("mkdir", &[]), ALLOW);
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"}),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG"},
                                {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath: agent.sock is not an absolute path",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
            "linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG"},
                                {"names": ["read"], "action": "SCMP_ACT_LOG"},
                                {"names": ["read"], "action": "SCMP_ACT_LOG"},
                                {"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                 "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[3].args[0].index: 6 is not an argument index (0 to 5)",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}),
            "linux.seccomp.syscalls[0].errnoRet: 70000 does not fit the 16 bits of a seccomp return value",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 65536}),
            "linux.seccomp.defaultErrnoRet: 65536 does not fit the 16 bits of a seccomp return value",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names: must name at least one syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names[1]: empty syscall name",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(compile_err(v), want);
    }
    // An unknown action does not get past oci-spec's types: spec.rs reports
    // it with the JSON path.
    assert!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
                           "syscalls": [{"names": ["read"], "action": "SCMP_ACT_FOO"}]}))
        .starts_with("(spec) unknown variant `SCMP_ACT_FOO`")
    );
}

#[test]
fn too_large_a_filter_is_refused_with_the_field() {
    // 1,000 syscalls with a distinct argument test each: about 6 instructions
    // per rule in each of three ABIs.
    let names: Vec<&str> = crate::seccomp::tables::table(Arch::X86_64)
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let syscalls: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"names": [names[i % names.len()]], "action": "SCMP_ACT_ALLOW",
                   "args": [{"index": i % 6, "value": i as u64 * 0x1_0000_0001, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let e = compile_err(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls
    }));
    assert!(
        e.starts_with("linux.seccomp.syscalls: the filter needs ")
            && e.ends_with("BPF instructions, more than the kernel's limit of 4096"),
        "{e}"
    );
}
