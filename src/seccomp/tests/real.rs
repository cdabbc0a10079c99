//! Real profiles (podman's, as it wrote it into a container's config.json on
//! this host, and a docker/runc-style variant of it), and randomised
//! profiles checked against the plan's meaning.

use serde_json::json;

use super::*;
use crate::seccomp::profile::Outcome;
use crate::seccomp::tables;

/// `linux.seccomp` of `podman create` (podman 4.3.1, containers-common's
/// default profile), taken from the container's config.json.
const PODMAN: &str = include_str!("podman-4.3.1-default.json");

fn podman() -> Value {
    serde_json::from_str(PODMAN).unwrap()
}

/// Every syscall of every ABI, with a few argument patterns: the program
/// and the plan must agree everywhere.
fn sweep(c: &Compiled) {
    let argsets: [&[u64]; 4] = [
        &[],
        &[16, 3, 9],
        &[0xffff_ffff, 0x1_0000_0000, 1, 2, 3, 4],
        &[0x1000_0000, 0, 0],
    ];
    for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
        for &(_, nr) in tables::table(arch) {
            for args in argsets {
                c.on(Data::new(arch, nr).args(args));
            }
        }
        for nr in [470, 471, 600, 1000, 0x3fff_ffff, !X32] {
            c.on(Data::new(arch, nr));
        }
    }
}
const X32: u32 = crate::seccomp::arch::X32_SYSCALL_BIT;

#[test]
fn podman_default_profile() {
    let c = Compiled::new(podman());
    assert!(c.filter.program.len() < 400, "{}", c.filter.program.len());
    for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
        assert_eq!(c.call(arch, "read", &[]), ALLOW, "{arch:?}");
        assert_eq!(c.call(arch, "execve", &[]), ALLOW, "{arch:?}");
        assert_eq!(c.call(arch, "clone", &[0x3d0f00]), ALLOW, "{arch:?}");
        assert_eq!(
            c.call(arch, "mount", &[]),
            ALLOW,
            "{arch:?}: podman leaves it to CAP_SYS_ADMIN"
        );
        assert_eq!(
            c.call(arch, "add_key", &[]),
            ENOSYS,
            "{arch:?}: defaultErrnoRet 38"
        );
        assert_eq!(c.call(arch, "kexec_load", &[]), EPERM, "{arch:?}");
        assert_eq!(c.call(arch, "personality", &[8]), ALLOW, "{arch:?}");
        assert_eq!(
            c.call(arch, "personality", &[0xffff_ffff]),
            ALLOW,
            "{arch:?}"
        );
        assert_eq!(c.call(arch, "personality", &[1]), ENOSYS, "{arch:?}");
    }
    // socket(AF_NETLINK, *, NETLINK_AUDIT) -> EINVAL; others allowed.
    assert_eq!(c.x64("socket", &[16, 3, 9]), errno(22));
    assert_eq!(c.x64("socket", &[16, 3, 0]), ALLOW);
    assert_eq!(c.x64("socket", &[2, 1, 9]), ALLOW);
    assert_eq!(c.call(Arch::X86, "socket", &[16, 3, 9]), errno(22));
    // 32-bit: only the low half of 0xffffffff is compared.
    assert_eq!(c.call(Arch::X86, "personality", &[0x1_ffff_ffff]), ALLOW);
    assert_eq!(c.x64("personality", &[0x1_ffff_ffff]), ENOSYS);
    sweep(&c);
}

#[test]
fn docker_style_profile() {
    // runc's usual input: default EPERM, clone only without namespace flags,
    // clone3 answered ENOSYS so that glibc falls back to clone.
    let mut p = podman();
    p["defaultErrnoRet"] = json!(1);
    for entry in p["syscalls"].as_array_mut().unwrap() {
        if let Some(names) = entry["names"].as_array_mut() {
            names.retain(|n| n != "clone" && n != "clone3");
        }
    }
    p["syscalls"].as_array_mut().unwrap().extend([
        json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}),
        json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}),
    ]);
    let c = Compiled::new(p);
    for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
        assert_eq!(c.call(arch, "clone", &[0x3d0f00]), ALLOW, "{arch:?}");
        assert_eq!(
            c.call(arch, "clone", &[0x1000_0000 | 0x11]),
            EPERM,
            "{arch:?} CLONE_NEWUSER"
        );
        assert_eq!(c.call(arch, "clone3", &[]), ENOSYS, "{arch:?}");
        assert_eq!(c.call(arch, "add_key", &[]), EPERM, "{arch:?}");
    }
    // Syscalls newer than the profile's newest get ENOSYS from the stub.
    let ap = c.plan.arch(Arch::X86_64).unwrap();
    let highest = ap.enosys_above.unwrap();
    assert!(
        highest < 452,
        "the 2022 profile predates fchmodat2 ({highest})"
    );
    assert_eq!(c.x64("fchmodat2", &[]), ENOSYS);
    assert_eq!(c.x64("mseal", &[]), ENOSYS);
    assert!(matches!(ap.syscalls.get(&56), Some(Outcome::Rules(_))));
    sweep(&c);
}

