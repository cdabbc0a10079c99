//! Device rules on cgroup v2: an eBPF program of type
//! BPF_PROG_TYPE_CGROUP_DEVICE built from the rules (plain data, unit-tested
//! with a tiny interpreter), loaded and attached to the container's cgroup,
//! and replaced on update.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use super::devices::Rule;
use crate::error::{Error, Result};

/// One eBPF instruction.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const EXIT: u8 = 0x95;

/// A parsed rule: type (b'a', b'b', b'c'), major/minor (None = any), access bits, allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    kind: u8,
    major: Option<u32>,
    minor: Option<u32>,
    access: u32,
    allow: bool,
}

const ACC_MKNOD: u32 = 1;
const ACC_READ: u32 = 2;
const ACC_WRITE: u32 = 4;
const ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

fn parse(r: &Rule) -> Option<Parsed> {
    if r.line == "a" {
        return Some(Parsed {
            kind: b'a',
            major: None,
            minor: None,
            access: ALL,
            allow: r.allow,
        });
    }
    let mut it = r.line.split_whitespace();
    let kind = it.next()?.bytes().next()?;
    let (ma, mi) = it.next()?.split_once(':')?;
    let num = |s: &str| {
        if s == "*" {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    let access = it.next()?.bytes().fold(0, |a, c| {
        a | match c {
            b'm' => ACC_MKNOD,
            b'r' => ACC_READ,
            b'w' => ACC_WRITE,
            _ => 0,
        }
    });
    Some(Parsed {
        kind,
        major: num(ma)?,
        minor: num(mi)?,
        access,
        allow: r.allow,
    })
}

/// Build the program: rules are matched last to first (the last matching
/// rule wins, as writes to v1's devices.allow/deny do), falling back to the
/// default set by the last wildcard rule (allow everything when there is none).
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let parsed: Vec<Parsed> = rules.iter().filter_map(parse).collect();
    let mut default_allow = true;
    let mut start = 0;
    for (i, p) in parsed.iter().enumerate() {
        if p.kind == b'a' && p.major.is_none() && p.minor.is_none() && p.access == ALL {
            default_allow = p.allow;
            start = i + 1;
        }
    }
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),      // r2 = access_type
        insn(AND_K, 2, 0, 0, 0xffff), // r2 = device type
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH_K, 3, 0, 0, 16), // r3 = requested access
        insn(LDX_W, 4, 1, 4, 0),  // r4 = major
        insn(LDX_W, 5, 1, 8, 0),  // r5 = minor
    ];
    for p in parsed[start..].iter().rev() {
        let mut block = Vec::new();
        // Each check jumps to the end of the block (patched below) when it fails.
        if p.kind != b'a' {
            let t = if p.kind == b'b' { 1 } else { 2 };
            block.push(insn(JNE_K, 2, 0, 0, t));
        }
        if p.access != ALL {
            block.push(insn(MOV_X, 1, 3, 0, 0));
            block.push(insn(AND_K, 1, 0, 0, p.access as i32));
            block.push(insn(JNE_X, 1, 3, 0, 0));
        }
        if let Some(m) = p.major {
            block.push(insn(JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = p.minor {
            block.push(insn(JNE_K, 5, 0, 0, m as i32));
        }
        block.push(insn(MOV64_K, 0, 0, 0, i32::from(p.allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let n = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K || ins.code == JNE_X {
                ins.off = (n - i - 1) as i16;
            }
        }
        prog.extend(block);
    }
    prog.push(insn(MOV64_K, 0, 0, 0, i32::from(default_allow)));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> std::result::Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a valid, initialised bpf_attr prefix for `cmd` whose size
    // we pass; the kernel reads (and for queries writes) only within it.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 { Err(Errno::last()) } else { Ok(r) }
}

fn load(prog: &[Insn]) -> Result<OwnedFd> {
    let license = c"Apache";
    let mut name = [0u8; 16];
    name[..10].copy_from_slice(b"husk_devic");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: prog.len() as u32,
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    let fd = bpf(BPF_PROG_LOAD, &mut attr)
        .map_err(|e| Error::call("bpf BPF_PROG_LOAD (device program)", e))?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Programs already attached to a cgroup for devices.
fn attached(cgroup: BorrowedFd<'_>) -> Vec<OwnedFd> {
    let mut ids = [0u32; 64];
    let mut q = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    if bpf(BPF_PROG_QUERY, &mut q).is_err() {
        return Vec::new();
    }
    ids[..(q.prog_cnt as usize).min(ids.len())]
        .iter()
        .filter_map(|id| {
            let mut a = [*id, 0, 0, 0];
            let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut a).ok()?;
            // SAFETY: the kernel returned a new descriptor that nothing else owns.
            Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
        })
        .collect()
}

/// Load the program for `rules` and attach it to the cgroup directory,
/// replacing any device program husk attached before.
pub fn apply(cgroup_dir: &std::path::Path, rules: &[Rule]) -> Result<()> {
    let prog = program(rules);
    let cg = nix::fcntl::open(
        cgroup_dir,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", cgroup_dir, e))?;
    let old = attached(std::os::fd::AsFd::as_fd(&cg));
    let new = load(&prog)?;
    let mut a = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: new.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut a).map_err(|e| Error::sys("bpf BPF_PROG_ATTACH", cgroup_dir, e))?;
    for o in old {
        let mut d = AttachAttr {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: o.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        let _ = bpf(BPF_PROG_DETACH, &mut d);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::devices::rules;

    /// Run a program on (type, access, major, minor): enough of eBPF for ours.
    fn run(prog: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [kind | (access << 16), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = u64::from(ctx[(i.off / 4) as usize]),
                AND_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                RSH_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                MOV_X => r[dst] = r[src] as u32 as u64,
                MOV64_K => r[dst] = i.imm as i64 as u64,
                JNE_K => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JNE_X => {
                    if r[dst] != r[src] {
                        pc += i.off as usize;
                    }
                }
                EXIT => return r[0],
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    fn cgroup_rules(v: serde_json::Value) -> Vec<Rule> {
        rules(&serde_json::from_value::<Vec<_>>(v).unwrap())
    }

    #[test]
    fn deny_all_then_defaults() {
        let p = program(&cgroup_rules(
            serde_json::json!([{"allow": false, "access": "rwm"}]),
        ));
        // /dev/null 1:3 read+write allowed (a default rule).
        assert_eq!(run(&p, 2, ACC_READ | ACC_WRITE, 1, 3), 1);
        // loop-control 10:237 denied.
        assert_eq!(run(&p, 2, ACC_READ, 10, 237), 0);
        // Block devices: mknod allowed by "b *:* m", read denied.
        assert_eq!(run(&p, 1, ACC_MKNOD, 8, 0), 1);
        assert_eq!(run(&p, 1, ACC_READ, 8, 0), 0);
        // pts 136:* allowed.
        assert_eq!(run(&p, 2, ACC_WRITE, 136, 5), 1);
    }

    #[test]
    fn last_rule_wins_and_access_subsets() {
        let p = program(&cgroup_rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "r"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
        ])));
        assert_eq!(run(&p, 2, ACC_READ, 10, 237), 1);
        assert_eq!(run(&p, 2, ACC_WRITE, 10, 237), 0);
        // The default allow for 1:3 comes after the spec's deny, so it wins.
        assert_eq!(run(&p, 2, ACC_WRITE, 1, 3), 1);
    }

    #[test]
    fn no_deny_all_means_allow_by_default() {
        let p = program(&cgroup_rules(serde_json::json!([
            {"allow": false, "type": "c", "major": 10, "minor": 237, "access": "rwm"}
        ])));
        assert_eq!(run(&p, 2, ACC_READ, 10, 237), 0);
        assert_eq!(run(&p, 1, ACC_READ, 8, 0), 1);
    }
}
