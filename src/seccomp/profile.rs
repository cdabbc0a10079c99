//! `linux.seccomp` to a [`Plan`]: per ABI, which syscall numbers get which
//! action, under which argument conditions. Pure data; every decision that
//! runc and libseccomp make about the profile is made here:
//!
//! - `SCMP_ACT_KILL` is `KILL_THREAD`; `errnoRet` defaults to EPERM for ERRNO
//!   and TRACE (the value a tracer sees); `defaultErrnoRet` likewise.
//! - A rule whose action equals the default action is skipped (runc).
//! - Names no ABI knows are ignored (runc logs them at debug level); a name
//!   known to some ABIs only is filtered in those.
//! - Conditions of one rule are ANDed, except that when two of them test the
//!   same argument runc turns each condition into a rule of its own (ORed).
//! - Several rules for one syscall: an unconditional one wins over every
//!   conditional one, and the first unconditional one wins (libseccomp's
//!   database keeps the "shortest chain"); conditional rules are tried in the
//!   profile's order and the first that matches decides. (libseccomp merges
//!   overlapping conditional rules into a tree instead; profiles in the wild
//!   do not give overlapping conditions different actions.)
//! - x86 and x32 are 32-bit ABIs for libseccomp: conditions compare the low
//!   32 bits. `SCMP_CMP_MASKED_EQ` is `(arg & value) == (valueTwo & value)`;
//!   with an empty mask it always holds and is dropped.
//! - The native ABI is always filtered; other listed ABIs too. An ABI the
//!   profile does not cover gets the default action, or KILL_PROCESS when
//!   the default action lets syscalls through, so that a blocklist cannot be
//!   sidestepped through int 0x80 or x32 (libseccomp always kills).
//! - runc's -ENOSYS stub: unless the default action lets syscalls through
//!   (ALLOW, LOG, TRACE), numbers above the highest one the profile names in
//!   an ABI return ENOSYS, so that libc falls back from syscalls newer than the
//!   profile (clone3, fchmodat2). Unlike runc, the native ABI gets the stub
//!   even when `architectures` is empty.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompFilterFlag as F, LinuxSeccompOperator as O,
};
use seccompiler::SeccompAction;
use serde::{Deserialize, Serialize};

use super::arch::{self, Arch};
use crate::error::{Error, Result};

