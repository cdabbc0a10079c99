//! Who the container process is, as the probe sees it from inside: user and
//! groups, umask, HOME, the five capability sets, rlimits, no_new_privs,
//! oom_score_adj, stdio ownership, descriptors, signal state and the working
//! directory check of CVE-2024-21626.
//!
//! Run against husk: `cargo test --test identity`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test identity`
//!
//! Kernel facts the capability asserts rely on: after execve of a file without
//! file capabilities, a process with uid 0 gets permitted = effective =
//! bounding | inheritable; any other uid gets permitted = effective = ambient.
//! The spec's permitted and effective sets are therefore seen only through
//! what they allow (ambient capabilities must be permitted and inheritable).

mod common;

use common::*;
use serde_json::{Value, json};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// CAP_KILL | CAP_NET_BIND_SERVICE | CAP_AUDIT_WRITE, as in `runc spec`.
const DEFAULT_CAPS: &str = "0000000020000420";
const NONE: &str = "0000000000000000";

fn bit(name: &str) -> u64 {
    let names = [
        ("CAP_CHOWN", 0),
        ("CAP_DAC_OVERRIDE", 1),
        ("CAP_KILL", 5),
        ("CAP_SETGID", 6),
        ("CAP_SETUID", 7),
        ("CAP_SETPCAP", 8),
        ("CAP_NET_BIND_SERVICE", 10),
        ("CAP_NET_RAW", 13),
        ("CAP_SYS_CHROOT", 18),
        ("CAP_SYS_ADMIN", 21),
        ("CAP_AUDIT_WRITE", 29),
    ];
    let n = names
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("add {name} to the table"))
        .1;
    1u64 << n
}

fn hex(names: &[&str]) -> String {
    format!(
        "{:016x}",
        names.iter().map(|n| bit(n)).fold(0, |a, b| a | b)
    )
}

#[track_caller]
fn assert_clean(rt: &Runtime, id: &str, b: &Bundle) {
    let left = leftovers(rt, id, b);
    assert!(left.is_empty(), "container {id:?} left behind: {left:#?}");
}

/// `run` the bundle and return the probe's report (asserting exit 0 and no leftovers).
#[track_caller]
fn report(tag: &str, b: &Bundle) -> Value {
    let rt = Runtime::new();
    let id = unique_id(tag);
    let out = rt.run(&id, b);
    out.assert_code(0);
    assert_clean(&rt, &id, b);
    probe_report(&out.stdout)
}

/// `run` with a hook that prepares the runtime's process before it executes
/// (descriptors to pass on, signal state), as a caller of the runtime would.
fn run_prepared(
    rt: &Runtime,
    id: &str,
    b: &Bundle,
    extra: &[&str],
    prep: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
) -> CmdOutput {
    b.sync_config();
    let mut c = rt.cmd();
    c.arg("run")
        .arg("--bundle")
        .arg(b.path())
        .args(extra)
        .arg(id);
    // SAFETY: the hooks given by these tests call only async-signal-safe functions.
    unsafe { c.pre_exec(prep) };
    run_command(c, command_timeout())
}

