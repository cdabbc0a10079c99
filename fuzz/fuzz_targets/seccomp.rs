//! Seccomp translation: arbitrary JSON read as `linux.seccomp`
//! (oci_spec's LinuxSeccomp), then `husk::seccomp::compile`, which is pure.
//!
//! Checked besides "never panics": a filter that compiled is one the kernel
//! would load (1..=4096 instructions, every jump lands inside the program,
//! the last instruction returns), and it survives the serde round trip to
//! the init.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;

const BPF_CLASS_JMP: u16 = 0x05;
const BPF_CLASS_RET: u16 = 0x06;
const BPF_OP_JA: u16 = 0x00;

fuzz_target!(|data: &[u8]| {
    let Ok(seccomp) = serde_json::from_slice::<LinuxSeccomp>(data) else {
        return;
    };
    let Ok(filter) = husk::seccomp::compile(&seccomp) else {
        return;
    };
    let p = &filter.program;
    assert!(
        !p.is_empty() && p.len() <= 4096,
        "program of {} instructions",
        p.len()
    );
    for (i, ins) in p.iter().enumerate() {
        if ins.code & 0x07 != BPF_CLASS_JMP {
            continue;
        }
        let next = i + 1;
        if ins.code & 0xf0 == BPF_OP_JA {
            assert!(
                next + (ins.k as usize) < p.len(),
                "ja out of range at {i}: {ins:?}"
            );
        } else {
            assert!(
                next + usize::from(ins.jt) < p.len(),
                "jt out of range at {i}: {ins:?}"
            );
            assert!(
                next + usize::from(ins.jf) < p.len(),
                "jf out of range at {i}: {ins:?}"
            );
        }
    }
    let last = &p[p.len() - 1];
    assert_eq!(
        last.code & 0x07,
        BPF_CLASS_RET,
        "the last instruction does not return: {last:?}"
    );

    let json = serde_json::to_vec(&filter).expect("a Filter serialises");
    let back: husk::seccomp::Filter = serde_json::from_slice(&json).expect("a Filter deserialises");
    assert_eq!(back, filter, "the filter changed on its way to the init");
});
