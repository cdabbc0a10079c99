//! Linux security modules applied for real (step 9): AppArmor profiles that
//! the test loads itself (`apparmor_parser`), a container confined by
//! `process.apparmorProfile` and a process confined by `exec --apparmor`,
//! each checked from inside (the probe's `apparmor`, which is
//! `/proc/self/attr/apparmor/current`, and a write the profile denies), and
//! from the host (`/proc/<pid>/attr/apparmor/current` of the init).
//!
//! Every test skips, saying why, where AppArmor is not enabled, securityfs
//! is not mounted or `apparmor_parser` is missing (package `apparmor`), as on
//! a cgroup v1 host without the LSM. `hack/vm-test` runs them in its VM,
//! whose kernel has AppArmor, with `HUSK_TEST_REQUIRE_APPARMOR=1`: there a
//! reason to skip is a failure.
//!
//! SELinux (the `selinux_*` tests): a container labelled by
//! `process.selinuxLabel` (its own `/proc/self/attr/current`, the probe's
//! `selinux`, and the init's from the host), `exec --process-label`, the
//! `context=` of `linux.mountLabel` on the container's tmpfs, devpts and
//! mqueue mounts and masked directories (its mountinfo), and labels the
//! policy does not know refused by `create`. They skip, saying why, unless
//! SELinux is enabled with a policy loaded that knows their labels
//! ([`SE_PROCESS`], ...: container engines' usual names). `hack/vm-test`'s
//! SELinux boot (`HUSK_VM_LSM=selinux`) loads such a policy in permissive
//! mode (`hack/vm/selinux.conf`) and sets `HUSK_TEST_REQUIRE_SELINUX=1`:
//! there a reason to skip is a failure.
//!
//! Run against husk: `cargo test --test lsm` (as root)

mod common;

use common::*;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SECURITYFS_APPARMOR: &str = "/sys/kernel/security/apparmor";

/// Where the profile's deny rule points (the rootfs is writable in these
/// tests, so only the profile can refuse the write).
const DENIED: &str = "/aa-denied";
/// A write the profile allows, to show that the denial is that rule's.
const ALLOWED: &str = "/aa-allowed";

/// Why this host cannot confine a container with a profile of ours, if it
/// cannot; else the parser to load one with.
fn apparmor_parser() -> Result<PathBuf, String> {
    let enabled =
        fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.first() == Some(&b'Y'));
    if !enabled {
        return Err("AppArmor is not enabled on this host".into());
    }
    if !Path::new(SECURITYFS_APPARMOR).join(".replace").exists() {
        return Err(format!(
            "{SECURITYFS_APPARMOR} is missing (securityfs not mounted?)"
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/sbin", "/usr/sbin"].map(PathBuf::from))
        .map(|d| d.join("apparmor_parser"))
        .find(|p| p.is_file())
        .ok_or_else(|| "no apparmor_parser (package apparmor) to load a test profile".into())
}

/// `Ok(parser)`, or the reason to skip; panics with that reason instead
/// where `HUSK_TEST_REQUIRE_APPARMOR=1` (the VM lane).
fn ready() -> Result<PathBuf, String> {
    apparmor_parser().map_err(|why| {
        if std::env::var_os("HUSK_TEST_REQUIRE_APPARMOR").is_some_and(|v| v == "1") {
            panic!("HUSK_TEST_REQUIRE_APPARMOR=1 but: {why}");
        }
        why
    })
}

/// A profile loaded into the kernel for one test, removed on drop. It allows
/// everything a container does, except writes to [`DENIED`].
struct Profile {
    name: String,
    dir: PathBuf,
}

impl Profile {
    fn load(parser: &Path, tag: &str) -> Profile {
        let name = unique_id(&format!("husk-test-{tag}"));
        let dir = mkdtemp("/tmp/husk-test-apparmor-");
        let file = dir.join(&name);
        // attach_disconnected: paths outside the container's mount
        // namespace root (its inherited descriptors) are mediated, not
        // refused, as in container engines' default profiles.
        let text = format!(
            "profile {name} flags=(attach_disconnected,mediate_deleted) {{\n\
             \x20 file,\n\
             \x20 capability,\n\
             \x20 network,\n\
             \x20 signal,\n\
             \x20 ptrace,\n\
             \x20 unix,\n\
             \x20 mount,\n\
             \x20 umount,\n\
             \x20 pivot_root,\n\
             \x20 deny {DENIED} w,\n\
             }}\n"
        );
        fs::write(&file, text).expect("write the profile");
        let mut c = Command::new(parser);
        // -r: load or replace; -K: no cache (none is wanted); -q: quiet.
        c.args(["-r", "-K", "-q"]).arg(&file);
        let out = run_command(c, Duration::from_secs(120));
        let p = Profile { name, dir };
        assert!(out.success(), "loading the profile: {}", out.describe());
        let loaded = fs::read_to_string(Path::new(SECURITYFS_APPARMOR).join("profiles"))
            .expect("read the loaded profiles");
        assert!(
            loaded.lines().any(|l| l == format!("{} (enforce)", p.name)),
            "{} is not among the loaded profiles:\n{loaded}",
            p.name
        );
        p
    }

    /// What `attr/apparmor/current` says of a process confined by it.
    fn label(&self) -> String {
        format!("{} (enforce)", self.name)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        // Containers using it are gone (their guards were dropped first);
        // a profile still in use would stay attached to them anyway.
        let _ = fs::write(Path::new(SECURITYFS_APPARMOR).join(".remove"), &self.name);
        remove_tree(&self.dir);
    }
}

/// A bundle with a writable rootfs (so that only AppArmor can refuse the
/// write to [`DENIED`]) running `sh -c script`.
fn writable_bundle(script: &str) -> Bundle {
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    b.set_args(&["/bin/sh", "-c", script]);
    b
}

/// What the kernel says of a host-visible process's AppArmor label.
fn host_label(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/attr/apparmor/current"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/attr/apparmor/current: {e}"))
        .trim_end_matches(['\0', '\n'])
        .to_string()
}