/// A random profile over a pool of names with overlaps across ABIs.
fn random_profile(rng: &mut Rng, entries: usize) -> Value {
    const ACTIONS: [&str; 9] = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
    ];
    const OPS: [&str; 7] = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    const ARCHES: [&str; 4] = [
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
    ];
    let mut pool: Vec<&str> = tables::table(Arch::X86).iter().map(|(n, _)| *n).collect();
    pool.extend(tables::table(Arch::X32).iter().map(|(n, _)| *n));
    pool.extend(["accept", "no_such_call", "arm_fadvise64_64"]);
    let defaults = &ACTIONS[..8];
    let mut syscalls = Vec::new();
    for _ in 0..entries {
        let names: Vec<&str> = (0..1 + rng.below(3))
            .map(|_| *rng.pick(&pool))
            .filter(|n| *n != "write")
            .collect();
        if names.is_empty() {
            continue;
        }
        let mut args = Vec::new();
        if rng.chance(60) {
            for _ in 0..1 + rng.below(3) {
                args.push(
                    json!({"index": rng.below(6), "value": value(rng), "valueTwo": value(rng),
                                 "op": rng.pick(&OPS)}),
                );
            }
        }
        let mut e = json!({"names": names, "action": rng.pick(&ACTIONS), "args": args});
        if rng.chance(50) {
            e["errnoRet"] = json!(rng.below(200));
        }
        syscalls.push(e);
    }
    let arches: Vec<&str> = ARCHES.iter().copied().filter(|_| rng.chance(60)).collect();
    let mut p = json!({
        "defaultAction": rng.pick(defaults),
        "architectures": arches,
        "listenerPath": "/run/agent.sock",
        "syscalls": syscalls,
    });
    if rng.chance(50) {
        p["defaultErrnoRet"] = json!(rng.below(100));
    }
    p
}

const SEAMS: [u64; 10] = [
    0,
    1,
    9,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0009,
    0xffff_ffff_0000_0000,
    0x8000_0000_0000_0009,
    u64::MAX,
    0x7e02_0000,
];

fn value(rng: &mut Rng) -> u64 {
    if rng.chance(70) {
        *rng.pick(&SEAMS)
    } else {
        rng.next() >> rng.below(64)
    }
}

fn random_data(rng: &mut Rng, plan: &crate::seccomp::profile::Plan) -> Data {
    let arch = *rng.pick(&[Arch::X86_64, Arch::X86, Arch::X32]);
    let named: Vec<u32> = plan
        .arch(arch)
        .map(|a| a.syscalls.keys().copied().collect())
        .unwrap_or_default();
    let mut nr = if !named.is_empty() && rng.chance(70) {
        *rng.pick(&named)
    } else {
        let t = tables::table(arch);
        t[rng.below(t.len())].1
    };
    if rng.chance(10) {
        nr = nr.wrapping_add(1);
    }
    let mut d = Data::new(arch, nr & !X32);
    d.nr = if arch == Arch::X32 { nr | X32 } else { nr };
    for a in d.args.iter_mut() {
        *a = value(rng);
    }
    if rng.chance(3) {
        d.arch = 0xc000_00b7;
    }
    d
}

#[test]
fn random_profiles_agree_with_their_plan() {
    let mut rng = Rng::new(0x5eed_cafe);
    let mut trampolines = 0;
    let mut compiled = 0;
    for round in 0..300 {
        let entries = if round % 10 == 0 {
            150 + rng.below(250)
        } else {
            rng.below(30)
        };
        let p = random_profile(&mut rng, entries);
        let profile = super::profile(p.clone());
        let plan = match crate::seccomp::profile::plan(&profile) {
            Ok(plan) => plan,
            Err(e) => panic!("round {round}: {e}\n{p}"),
        };
        let filter = match compile(&profile) {
            Ok(f) => f,
            Err(e) if e.to_string().contains("limit of 4096") => continue,
            Err(e) => panic!("round {round}: {e}"),
        };
        compiled += 1;
        interp::check(&filter.program).unwrap_or_else(|e| panic!("round {round}: {e}"));
        trampolines += filter
            .program
            .iter()
            .filter(|i| i.code == crate::seccomp::emit::JMP_JA)
            .count();
        let c = Compiled { plan, filter };
        for _ in 0..400 {
            let d = random_data(&mut rng, &c.plan);
            c.on(d);
        }
    }
    assert!(compiled > 250, "{compiled}");
    assert!(trampolines > 0, "the long-jump path was never taken");
}
