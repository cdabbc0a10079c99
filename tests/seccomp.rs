//! linux.seccomp in real containers: blocked syscalls get their errno,
//! killed ones kill, argument conditions hold on 64-bit values, i386 (int
//! 0x80) and x32 calls are filtered by their own numbers or refused, runc's
//! -ENOSYS stub answers syscalls newer than the profile, a notified syscall
//! reaches an agent in the test that answers it, and the probe sees
//! `Seccomp: 2`.
//!
//! Raw syscalls come from `/sysc ABI NR [ARG...]`, a freestanding static
//! helper built here with gcc (no libc; `int $0x80` for i386, the x32 bit for
//! x32) that prints `ret=N` (N < 0 is -errno).
//!
//! Run against husk: `cargo test --test seccomp -- --include-ignored`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test seccomp -- --include-ignored`

mod common;

use common::*;
use serde_json::{Value, json};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const SYSC_C: &str = r#"
typedef unsigned long u64;
static long sc64(long nr, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
static long sc32(long nr, long a, long b, long c, long d, long e, long f) {
    long ret;
    __asm__ volatile("push %%rbp\n\tmov %7, %%rbp\n\tint $0x80\n\tpop %%rbp"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "r"(f)
                     : "memory");
    return (int)ret;
}
static int eq(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}
static long num(const char *s) {
    u64 v = 0, base = 10;
    int neg = 0;
    if (*s == '-') neg = 1, s++;
    if (s[0] == '0' && s[1] == 'x') base = 16, s += 2;
    for (; *s; s++) v = v * base + (*s >= 'a' ? *s - 'a' + 10 : *s - '0');
    return neg ? -(long)v : (long)v;
}
static void out(long v) {
    char buf[32], *p = buf + sizeof buf;
    int neg = v < 0;
    u64 u = neg ? -(u64)v : (u64)v;
    *--p = '\n';
    do *--p = '0' + u % 10; while (u /= 10);
    if (neg) *--p = '-';
    *--p = '='; *--p = 't'; *--p = 'e'; *--p = 'r';
    sc64(1, 1, (long)p, buf + sizeof buf - p, 0, 0, 0);
}
void start_c(long *sp) {
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    long a[6] = {0, 0, 0, 0, 0, 0}, ret;
    int i;
    if (argc < 3) sc64(231, 2, 0, 0, 0, 0, 0);
    for (i = 3; i < argc && i < 9; i++) a[i - 3] = num(argv[i]);
    if (eq(argv[1], "i386"))
        ret = sc32(num(argv[2]), a[0], a[1], a[2], a[3], a[4], a[5]);
    else if (eq(argv[1], "x32"))
        ret = sc64(num(argv[2]) | 0x40000000L, a[0], a[1], a[2], a[3], a[4], a[5]);
    else
        ret = sc64(num(argv[2]), a[0], a[1], a[2], a[3], a[4], a[5]);
    out(ret);
    sc64(231, 0, 0, 0, 0, 0, 0);
}
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
"#;

/// The `sysc` helper, built once; `None` (with the reason) without gcc.
fn sysc_bin() -> Result<&'static Path, String> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = target_dir().join("seccomp-sysc");
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let src = dir.join("sysc.c");
        let bin = dir.join("sysc");
        std::fs::write(&src, SYSC_C).map_err(|e| format!("write {}: {e}", src.display()))?;
        let mut gcc = Command::new("gcc");
        gcc.args(["-static", "-nostdlib", "-no-pie", "-fno-stack-protector"])
            .args(["-ffreestanding", "-fno-builtin", "-O1", "-o"])
            .arg(&bin)
            .arg(&src);
        let out = run_command(gcc, Duration::from_secs(120));
        if !out.success() {
            return Err(format!(
                "gcc cannot build the syscall helper: {}",
                out.describe()
            ));
        }
        Ok(bin)
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(Clone::clone)
}

/// A default bundle with `seccomp` as linux.seccomp and `args` as the process.
fn bundle(seccomp: Value, args: &[&str]) -> Bundle {
    let mut b = Bundle::new();
    b.config_mut()["linux"]["seccomp"] = seccomp;
    b.set_args(args);
    if args.first() == Some(&"/sysc") {
        let bin = sysc_bin().unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(bin, b.rootfs().join("sysc")).expect("copy sysc into the rootfs");
    }
    b
}

