//! The real kernel takes our programs and flags: each case runs in a fresh
//! process (this test binary again, one test selected), which installs a
//! filter on itself, makes a few calls and reports on stdout.

use std::process::Command;

use serde_json::json;

use super::*;
use crate::seccomp::install;

const CASE_ENV: &str = "HUSK_SECCOMP_KERNEL_CASE";

/// Run `case` in a child process; its stdout.
fn in_child(case: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "seccomp::tests::kernel::child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CASE_ENV, case)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("CASE-DONE"),
        "{case}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The child side: does nothing unless started by `in_child`.
#[test]
fn child() {
    let Ok(case) = std::env::var(CASE_ENV) else {
        return;
    };
    nix::sys::prctl::set_no_new_privs().unwrap();
    let dir = std::env::temp_dir().join(format!("husk-seccomp-{}", std::process::id()));
    let p = match case.as_str() {
        "deny-mkdir" => json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                         {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7,
                          "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]}]
        }),
        "notify" => json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
        }),
        other => panic!("unknown case {other}"),
    };
    let filter = compile(&profile(p)).unwrap();
    let listener = install(&filter).unwrap();
    // The filter is on this thread (the harness runs the test on its own thread).
    let mode = std::fs::read_to_string("/proc/thread-self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Seccomp:"))
        .unwrap()
        .to_string();
    println!("{mode}");
    match case.as_str() {
        "deny-mkdir" => {
            let e = std::fs::create_dir(&dir).unwrap_err();
            println!("mkdir: {:?}", e.raw_os_error());
            println!("personality: {:?}", nix::sys::personality::get().err());
            println!("listener: {}", listener.is_some());
        }
        _ => {
            use std::os::fd::AsRawFd;
            let fd = listener.unwrap();
            let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
            println!("listener: {}", link.display());
        }
    }
    println!("CASE-DONE");
    std::process::exit(0);
}

#[test]
fn kernel_accepts_and_enforces_the_filter() {
    let out = in_child("deny-mkdir");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(
        out.contains(&format!("mkdir: Some({})", libc::EPERM)),
        "{out}"
    );
    assert!(out.contains("personality: Some(E2BIG)"), "{out}");
    assert!(out.contains("listener: false"), "{out}");
}

#[test]
fn notify_returns_the_listener_fd() {
    let out = in_child("notify");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("listener: anon_inode:seccomp notify"), "{out}");
}

#[test]
fn this_kernel_supports_every_known_flag() {
    // 6.x kernels know all four; the probe installs nothing.
    assert_eq!(
        crate::seccomp::features::supported_flags(),
        crate::seccomp::features::KNOWN_FLAGS
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(
        status.contains("Seccomp:\t0"),
        "the probe must not install a filter"
    );
}