/// A hook that places `fds[i]` at descriptor 3+i without close-on-exec.
fn pass_fds(fds: Vec<i32>) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    move || {
        for (i, &fd) in fds.iter().enumerate() {
            let to = 3 + i as i32;
            // SAFETY: dup2/fcntl on descriptors this process owns.
            let r = unsafe {
                if fd == to {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, to)
                }
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn fd_numbers(r: &Value) -> Vec<i64> {
    r["fds"]
        .as_array()
        .unwrap_or_else(|| panic!("no fds in report: {}", r["fds"]))
        .iter()
        .map(|f| f["fd"].as_i64().unwrap_or(-1))
        .collect()
}

// ---------------------------------------------------------------------------
// user, groups, umask, HOME
// ---------------------------------------------------------------------------

#[test]
fn root_defaults_umask_and_home() {
    let b = Bundle::new();
    let r = report("id-root", &b);
    for k in ["uid", "euid", "suid", "gid", "egid", "sgid"] {
        assert_eq!(r[k], 0, "{k}: {r}");
    }
    assert_eq!(
        r["groups"],
        json!([]),
        "no supplementary groups were asked for"
    );
    assert_eq!(r["umask"], "0022", "default umask");
    assert_eq!(r["env"]["HOME"], "/root", "HOME from /etc/passwd");
    assert_eq!(r["cwd"], "/");
}

#[test]
fn user_groups_umask_and_home() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({
        "uid": 1000, "gid": 1000, "additionalGids": [1001, 5], "umask": 0o077
    });
    b.config_mut()["process"]["cwd"] = json!("/home/user");
    let r = report("id-user", &b);
    for k in ["uid", "euid", "suid", "gid", "egid", "sgid"] {
        assert_eq!(r[k], 1000, "{k}: {r}");
    }
    let mut groups: Vec<u64> = r["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("groups: {}", r["groups"]))
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, vec![5, 1001], "additionalGids");
    assert_eq!(r["umask"], "0077");
    assert_eq!(r["env"]["HOME"], "/home/user", "HOME from /etc/passwd");
    assert_eq!(r["cwd"], "/home/user");
}

#[test]
fn home_is_kept_when_set_and_slash_for_unknown_user() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!("HOME=/somewhere"));
    let r = report("id-home-set", &b);
    assert_eq!(r["env"]["HOME"], "/somewhere");

    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 4242, "gid": 4242});
    let r = report("id-home-unknown", &b);
    assert_eq!(r["uid"], 4242);
    assert_eq!(
        r["env"]["HOME"], "/",
        "a uid not in /etc/passwd gets HOME=/"
    );
}

/// runc chowns the stdio descriptors to the container user, so that a
/// non-root process can reopen them (`/dev/stdout`, `/proc/self/fd/1`).
#[test]
fn stdio_is_usable_by_a_non_root_user() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe write /proc/self/fd/2; stat -L -c '%u %F' /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2",
    ]);
    let rt = Runtime::new();
    let id = unique_id("id-stdio");
    let out = rt.run(&id, &b);
    out.assert_code(0);
    assert_clean(&rt, &id, &b);
    let mut lines = out.stdout.lines();
    let reopen = probe_report(lines.next().unwrap_or(""));
    assert_eq!(
        reopen["ok"], true,
        "user 1000 cannot reopen its stderr: {reopen}"
    );
    let owners: Vec<&str> = lines.collect();
    // stdin is /dev/null (left alone); stdout and stderr are the caller's pipes.
    assert_eq!(
        owners,
        vec!["0 character special file", "1000 fifo", "1000 fifo"],
        "{}",
        out.describe()
    );
}

#[test]
fn user_not_in_the_spec_fields_is_refused() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 0, "gid": 0, "username": "root"});
    let rt = Runtime::new();
    let id = unique_id("id-username");
    let out = rt.run(&id, &b);
    if !runtime_is_runc() {
        out.assert_error_contains("process.user.username");
    }
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// capabilities
// ---------------------------------------------------------------------------

#[test]
fn caps_default_root() {
    let b = Bundle::new();
    let r = report("id-caps-root", &b);
    let c = &r["caps"];
    assert_eq!(c["CapBnd"]["hex"], DEFAULT_CAPS, "{c}");
    assert_eq!(c["CapPrm"]["hex"], DEFAULT_CAPS, "{c}");
    assert_eq!(c["CapEff"]["hex"], DEFAULT_CAPS, "{c}");
    // CVE-2022-29162: nothing inheritable or ambient unless asked for.
    assert_eq!(c["CapInh"]["hex"], NONE, "{c}");
    assert_eq!(c["CapAmb"]["hex"], NONE, "{c}");
}

#[test]
fn caps_missing_object_means_none() {
    let b = Bundle::minimal();
    let r = report("id-caps-none", &b);
    for set in ["CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(r["caps"][set]["hex"], NONE, "{set}: {}", r["caps"]);
    }
}

fn five_sets_root(no_new_privs: bool) -> Value {
    // Inheritable may hold what permitted does not (runc sets both in one capset).
    let mut b = Bundle::new();
    b.config_mut()["process"]["noNewPrivileges"] = json!(no_new_privs);
    b.config_mut()["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_KILL"],
        "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    let r = report("id-caps-five-root", &b);
    let c = &r["caps"];
    let bnd = [
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_AUDIT_WRITE",
    ];
    assert_eq!(c["CapBnd"]["hex"], hex(&bnd), "{c}");
    assert_eq!(
        c["CapInh"]["hex"],
        hex(&["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"]),
        "{c}"
    );
    assert_eq!(c["CapAmb"]["hex"], hex(&["CAP_NET_BIND_SERVICE"]), "{c}");
    c.clone()
}

