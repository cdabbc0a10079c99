//! A [`Plan`] to classic BPF, compact and within the kernel's limits.
//!
//! Program shape (forward order):
//!
//! ```text
//!   ld  arch
//!   jeq AUDIT_ARCH_X86_64 -> x86_64        (else the i386 check or bad-arch)
//!   jeq AUDIT_ARCH_I386   -> i386          (only when i386 is filtered)
//!   ret bad-arch
//! x86_64:
//!   ld  nr
//!   jset __X32_SYSCALL_BIT -> x32 tree     (bad-arch when x32 is not filtered)
//!   x86_64 tree ... rule blocks ...
//!   x32 tree ... rule blocks ...
//! i386:
//!   ld  nr
//!   i386 tree ... rule blocks ...
//! ```
//!
//! A tree is a binary search over the syscall-number line cut into runs of
//! equal outcome (the gaps are the default action, or ENOSYS above the
//! highest named number: runc's stub costs nothing extra here). Each leaf is
//! a shared `ret` or the rule block of a syscall with argument conditions;
//! an allowlist of 300 syscalls takes about a hundred `jge` and a lookup takes
//! about seven. Rule blocks use seccompiler's condition encoding (64-bit
//! values compared as high and low halves).
//!
//! The program is built backwards, from its last instruction to its first,
//! so every jump target is already placed when the jump is written. Classic
//! BPF jumps only forward, by at most 255 with `jt`/`jf`: a target further
//! away is reached through a `ja` trampoline (32-bit offset) or, for a
//! `ret`, a fresh copy of that `ret`. Nothing is ever moved afterwards.

use std::collections::HashMap;

use seccompiler::{
    BpfProgram, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule, sock_filter,
};

use super::arch::{Arch, X32_SYSCALL_BIT};
use super::profile::{ArchPlan, Cond, Op, Outcome, Plan, RET_ENOSYS, Rule};
use crate::error::{Error, Result};

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// Classic BPF opcodes (linux/bpf_common.h) used by seccomp filters.
pub const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
pub const ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
pub const JMP_JA: u16 = 0x05;
pub const JMP_JEQ_K: u16 = 0x05 | 0x10;
pub const JMP_JGT_K: u16 = 0x05 | 0x20;
pub const JMP_JGE_K: u16 = 0x05 | 0x30;
pub const JMP_JSET_K: u16 = 0x05 | 0x40;
pub const RET_K: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

/// Where a jump goes: a placed instruction, or any `ret` of that value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    /// Position counted from the end of the program (0 = last instruction).
    At(usize),
    Ret(u32),
}

/// Builds the program backwards.
#[derive(Default)]
struct Emitter {
    /// Instructions, last one first.
    rev: Vec<sock_filter>,
    /// The most recently placed (so the nearest) `ret` of each value.
    ret_at: HashMap<u32, usize>,
    /// The nearest `ja` trampoline to each position.
    tramp_at: HashMap<usize, usize>,
}

fn internal(what: &str) -> Error {
    Error::Msg(format!("seccomp: internal error emitting BPF: {what}"))
}

impl Emitter {
    /// Position the next instruction gets.
    fn pos(&self) -> usize {
        self.rev.len()
    }

    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> usize {
        self.rev.push(sock_filter { code, jt, jf, k });
        self.rev.len() - 1
    }

    fn ret(&mut self, value: u32) -> usize {
        let p = self.push(RET_K, 0, 0, value);
        self.ret_at.insert(value, p);
        p
    }

    /// A `ja` from the next position to `to`.
    fn ja(&mut self, to: usize) -> Result<usize> {
        let k = u32::try_from(self.pos() - to - 1).map_err(|_| internal("jump too long"))?;
        Ok(self.push(JMP_JA, 0, 0, k))
    }

    /// Can a conditional jump placed `extra` instructions from now reach `at`?
    fn reachable(&self, at: usize, extra: usize) -> bool {
        self.pos() + extra - at - 1 <= usize::from(u8::MAX)
    }

