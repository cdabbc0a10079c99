//! Argument conditions: every operator on 64-bit values (high and low halves),
//! AND within a rule, runc's OR when two conditions test the same argument,
//! and the 32-bit ABIs.

use serde_json::json;

use super::*;

const OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// Values around the 32-bit seams, where a half-by-half comparison goes wrong.
const VALUES: [u64; 14] = [
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_ffff_ffff,
    0x1234_5678_9abc_def0,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

fn holds(op: &str, a: u64, value: u64, value_two: u64) -> bool {
    match op {
        "SCMP_CMP_NE" => a != value,
        "SCMP_CMP_LT" => a < value,
        "SCMP_CMP_LE" => a <= value,
        "SCMP_CMP_EQ" => a == value,
        "SCMP_CMP_GE" => a >= value,
        "SCMP_CMP_GT" => a > value,
        "SCMP_CMP_MASKED_EQ" => a & value == value_two & value,
        _ => unreachable!(),
    }
}

#[test]
fn every_operator_on_64_bit_values() {
    for op in OPS {
        for (vi, &value) in VALUES.iter().enumerate() {
            let value_two = VALUES[(vi * 5 + 3) % VALUES.len()];
            for index in [0usize, 3, 5] {
                let c = Compiled::new(json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                                  "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]}]
                }));
                for &a in VALUES
                    .iter()
                    .chain(&[value, value ^ (1 << 32), value ^ 1, value_two])
                {
                    let mut args = [0x5a5a_5a5a_5a5a_5a5a_u64; 6];
                    args[index] = a;
                    let want = if holds(op, a, value, value_two) {
                        errno(5)
                    } else {
                        ALLOW
                    };
                    assert_eq!(
                        c.x64("ioctl", &args),
                        want,
                        "{op} arg{index}={a:#x} value={value:#x} valueTwo={value_two:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn masked_eq_is_libseccomp_s() {
    // (arg & value) == (valueTwo & value); the mask is `value`.
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x7e02_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]}]
    }));
    assert_eq!(c.x64("clone", &[0x3d0f00]), ALLOW, "thread flags");
    for ns in [
        0x0002_0000u64,
        0x0200_0000,
        0x0400_0000,
        0x0800_0000,
        0x1000_0000,
        0x2000_0000,
        0x4000_0000,
    ] {
        assert_eq!(c.x64("clone", &[0x3d0f00 | ns]), EPERM, "{ns:#x}");
    }
    // valueTwo bits outside the mask do not matter; a mask of zero always holds.
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mmap"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 2, "value": 4, "valueTwo": 0xff, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["umask"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0, "valueTwo": 5, "op": "SCMP_CMP_MASKED_EQ"}]},
        ]
    }));
    assert_eq!(c.x64("mmap", &[0, 4096, 7]), EPERM);
    assert_eq!(c.x64("mmap", &[0, 4096, 3]), ALLOW);
    assert_eq!(c.x64("umask", &[0o22]), EPERM);
    // ... so that rule became unconditional: no argument is loaded for it.
    assert_eq!(
        c.filter
            .program
            .iter()
            .filter(|i| i.code == 0x20 && i.k >= 16)
            .count(),
        2
    );
}

#[test]
fn conditions_of_a_rule_are_anded() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mmap"], "action": "SCMP_ACT_KILL_PROCESS",
                      "args": [{"index": 2, "value": 4, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"},
                               {"index": 3, "value": 0x20, "valueTwo": 0x20, "op": "SCMP_CMP_MASKED_EQ"},
                               {"index": 5, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_LT"}]}]
    }));
    assert_eq!(c.x64("mmap", &[0, 1, 4, 0x22, 0, 0]), KILL_PROCESS);
    assert_eq!(c.x64("mmap", &[0, 1, 4, 0x22, 0, 0x1_0000_0000]), ALLOW);
    assert_eq!(c.x64("mmap", &[0, 1, 3, 0x22, 0, 0]), ALLOW);
    assert_eq!(c.x64("mmap", &[0, 1, 4, 0x02, 0, 0]), ALLOW);
}

#[test]
fn same_argument_twice_makes_separate_rules() {
    // runc: "if two or more arguments have the same condition, revert to old
    // behavior, adding each condition as a separate rule" (so they are ORed).
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                               {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                               {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]}]
    }));
    assert_eq!(c.x64("personality", &[0, 0]), ALLOW);
    assert_eq!(c.x64("personality", &[8, 0]), ALLOW);
    assert_eq!(c.x64("personality", &[3, 1]), ALLOW);
    assert_eq!(c.x64("personality", &[3, 0]), EPERM);
}

#[test]
fn thirty_two_bit_abis_compare_the_low_half() {
    let c = Compiled::new(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0x1_0000_0009u64, "op": "SCMP_CMP_EQ"}]},
            {"names": ["tkill"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 0xffff_ffff_0000_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["tgkill"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 2, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GE"}]},
        ]
    }));
    // x86_64: all 64 bits.
    assert_eq!(c.x64("kill", &[1, 0x1_0000_0009]), EPERM);
    assert_eq!(c.x64("kill", &[1, 9]), ALLOW);
    // x86 and x32: the value is cut to 9, the argument's high half ignored.
    for arch in [Arch::X86, Arch::X32] {
        assert_eq!(c.call(arch, "kill", &[1, 9]), EPERM, "{arch:?}");
        assert_eq!(c.call(arch, "kill", &[1, 0x7_0000_0009]), EPERM, "{arch:?}");
        assert_eq!(c.call(arch, "kill", &[1, 15]), ALLOW, "{arch:?}");
        // A mask with an empty low half always holds there: unconditional.
        assert_eq!(c.call(arch, "tkill", &[1, 0]), EPERM, "{arch:?}");
        // >= 0 always holds.
        assert_eq!(c.call(arch, "tgkill", &[1, 2, 0]), EPERM, "{arch:?}");
    }
    assert_eq!(c.x64("tkill", &[1, 0xffff_ffff]), EPERM);
    assert_eq!(c.x64("tkill", &[1, 0x1_0000_0000]), ALLOW);
    assert_eq!(c.x64("tgkill", &[1, 2, 0xffff_ffff]), ALLOW);
}
