//! Hostile containers against `exec` and the init's own process: one test
//! per advisory (named after it), and the LSM requests of step 9. As in
//! tests/security.rs, every test checks the HOST afterwards (the runtime
//! binary's hash, host files, the container still in its state), not only
//! the runtime's answer.
//!
//! Run against husk: `cargo test --test security_exec`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test security_exec`

mod common;

use common::*;
use serde_json::{Value, json};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A directory on the host, outside every bundle, removed on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(tag: &str) -> HostDir {
        HostDir(mkdtemp(&format!("/tmp/husk-test-host-{tag}-")))
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        remove_tree(&self.0);
    }
}

#[track_caller]
fn assert_unchanged(
    dir: &Path,
    before: &std::collections::BTreeMap<PathBuf, EntrySnapshot>,
    what: &str,
) {
    let changes = tree_changes(before, &snapshot_tree(dir));
    assert!(
        changes.is_empty(),
        "{what}: the host directory {} was changed: {changes:#?}",
        dir.display()
    );
}

/// A created-and-started container running `sh -c script` (stdout in the
/// bundle's create.stdout).
#[track_caller]
fn started<'a>(rt: &'a Runtime, id: &str, b: &mut Bundle, script: &str) -> Container<'a> {
    b.set_args(&["/bin/sh", "-c", script]);
    let c = rt.create_ok(id, b);
    c.start().assert_success();
    c
}

/// Run the runtime with `args`, with `dir` open (no close-on-exec) at
/// descriptor `at` in it: a descriptor its caller leaked.
fn run_with_leaked_dir(rt: &Runtime, args: &[&str], dir: &Path, at: i32) -> CmdOutput {
    let leak = OwnedFd::from(fs::File::open(dir).expect("open host dir"));
    let raw = leak.as_raw_fd();
    let mut c = rt.cmd();
    c.args(args);
    // SAFETY: dup2(2) is async-signal-safe; `raw` stays open until spawn returns.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(raw, at) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_command(c, command_timeout());
    drop(leak);
    out
}

/// The probe's JSON documents in some output, as values.
fn json_docs(out: &str) -> Vec<Value> {
    out.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .collect()
}

/// Copy the shared libraries `bin` needs (per ldd) into `rootfs` at the
/// same paths, so that it can run in a busybox container.
fn copy_libs_for(bin: &Path, rootfs: &Path) {
    let out = std::process::Command::new("ldd")
        .arg(bin)
        .output()
        .expect("ldd");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        if let Some(lib) = path {
            let to = rootfs.join(lib.strip_prefix("/").expect("absolute"));
            fs::create_dir_all(to.parent().expect("parent")).expect("mkdir lib dir");
            fs::copy(&lib, &to).unwrap_or_else(|e| panic!("copy {}: {e}", lib.display()));
        }
    }
}