/// `SECCOMP_RET_USER_NOTIF` (seccompiler has no NOTIFY).
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_ERRNO | ENOSYS`.
pub const RET_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

/// `SECCOMP_FILTER_FLAG_*` (linux/seccomp.h).
pub mod flag {
    pub const TSYNC: u32 = 1 << 0;
    pub const LOG: u32 = 1 << 1;
    pub const SPEC_ALLOW: u32 = 1 << 2;
    pub const NEW_LISTENER: u32 = 1 << 3;
    pub const TSYNC_ESRCH: u32 = 1 << 4;
    pub const WAIT_KILLABLE_RECV: u32 = 1 << 5;
}

/// Where and with what the listener fd of a NOTIFY filter goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// `linux.seccomp.listenerPath`: the agent's unix socket, on the host.
    pub path: PathBuf,
    /// `linux.seccomp.listenerMetadata`, passed on as it is.
    pub metadata: Option<String>,
}

/// The whole filter as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Return value when no rule decides.
    pub default: u32,
    /// Return value for an ABI the filter does not cover.
    pub bad_arch: u32,
    /// One entry per filtered ABI, in `Arch` order (x86_64, x86, x32).
    pub arches: Vec<ArchPlan>,
    /// `SECCOMP_FILTER_FLAG_*` for seccomp(2).
    pub flags: u32,
    pub listener: Option<Listener>,
}

impl Plan {
    pub fn arch(&self, arch: Arch) -> Option<&ArchPlan> {
        self.arches.iter().find(|a| a.arch == arch)
    }
}

/// What one ABI does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchPlan {
    pub arch: Arch,
    /// `seccomp_data.nr` (x32 bit included) to its outcome; others get the default.
    pub syscalls: BTreeMap<u32, Outcome>,
    /// runc's stub: numbers above this return ENOSYS.
    pub enosys_above: Option<u32>,
}

/// The fate of one syscall number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Always this return value.
    Action(u32),
    /// The first rule whose conditions all hold decides; else the default.
    Rules(Vec<Rule>),
}

/// Conditions (ANDed, at least one) and the return value when they hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub conds: Vec<Cond>,
    pub action: u32,
}

/// One argument test, already cut to the ABI's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cond {
    /// Argument 0..=5.
    pub index: u8,
    pub op: Op,
    /// The value compared with (for `MaskedEq`, already masked).
    pub value: u64,
    /// For `MaskedEq`: the mask (never 0).
    pub mask: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

/// A condition as the profile gives it (64-bit, before any ABI).
#[derive(Debug, Clone, Copy)]
struct RawCond {
    index: u8,
    op: Op,
    value: u64,
    value_two: u64,
}

impl RawCond {
    /// The condition for `arch`, or `None` when it always holds there.
    fn for_arch(self, arch: Arch) -> Option<Cond> {
        let width = if arch.is_32bit() {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        if self.op == Op::MaskedEq {
            let mask = self.value & width;
            if mask == 0 {
                return None;
            }
            return Some(Cond {
                index: self.index,
                op: Op::MaskedEq,
                value: self.value_two & mask,
                mask,
            });
        }
        Some(Cond {
            index: self.index,
            op: self.op,
            value: self.value & width,
            mask: width,
        })
    }
}

/// Rules collected for one syscall number.
#[derive(Default)]
struct Acc {
    uncond: Option<u32>,
    rules: Vec<Rule>,
}

impl Acc {
    fn add(&mut self, rule: Rule) {
        if self.uncond.is_some() {
            return;
        }
        if rule.conds.is_empty() {
            self.uncond = Some(rule.action);
            self.rules.clear();
        } else {
            self.rules.push(rule);
        }
    }

    fn outcome(self) -> Option<Outcome> {
        match self.uncond {
            Some(a) => Some(Outcome::Action(a)),
            None if self.rules.is_empty() => None,
            None => Some(Outcome::Rules(self.rules)),
        }
    }
}

/// The return value of an action, as runc computes it.
fn action_value(action: A, errno_ret: Option<u32>, field: &str) -> Result<u32> {
    let data = |errno_ret: Option<u32>| -> Result<u32> {
        match errno_ret {
            None => Ok(libc::EPERM as u32),
            Some(v) if v <= 0xffff => Ok(v),
            Some(v) => Err(Error::config(
                field,
                format!("{v} does not fit the 16 bits of a seccomp return value"),
            )),
        }
    };
    let a = match action {
        A::ScmpActKill | A::ScmpActKillThread => SeccompAction::KillThread,
        A::ScmpActKillProcess => SeccompAction::KillProcess,
        A::ScmpActTrap => SeccompAction::Trap,
        A::ScmpActErrno => SeccompAction::Errno(data(errno_ret)?),
        A::ScmpActTrace => SeccompAction::Trace(data(errno_ret)?),
        A::ScmpActLog => SeccompAction::Log,
        A::ScmpActAllow => SeccompAction::Allow,
        A::ScmpActNotify => return Ok(RET_USER_NOTIF),
    };
    Ok(u32::from(a))
}

/// Actions that let the syscall run: no -ENOSYS stub, no default for other ABIs.
fn lets_through(action: A) -> bool {
    matches!(action, A::ScmpActAllow | A::ScmpActLog | A::ScmpActTrace)
}

fn op_of(op: O) -> Op {
    match op {
        O::ScmpCmpNe => Op::Ne,
        O::ScmpCmpLt => Op::Lt,
        O::ScmpCmpLe => Op::Le,
        O::ScmpCmpEq => Op::Eq,
        O::ScmpCmpGe => Op::Ge,
        O::ScmpCmpGt => Op::Gt,
        O::ScmpCmpMaskedEq => Op::MaskedEq,
    }
}

fn flag_of(f: F) -> u32 {
    match f {
        F::SeccompFilterFlagTsync => flag::TSYNC,
        F::SeccompFilterFlagLog => flag::LOG,
        F::SeccompFilterFlagSpecAllow => flag::SPEC_ALLOW,
        F::SeccompFilterFlagWaitKillableRecv => flag::WAIT_KILLABLE_RECV,
    }
}

/// Turn `linux.seccomp` into a [`Plan`], or name the field that is wrong.
pub fn plan(s: &LinuxSeccomp) -> Result<Plan> {
    let default = action_value(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if s.default_action() == A::ScmpActNotify {
        return Err(Error::config(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let permissive = lets_through(s.default_action());

    let native = Arch::native().ok_or_else(|| {
        Error::config(
            "linux.seccomp",
            "seccomp filters are only supported on x86_64 hosts",
        )
    })?;
    let mut arches = vec![native];
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        match Arch::from_oci(*a) {
            Some(arch) if !arches.contains(&arch) => arches.push(arch),
            Some(_) => {}
            None => log::debug!(
                "linux.seccomp.architectures[{i}]: {a} never runs on this host; left out"
            ),
        }
    }
    arches.sort();

    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= flag_of(*f);
    }

    let mut acc: BTreeMap<Arch, BTreeMap<u32, Acc>> = BTreeMap::new();
    let mut highest: BTreeMap<Arch, u32> = BTreeMap::new();
    let mut notify = false;
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let action = action_value(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
        if sc.names().is_empty() {
            return Err(Error::config(
                format!("{field}.names"),
                "must name at least one syscall",
            ));
        }
        if sc.action() == A::ScmpActNotify {
            notify = true;
            if sc.names().iter().any(|n| n == "write") {
                return Err(Error::config(
                    format!("{field}.action"),
                    "SCMP_ACT_NOTIFY cannot be used for the write syscall",
                ));
            }
        }
        let rules = raw_rules(sc.args().as_deref().unwrap_or_default(), &field)?;
        let skip = action == default;
        for (j, name) in sc.names().iter().enumerate() {
            if name.is_empty() {
                return Err(Error::config(
                    format!("{field}.names[{j}]"),
                    "empty syscall name",
                ));
            }
            if !arch::known_anywhere(name) {
                log::debug!("{field}.names[{j}]: unknown syscall {name:?} ignored");
                continue;
            }
            for &arch in &arches {
                for target in arch.resolve(name) {
                    let h = highest.entry(arch).or_insert(0);
                    *h = (*h).max(target.nr);
                    if skip {
                        continue;
                    }
                    let slot = acc.entry(arch).or_default().entry(target.nr).or_default();
                    for raw in &rules {
                        let mut conds: Vec<Cond> =
                            raw.iter().filter_map(|c| c.for_arch(arch)).collect();
                        if let Some(call) = target.call {
                            // The multiplexer's first argument selects the call
                            // (libseccomp replaces any condition on it).
                            conds.retain(|c| c.index != 0);
                            conds.push(Cond {
                                index: 0,
                                op: Op::Eq,
                                value: u64::from(call),
                                mask: u64::from(u32::MAX),
                            });
                        }
                        conds.sort_by_key(|c| c.index);
                        slot.add(Rule { conds, action });
                    }
                }
            }
        }
    }

    if notify {
        flags |= flag::NEW_LISTENER;
        if flags & flag::TSYNC != 0 {
            // The kernel refuses TSYNC with NEW_LISTENER unless TSYNC_ESRCH says
            // how to report a thread that cannot be synchronised.
            flags |= flag::TSYNC_ESRCH;
        }
    } else if let Some(k) = s
        .flags()
        .iter()
        .flatten()
        .position(|f| *f == F::SeccompFilterFlagWaitKillableRecv)
    {
        return Err(Error::config(
            format!("linux.seccomp.flags[{k}]"),
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY",
        ));
    }
    let listener = if notify {
        let path = s
            .listener_path()
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| {
                Error::config(
                    "linux.seccomp.listenerPath",
                    "required when a rule uses SCMP_ACT_NOTIFY",
                )
            })?;
        if !path.is_absolute() {
            return Err(Error::config(
                "linux.seccomp.listenerPath",
                format!("{} is not an absolute path", path.display()),
            ));
        }
        Some(Listener {
            path,
            metadata: s.listener_metadata().clone(),
        })
    } else {
        None
    };

    let arches = arches
        .into_iter()
        .map(|arch| {
            let syscalls = acc
                .remove(&arch)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(nr, a)| a.outcome().map(|o| (nr, o)))
                .collect();
            let enosys_above = if permissive {
                None
            } else {
                highest.get(&arch).copied()
            };
            ArchPlan {
                arch,
                syscalls,
                enosys_above,
            }
        })
        .collect();
    Ok(Plan {
        default,
        bad_arch: if permissive {
            RET_KILL_PROCESS
        } else {
            default
        },
        arches,
        flags,
        listener,
    })
}

/// The condition sets of one profile entry: one rule with every condition,
/// or, when two conditions test the same argument, one rule per condition
/// (runc's "old behaviour"). No conditions: one unconditional rule.
fn raw_rules(
    args: &[oci_spec::runtime::LinuxSeccompArg],
    field: &str,
) -> Result<Vec<Vec<RawCond>>> {
    let mut conds = Vec::with_capacity(args.len());
    let mut seen = [0u32; 6];
    for (j, a) in args.iter().enumerate() {
        let index = a.index();
        if index > 5 {
            return Err(Error::config(
                format!("{field}.args[{j}].index"),
                format!("{index} is not an argument index (0 to 5)"),
            ));
        }
        seen[index] += 1;
        conds.push(RawCond {
            index: index as u8,
            op: op_of(a.op()),
            value: a.value(),
            value_two: a.value_two().unwrap_or(0),
        });
    }
    if seen.iter().any(|&n| n > 1) {
        Ok(conds.into_iter().map(|c| vec![c]).collect())
    } else {
        Ok(vec![conds])
    }
}