/// `run` the bundle; its output.
fn run(tag: &str, b: &Bundle) -> CmdOutput {
    let rt = Runtime::new();
    rt.run(&unique_id(tag), b)
}

/// The `ret=` value `/sysc` printed.
#[track_caller]
fn ret(out: &CmdOutput) -> i64 {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("ret="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ret= line: {}", out.describe()))
}

/// Exit status of a container process killed by SIGSYS (128 + 31).
const KILLED_BY_SIGSYS: i32 = 128 + libc::SIGSYS;

/// linux.seccomp that podman 4.3.1 wrote into a container's config.json on
/// this host (default ERRNO with defaultErrnoRet ENOSYS, an allowlist).
fn podman_profile() -> Value {
    serde_json::from_str(include_str!(
        "../src/seccomp/tests/podman-4.3.1-default.json"
    ))
    .unwrap()
}

/// Podman's allowlist with default EPERM and without `drop`.
fn allowlist_without(drop: &[&str]) -> Value {
    let mut p = podman_profile();
    p["defaultErrnoRet"] = json!(libc::EPERM);
    for e in p["syscalls"].as_array_mut().unwrap() {
        e["names"]
            .as_array_mut()
            .unwrap()
            .retain(|n| !drop.contains(&n.as_str().unwrap()));
    }
    p
}

fn deny_mkdir(arches: Value) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": arches,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EACCES}]
    })
}

#[test]
fn probe_sees_filter_mode() {
    let b = bundle(
        deny_mkdir(json!(["SCMP_ARCH_X86_64"])),
        &["/probe", "report"],
    );
    let out = run("sc-mode", &b);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["seccomp"], 2);
    // Podman's real profile lets the probe run.
    let b = bundle(podman_profile(), &["/probe", "report"]);
    let out = run("sc-podman", &b);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["seccomp"], 2);
    // And without linux.seccomp there is no filter.
    let mut b = Bundle::new();
    b.set_args(&["/probe", "report"]);
    let out = run("sc-none", &b);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["seccomp"], 0);
}

#[test]
fn blocked_mkdir_gets_eperm_with_and_without_no_new_privileges() {
    for nnp in [true, false] {
        let mut b = bundle(
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}),
            &["/bin/busybox", "mkdir", "/probe-dir"],
        );
        // Without no_new_privs the filter is installed while the init still
        // has CAP_SYS_ADMIN, before the capabilities are dropped.
        b.config_mut()["process"]["noNewPrivileges"] = json!(nnp);
        let out = run("sc-mkdir", &b);
        assert_eq!(out.code(), Some(1), "nnp={nnp}: {}", out.describe());
        assert!(
            out.stderr.contains("Operation not permitted")
                || out.stdout.contains("Operation not permitted"),
            "nnp={nnp}: {}",
            out.describe()
        );
    }
}

#[test]
fn default_errno_with_an_allowlist() {
    let b = bundle(
        allowlist_without(&["mkdir", "mkdirat"]),
        &["/bin/busybox", "mkdir", "/probe-dir"],
    );
    let out = run("sc-allow", &b);
    assert_eq!(out.code(), Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("Operation not permitted"),
        "{}",
        out.describe()
    );
    let b = bundle(
        allowlist_without(&["mkdir", "mkdirat"]),
        &["/bin/busybox", "echo", "fine"],
    );
    let out = run("sc-allow-echo", &b);
    out.assert_code(0);
    assert_eq!(out.stdout.trim(), "fine");
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    // The 2022 profile predates fchmodat2 (452): ENOSYS, so libc falls back.
    let b = bundle(
        allowlist_without(&[]),
        &["/sysc", "x86_64", "452", "-100", "0", "0", "0"],
    );
    assert_eq!(ret(&run("sc-enosys", &b)), -(libc::ENOSYS as i64));
    // add_key (248) is older than the profile and not allowed: the default errno.
    let b = bundle(allowlist_without(&[]), &["/sysc", "x86_64", "248"]);
    assert_eq!(ret(&run("sc-enosys-old", &b)), -(libc::EPERM as i64));
}