fn sha256(p: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "sha256sum {}", p.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

// ---------------------------------------------------------------------------
// The init and the runtime binary
// ---------------------------------------------------------------------------

/// CVE-2016-9962: runc's init was dumpable while it sat in the container's
/// pid namespace holding host descriptors (the exec fifo, the state dir),
/// so a process of the container could ptrace it or reopen its fds through
/// /proc. Here a second process of the container, with the same uid and
/// capabilities, tries the created init's /proc entries (environ, cwd, the
/// fifo's fd, mem): all refused, while the same reads of a dumpable process
/// of its own succeed; the container is still `created` afterwards (nobody
/// opened its fifo).
#[test]
fn cve_2016_9962_created_init_is_not_dumpable() {
    let mut b = Bundle::new();
    b.set_args(&["/bin/true"]);
    let rt = Runtime::new();
    let id = unique_id("sec-9962");
    let c = rt.create_ok(&id, &b);
    let script = "sleep 30 & s=$!; \
        for p in $s 1; do \
          /probe read /proc/$p/environ; /probe stat /proc/$p/cwd/ /proc/$p/root/; \
        done; \
        /probe read /proc/1/mem; \
        for n in 3 4 5 6 7 8; do /probe stat /proc/1/fd/$n/; done; kill $s";
    let out = rt.exec(&["exec", &id, "/bin/sh", "-c", script]);
    out.assert_code(0);
    let docs = json_docs(&out.stdout);
    // Flatten `stat`'s arrays.
    let docs: Vec<Value> = docs
        .into_iter()
        .flat_map(|d| match d {
            Value::Array(v) => v,
            d => vec![d],
        })
        .collect();
    let ok = |d: &Value| d["ok"] == true || (d.get("ok").is_none() && d.get("errno").is_none());
    let (own, init): (Vec<&Value>, Vec<&Value>) = docs.iter().partition(|d| {
        d["path"]
            .as_str()
            .is_some_and(|p| !p.starts_with("/proc/1/"))
    });
    assert_eq!(own.len(), 3, "{}", out.stdout);
    // The premise: a dumpable process with the same credentials is open to it.
    for d in &own {
        assert!(ok(d), "a process of the container cannot read its own: {d}");
    }
    assert_eq!(init.len(), 10, "{}", out.stdout);
    let mut denied = 0;
    for d in &init {
        assert!(!ok(d), "the created init is reachable: {d}");
        let e = d["error"].as_str().unwrap_or_default();
        if e.starts_with("EACCES") || e.starts_with("EPERM") {
            denied += 1;
        } else {
            // A descriptor number the init does not have.
            assert!(e.starts_with("ENOENT"), "{d}");
        }
    }
    // environ, cwd, root, mem and the init's own descriptors (at least 3: the socket, the fifo, procfs).
    assert!(denied >= 7, "{}", out.stdout);
    // Host side: still created, the fifo not consumed.
    c.wait_status("created", WAIT).expect("still created");
    assert_eq!(c.state().expect("state")["status"], "created");
}

/// CVE-2019-5736: a container process reached the runtime's own binary
/// through /proc/<pid>/exe of a runtime process that had joined the
/// container (`runc exec`, or /bin/sh replaced by `#!/proc/self/exe`), held
/// it open, and wrote it once that process was gone: the host's runc was
/// replaced. Here `exec` runs the runtime itself in the container (its
/// /proc/self/exe), blocked on a fifo; the container's main process finds
/// it, holds its exe, writes it while it runs and again after it exited.
/// Every write must fail and the host binary's sha256 must not change.
#[test]
fn cve_2019_5736_runtime_binary_cannot_be_overwritten_through_exec() {
    let bin = runtime_bin();
    let before = sha256(&bin);
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    // The runtime must be able to run in the container, as runc could.
    copy_libs_for(&bin, &b.rootfs());
    let fifo =
        std::ffi::CString::new(b.rootfs().join("fifo").to_string_lossy().as_bytes()).expect("path");
    // SAFETY: mkfifo(3) with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // (The marker is assembled at run time so that this script's own
    // command line does not contain it.)
    let script = r#"
        m=husk-5736-; m="${m}marker"; p=
        while [ -z "$p" ]; do
          for d in /proc/[0-9]*; do
            case "$(tr '\0' ' ' < $d/cmdline 2>/dev/null)" in *$m*) p=${d#/proc/};; esac
          done
        done
        echo "found $p $(readlink /proc/$p/exe)"
        exec 9< /proc/$p/exe || echo HOLD-FAILED
        /probe write /proc/$p/exe pwned
        exec 8< /fifo
        while [ -n "$(tr -d '\0' < /proc/$p/cmdline 2>/dev/null)" ]; do sleep 0.05; done
        /probe write /proc/self/fd/9 pwned
        /probe write /proc/$$/fd/9 pwned
        echo DONE
    "#;
    let rt = Runtime::new();
    let id = unique_id("sec-5736");
    let c = started(&rt, &id, &mut b, script);
    // The runtime, run inside the container by `exec`: it blocks opening its
    // log (the fifo) until the attacker lets it go.
    let out = rt.exec(&[
        "exec",
        &id,
        "/proc/self/exe",
        "--log",
        "/fifo",
        "state",
        "husk-5736-marker",
    ]);
    let log = b
        .wait_create_stdout(|o| o.contains("DONE"), WAIT)
        .unwrap_or_else(|e| panic!("{e}\nexec: {}", out.describe()));
    drop(c);
    eprintln!("attacker's log:\n{log}");
    assert_eq!(
        sha256(&bin),
        before,
        "the runtime binary on the host changed!\n{log}"
    );
    assert!(log.contains("found "), "{log}");
    assert!(
        !log.contains("HOLD-FAILED"),
        "the attacker could not even hold the runtime's exe, so the test proves nothing: {log}"
    );
    let writes = json_docs(&log);
    assert_eq!(writes.len(), 3, "{log}");
    for w in &writes {
        assert_eq!(
            w["ok"], false,
            "a write to the runtime binary succeeded: {w}\n{log}"
        );
    }
}

// ---------------------------------------------------------------------------
// exec: capabilities, working directory, program
// ---------------------------------------------------------------------------

/// CVE-2022-29162: `runc exec --cap` added the capability to the
/// inheritable set too, so a program with file capabilities (or a user
/// switching with ambient rules) could carry it further than asked. The
/// exec'd process gets it in bounding, effective and permitted only; the
/// inheritable and ambient sets stay empty, read back from the kernel.
#[test]
fn cve_2022_29162_exec_cap_is_not_inheritable() {
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sec-29162");
    let _c = started(&rt, &id, &mut b, "sleep 30");
    let out = rt.exec(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        "--cap",
        "CAP_NET_RAW",
        &id,
        "/probe",
        "report",
    ]);
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    let names = |set: &str| -> Vec<String> {
        r["caps"][set]["names"]
            .as_array()
            .unwrap_or_else(|| panic!("no caps.{set} in {}", r["caps"]))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    };
    for set in ["CapBnd", "CapPrm", "CapEff"] {
        for cap in ["CAP_SYS_ADMIN", "CAP_NET_RAW"] {
            assert!(
                names(set).iter().any(|c| c == cap),
                "{set}: {:?}",
                names(set)
            );
        }
    }
    assert!(
        names("CapInh").is_empty(),
        "inheritable: {:?}",
        names("CapInh")
    );
    assert!(names("CapAmb").is_empty(), "ambient: {:?}", names("CapAmb"));
}

