//! What the kernel keeps per task and a process inherits across execve:
//! `process.scheduler` (sched_setattr), `process.ioPriority` (ioprio_set),
//! `linux.memoryPolicy` (set_mempolicy) and `linux.personality`.
//!
//! Each is first turned into plain data (the `sched_attr`, the ioprio
//! value, the mode word and node mask, the persona), checked with the
//! field it came from named in the error ([`check_process`],
//! [`check_linux`], called by `spec::validate` and for `exec --process`),
//! then applied by the init and by the exec'd process: scheduler, I/O
//! priority and memory policy before capabilities are dropped (raising a
//! policy or a priority needs CAP_SYS_NICE / CAP_SYS_ADMIN), the
//! personality last before execve, as runc does.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, MemoryPolicyFlagType, MemoryPolicyModeType, Process,
    Scheduler,
};

use crate::error::{Error, Result};
use crate::sysx::{self, SchedAttr};

pub const SCHED_OTHER: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;

/// Policy names as the spec spells them, and the kernel's numbers.
pub const POLICIES: &[(&str, u32)] = &[
    ("SCHED_OTHER", SCHED_OTHER),
    ("SCHED_FIFO", SCHED_FIFO),
    ("SCHED_RR", SCHED_RR),
    ("SCHED_BATCH", SCHED_BATCH),
    ("SCHED_IDLE", SCHED_IDLE),
    ("SCHED_DEADLINE", SCHED_DEADLINE),
];

/// Scheduler flags as the spec spells them, and the kernel's bits.
pub const SCHED_FLAGS: &[(&str, u64)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", 0x01),
    ("SCHED_FLAG_RECLAIM", 0x02),
    ("SCHED_FLAG_DL_OVERRUN", 0x04),
    ("SCHED_FLAG_KEEP_POLICY", 0x08),
    ("SCHED_FLAG_KEEP_PARAMS", 0x10),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", 0x20),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", 0x40),
];

/// Memory policy modes as the spec spells them, and the kernel's numbers.
pub const MPOL_MODES: &[(&str, i32)] = &[
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
];

/// Memory policy flags as the spec spells them, and the kernel's bits.
pub const MPOL_FLAGS: &[(&str, i32)] = &[
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
];

/// The highest NUMA node number a mask may name (MAX_NUMNODES is at most
/// 1 << 10 on Linux; a higher bit makes set_mempolicy fail with EINVAL).
pub const MAX_NODE: usize = 1023;

/// PER_LINUX and PER_LINUX32.
pub const PER_LINUX: u64 = 0x0000;
pub const PER_LINUX32: u64 = 0x0008;

/// oci-spec's flag enum, spelled as the runtime spec does.
pub fn sched_flag_name(f: LinuxSchedulerFlag) -> &'static str {
    match f {
        LinuxSchedulerFlag::SchedResetOnFork => "SCHED_FLAG_RESET_ON_FORK",
        LinuxSchedulerFlag::SchedFlagReclaim => "SCHED_FLAG_RECLAIM",
        LinuxSchedulerFlag::SchedFlagDLOverrun => "SCHED_FLAG_DL_OVERRUN",
        LinuxSchedulerFlag::SchedFlagKeepPolicy => "SCHED_FLAG_KEEP_POLICY",
        LinuxSchedulerFlag::SchedFlagKeepParams => "SCHED_FLAG_KEEP_PARAMS",
        LinuxSchedulerFlag::SchedFlagUtilClampMin => "SCHED_FLAG_UTIL_CLAMP_MIN",
        LinuxSchedulerFlag::SchedFlagUtilClampMax => "SCHED_FLAG_UTIL_CLAMP_MAX",
    }
}