    /// A position within conditional-jump reach of the instruction placed
    /// `extra` instructions from now, that leads to `t`.
    fn reach(&mut self, t: Target, extra: usize) -> Result<usize> {
        match t {
            Target::At(p) => {
                if self.reachable(p, extra) {
                    return Ok(p);
                }
                if let Some(&q) = self.tramp_at.get(&p)
                    && self.reachable(q, extra)
                {
                    return Ok(q);
                }
                let q = self.ja(p)?;
                self.tramp_at.insert(p, q);
                Ok(q)
            }
            Target::Ret(v) => match self.ret_at.get(&v) {
                Some(&r) if self.reachable(r, extra) => Ok(r),
                _ => Ok(self.ret(v)),
            },
        }
    }

    /// `if (A <op> k) goto jt; else goto jf;`
    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) -> Result<Target> {
        if jt == jf {
            return self.goto(jt);
        }
        let t = self.reach(jt, 1)?;
        let f = self.reach(jf, 0)?;
        let p = self.pos();
        let off = |to: usize| u8::try_from(p - to - 1).map_err(|_| internal("jt/jf out of reach"));
        let (jt, jf) = (off(t)?, off(f)?);
        Ok(Target::At(self.push(code, jt, jf, k)))
    }

    /// Make the next instruction (in program order) lead to `t`.
    fn goto(&mut self, t: Target) -> Result<Target> {
        let here = self.pos();
        match t {
            Target::At(p) if p + 1 == here => Ok(t),
            Target::At(p) => Ok(Target::At(self.ja(p)?)),
            Target::Ret(v) => match self.ret_at.get(&v) {
                Some(&r) if r + 1 == here => Ok(Target::At(r)),
                _ => Ok(Target::At(self.ret(v))),
            },
        }
    }

    /// `A = seccomp_data[offset]`, then `next`.
    fn load(&mut self, offset: u32, next: Target) -> Result<Target> {
        self.goto(next)?;
        Ok(Target::At(self.push(LD_W_ABS, 0, 0, offset)))
    }

    /// The rule block of one syscall: each rule's conditions, then its `ret`;
    /// a failed condition goes on to the next rule, the last one to `otherwise`.
    fn rules(&mut self, arch: Arch, rules: &[Rule], otherwise: Target) -> Result<Target> {
        let mut next = otherwise;
        for rule in rules.iter().rev() {
            let conds = condition_bpf(arch, &rule.conds)?;
            // seccompiler's conditions jump, on failure, to the instruction
            // after the one that follows them: that one is the rule's `ret`,
            // the one after it must be the next rule.
            self.goto(next)?;
            self.ret(rule.action);
            for insn in conds.into_iter().rev() {
                self.rev.push(insn);
            }
            next = Target::At(self.pos() - 1);
        }
        Ok(next)
    }

    /// Binary search over `runs` (sorted by start, the first starting at 0).
    fn tree(&mut self, runs: &[(u32, Target)]) -> Result<Target> {
        match runs {
            [] => Err(internal("empty tree")),
            [(_, t)] => Ok(*t),
            _ => {
                let mid = runs.len() / 2;
                let right = self.tree(&runs[mid..])?;
                let left = self.tree(&runs[..mid])?;
                self.jump(JMP_JGE_K, runs[mid].0, right, left)
            }
        }
    }

    /// The rule blocks and the tree of one ABI; returns the tree's root (to
    /// be entered with the syscall number in A).
    fn arch(&mut self, ap: &ArchPlan, default: u32) -> Result<Target> {
        let mut blocks: HashMap<&[Rule], Target> = HashMap::new();
        let mut runs = Runs(vec![(0, Target::Ret(default))]);
        for (&nr, outcome) in &ap.syscalls {
            let t = match outcome {
                Outcome::Action(v) => Target::Ret(*v),
                Outcome::Rules(rules) => match blocks.get(rules.as_slice()) {
                    Some(t) => *t,
                    None => {
                        let t = self.rules(ap.arch, rules, Target::Ret(default))?;
                        blocks.insert(rules, t);
                        t
                    }
                },
            };
            runs.set(nr, t);
            if let Some(after) = nr.checked_add(1) {
                runs.set(after, Target::Ret(default));
            }
        }
        if let Some(after) = ap.enosys_above.and_then(|h| h.checked_add(1)) {
            runs.set(after, Target::Ret(RET_ENOSYS));
        }
        self.tree(&runs.0)
    }
}