/// CVE-2024-21626 through `exec --cwd /proc/self/fd/N`: runc leaked a host
/// directory descriptor into the process it started, and a working
/// directory of /proc/self/fd/N put the process in the host's file system.
/// For every small N, and for a host directory the caller leaked at 20,
/// the exec is refused and nothing is written in the host directory.
#[test]
fn cve_2024_21626_exec_cwd_through_a_leaked_fd_is_refused() {
    let host = HostDir::new("21626-cwd");
    fs::write(host.0.join("secret"), "host secret\n").expect("write");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sec-21626-cwd");
    let c = started(&rt, &id, &mut b, "sleep 60");
    for n in (3..=12).chain([20]) {
        let cwd = format!("/proc/self/fd/{n}");
        let args = [
            "exec",
            "--cwd",
            &cwd,
            &id,
            "/bin/sh",
            "-c",
            "/probe write pwned x; /probe read secret; /probe read ../../../../etc/hostname",
        ];
        let out = run_with_leaked_dir(&rt, &args, &host.0, 20);
        assert!(
            !out.success() && json_docs(&out.stdout).is_empty(),
            "exec with cwd {cwd} ran: {}",
            out.describe()
        );
        assert_unchanged(&host.0, &before, &cwd);
    }
    assert_eq!(c.state().expect("state")["status"], "running");
}

