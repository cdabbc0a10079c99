//! A classic-BPF interpreter for seccomp programs, with the kernel's static
//! checks (seccomp_check_filter and bpf_check_classic, the parts that apply).

use seccompiler::sock_filter;

use crate::seccomp::arch::{Arch, X32_SYSCALL_BIT};
use crate::seccomp::emit::{
    ALU_AND_K, JMP_JA, JMP_JEQ_K, JMP_JGE_K, JMP_JGT_K, JMP_JSET_K, LD_W_ABS, MAX_INSNS, RET_K,
};

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    /// A call of `nr` in `arch` (the x32 bit is added for x32) with zero args.
    pub fn new(arch: Arch, nr: u32) -> Data {
        let nr = if arch == Arch::X32 {
            nr | X32_SYSCALL_BIT
        } else {
            nr
        };
        Data {
            nr,
            arch: arch.audit(),
            ip: 0x7fff_1234_5678,
            args: [0; 6],
        }
    }

    pub fn args(mut self, args: &[u64]) -> Data {
        self.args[..args.len()].copy_from_slice(args);
        self
    }

    /// The 32-bit word at byte `off`, as the kernel's little-endian layout has it.
    fn word(&self, off: u32) -> u32 {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.ip.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let o = off as usize;
        u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
    }
}

/// What the kernel would refuse at load time.
pub fn check(prog: &[sock_filter]) -> Result<(), String> {
    if prog.is_empty() || prog.len() > MAX_INSNS {
        return Err(format!("length {}", prog.len()));
    }
    let len = prog.len();
    for (pc, i) in prog.iter().enumerate() {
        let in_range = |off: usize| pc + 1 + off < len;
        match i.code {
            LD_W_ABS => {
                if i.k % 4 != 0 || i.k >= 64 {
                    return Err(format!("{pc}: bad load offset {}", i.k));
                }
            }
            ALU_AND_K | RET_K => {}
            JMP_JA => {
                if !in_range(i.k as usize) {
                    return Err(format!("{pc}: ja {} out of the program", i.k));
                }
            }
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                if !in_range(i.jt.into()) || !in_range(i.jf.into()) {
                    return Err(format!("{pc}: jump {}/{} out of the program", i.jt, i.jf));
                }
            }
            c => return Err(format!("{pc}: opcode {c:#x} not allowed in seccomp")),
        }
    }
    if prog[len - 1].code != RET_K {
        return Err("the last instruction is not a ret".into());
    }
    Ok(())
}

/// Run `prog` on `d`: the return value and how many instructions ran.
pub fn run(prog: &[sock_filter], d: &Data) -> (u32, usize) {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        let i = &prog[pc];
        steps += 1;
        let cond = |ok: bool| if ok { i.jt as usize } else { i.jf as usize };
        pc += 1 + match i.code {
            LD_W_ABS => {
                a = d.word(i.k);
                0
            }
            ALU_AND_K => {
                a &= i.k;
                0
            }
            RET_K => return (i.k, steps),
            JMP_JA => i.k as usize,
            JMP_JEQ_K => cond(a == i.k),
            JMP_JGT_K => cond(a > i.k),
            JMP_JGE_K => cond(a >= i.k),
            JMP_JSET_K => cond(a & i.k != 0),
            c => panic!("{pc}: opcode {c:#x}"),
        };
    }
}

#[test]
fn interpreter_basics() {
    use crate::seccomp::emit::JMP_JEQ_K as JEQ;
    let f = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    // if (args[1].hi == 7) return 1; return 2;
    let prog = [
        f(LD_W_ABS, 0, 0, 16 + 8 + 4),
        f(JEQ, 0, 1, 7),
        f(RET_K, 0, 0, 1),
        f(RET_K, 0, 0, 2),
    ];
    check(&prog).unwrap();
    let d = Data::new(Arch::X86_64, 0).args(&[0, 7 << 32]);
    assert_eq!(run(&prog, &d), (1, 3));
    let d = Data::new(Arch::X86_64, 0).args(&[0, 7]);
    assert_eq!(run(&prog, &d).0, 2);
    assert!(check(&prog[..2]).is_err());
    assert!(check(&[f(JEQ, 5, 0, 0), f(RET_K, 0, 0, 0)]).is_err());
    assert!(check(&[f(LD_W_ABS, 0, 0, 2), f(RET_K, 0, 0, 0)]).is_err());
}