#[track_caller]
fn assert_denied(v: &Value, what: &str) {
    assert_eq!(v["ok"], false, "{what}: the write should be denied: {v}");
    assert_eq!(v["error"], "EACCES", "{what}: {v}");
}

/// `process.apparmorProfile`: the container's process runs confined by the
/// profile (its own attr says so) and the profile's deny rule holds inside,
/// while an unconfined container of the same bundle may write there.
#[test]
fn apparmor_profile_confines_the_container_process() {
    let parser = match ready() {
        Ok(p) => p,
        Err(why) => common::skip!("{why}"),
    };
    let profile = Profile::load(&parser, "run");
    let script = format!("/probe report; /probe write {DENIED} x; /probe write {ALLOWED} x");

    let mut b = writable_bundle(&script);
    b.config_mut()["process"]["apparmorProfile"] = json!(profile.name);
    let lines = run_probe_script(&mut b, &script, &[]);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0]["apparmor"], profile.label(), "{}", lines[0]);
    assert_denied(&lines[1], "under the profile");
    assert_ok(&lines[2]);
    assert!(
        !b.rootfs().join(&DENIED[1..]).exists(),
        "{DENIED} was written"
    );

    // The control: without the profile the same write succeeds.
    let mut b = writable_bundle(&script);
    let lines = run_probe_script(&mut b, &script, &[]);
    assert_eq!(lines[0]["apparmor"], "unconfined", "{}", lines[0]);
    assert_ok(&lines[1]);
    assert_ok(&lines[2]);
}

/// The profile holds for the container's whole life, as the kernel reports
/// it from the host, and a process `exec` starts without `--apparmor` gets
/// the container's profile (runc's rule: the flag only replaces it).
#[test]
fn apparmor_profile_holds_for_the_init_and_exec_inherits_it() {
    let parser = match ready() {
        Ok(p) => p,
        Err(why) => common::skip!("{why}"),
    };
    let profile = Profile::load(&parser, "init");
    let mut b = writable_bundle("sleep 60");
    b.config_mut()["process"]["apparmorProfile"] = json!(profile.name);
    let rt = Runtime::new();
    let id = unique_id("lsm-aa-init");
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    assert_eq!(host_label(c.pid()), profile.label());

    let out = rt.exec(&["exec", &id, "/probe", "report"]);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["apparmor"], profile.label());
    let out = rt.exec(&["exec", &id, "/probe", "write", DENIED, "x"]);
    assert_denied(&probe_report(&out.stdout), "exec in a confined container");
    assert!(
        !b.rootfs().join(&DENIED[1..]).exists(),
        "{DENIED} was written"
    );
    drop(c);
}