/// The number line cut into runs: `(start, target)`, starts increasing.
struct Runs(Vec<(u32, Target)>);

impl Runs {
    /// From `start` on (until the next `set`), go to `t`. Calls come in
    /// increasing `start` order.
    fn set(&mut self, start: u32, t: Target) {
        if let Some(last) = self.0.last_mut()
            && last.0 == start
        {
            last.1 = t;
            let n = self.0.len();
            if n >= 2 && self.0[n - 2].1 == t {
                self.0.pop();
            }
            return;
        }
        if self.0.last().map(|l| l.1) != Some(t) {
            self.0.push((start, t));
        }
    }
}

/// seccompiler's encoding of the conditions of one rule: on failure they
/// jump over exactly one instruction after them.
fn condition_bpf(arch: Arch, conds: &[Cond]) -> Result<Vec<sock_filter>> {
    let len = if arch.is_32bit() {
        SeccompCmpArgLen::Dword
    } else {
        SeccompCmpArgLen::Qword
    };
    let conds = conds
        .iter()
        .map(|c| {
            let op = match c.op {
                Op::Ne => SeccompCmpOp::Ne,
                Op::Lt => SeccompCmpOp::Lt,
                Op::Le => SeccompCmpOp::Le,
                Op::Eq => SeccompCmpOp::Eq,
                Op::Ge => SeccompCmpOp::Ge,
                Op::Gt => SeccompCmpOp::Gt,
                Op::MaskedEq => SeccompCmpOp::MaskedEq(c.mask),
            };
            SeccompCondition::new(c.index, len.clone(), op, c.value)
                .map_err(|e| internal(&e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let rule = SeccompRule::new(conds).map_err(|e| internal(&e.to_string()))?;
    let prog: BpfProgram = rule.into();
    // seccompiler opens a rule with `ja 1` (enter) and `ja N` (skip it).
    match prog.as_slice() {
        [enter, skip, body @ ..]
            if enter.code == JMP_JA && enter.k == 1 && skip.code == JMP_JA && !body.is_empty() =>
        {
            Ok(body.to_vec())
        }
        _ => Err(internal("unexpected rule layout from seccompiler")),
    }
}

/// The whole program for `plan`.
pub fn emit(plan: &Plan) -> Result<BpfProgram> {
    let mut e = Emitter::default();
    // A classic BPF program must end with a `ret`.
    e.ret(plan.bad_arch);
    let bad = Target::Ret(plan.bad_arch);

    let i386 = match plan.arch(Arch::X86) {
        Some(ap) => {
            let root = e.arch(ap, plan.default)?;
            Some(match root {
                Target::Ret(_) => root,
                Target::At(_) => e.load(OFF_NR, root)?,
            })
        }
        None => None,
    };
    let x32 = match plan.arch(Arch::X32) {
        Some(ap) => e.arch(ap, plan.default)?,
        None => bad,
    };
    let x86_64 = match plan.arch(Arch::X86_64) {
        Some(ap) => e.arch(ap, plan.default)?,
        None => bad,
    };
    let split = e.jump(JMP_JSET_K, X32_SYSCALL_BIT, x32, x86_64)?;
    let amd64 = match split {
        Target::Ret(_) => split,
        Target::At(_) => e.load(OFF_NR, split)?,
    };
    let not_amd64 = match i386 {
        Some(t) => e.jump(JMP_JEQ_K, Arch::X86.audit(), t, bad)?,
        None => bad,
    };
    let top = e.jump(JMP_JEQ_K, Arch::X86_64.audit(), amd64, not_amd64)?;
    e.load(OFF_ARCH, top)?;

    if e.rev.len() > MAX_INSNS {
        return Err(Error::config(
            "linux.seccomp.syscalls",
            format!(
                "the filter needs {} BPF instructions, more than the kernel's limit of {MAX_INSNS}",
                e.rev.len()
            ),
        ));
    }
    e.rev.reverse();
    Ok(e.rev)
}
