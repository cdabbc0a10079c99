//! The meaning of a [`Plan`], written as directly as possible (64-bit
//! arithmetic, no BPF), to hold the emitted program against.

use super::interp::Data;
use crate::seccomp::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, Arch, X32_SYSCALL_BIT};
use crate::seccomp::profile::{Cond, Op, Outcome, Plan, RET_ENOSYS};

/// The return value the kernel should get for `d`.
pub fn expect(plan: &Plan, d: &Data) -> u32 {
    let arch = match d.arch {
        AUDIT_ARCH_X86_64 if d.nr & X32_SYSCALL_BIT != 0 => Arch::X32,
        AUDIT_ARCH_X86_64 => Arch::X86_64,
        AUDIT_ARCH_I386 => Arch::X86,
        _ => return plan.bad_arch,
    };
    let Some(ap) = plan.arch(arch) else {
        return plan.bad_arch;
    };
    match ap.syscalls.get(&d.nr) {
        Some(Outcome::Action(v)) => *v,
        Some(Outcome::Rules(rules)) => rules
            .iter()
            .find(|r| r.conds.iter().all(|c| holds(arch, c, &d.args)))
            .map_or(plan.default, |r| r.action),
        None => match ap.enosys_above {
            Some(h) if d.nr > h => RET_ENOSYS,
            _ => plan.default,
        },
    }
}

fn holds(arch: Arch, c: &Cond, args: &[u64; 6]) -> bool {
    let mut a = args[usize::from(c.index)];
    if arch.is_32bit() {
        a &= u64::from(u32::MAX);
    }
    let v = c.value;
    match c.op {
        Op::Ne => a != v,
        Op::Lt => a < v,
        Op::Le => a <= v,
        Op::Eq => a == v,
        Op::Ge => a >= v,
        Op::Gt => a > v,
        Op::MaskedEq => a & c.mask == v,
    }
}