/// `exec --apparmor`: the new process, and only it, is confined by the
/// profile; the container's init stays unconfined.
#[test]
fn exec_apparmor_confines_the_exec_process() {
    let parser = match ready() {
        Ok(p) => p,
        Err(why) => common::skip!("{why}"),
    };
    let profile = Profile::load(&parser, "exec");
    let b = writable_bundle("sleep 60");
    let rt = Runtime::new();
    let id = unique_id("lsm-aa-exec");
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();

    let flag = ["exec", "--apparmor", &profile.name, &id];
    let out = rt.exec(&[&flag[..], &["/probe", "report"]].concat());
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["apparmor"], profile.label());
    let out = rt.exec(&[&flag[..], &["/probe", "write", DENIED, "x"]].concat());
    assert_denied(&probe_report(&out.stdout), "exec --apparmor");
    assert!(
        !b.rootfs().join(&DENIED[1..]).exists(),
        "{DENIED} was written"
    );
    let out = rt.exec(&[&flag[..], &["/probe", "write", ALLOWED, "x"]].concat());
    assert_ok(&probe_report(&out.stdout));

    // Only that process: the init and a process exec'd without the flag are
    // unconfined, and the latter may write there.
    assert_eq!(host_label(c.pid()), "unconfined");
    let out = rt.exec(&["exec", &id, "/probe", "report"]);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["apparmor"], "unconfined");
    let out = rt.exec(&["exec", &id, "/probe", "write", DENIED, "x"]);
    assert_ok(&probe_report(&out.stdout));
    drop(c);
}

/// A profile that is not loaded is an error of `create` (the init's write
/// of `exec <profile>` fails), and nothing is left behind.
#[test]
fn an_unknown_apparmor_profile_is_an_error() {
    if let Err(why) = ready() {
        common::skip!("{why}");
    }
    let mut b = Bundle::new();
    let name = unique_id("husk-test-not-loaded");
    b.config_mut()["process"]["apparmorProfile"] = json!(name);
    let rt = Runtime::new();
    let id = unique_id("lsm-aa-unknown");
    let out = rt.run(&id, &b);
    assert!(!out.success(), "{}", out.describe());
    assert!(
        !out.stdout.lines().any(|l| l.starts_with('{')),
        "the container ran: {}",
        out.describe()
    );
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "left behind: {left:#?}");
}

// ---------------------------------------------------------------------------
// SELinux
// ---------------------------------------------------------------------------

const SELINUXFS: &str = "/sys/fs/selinux";
/// The container's label (`process.selinuxLabel`); its categories hold the
/// comma that mount data has to quote.
const SE_PROCESS: &str = "system_u:system_r:container_t:s0:c1,c2";
/// The label of a process `exec --process-label` starts.
const SE_EXEC: &str = "system_u:system_r:container_init_t:s0:c3,c4";
/// `linux.mountLabel`.
const SE_MOUNT: &str = "system_u:object_r:container_file_t:s0:c1,c2";
/// A well-formed label of a type no policy of ours has.
const SE_UNKNOWN: &str = "system_u:system_r:husk_no_such_t:s0";

/// Why this host cannot label a container with [`SE_PROCESS`] and the
/// others, if it cannot.
fn selinux_usable() -> Result<(), String> {
    if !Path::new(SELINUXFS).join("enforce").exists() {
        return Err(format!(
            "SELinux is not enabled on this host ({SELINUXFS} is not mounted)"
        ));
    }
    let current = fs::read_to_string("/proc/self/attr/current").unwrap_or_default();
    let current = current.trim_end_matches(['\0', '\n']);
    if current.split(':').count() < 3 {
        return Err(format!(
            "no SELinux policy is loaded (this task's context is {current:?})"
        ));
    }
    // libselinux's security_check_context: the kernel says whether the
    // loaded policy knows a context.
    for label in [SE_PROCESS, SE_EXEC, SE_MOUNT] {
        if let Err(e) = fs::write(Path::new(SELINUXFS).join("context"), label) {
            return Err(format!("the loaded policy does not know {label} ({e})"));
        }
    }
    Ok(())
}