/// CVE-2024-21626 through the program: with a host directory left open at
/// some descriptor while the runtime starts the process, an `args[0]` of
/// /proc/self/fd/N/... (or /proc/self/fd/N/../../<host path>) names a host
/// binary, which then runs in the container. The caller's stray
/// descriptors must not reach the process being set up: `exec` and `run`
/// are refused, the host binary never ran (no output, no file it writes).
#[test]
fn cve_2024_21626_program_through_a_leaked_fd_is_refused() {
    let host = HostDir::new("21626-prog");
    fs::copy(probe_bin(), host.0.join("hostprobe")).expect("copy probe");
    let before = snapshot_tree(&host.0);
    let climb = |n: i32| {
        format!(
            "/proc/self/fd/{n}/../../../../../..{}/hostprobe",
            host.0.display()
        )
    };
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    let rt = Runtime::new();
    let id = unique_id("sec-21626-prog");
    let c = started(&rt, &id, &mut b, "sleep 60");
    for n in (3..=12).chain([20]) {
        for prog in [format!("/proc/self/fd/{n}/hostprobe"), climb(n)] {
            let args = ["exec", &id, &prog, "write", "/ran", "x"];
            let out = run_with_leaked_dir(&rt, &args, &host.0, 20);
            assert!(
                !out.success() && json_docs(&out.stdout).is_empty(),
                "exec {prog} ran a host binary: {}",
                out.describe()
            );
        }
    }
    assert!(
        !b.rootfs().join("ran").exists(),
        "a host binary ran in the container"
    );
    assert_eq!(c.state().expect("state")["status"], "running");
    drop(c);

    // The same through `run`: the container's own program.
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    let prog = "/proc/self/fd/20/hostprobe";
    b.set_args(&[prog, "write", "/ran", "x"]);
    b.sync_config();
    let id = unique_id("sec-21626-run");
    let bundle = b.path().to_string_lossy().into_owned();
    let out = run_with_leaked_dir(&rt, &["run", "--bundle", &bundle, &id], &host.0, 20);
    assert!(
        !out.success(),
        "run {prog} ran a host binary: {}",
        out.describe()
    );
    assert!(json_docs(&out.stdout).is_empty(), "{}", out.describe());
    assert!(
        !b.rootfs().join("ran").exists(),
        "a host binary ran in the container"
    );
    if !runtime_is_runc() {
        out.assert_error_contains(prog);
    }
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "left behind: {left:#?}");
    assert_unchanged(&host.0, &before, "program through a leaked fd");
}

// ---------------------------------------------------------------------------
// LSM requests (step 9)
// ---------------------------------------------------------------------------

fn host_has_apparmor() -> bool {
    fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'))
}

fn host_has_selinux() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// `run` a bundle that must be refused; returns the one error line after
/// checking that nothing was left behind.
#[track_caller]
fn refused(b: &Bundle, tag: &str) -> String {
    let rt = Runtime::new();
    let id = unique_id(tag);
    let out = rt.run(&id, b);
    let left = leftovers(&rt, &id, b);
    assert!(
        left.is_empty(),
        "left behind: {left:#?}\n{}",
        out.describe()
    );
    assert!(
        rt.root_entries().is_empty(),
        "state: {:?}",
        rt.root_entries()
    );
    assert!(!out.success(), "{}", out.describe());
    if runtime_is_runc() {
        return String::new();
    }
    assert!(
        json_docs(&out.stdout).is_empty(),
        "the container ran: {}",
        out.describe()
    );
    out.assert_error()
}