#[test]
fn caps_all_five_sets_root() {
    // uid 0: permitted = effective = bounding | inheritable after execve...
    let bnd = [
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_AUDIT_WRITE",
    ];
    let c = five_sets_root(false);
    assert_eq!(c["CapPrm"]["hex"], hex(&bnd), "{c}");
    assert_eq!(c["CapEff"]["hex"], hex(&bnd), "{c}");
    // ...but with no_new_privs execve grants nothing beyond the permitted set it had.
    let c = five_sets_root(true);
    let prm = hex(&["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    assert_eq!(c["CapPrm"]["hex"], prm, "{c}");
    assert_eq!(c["CapEff"]["hex"], prm, "{c}");
}

#[test]
fn caps_inheritable_outside_bounding_is_refused() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL"],
        "permitted": ["CAP_KILL"],
        "effective": ["CAP_KILL"],
        "inheritable": ["CAP_NET_RAW"],
    });
    let rt = Runtime::new();
    let id = unique_id("id-caps-inh-bnd");
    let out = rt.run(&id, &b);
    if runtime_is_runc() {
        out.assert_error();
    } else {
        out.assert_error_contains("process.capabilities");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn caps_ambient_not_permitted_is_warned_about() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config_mut()["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "ambient": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
    });
    let rt = Runtime::new();
    let id = unique_id("id-caps-amb-warn");
    let out = rt.run(&id, &b);
    out.assert_code(0);
    assert_clean(&rt, &id, &b);
    if !runtime_is_runc() {
        assert!(
            out.stderr.contains("CAP_NET_RAW"),
            "no warning about the ambient capability that cannot be raised: {}",
            out.describe()
        );
    }
    let c = &probe_report(&out.stdout)["caps"];
    assert_eq!(c["CapAmb"]["hex"], hex(&["CAP_NET_BIND_SERVICE"]), "{c}");
    assert_eq!(c["CapPrm"]["hex"], hex(&["CAP_NET_BIND_SERVICE"]), "{c}");
}

#[test]
fn caps_all_five_sets_non_root_with_ambient() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config_mut()["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_NET_RAW"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
        "ambient": ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
    });
    let r = report("id-caps-five-user", &b);
    assert_eq!(r["uid"], 1000);
    let c = &r["caps"];
    assert_eq!(
        c["CapBnd"]["hex"],
        hex(&[
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_NET_RAW"
        ]),
        "{c}"
    );
    let amb = hex(&["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
    assert_eq!(c["CapInh"]["hex"], amb, "{c}");
    // Ambient capabilities survive execve only if they were permitted and
    // inheritable, and become the whole permitted and effective sets of a non-root process.
    assert_eq!(c["CapAmb"]["hex"], amb, "{c}");
    assert_eq!(c["CapPrm"]["hex"], amb, "{c}");
    assert_eq!(c["CapEff"]["hex"], amb, "{c}");
}

#[test]
fn caps_non_root_without_ambient_has_none() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let r = report("id-caps-user", &b);
    let c = &r["caps"];
    assert_eq!(c["CapBnd"]["hex"], DEFAULT_CAPS, "{c}");
    for set in ["CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(c[set]["hex"], NONE, "{set}: {c}");
    }
}

#[test]
fn caps_unknown_names_are_warned_about_and_ignored() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_HUSK_NOT_A_CAP"],
        "permitted": ["CAP_KILL", "CAP_HUSK_NOT_A_CAP"],
        "effective": ["CAP_KILL"],
        "inheritable": ["CAP_HUSK_NOT_A_CAP"],
        "ambient": ["CAP_HUSK_NOT_A_CAP"],
    });
    let rt = Runtime::new();
    let id = unique_id("id-caps-unknown");
    let out = rt.run(&id, &b);
    out.assert_code(0);
    assert_clean(&rt, &id, &b);
    assert!(
        out.stderr.contains("CAP_HUSK_NOT_A_CAP"),
        "no warning about the unknown capability: {}",
        out.describe()
    );
    let r = probe_report(&out.stdout);
    let c = &r["caps"];
    assert_eq!(c["CapBnd"]["hex"], hex(&["CAP_KILL"]), "{c}");
    assert_eq!(c["CapInh"]["hex"], NONE, "{c}");
    assert_eq!(c["CapAmb"]["hex"], NONE, "{c}");
}