/// `Ok(())`, or the reason to skip; panics with that reason instead where
/// `HUSK_TEST_REQUIRE_SELINUX=1` (the VM lane's SELinux boot).
fn selinux_ready() -> Result<(), String> {
    selinux_usable().map_err(|why| {
        if std::env::var_os("HUSK_TEST_REQUIRE_SELINUX").is_some_and(|v| v == "1") {
            panic!("HUSK_TEST_REQUIRE_SELINUX=1 but: {why}");
        }
        why
    })
}

/// What the kernel says of a host-visible process's SELinux context.
fn host_context(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/attr/current"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/attr/current: {e}"))
        .trim_end_matches(['\0', '\n'])
        .to_string()
}

/// The mount at `point` in a probe report's `mounts` (the last one: what
/// the path shows).
fn mount_at<'a>(report: &'a Value, point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point)
}

/// `process.selinuxLabel` and `linux.mountLabel`: the container's process
/// runs with its label, and every file system the runtime mounts for it that
/// takes a context in its data (tmpfs, devpts, the tmpfs over masked
/// directories; not proc, sysfs or cgroup, and mqueue differently: see
/// [`selinux_mount_label_labels_the_mqueue_root`]) has the mount label, as
/// its mountinfo shows it (quoted, since the label holds a comma).
#[test]
fn selinux_label_and_mount_label_apply_to_the_container() {
    if let Err(why) = selinux_ready() {
        common::skip!("{why}");
    }
    let mut b = Bundle::new();
    b.config_mut()["process"]["selinuxLabel"] = json!(SE_PROCESS);
    b.config_mut()["linux"]["mountLabel"] = json!(SE_MOUNT);
    let lines = run_probe_script(&mut b, "/probe report", &[]);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let r = &lines[0];
    assert_eq!(r["selinux"], SE_PROCESS, "{}", r["selinux"]);

    let ctx = format!("context=\"{SE_MOUNT}\"");
    let has_ctx = |m: &Value| {
        m["super_options"]
            .as_str()
            .is_some_and(|o| o.contains(&ctx))
    };
    for point in ["/dev", "/dev/shm", "/dev/pts"] {
        let m = mount_at(r, point).unwrap_or_else(|| panic!("no mount at {point}"));
        assert!(has_ctx(m), "{point} is not labelled {ctx}: {m}");
    }
    let tmpfs: Vec<&Value> = r["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        // The runtime's own tmpfs mounts, not the rootfs (a bind mount of
        // a directory of the host's /tmp where that is a tmpfs).
        .filter(|m| m["fstype"] == "tmpfs" && m["root"] == "/" && m["mount_point"] != "/")
        .collect();
    for m in &tmpfs {
        assert!(has_ctx(m), "a tmpfs without {ctx}: {m}");
    }
    // The masked directories' tmpfs (made with fsconfig's `context`).
    let masked = tmpfs
        .iter()
        .filter(|m| m["mount_point"] != "/dev" && m["mount_point"] != "/dev/shm")
        .count();
    assert!(
        masked > 0,
        "no masked directory was mounted over: {tmpfs:#?}"
    );
    for fstype in ["proc", "sysfs", "cgroup2"] {
        for m in r["mounts"].as_array().expect("mounts") {
            if m["fstype"] == fstype {
                assert!(!has_ctx(m), "{fstype} got the mount label: {m}");
            }
        }
    }

    // The control: without labels the process keeps the runtime's context
    // and nothing carries a context= option.
    let mut b = Bundle::new();
    let lines = run_probe_script(&mut b, "/probe report", &[]);
    assert_ne!(lines[0]["selinux"], SE_PROCESS, "{}", lines[0]);
    let mine = host_context(std::process::id() as i32);
    assert_eq!(lines[0]["selinux"], mine.as_str(), "{}", lines[0]);
    assert!(
        !lines[0]["mounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .any(|m| m["super_options"]
                .as_str()
                .is_some_and(|o| o.contains("context="))),
        "{}",
        lines[0]["mounts"]
    );
}

/// `linux.mountLabel` on /dev/mqueue: its superblock is the ipc
/// namespace's, which SELinux will not remount with a context, so the root
/// directory is labelled instead (as runc does); the kernel reports that
/// label for it, here read from the host through the init's root.
#[test]
fn selinux_mount_label_labels_the_mqueue_root() {
    if let Err(why) = selinux_ready() {
        common::skip!("{why}");
    }
    let mut b = Bundle::new();
    b.set_args(&["/bin/sh", "-c", "sleep 60"]);
    b.config_mut()["linux"]["mountLabel"] = json!(SE_MOUNT);
    let rt = Runtime::new();
    let id = unique_id("lsm-se-mqueue");
    let c = rt.create_ok(&id, &b);
    let path = format!("/proc/{}/root/dev/mqueue", c.pid());
    assert_eq!(file_context(&path), SE_MOUNT, "{path}");
    drop(c);
}

/// The SELinux label of a file (its `security.selinux` attribute).
fn file_context(path: &str) -> String {
    let c = std::ffi::CString::new(path).expect("no NUL in the path");
    let mut buf = [0u8; 256];
    // SAFETY: a NUL-terminated path and a buffer of the length given.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.selinux".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert!(
        n >= 0,
        "getxattr {path} security.selinux: {}",
        std::io::Error::last_os_error()
    );
    String::from_utf8_lossy(&buf[..n as usize])
        .trim_end_matches('\0')
        .to_string()
}