/// A profile or label the host cannot apply is refused before anything is
/// made, with the field named; `unconfined` is a profile like any other (runc
/// writes `exec unconfined` and fails too); an empty string means none.
#[test]
fn lsm_requests_the_host_cannot_apply_are_refused_naming_the_field() {
    if host_has_apparmor() {
        common::skip!("the host has AppArmor");
    }
    for profile in ["husk-test-profile", "unconfined"] {
        let mut b = Bundle::new();
        b.config_mut()["process"]["apparmorProfile"] = json!(profile);
        let line = refused(&b, "sec-aa");
        if !runtime_is_runc() {
            assert!(
                line.contains("process.apparmorProfile: AppArmor is not enabled on this host"),
                "{line}"
            );
        }
    }
    let mut b = Bundle::new();
    b.config_mut()["process"]["apparmorProfile"] = json!("");
    let rt = Runtime::new();
    let id = unique_id("sec-aa-empty");
    rt.run(&id, &b).assert_code(0);

    if host_has_selinux() {
        common::skip!("the host has SELinux");
    }
    let label = "system_u:object_r:container_file_t:s0:c1,c2";
    for (section, key) in [("process", "selinuxLabel"), ("linux", "mountLabel")] {
        let mut b = Bundle::new();
        b.config_mut()[section][key] = json!(label);
        let line = refused(&b, "sec-se");
        if !runtime_is_runc() {
            let want = format!("{section}.{key}: SELinux is not enabled on this host");
            assert!(line.contains(&want), "{line}");
        }
    }
}

/// `exec --apparmor` and `exec --process-label` on a host without them:
/// refused naming the flag, no process started in the container.
#[test]
fn exec_lsm_flags_the_host_cannot_apply_are_refused() {
    if host_has_apparmor() || host_has_selinux() {
        common::skip!("the host has AppArmor or SELinux");
    }
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    let rt = Runtime::new();
    let id = unique_id("sec-exec-lsm");
    let c = started(&rt, &id, &mut b, "sleep 60");
    let procs = processes_of(&id, b.path()).len();
    for (flag, value, what) in [
        ("--apparmor", "unconfined", "AppArmor"),
        (
            "--process-label",
            "system_u:system_r:container_t:s0",
            "SELinux",
        ),
    ] {
        let out = rt.exec(&["exec", flag, value, &id, "/probe", "write", "/ran", "x"]);
        assert!(!out.success(), "{}", out.describe());
        if !runtime_is_runc() {
            let line = out.assert_error();
            assert!(
                line.contains(&format!("{flag}: {what} is not enabled on this host")),
                "{line}"
            );
        }
        assert!(!b.rootfs().join("ran").exists(), "{flag}: the process ran");
        assert_eq!(
            processes_of(&id, b.path()).len(),
            procs,
            "{flag}: a process was left"
        );
    }
    // An empty flag is no request (runc: "if ap != \"\"").
    rt.exec(&["exec", "--apparmor", "", &id, "/bin/true"])
        .assert_code(0);
    assert_eq!(c.state().expect("state")["status"], "running");
}

/// `features` says AppArmor and SELinux are enabled exactly when the host has them.
#[test]
fn features_report_the_hosts_lsms() {
    if runtime_is_runc() {
        common::skip!("runc 1.1.5 has no features command");
    }
    let rt = Runtime::new();
    let out = rt.exec(&["features"]);
    out.assert_code(0);
    let f: Value = serde_json::from_str(&out.stdout).expect("features JSON");
    assert_eq!(
        f["linux"]["apparmor"]["enabled"],
        host_has_apparmor(),
        "{}",
        f["linux"]
    );
    assert_eq!(
        f["linux"]["selinux"]["enabled"],
        host_has_selinux(),
        "{}",
        f["linux"]
    );
}

/// Where the host has AppArmor: `unconfined` is applied to the process, by
/// `run` and by `exec --apparmor`.
#[test]
fn apparmor_profile_is_applied_where_the_host_has_it() {
    if !host_has_apparmor() {
        common::skip!("the host has no AppArmor");
    }
    let mut b = Bundle::new();
    b.config_mut()["process"]["apparmorProfile"] = json!("unconfined");
    let rt = Runtime::new();
    let id = unique_id("sec-aa-on");
    let out = rt.run(&id, &b);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["apparmor"], "unconfined");
    let mut b = Bundle::new();
    let id = unique_id("sec-aa-exec");
    let _c = started(&rt, &id, &mut b, "sleep 30");
    let out = rt.exec(&["exec", "--apparmor", "unconfined", &id, "/probe", "report"]);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["apparmor"], "unconfined");
}
