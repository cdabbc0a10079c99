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
//! SELinux is not tested for real: it needs a loaded policy that knows the
//! labels a container would get, which neither this host nor the VM has.
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