// ---------------------------------------------------------------------------
// rlimits, no_new_privs, oom_score_adj
// ---------------------------------------------------------------------------

#[test]
fn rlimits_are_applied() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
        {"type": "RLIMIT_CORE", "soft": 1234, "hard": 5678},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192},
    ]);
    let r = report("id-rlimits", &b);
    let l = &r["rlimits"];
    assert_eq!(l["RLIMIT_NOFILE"], json!([512, 1024]), "{l}");
    assert_eq!(l["RLIMIT_CORE"], json!([1234, 5678]), "{l}");
    assert_eq!(l["RLIMIT_NPROC"], json!([300, 400]), "{l}");
    assert_eq!(l["RLIMIT_MSGQUEUE"], json!([4096, 8192]), "{l}");
}

#[test]
fn rlimit_that_cannot_be_set_fails_create_naming_it() {
    // Above fs.nr_open no process may raise RLIMIT_NOFILE, privileged or not.
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .expect("read nr_open")
        .trim()
        .parse()
        .expect("nr_open is a number");
    let mut b = Bundle::new();
    b.config_mut()["process"]["rlimits"] = json!([
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NOFILE", "soft": nr_open + 1, "hard": nr_open + 1},
    ]);
    let rt = Runtime::new();
    let id = unique_id("id-rlimit-bad");
    let out = rt.run(&id, &b);
    if runtime_is_runc() {
        out.assert_error();
    } else {
        let e = out.assert_error_contains("process.rlimits[1]");
        assert!(e.contains("RLIMIT_NOFILE"), "{e}");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn unknown_rlimit_type_is_refused() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["rlimits"] = json!([{"type": "RLIMIT_HUSK", "soft": 1, "hard": 1}]);
    let rt = Runtime::new();
    let id = unique_id("id-rlimit-type");
    let out = rt.run(&id, &b);
    if runtime_is_runc() {
        out.assert_error();
    } else {
        out.assert_error_contains("process.rlimits[0]");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn no_new_privileges_both_ways() {
    let b = Bundle::new();
    assert_eq!(report("id-nnp-on", &b)["no_new_privs"], true);
    let mut b = Bundle::new();
    b.config_mut()["process"]["noNewPrivileges"] = json!(false);
    assert_eq!(report("id-nnp-off", &b)["no_new_privs"], false);
}

#[test]
fn oom_score_adj_positive() {
    // A negative value needs CAP_SYS_RESOURCE, which this host's runtime may lack.
    for adj in [1, 500, 1000] {
        let mut b = Bundle::new();
        b.config_mut()["process"]["oomScoreAdj"] = json!(adj);
        assert_eq!(report("id-oom", &b)["oom_score_adj"], adj);
    }
}

// ---------------------------------------------------------------------------
// descriptors and signals
// ---------------------------------------------------------------------------

#[test]
fn only_stdio_reaches_the_container() {
    let b = Bundle::new();
    let leak = std::fs::File::open("/etc/hostname").expect("open /etc/hostname");
    let leak_dir = std::fs::File::open("/").expect("open /");
    let fds = vec![leak.as_raw_fd(), leak_dir.as_raw_fd()];
    let rt = Runtime::new();
    let id = unique_id("id-fds");
    let out = run_prepared(&rt, &id, &b, &[], pass_fds(fds));
    out.assert_code(0);
    assert_clean(&rt, &id, &b);
    let r = probe_report(&out.stdout);
    assert_eq!(fd_numbers(&r), vec![0, 1, 2], "stray fds: {}", r["fds"]);
}

#[test]
fn preserve_fds_passes_exactly_those() {
    let b = Bundle::new();
    let dir = mkdtemp("/tmp/husk-test-fds-");
    let (p1, p2, p3) = (dir.join("one"), dir.join("two"), dir.join("three"));
    let files: Vec<std::fs::File> = [&p1, &p2, &p3]
        .iter()
        .map(|p| std::fs::File::create(p).expect("create"))
        .collect();
    let fds = files.iter().map(|f| f.as_raw_fd()).collect();
    let rt = Runtime::new();
    let id = unique_id("id-preserve");
    let out = run_prepared(&rt, &id, &b, &["--preserve-fds", "2"], pass_fds(fds));
    drop(files);
    remove_tree(&dir);
    out.assert_code(0);
    assert_clean(&rt, &id, &b);
    let r = probe_report(&out.stdout);
    assert_eq!(fd_numbers(&r), vec![0, 1, 2, 3, 4], "{}", r["fds"]);
    let fds = r["fds"].as_array().unwrap();
    assert_eq!(
        fds[3]["target"],
        p1.to_string_lossy().as_ref(),
        "{}",
        r["fds"]
    );
    assert_eq!(
        fds[4]["target"],
        p2.to_string_lossy().as_ref(),
        "{}",
        r["fds"]
    );
}

#[test]
fn signal_state_is_reset() {
    let b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("id-signals");
    // The caller blocks SIGUSR1 and SIGHUP and ignores SIGUSR2 and SIGPIPE.
    let out = run_prepared(&rt, &id, &b, &[], || {
        // SAFETY: plain signal-mask and disposition calls on this process.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        Ok(())
    });
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    assert_eq!(r["sig_blk"], NONE, "blocked signals leaked: {r}");
    assert_eq!(r["sig_ign"], NONE, "ignored signals leaked: {r}");

    // Ignored dispositions survive execve: set them in a shell that execs the runtime.
    b.sync_config();
    let id = unique_id("id-signals-ign");
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg("trap '' USR2 PIPE; exec \"$@\"")
        .arg("sh")
        .arg(rt.bin())
        .arg("--root")
        .arg(rt.root())
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(&id);
    let out = run_command(c, command_timeout());
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    assert_eq!(r["sig_ign"], NONE, "ignored signals leaked: {r}");
    assert_eq!(r["sig_blk"], NONE, "blocked signals leaked: {r}");
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// working directory (CVE-2024-21626)
// ---------------------------------------------------------------------------

/// As runc: the directory is entered as root first, so a user may start in
/// a directory it could not enter itself.
#[test]
fn cwd_only_root_can_enter() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config_mut()["process"]["cwd"] = json!("/root");
    let r = report("id-cwd-root-only", &b);
    assert_eq!(r["uid"], 1000);
    assert_eq!(r["cwd"], "/root");
}

/// runc creates a missing working directory (before the root is made read-only).
#[test]
fn cwd_is_created_when_missing() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["cwd"] = json!("/does/not/exist");
    let r = report("id-cwd-missing", &b);
    assert_eq!(r["cwd"], "/does/not/exist");
}

#[test]
fn cwd_through_a_leaked_fd_is_refused() {
    let rt = Runtime::new();
    for n in 3..=12 {
        let mut b = Bundle::new();
        b.config_mut()["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let id = unique_id("id-cwd-fd");
        let out = rt.run(&id, &b);
        assert!(
            !out.success(),
            "cwd /proc/self/fd/{n} was accepted: {}",
            out.describe()
        );
        assert!(
            !out.stdout.contains("\"cwd\""),
            "the container ran with cwd /proc/self/fd/{n}: {}",
            out.stdout
        );
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn cwd_through_a_preserved_host_directory_is_refused() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["cwd"] = json!("/proc/self/fd/3");
    let host_dir = std::fs::File::open("/").expect("open /");
    let rt = Runtime::new();
    let id = unique_id("id-cwd-preserved");
    let out = run_prepared(
        &rt,
        &id,
        &b,
        &["--preserve-fds", "1"],
        pass_fds(vec![host_dir.as_raw_fd()]),
    );
    assert!(
        !out.success() && !out.stdout.contains("\"cwd\""),
        "cwd outside the container's root was accepted: {}",
        out.describe()
    );
    if !runtime_is_runc() {
        out.assert_error_contains("process.cwd");
    }
    assert_clean(&rt, &id, &b);
}