#[test]
fn argument_conditions_compare_all_64_bits() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    let p = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EACCES,
             "args": [{"index": 0, "value": 0x1_0000_0002u64, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EDOM,
             "args": [{"index": 1, "value": 0xf0, "valueTwo": 0x30, "op": "SCMP_CMP_MASKED_EQ"},
                      {"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
        ]
    });
    let cases: [(&[&str], i64); 4] = [
        (&["0x100000002", "0"], -(libc::EACCES as i64)),
        (&["2", "0x35"], -(libc::EDOM as i64)),
        (&["0", "0x35"], 20),
        (&["2", "0"], 20),
    ];
    for (args, want) in cases {
        let mut argv = vec!["/sysc", "x86_64", "140"];
        argv.extend(args);
        let out = run("sc-args", &bundle(p.clone(), &argv));
        let got = ret(&out);
        if want < 0 {
            assert_eq!(got, want, "getpriority{args:?}");
        } else {
            // Allowed: the kernel's answer (EINVAL for a bad `which`, else 20 - nice).
            assert!(
                got != -(libc::EACCES as i64) && got != -(libc::EDOM as i64),
                "getpriority{args:?}: {got}"
            );
        }
    }
}

#[test]
fn killed_and_trapped_syscalls_end_the_process() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
    ] {
        let p = json!({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["getppid"], "action": action}]});
        let out = run("sc-kill", &bundle(p, &["/sysc", "x86_64", "110"]));
        assert_eq!(
            out.code(),
            Some(KILLED_BY_SIGSYS),
            "{action}: {}",
            out.describe()
        );
        assert!(!out.stdout.contains("ret="), "{action}: {}", out.describe());
    }
}

#[test]
fn i386_calls_are_filtered_by_i386_numbers() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    let p = deny_mkdir(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]));
    let eacces = -(libc::EACCES as i64);
    // mkdir is 39 through int 0x80 (83 there is symlink, allowed: EFAULT on NULL).
    assert_eq!(
        ret(&run(
            "sc-i386",
            &bundle(p.clone(), &["/sysc", "i386", "39", "0", "0"])
        )),
        eacces
    );
    assert_eq!(
        ret(&run(
            "sc-i386",
            &bundle(p.clone(), &["/sysc", "x86_64", "83", "0", "0"])
        )),
        eacces
    );
    assert_eq!(
        ret(&run(
            "sc-i386",
            &bundle(p.clone(), &["/sysc", "i386", "83", "0", "0"])
        )),
        -(libc::EFAULT as i64)
    );
    // getpid through int 0x80 works: the container's pid 1.
    assert_eq!(
        ret(&run("sc-i386", &bundle(p, &["/sysc", "i386", "20"]))),
        1
    );
}

#[test]
fn unlisted_abis_are_no_way_around_a_blocklist() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    // Only x86_64 listed and default ALLOW: int 0x80 and x32 calls are killed
    // (libseccomp's bad-arch action), never let through.
    let p = deny_mkdir(json!(["SCMP_ARCH_X86_64"]));
    for argv in [["/sysc", "i386", "39"], ["/sysc", "x32", "83"]] {
        let out = run("sc-badarch", &bundle(p.clone(), &argv));
        assert_eq!(
            out.code(),
            Some(KILLED_BY_SIGSYS),
            "{argv:?}: {}",
            out.describe()
        );
    }
}

#[test]
fn x32_calls_are_filtered_by_x32_numbers() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    let p = deny_mkdir(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]));
    // mkdir | __X32_SYSCALL_BIT: the filter answers before the kernel looks
    // at it (so this works on kernels without x32 support too).
    assert_eq!(
        ret(&run(
            "sc-x32",
            &bundle(p.clone(), &["/sysc", "x32", "83", "0"])
        )),
        -(libc::EACCES as i64)
    );
    // x32 getpid is allowed: the pid, or ENOSYS where the kernel has no x32.
    let got = ret(&run("sc-x32", &bundle(p, &["/sysc", "x32", "39"])));
    assert!(got == 1 || got == -(libc::ENOSYS as i64), "{got}");
}

#[test]
fn invalid_profiles_fail_create_naming_the_field() {
    let rt = Runtime::new();
    let b = bundle(
        json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/x.sock"}),
        &["/probe", "report"],
    );
    let out = rt.run(&unique_id("sc-bad"), &b);
    let line = out.assert_error_contains("SCMP_ACT_NOTIFY");
    if !runtime_is_runc() {
        assert!(line.contains("linux.seccomp.defaultAction"), "{line}");
    }
}