/// The spec's flag names that oci-spec (0.10) spells differently, and its
/// spelling: `spec::parse` rewrites them before the strict parse.
pub const SCHED_FLAG_ALIASES: &[(&str, &str)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
    ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// `process.scheduler` as a `sched_attr`, checked as runc and the kernel
/// would (errors name the field under `prefix`, e.g. "process.scheduler").
pub fn sched_attr(s: &Scheduler, prefix: &str) -> Result<SchedAttr> {
    let f = |k: &str| format!("{prefix}.{k}");
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => SCHED_BATCH,
        LinuxSchedulerPolicy::SchedIdle => SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => SCHED_DEADLINE,
        LinuxSchedulerPolicy::SchedIso => {
            return Err(Error::config(
                f("policy"),
                "SCHED_ISO is not implemented by Linux",
            ));
        }
    };
    let nice = s.nice().unwrap_or(0);
    if matches!(policy, SCHED_OTHER | SCHED_BATCH) && !(-20..=19).contains(&nice) {
        return Err(Error::config(
            f("nice"),
            format!("{nice} is outside -20..19"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    let rt = matches!(policy, SCHED_FIFO | SCHED_RR);
    if rt && !(1..=99).contains(&priority) {
        return Err(Error::config(
            f("priority"),
            format!("{priority} is outside 1..99 (SCHED_FIFO and SCHED_RR need a priority)"),
        ));
    }
    if !rt && priority != 0 {
        return Err(Error::config(
            f("priority"),
            "can only be set for SCHED_FIFO or SCHED_RR",
        ));
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if policy != SCHED_DEADLINE && (runtime != 0 || deadline != 0 || period != 0) {
        return Err(Error::config(
            f("runtime"),
            "runtime, deadline and period can only be set for SCHED_DEADLINE",
        ));
    }
    if policy == SCHED_DEADLINE {
        if runtime == 0 || deadline == 0 {
            return Err(Error::config(
                f("runtime"),
                "SCHED_DEADLINE needs a runtime and a deadline",
            ));
        }
        if runtime > deadline || (period != 0 && deadline > period) {
            return Err(Error::config(
                f("deadline"),
                format!(
                    "SCHED_DEADLINE needs runtime <= deadline <= period, not {runtime}/{deadline}/{period}"
                ),
            ));
        }
    }
    let mut flags = 0;
    for fl in s.flags().iter().flatten() {
        // Every variant has a bit; the table is the one place that says which.
        flags |= lookup(SCHED_FLAGS, sched_flag_name(*fl)).unwrap_or(0);
    }
    Ok(SchedAttr {
        size: sysx::SCHED_ATTR_SIZE,
        policy,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline,
        period,
        util_min: 0,
        util_max: 0,
    })
}

/// `process.ioPriority` as ioprio_set's value (class << 13 | level).
pub fn ioprio_value(p: &LinuxIOPriority, prefix: &str) -> Result<i32> {
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let level = p.priority();
    if !(0..=7).contains(&level) {
        return Err(Error::config(
            format!("{prefix}.priority"),
            format!("{level} is outside 0..7"),
        ));
    }
    Ok((class << 13) | level as i32)
}

/// A node list ("0-3,7") as the words of a node mask.
pub fn node_mask(list: &str, field: &str) -> Result<Vec<libc::c_ulong>> {
    let bad = |m: String| Error::config(field, m);
    let bits = libc::c_ulong::BITS as usize;
    let mut words: Vec<libc::c_ulong> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| -> Result<usize> {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("invalid node list {list:?}")))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if a > b {
            return Err(bad(format!("invalid node range {part:?}")));
        }
        if b > MAX_NODE {
            return Err(bad(format!(
                "node {b} is beyond the highest node Linux allows ({MAX_NODE})"
            )));
        }
        if words.len() <= b / bits {
            words.resize(b / bits + 1, 0);
        }
        for n in a..=b {
            words[n / bits] |= 1 << (n % bits);
        }
    }
    Ok(words)
}

/// `linux.memoryPolicy` as set_mempolicy's mode word and node mask.
pub fn mempolicy(mp: &LinuxMemoryPolicy) -> Result<(i32, Vec<libc::c_ulong>)> {
    let field = "linux.memoryPolicy";
    let mode_name = mp.mode().to_string();
    let mut mode = lookup(MPOL_MODES, &mode_name).ok_or_else(|| {
        Error::config(
            format!("{field}.mode"),
            format!("invalid memory policy mode {mode_name:?}"),
        )
    })?;
    let nodes = node_mask(
        mp.nodes().as_deref().unwrap_or(""),
        &format!("{field}.nodes"),
    )?;
    let has_nodes = nodes.iter().any(|w| *w != 0);
    match mp.mode() {
        MemoryPolicyModeType::MpolDefault | MemoryPolicyModeType::MpolLocal if has_nodes => {
            return Err(Error::config(
                format!("{field}.nodes"),
                format!("{mode_name} takes no nodes"),
            ));
        }
        MemoryPolicyModeType::MpolBind
        | MemoryPolicyModeType::MpolInterleave
        | MemoryPolicyModeType::MpolWeightedInterleave
        | MemoryPolicyModeType::MpolPreferredMany
            if !has_nodes =>
        {
            return Err(Error::config(
                format!("{field}.nodes"),
                format!("{mode_name} needs at least one node"),
            ));
        }
        _ => {}
    }
    let flags: Vec<MemoryPolicyFlagType> = mp.flags().clone().unwrap_or_default();
    let has = |f: MemoryPolicyFlagType| flags.contains(&f);
    if has(MemoryPolicyFlagType::MpolFStaticNodes) && has(MemoryPolicyFlagType::MpolFRelativeNodes)
    {
        return Err(Error::config(
            format!("{field}.flags"),
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
        ));
    }
    if (has(MemoryPolicyFlagType::MpolFStaticNodes)
        || has(MemoryPolicyFlagType::MpolFRelativeNodes))
        && !has_nodes
    {
        return Err(Error::config(
            format!("{field}.flags"),
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES need nodes",
        ));
    }
    for f in &flags {
        mode |= lookup(MPOL_FLAGS, &f.to_string()).unwrap_or(0);
    }
    Ok((mode, if has_nodes { nodes } else { Vec::new() }))
}

/// `linux.personality` as personality(2)'s persona. Flags are ignored with
/// a warning, as runc does (none is defined yet).
pub fn persona(p: &LinuxPersonality) -> u64 {
    match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    }
}

/// Check a process's scheduler and I/O priority (`prefix` is "process").
pub fn check_process(p: &Process, prefix: &str) -> Result<()> {
    if let Some(s) = p.scheduler() {
        sched_attr(s, &format!("{prefix}.scheduler"))?;
    }
    if let Some(io) = p.io_priority() {
        ioprio_value(io, &format!("{prefix}.ioPriority"))?;
    }
    Ok(())
}

/// Check linux.memoryPolicy and linux.personality.
pub fn check_linux(l: &oci_spec::runtime::Linux) -> Result<()> {
    if let Some(mp) = l.memory_policy() {
        mempolicy(mp)?;
    }
    if let Some(p) = l.personality()
        && p.flags().as_ref().is_some_and(|f| !f.is_empty())
    {
        log::warn!(
            "linux.personality.flags: ignoring unsupported personality flags {:?} (as runc does)",
            p.flags().as_deref().unwrap_or_default()
        );
    }
    Ok(())
}

/// Apply the scheduler, the I/O priority and the memory policy to the
/// calling process. Needs the capabilities the container starts with.
pub fn apply(p: &Process, memory_policy: Option<&LinuxMemoryPolicy>) -> Result<()> {
    if let Some(io) = p.io_priority() {
        let v = ioprio_value(io, "process.ioPriority")?;
        sysx::ioprio_set(0, v)
            .map_err(|e| Error::call("ioprio_set", e).context("process.ioPriority"))?;
    }
    if let Some(mp) = memory_policy {
        let (mode, nodes) = mempolicy(mp)?;
        sysx::set_mempolicy(mode, &nodes)
            .map_err(|e| Error::call("set_mempolicy", e).context("linux.memoryPolicy"))?;
    }
    if let Some(s) = p.scheduler() {
        let attr = sched_attr(s, "process.scheduler")?;
        sysx::sched_setattr(0, &attr).map_err(|e| {
            let hint = match (attr.policy, e) {
                (SCHED_DEADLINE, nix::errno::Errno::EPERM) => {
                    " (SCHED_DEADLINE needs the process allowed on every CPU: is linux.resources.cpu.cpus set?)"
                }
                (SCHED_FIFO | SCHED_RR, nix::errno::Errno::EPERM) => {
                    " (a real-time policy needs CAP_SYS_NICE, and with cgroup v1 realtime group scheduling a linux.resources.cpu.realtimeRuntime)"
                }
                _ => "",
            };
            Error::Msg(format!(
                "process.scheduler: sched_setattr: {}{hint}",
                crate::error::errno_text(e)
            ))
        })?;
    }
    Ok(())
}

/// Set the personality (just before execve).
pub fn set_personality(p: Option<&LinuxPersonality>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    let persona = nix::sys::personality::Persona::from_bits_retain(persona(p) as libc::c_int);
    nix::sys::personality::set(persona)
        .map(drop)
        .map_err(|e| Error::call("personality", e).context("linux.personality"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(v: serde_json::Value) -> Result<SchedAttr> {
        let s: Scheduler = serde_json::from_value(v).unwrap();
        sched_attr(&s, "process.scheduler")
    }

    #[test]
    fn scheduler_policies_and_checks() {
        let a = sched(serde_json::json!({"policy": "SCHED_BATCH", "nice": 19})).unwrap();
        assert_eq!((a.policy, a.nice), (SCHED_BATCH, 19));
        let a = sched(serde_json::json!({"policy": "SCHED_FIFO", "priority": 10})).unwrap();
        assert_eq!((a.policy, a.priority), (SCHED_FIFO, 10));
        let a = sched(
            serde_json::json!({"policy": "SCHED_DEADLINE", "runtime": 42000,
            "deadline": 100000, "period": 1000000, "flags": ["SCHED_RESET_ON_FORK"]}),
        )
        .unwrap();
        assert_eq!(
            (a.policy, a.runtime, a.deadline, a.period, a.flags),
            (SCHED_DEADLINE, 42000, 100000, 1000000, 1)
        );
        let e = |v| sched(v).unwrap_err().to_string();
        assert!(
            e(serde_json::json!({"policy": "SCHED_OTHER", "nice": 20}))
                .starts_with("process.scheduler.nice: ")
        );
        assert!(
            e(serde_json::json!({"policy": "SCHED_OTHER", "priority": 1}))
                .starts_with("process.scheduler.priority: ")
        );
        assert!(
            e(serde_json::json!({"policy": "SCHED_RR"}))
                .starts_with("process.scheduler.priority: ")
        );
        assert!(
            e(serde_json::json!({"policy": "SCHED_IDLE", "runtime": 1}))
                .starts_with("process.scheduler.runtime: ")
        );
        assert!(
            e(serde_json::json!({"policy": "SCHED_ISO"})).starts_with("process.scheduler.policy: ")
        );
        assert!(
            e(serde_json::json!({"policy": "SCHED_DEADLINE", "runtime": 2, "deadline": 1}))
                .starts_with("process.scheduler.deadline: ")
        );
    }

    #[test]
    fn every_flag_has_a_bit_and_an_alias_where_oci_spec_differs() {
        use LinuxSchedulerFlag::*;
        for f in [
            SchedResetOnFork,
            SchedFlagReclaim,
            SchedFlagDLOverrun,
            SchedFlagKeepPolicy,
            SchedFlagKeepParams,
            SchedFlagUtilClampMin,
            SchedFlagUtilClampMax,
        ] {
            let name = sched_flag_name(f);
            assert!(lookup(SCHED_FLAGS, name).is_some(), "{name}");
            // The spec's name parses, directly or through its alias.
            let spelled = SCHED_FLAG_ALIASES
                .iter()
                .find(|(s, _)| *s == name)
                .map_or(name, |(_, o)| *o);
            let parsed: LinuxSchedulerFlag =
                serde_json::from_value(serde_json::json!(spelled)).unwrap();
            assert_eq!(parsed, f, "{name}");
        }
    }

    #[test]
    fn io_priority_values() {
        let p: LinuxIOPriority =
            serde_json::from_value(serde_json::json!({"class": "IOPRIO_CLASS_RT", "priority": 3}))
                .unwrap();
        assert_eq!(
            ioprio_value(&p, "process.ioPriority").unwrap(),
            (1 << 13) | 3
        );
        let p: LinuxIOPriority =
            serde_json::from_value(serde_json::json!({"class": "IOPRIO_CLASS_BE", "priority": 8}))
                .unwrap();
        assert!(
            ioprio_value(&p, "process.ioPriority")
                .unwrap_err()
                .to_string()
                .starts_with("process.ioPriority.priority: ")
        );
    }

    fn mp(v: serde_json::Value) -> Result<(i32, Vec<libc::c_ulong>)> {
        let m: LinuxMemoryPolicy = serde_json::from_value(v).unwrap();
        mempolicy(&m)
    }

    #[test]
    fn memory_policies() {
        assert_eq!(
            mp(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0-2,65", "flags": ["MPOL_F_STATIC_NODES"]}))
                .unwrap(),
            (2 | 1 << 15, vec![0b111, 0b10])
        );
        assert_eq!(
            mp(serde_json::json!({"mode": "MPOL_DEFAULT"})).unwrap(),
            (0, vec![])
        );
        assert_eq!(
            mp(serde_json::json!({"mode": "MPOL_LOCAL"})).unwrap(),
            (4, vec![])
        );
        assert_eq!(
            mp(serde_json::json!({"mode": "MPOL_PREFERRED"})).unwrap(),
            (1, vec![])
        );
        let e = |v| mp(v).unwrap_err().to_string();
        assert!(
            e(serde_json::json!({"mode": "MPOL_BIND"})).starts_with("linux.memoryPolicy.nodes: ")
        );
        assert!(
            e(serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"}))
                .starts_with("linux.memoryPolicy.nodes: ")
        );
        assert!(
            e(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0-9876543210"}))
                .starts_with("linux.memoryPolicy.nodes: ")
        );
        assert!(
            e(serde_json::json!({"mode": "MPOL_BIND", "nodes": "3-1"}))
                .starts_with("linux.memoryPolicy.nodes: ")
        );
        assert!(
            e(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0",
                "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}))
            .starts_with("linux.memoryPolicy.flags: ")
        );
        // Every mode oci-spec knows has a number.
        for (name, _) in MPOL_MODES {
            let m: MemoryPolicyModeType = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(m.to_string(), *name);
        }
        for (name, _) in MPOL_FLAGS {
            let f: MemoryPolicyFlagType = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(f.to_string(), *name);
        }
    }

    #[test]
    fn configs_use_the_specs_names() {
        // The runtime spec's flag names, and an empty memoryPolicy, as runc reads them.
        let v = serde_json::json!({
            "ociVersion": "1.3.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                "scheduler": {"policy": "SCHED_DEADLINE", "runtime": 1024, "deadline": 2048,
                    "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN"]}},
            "linux": {"namespaces": [{"type": "mount"}], "memoryPolicy": {}}
        });
        let spec = crate::spec::parse(v.to_string().as_bytes()).unwrap();
        crate::spec::validate(&spec).unwrap();
        let s = spec
            .process()
            .as_ref()
            .unwrap()
            .scheduler()
            .clone()
            .unwrap();
        assert_eq!(
            sched_attr(&s, "process.scheduler").unwrap().flags,
            0x01 | 0x04
        );
        assert!(spec.linux().as_ref().unwrap().memory_policy().is_none());
        let p = crate::spec::parse_process(
            br#"{"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                 "scheduler": {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_RESET_ON_FORK"]}}"#,
        )
        .unwrap();
        check_process(&p, "process").unwrap();
    }

    #[test]
    fn personas() {
        let p: LinuxPersonality =
            serde_json::from_value(serde_json::json!({"domain": "LINUX32"})).unwrap();
        assert_eq!(persona(&p), PER_LINUX32);
        let p: LinuxPersonality =
            serde_json::from_value(serde_json::json!({"domain": "LINUX"})).unwrap();
        assert_eq!(persona(&p), PER_LINUX);
    }
}