/// `exec --process-label`: that process, and only it, gets the label; the
/// init keeps `process.selinuxLabel` (seen from the host) and a process
/// exec'd without the flag gets the container's label.
#[test]
fn selinux_exec_process_label_labels_only_the_exec_process() {
    if let Err(why) = selinux_ready() {
        common::skip!("{why}");
    }
    let mut b = Bundle::new();
    b.set_args(&["/bin/sh", "-c", "sleep 60"]);
    b.config_mut()["process"]["selinuxLabel"] = json!(SE_PROCESS);
    let rt = Runtime::new();
    let id = unique_id("lsm-se-exec");
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    assert_eq!(host_context(c.pid()), SE_PROCESS);

    let out = rt.exec(&["exec", "--process-label", SE_EXEC, &id, "/probe", "report"]);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["selinux"], SE_EXEC);
    assert_eq!(
        host_context(c.pid()),
        SE_PROCESS,
        "the init's label changed"
    );

    let out = rt.exec(&["exec", &id, "/probe", "report"]);
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["selinux"], SE_PROCESS);

    // A label the policy does not know: exec fails, naming the flag's
    // field, and the container runs on.
    let out = rt.exec(&[
        "exec",
        "--process-label",
        SE_UNKNOWN,
        &id,
        "/probe",
        "report",
    ]);
    assert!(!out.success(), "{}", out.describe());
    assert!(
        out.stderr.contains("selinuxLabel") || out.stderr.contains("process-label"),
        "{}",
        out.describe()
    );
    assert_eq!(c.state().expect("state")["status"], "running");
    drop(c);
}

/// A label the loaded policy does not know is an error of `create` that
/// names the field (the kernel refuses it: EINVAL), and nothing is left
/// behind; likewise a mount label.
#[test]
fn selinux_unknown_labels_are_errors() {
    if let Err(why) = selinux_ready() {
        common::skip!("{why}");
    }
    for (field, label) in [
        ("process.selinuxLabel", SE_UNKNOWN),
        ("linux.mountLabel", "system_u:object_r:husk_no_such_t:s0"),
    ] {
        let mut b = Bundle::new();
        if field == "process.selinuxLabel" {
            b.config_mut()["process"]["selinuxLabel"] = json!(label);
        } else {
            b.config_mut()["linux"]["mountLabel"] = json!(label);
        }
        let rt = Runtime::new();
        let id = unique_id("lsm-se-unknown");
        let out = rt.run(&id, &b);
        assert!(!out.success(), "{field}: {}", out.describe());
        assert!(
            !out.stdout.lines().any(|l| l.starts_with('{')),
            "{field}: the container ran: {}",
            out.describe()
        );
        assert!(out.stderr.contains(field), "{field}: {}", out.describe());
        let left = leftovers(&rt, &id, &b);
        assert!(left.is_empty(), "{field}: left behind: {left:#?}");
    }
}