// ---------------------------------------------------------------------------
// SCMP_ACT_NOTIFY: an agent in the test answers the container's syscall.
// ---------------------------------------------------------------------------

/// `struct seccomp_notif` and `struct seccomp_notif_resp` (linux/seccomp.h).
const NOTIF_SIZE: usize = 80;
const SECCOMP_IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const SECCOMP_IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;

struct Notified {
    state: Value,
    nr: i32,
}

/// Accept one runtime connection on `listener`, take the state and the
/// listener fd, answer the first notification with `value`.
fn agent(listener: UnixListener, value: i64) -> Result<Notified, String> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::io::IoSliceMut;
    use std::os::fd::AsFd;

    let wait = |fd: std::os::fd::BorrowedFd| -> Result<(), String> {
        let mut p = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut p, PollTimeout::from(30_000u16)) {
            Ok(1) => Ok(()),
            r => Err(format!("agent: nothing came within 30s ({r:?})")),
        }
    };
    wait(listener.as_fd())?;
    let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    wait(conn.as_fd())?;
    let mut buf = vec![0u8; 256 << 10];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let n = msg.bytes;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(|e| format!("cmsgs: {e}"))? {
        if let ControlMessageOwned::ScmRights(f) = c {
            fds.extend(f);
        }
    }
    // SAFETY: recvmsg just installed these descriptors for us alone.
    let fds: Vec<OwnedFd> = fds
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    let state: Value = serde_json::from_slice(&buf[..n]).map_err(|e| format!("state JSON: {e}"))?;
    let fd = fds.first().ok_or("no fd came with the state")?;
    wait(fd.as_fd())?;
    let mut req = [0u8; NOTIF_SIZE];
    // SAFETY: the kernel writes at most sizeof(struct seccomp_notif) = NOTIF_SIZE bytes.
    if unsafe { libc::ioctl(fd.as_raw_fd(), SECCOMP_IOCTL_NOTIF_RECV, req.as_mut_ptr()) } < 0 {
        return Err(format!("NOTIF_RECV: {}", std::io::Error::last_os_error()));
    }
    let id = u64::from_ne_bytes(req[0..8].try_into().unwrap());
    let nr = i32::from_ne_bytes(req[16..20].try_into().unwrap());
    let mut resp = [0u8; 24];
    resp[0..8].copy_from_slice(&id.to_ne_bytes());
    resp[8..16].copy_from_slice(&value.to_ne_bytes());
    // SAFETY: the kernel reads sizeof(struct seccomp_notif_resp) = 24 bytes.
    if unsafe { libc::ioctl(fd.as_raw_fd(), SECCOMP_IOCTL_NOTIF_SEND, resp.as_ptr()) } < 0 {
        return Err(format!("NOTIF_SEND: {}", std::io::Error::last_os_error()));
    }
    Ok(Notified { state, nr })
}

#[test]
fn notified_syscall_reaches_the_agent_which_answers() {
    if let Err(e) = sysc_bin() {
        skip!("{e}");
    }
    let dir = mkdtemp("/tmp/husk-seccomp-agent-");
    let sock = dir.join("agent.sock");
    let listener = UnixListener::bind(&sock).expect("bind agent socket");
    let agent = std::thread::spawn(move || agent(listener, 4242));
    let b = bundle(
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "listenerPath": sock, "listenerMetadata": "husk-test-meta",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
        &["/sysc", "x86_64", "110"],
    );
    let id = unique_id("sc-notify");
    let out = Runtime::new().run(&id, &b);
    let got = agent.join().expect("agent thread");
    remove_tree(&dir);
    let n = got.unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    assert_eq!(ret(&out), 4242, "{}", out.describe());
    assert_eq!(n.nr, 110);
    let s = &n.state;
    assert_eq!(s["fds"], json!(["seccompFd"]), "{s}");
    assert_eq!(s["metadata"], "husk-test-meta", "{s}");
    assert_eq!(s["state"]["id"], id.as_str(), "{s}");
    assert_eq!(s["state"]["status"], "creating", "{s}");
    assert!(s["pid"].as_i64().unwrap_or(0) > 0, "{s}");
}
