//! Namespaces as the probe sees them from inside: new ones differ from the
//! host's, joined ones are the path's; user namespaces with their id maps,
//! time namespaces with their offsets, sysctls only for namespaces the
//! container has of its own, and the refusals that go with them.
//!
//! Run against husk: `cargo test --test namespaces`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test namespaces`
//! (Debian's runc 1.1.5 predates time namespaces and `domainname`, and does
//! not refuse every combination husk refuses: those tests fail against it.)

mod common;

use common::*;
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[track_caller]
fn assert_clean(rt: &Runtime, id: &str, b: &Bundle) {
    let left = leftovers(rt, id, b);
    assert!(left.is_empty(), "container {id:?} left behind: {left:#?}");
}

/// `run` the bundle, asserting exit 0 and no leftovers; returns stdout.
#[track_caller]
fn run_ok(tag: &str, b: &Bundle) -> String {
    let rt = Runtime::new();
    let id = unique_id(tag);
    let out = rt.run(&id, b);
    out.assert_code(0);
    assert_clean(&rt, &id, b);
    out.stdout
}

/// `run` the bundle, expecting it to be refused with `needle` in the error
/// (husk only: runc's wording differs); asserts nothing is left behind.
#[track_caller]
fn run_refused(tag: &str, b: &Bundle, needle: &str) -> String {
    let rt = Runtime::new();
    let id = unique_id(tag);
    let out = rt.run(&id, b);
    // Debian's runc 1.1.5 words (and sometimes logs over several lines) differently.
    let e = if runtime_is_runc() {
        assert!(!out.success(), "not refused: {}", out.describe());
        out.stderr.clone()
    } else {
        out.assert_error_contains(needle)
    };
    assert!(
        !out.stdout.contains("\"pid\""),
        "the container ran: {}",
        out.stdout
    );
    assert_clean(&rt, &id, b);
    e
}

fn ino(path: impl AsRef<Path>) -> u64 {
    let p = path.as_ref();
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .ino()
}

fn set_namespaces(b: &mut Bundle, ns: Value) {
    b.config_mut()["linux"]["namespaces"] = ns;
}

fn add_namespace(b: &mut Bundle, ns: Value) {
    b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces array")
        .push(ns);
}

/// Replace the namespace of type `typ` (which must be in the list) by `ns`.
fn replace_namespace(b: &mut Bundle, typ: &str, ns: Value) {
    let list = b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces array");
    let i = list
        .iter()
        .position(|n| n["type"] == typ)
        .unwrap_or_else(|| panic!("no {typ} namespace in the config"));
    list[i] = ns;
}

fn remove_namespace(b: &mut Bundle, typ: &str) {
    b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces array")
        .retain(|n| n["type"] != typ);
}

/// A named network namespace made with `ip netns add`, deleted on drop.
struct NetNs {
    name: String,
}

impl NetNs {
    fn new(tag: &str) -> Option<NetNs> {
        let name = format!("husk-test-{}", unique_id(tag));
        let mut c = Command::new("ip");
        c.args(["netns", "add", &name]);
        let out = run_command(c, Duration::from_secs(10));
        out.success().then_some(NetNs { name })
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Read a file with the namespace's view of /proc/sys (from the host).
    fn sysctl(&self, key: &str) -> String {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, "cat"])
            .arg(Path::new("/proc/sys").join(key.replace('.', "/")));
        let out = run_command(c, Duration::from_secs(10));
        out.assert_success();
        out.stdout.trim().to_string()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let mut c = Command::new("ip");
        c.args(["netns", "delete", &self.name]);
        let out = run_command(c, Duration::from_secs(10));
        if !out.success() {
            eprintln!("WARNING: cleanup failed: {}", out.describe());
        }
    }
}

/// A bundle running `/probe sleep inf`, created and started.
fn start_sleeper<'a>(rt: &'a Runtime, tag: &str, b: &mut Bundle) -> Container<'a> {
    b.set_args(&["/probe", "sleep", "inf"]);
    let c = rt.create_ok(&unique_id(tag), b);
    c.start().assert_success();
    c.wait_status("running", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    c
}

/// The last JSON object the probe printed, parsed (for `sh -c` scripts
/// printing several documents, use `probe_lines`).
fn lines(stdout: &str) -> Vec<Value> {
    probe_lines(stdout)
}

// ---------------------------------------------------------------------------
// new namespaces
// ---------------------------------------------------------------------------

#[test]
fn new_namespaces_differ_from_the_host() {
    let mut b = Bundle::minimal();
    add_namespace(&mut b, json!({"type": "cgroup"}));
    add_namespace(&mut b, json!({"type": "time"}));
    let r = probe_report(&run_ok("ns-new", &b));
    let host = host_namespaces();
    for ns in ["pid", "net", "ipc", "uts", "mnt", "cgroup", "time"] {
        let inside = r["namespaces"][ns]
            .as_u64()
            .unwrap_or_else(|| panic!("no {ns} namespace in report: {}", r["namespaces"]));
        assert_ne!(Some(&inside), host.get(ns), "{ns} namespace is the host's");
    }
    assert_eq!(
        r["namespaces"]["user"].as_u64().as_ref(),
        host.get("user"),
        "a user namespace was not asked for"
    );
    assert_eq!(r["pid"], 1, "first process of a new pid namespace");
    // A new cgroup namespace is rooted at the container's cgroup.
    let cg = r["cgroup"].as_array().expect("cgroup lines");
    assert!(
        cg.iter()
            .all(|l| l.as_str().is_some_and(|l| l.ends_with(":/"))),
        "cgroup paths not at the namespace root: {cg:?}"
    );
}

#[test]
fn namespaces_not_asked_for_are_the_hosts() {
    let mut b = Bundle::minimal();
    set_namespaces(&mut b, json!([{"type": "mount"}]));
    b.config_mut()
        .as_object_mut()
        .expect("config object")
        .remove("hostname");
    // sysfs needs a network namespace of its own: bind the host's /sys instead.
    let mounts = b.config_mut()["mounts"].as_array_mut().expect("mounts");
    mounts.retain(|m| m["destination"] != "/sys");
    mounts.push(
        json!({"destination": "/sys", "type": "bind", "source": "/sys",
                       "options": ["rbind", "ro", "nosuid", "noexec", "nodev"]}),
    );
    let r = probe_report(&run_ok("ns-host", &b));
    let host = host_namespaces();
    for ns in ["net", "ipc", "uts", "user", "cgroup", "time"] {
        assert_eq!(
            r["namespaces"][ns].as_u64().as_ref(),
            host.get(ns),
            "{ns} namespace is not the host's"
        );
    }
    assert_ne!(r["namespaces"]["mnt"].as_u64().as_ref(), host.get("mnt"));
    assert_ne!(r["pid"], 1, "no pid namespace was asked for: {r}");
}

#[test]
fn uts_namespace_hostname_and_domainname() {
    let mut b = Bundle::minimal();
    b.config_mut()["hostname"] = json!("box");
    b.config_mut()["domainname"] = json!("example.org");
    let r = probe_report(&run_ok("ns-uts", &b));
    assert_eq!(r["hostname"], "box");
    assert_eq!(r["domainname"], "example.org");

    let mut b = Bundle::minimal();
    remove_namespace(&mut b, "uts");
    b.config_mut()
        .as_object_mut()
        .expect("config object")
        .remove("hostname");
    b.config_mut()["domainname"] = json!("example.org");
    run_refused("ns-domain-no-uts", &b, "domainname");
}

#[test]
fn pid_namespace_state_and_pid_file_follow_the_real_process() {
    let rt = Runtime::new();
    let mut b = Bundle::minimal();
    b.set_args(&["/probe", "sleep", "inf"]);
    let pid_file = b.path().join("pid");
    let id = unique_id("ns-pidfile");
    let c = rt.create_with(&id, &b, &["--pid-file", pid_file.to_str().expect("utf-8")]);
    c.create_output.assert_success();
    let pid = c.pid();
    let from_file: i32 = std::fs::read_to_string(&pid_file)
        .expect("read pid file")
        .trim()
        .parse()
        .expect("pid file holds a number");
    assert_eq!(pid, from_file, "state and pid file disagree");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let nspid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .expect("NSpid line");
    let ids: Vec<&str> = nspid.split_whitespace().collect();
    assert_eq!(
        ids,
        vec![pid.to_string().as_str(), "1"],
        "the state's pid is not pid 1 of the container's namespace"
    );
    assert_ne!(
        ino(format!("/proc/{pid}/ns/pid")),
        ino("/proc/self/ns/pid"),
        "the state's pid is not in the new pid namespace"
    );
    c.start().assert_success();
    c.kill("KILL").assert_success();
    c.wait_status("stopped", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    c.delete().assert_success();
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// joining by path
// ---------------------------------------------------------------------------

#[test]
fn join_network_namespace_by_path() {
    let Some(netns) = NetNs::new("join") else {
        skip!("`ip netns add` failed on this host");
    };
    let mut b = Bundle::minimal();
    replace_namespace(
        &mut b,
        "network",
        json!({"type": "network", "path": netns.path()}),
    );
    let r = probe_report(&run_ok("ns-join-net", &b));
    assert_eq!(
        r["namespaces"]["net"].as_u64(),
        Some(ino(netns.path())),
        "not in the joined network namespace"
    );
    let host = host_namespaces();
    assert_ne!(r["namespaces"]["ipc"].as_u64().as_ref(), host.get("ipc"));
}

#[test]
fn join_pid_namespace_of_another_container() {
    let rt = Runtime::new();
    let mut a = Bundle::minimal();
    let first = start_sleeper(&rt, "ns-pid-a", &mut a);
    let a_pid = first.pid();
    let a_ns = format!("/proc/{a_pid}/ns/pid");

    let mut b = Bundle::minimal();
    replace_namespace(&mut b, "pid", json!({"type": "pid", "path": a_ns}));
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe report; /probe read /proc/1/cmdline",
    ]);
    let id = unique_id("ns-pid-b");
    let c = rt.create_ok(&id, &b);
    let b_pid = c.pid();
    assert_eq!(
        ino(format!("/proc/{b_pid}/ns/pid")),
        ino(&a_ns),
        "the state's pid is not in the joined pid namespace"
    );
    c.start().assert_success();
    let out = b
        .wait_create_stdout(|s| s.lines().count() >= 2, WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let docs = lines(&out);
    let r = &docs[0];
    assert_eq!(
        r["namespaces"]["pid"].as_u64(),
        Some(ino(&a_ns)),
        "not in the other container's pid namespace: {r}"
    );
    assert_ne!(r["pid"], 1, "pid 1 is the other container's: {r}");
    let cmdline = docs[1]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("cannot read /proc/1/cmdline: {}", docs[1]));
    assert_eq!(
        cmdline, "/probe\0sleep\0inf\0",
        "pid 1 is not the other container's process"
    );
    c.wait_status("stopped", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    c.delete().assert_success();
    assert_clean(&rt, &id, &b);
    drop(first);
    assert_clean(&rt, &id, &a);
}

#[test]
fn join_ipc_uts_time_and_cgroup_namespaces_of_another_container() {
    let rt = Runtime::new();
    let mut a = Bundle::minimal();
    add_namespace(&mut a, json!({"type": "time"}));
    add_namespace(&mut a, json!({"type": "cgroup"}));
    a.config_mut()["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400, "nanosecs": 0}});
    let first = start_sleeper(&rt, "ns-join-a", &mut a);
    let p = first.pid();

    let mut b = Bundle::minimal();
    b.config_mut()
        .as_object_mut()
        .expect("config object")
        .remove("hostname");
    for (typ, file) in [("ipc", "ipc"), ("uts", "uts")] {
        replace_namespace(
            &mut b,
            typ,
            json!({"type": typ, "path": format!("/proc/{p}/ns/{file}")}),
        );
    }
    for typ in ["time", "cgroup"] {
        add_namespace(
            &mut b,
            json!({"type": typ, "path": format!("/proc/{p}/ns/{typ}")}),
        );
    }
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe report; /probe read /proc/self/timens_offsets",
    ]);
    let out = run_ok("ns-join-b", &b);
    let docs = lines(&out);
    let r = &docs[0];
    for (ns, file) in [
        ("ipc", "ipc"),
        ("uts", "uts"),
        ("time", "time"),
        ("cgroup", "cgroup"),
    ] {
        assert_eq!(
            r["namespaces"][ns].as_u64(),
            Some(ino(format!("/proc/{p}/ns/{file}"))),
            "{ns} namespace is not the joined one: {r}"
        );
    }
    assert_eq!(
        r["hostname"], "husk-test",
        "the joined uts namespace's name"
    );
    let offsets = docs[1]["content"].as_str().unwrap_or_default();
    assert!(
        offsets
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["boottime", "86400", "0"]),
        "the joined time namespace's offsets: {offsets:?}"
    );
    drop(first);
}

#[test]
fn join_path_that_is_not_a_namespace_is_refused() {
    let mut b = Bundle::minimal();
    let file = b.path().join("not-a-namespace");
    std::fs::write(&file, "").expect("write file");
    replace_namespace(&mut b, "network", json!({"type": "network", "path": file}));
    let i = b.config()["linux"]["namespaces"]
        .as_array()
        .and_then(|l| l.iter().position(|n| n["type"] == "network"))
        .expect("network namespace");
    run_refused("ns-join-file", &b, &format!("linux.namespaces[{i}].path"));
}

#[test]
fn join_path_of_the_wrong_type_is_refused() {
    let mut b = Bundle::minimal();
    replace_namespace(
        &mut b,
        "ipc",
        json!({"type": "ipc", "path": "/proc/self/ns/net"}),
    );
    let i = b.config()["linux"]["namespaces"]
        .as_array()
        .and_then(|l| l.iter().position(|n| n["type"] == "ipc"))
        .expect("ipc namespace");
    let e = run_refused("ns-join-type", &b, &format!("linux.namespaces[{i}].path"));
    if !runtime_is_runc() {
        assert!(e.contains("ipc"), "the error should name the type: {e}");
    }
}

#[test]
fn join_missing_path_is_refused() {
    let mut b = Bundle::minimal();
    replace_namespace(
        &mut b,
        "uts",
        json!({"type": "uts", "path": "/nonexistent/husk/ns"}),
    );
    let i = b.config()["linux"]["namespaces"]
        .as_array()
        .and_then(|l| l.iter().position(|n| n["type"] == "uts"))
        .expect("uts namespace");
    let e = run_refused(
        "ns-join-missing",
        &b,
        &format!("linux.namespaces[{i}].path"),
    );
    if !runtime_is_runc() {
        assert!(e.contains("/nonexistent/husk/ns"), "{e}");
    }
}

// ---------------------------------------------------------------------------
// user namespaces
// ---------------------------------------------------------------------------

const HOST_BASE: u64 = 100000;

fn userns_bundle() -> Bundle {
    let mut b = Bundle::minimal();
    add_namespace(&mut b, json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": HOST_BASE, "size": 65536}]);
    b.config_mut()["linux"]["uidMappings"] = map.clone();
    b.config_mut()["linux"]["gidMappings"] = map;
    b
}

/// The whitespace-separated numbers of an id map file.
fn map_rows(text: &str) -> Vec<Vec<u64>> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .collect()
}

#[test]
fn user_namespace_with_maps() {
    let b = userns_bundle();
    let r = probe_report(&run_ok("ns-user", &b));
    assert_eq!(
        map_rows(r["uid_map"].as_str().unwrap_or("")),
        vec![vec![0, HOST_BASE, 65536]]
    );
    assert_eq!(
        map_rows(r["gid_map"].as_str().unwrap_or("")),
        vec![vec![0, HOST_BASE, 65536]]
    );
    assert_eq!(r["uid"], 0);
    assert_eq!(r["gid"], 0);
    // As runc run by root: setgroups stays allowed.
    assert_eq!(r["setgroups"].as_str().map(str::trim), Some("allow"), "{r}");
    let host = host_namespaces();
    assert_ne!(r["namespaces"]["user"].as_u64().as_ref(), host.get("user"));
    // Files owned by the host's root are not mapped: they show as the overflow id.
    let st = {
        let mut b = userns_bundle();
        b.set_args(&["/probe", "stat", "/probe"]);
        probe_report(&run_ok("ns-user-stat", &b))
    };
    assert_eq!(st[0]["uid"], 65534, "{st}");
}

#[test]
fn user_namespace_non_root_user_and_groups() {
    let mut b = userns_bundle();
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [1001]});
    let r = probe_report(&run_ok("ns-user-1000", &b));
    assert_eq!(r["uid"], 1000);
    assert_eq!(r["gid"], 1000);
    assert_eq!(r["groups"], json!([1001]));
}

#[test]
fn user_namespace_init_is_not_dumpable_until_exec() {
    let rt = Runtime::new();
    let mut b = userns_bundle();
    b.set_args(&["/probe", "sleep", "inf"]);
    let id = unique_id("ns-user-dumpable");
    let c = rt.create_ok(&id, &b);
    let pid = c.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    assert!(
        uid_line.contains(&HOST_BASE.to_string()),
        "the init is not the mapped root yet: {uid_line}"
    );
    // /proc/PID/environ belongs to the process's euid only while it is
    // dumpable, else to the root of the user namespace its mm was made in
    // (the host's: the init was exec'd there).
    let environ = format!("/proc/{pid}/environ");
    assert_eq!(
        std::fs::metadata(&environ)
            .expect("stat /proc/PID/environ")
            .uid(),
        0,
        "the init in the container's namespaces is dumpable (CVE-2016-9962)"
    );
    c.start().assert_success();
    c.wait_status("running", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let uid = std::fs::metadata(&environ)
            .expect("stat /proc/PID/environ")
            .uid();
        if u64::from(uid) == HOST_BASE {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the container process is still not dumpable after exec"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(c);
    assert_clean(&rt, &id, &b);
}

/// What husk makes for the container in /dev belongs to the mapped root;
/// device nodes bind-mounted from the host keep the host's (unmapped) owner.
#[test]
fn user_namespace_dev_belongs_to_the_mapped_root() {
    let mut b = Bundle::new();
    add_namespace(&mut b, json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": HOST_BASE, "size": 65536}]);
    b.config_mut()["linux"]["uidMappings"] = map.clone();
    b.config_mut()["linux"]["gidMappings"] = map;
    let paths = [
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/dev/fd",
        "/dev/ptmx",
        "/dev/null",
    ];
    let mut args = vec!["/probe", "stat"];
    args.extend(paths);
    b.set_args(&args);
    let st = probe_report(&run_ok("ns-user-dev", &b));
    for (i, p) in paths.iter().enumerate() {
        let e = &st[i];
        assert_eq!(e["path"], *p);
        assert!(e.get("errno").is_none(), "{p} is missing: {e}");
        if *p == "/dev/null" {
            assert_eq!(
                (e["rdev_major"].clone(), e["rdev_minor"].clone()),
                (json!(1), json!(3)),
                "{e}"
            );
        } else {
            assert_eq!(
                e["uid"], 0,
                "{p} does not belong to the container's root: {e}"
            );
        }
    }
}

#[test]
fn join_user_namespace_of_another_container() {
    let rt = Runtime::new();
    let mut a = userns_bundle();
    let first = start_sleeper(&rt, "ns-user-a", &mut a);
    let p = first.pid();

    let mut b = Bundle::minimal();
    add_namespace(
        &mut b,
        json!({"type": "user", "path": format!("/proc/{p}/ns/user")}),
    );
    let r = probe_report(&run_ok("ns-user-b", &b));
    assert_eq!(
        r["namespaces"]["user"].as_u64(),
        Some(ino(format!("/proc/{p}/ns/user")))
    );
    assert_eq!(
        map_rows(r["uid_map"].as_str().unwrap_or("")),
        vec![vec![0, HOST_BASE, 65536]]
    );
    assert_eq!(r["uid"], 0);
    drop(first);
}

#[test]
fn user_namespace_needs_maps_and_maps_need_it() {
    let mut b = Bundle::minimal();
    add_namespace(&mut b, json!({"type": "user"}));
    run_refused("ns-user-nomap", &b, "linux.uidMappings");

    let mut b = userns_bundle();
    remove_namespace(&mut b, "user");
    run_refused("ns-map-nouser", &b, "linux.uidMappings");
}

#[test]
fn user_namespace_user_must_be_mapped() {
    let mut b = userns_bundle();
    let map = json!([{"containerID": 0, "hostID": HOST_BASE, "size": 1000}]);
    b.config_mut()["linux"]["uidMappings"] = map.clone();
    b.config_mut()["linux"]["gidMappings"] = map;
    b.config_mut()["process"]["user"] = json!({"uid": 1000, "gid": 0});
    run_refused("ns-user-unmapped-uid", &b, "process.user.uid");
    b.config_mut()["process"]["user"] = json!({"uid": 0, "gid": 0, "additionalGids": [5000]});
    run_refused("ns-user-unmapped-gid", &b, "process.user.additionalGids");
}

// ---------------------------------------------------------------------------
// time namespaces
// ---------------------------------------------------------------------------

#[test]
fn time_namespace_offsets() {
    let (mono, boot) = (400 * 86400_i64, 500 * 86400_i64);
    let mut b = Bundle::minimal();
    add_namespace(&mut b, json!({"type": "time"}));
    b.config_mut()["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": mono, "nanosecs": 5},
        "boottime": {"secs": boot, "nanosecs": 0},
    });
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe report; /probe read /proc/self/timens_offsets; /probe read /proc/uptime",
    ]);
    let docs = lines(&run_ok("ns-time", &b));
    assert_eq!(docs.len(), 3, "{docs:?}");
    let host = host_namespaces();
    assert_ne!(
        docs[0]["namespaces"]["time"].as_u64().as_ref(),
        host.get("time")
    );
    let offsets = docs[1]["content"].as_str().unwrap_or_default();
    let rows: Vec<Vec<&str>> = offsets
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let mono_s = mono.to_string();
    let boot_s = boot.to_string();
    assert!(
        rows.contains(&vec!["monotonic", mono_s.as_str(), "5"]),
        "{offsets:?}"
    );
    assert!(
        rows.contains(&vec!["boottime", boot_s.as_str(), "0"]),
        "{offsets:?}"
    );
    // /proc/uptime reads the boottime clock of the reader's time namespace.
    let uptime: f64 = docs[2]["content"]
        .as_str()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("uptime: {}", docs[2]));
    assert!(
        uptime >= boot as f64,
        "uptime {uptime} lacks the boottime offset"
    );
}

#[test]
fn time_offsets_need_a_new_time_namespace() {
    let mut b = Bundle::minimal();
    b.config_mut()["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 10, "nanosecs": 0}});
    run_refused("ns-time-noNS", &b, "linux.timeOffsets");
}

// ---------------------------------------------------------------------------
// sysctls
// ---------------------------------------------------------------------------

#[test]
fn sysctls_in_new_namespaces() {
    let host_fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read");
    let host_shm = std::fs::read_to_string("/proc/sys/kernel/shmmax").expect("read");
    let mut b = Bundle::new();
    b.config_mut()["linux"]["sysctl"] = json!({
        "net.ipv4.ip_forward": "1",
        "kernel.shmmax": "123456789",
        "kernel.domainname": "sysctl.example",
        "fs/mqueue/msg_max": "42",
    });
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe read /proc/sys/net/ipv4/ip_forward; /probe read /proc/sys/kernel/shmmax; \
         /probe read /proc/sys/fs/mqueue/msg_max; /probe report",
    ]);
    let docs = lines(&run_ok("ns-sysctl", &b));
    let content = |i: usize| docs[i]["content"].as_str().map(str::trim).map(String::from);
    assert_eq!(content(0).as_deref(), Some("1"), "{}", docs[0]);
    assert_eq!(content(1).as_deref(), Some("123456789"), "{}", docs[1]);
    assert_eq!(content(2).as_deref(), Some("42"), "{}", docs[2]);
    assert_eq!(docs[3]["domainname"], "sysctl.example");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read"),
        host_fwd,
        "the host's ip_forward changed"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shmmax").expect("read"),
        host_shm,
        "the host's shmmax changed"
    );
}

#[test]
fn sysctl_in_a_joined_network_namespace() {
    let Some(netns) = NetNs::new("sysctl") else {
        skip!("`ip netns add` failed on this host");
    };
    let mut b = Bundle::minimal();
    replace_namespace(
        &mut b,
        "network",
        json!({"type": "network", "path": netns.path()}),
    );
    b.config_mut()["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    run_ok("ns-sysctl-joined", &b);
    assert_eq!(netns.sysctl("net.ipv4.ip_forward"), "1");
}

#[test]
fn sysctl_for_a_namespace_the_container_lacks_is_refused() {
    for (key, drop_ns) in [
        ("net.ipv4.ip_forward", "network"),
        ("kernel.shmmax", "ipc"),
        ("fs.mqueue.msg_max", "ipc"),
    ] {
        let mut b = Bundle::minimal();
        remove_namespace(&mut b, drop_ns);
        b.config_mut()["linux"]["sysctl"] = json!({ key: "1" });
        if drop_ns == "network" {
            let mounts = b.config_mut()["mounts"].as_array_mut().expect("mounts");
            mounts.retain(|m| m["destination"] != "/sys");
        }
        let e = run_refused("ns-sysctl-noNS", &b, &format!("linux.sysctl.{key}"));
        if !runtime_is_runc() {
            assert!(e.contains(key), "{e}");
        }
    }
    // Not namespaced at all.
    let mut b = Bundle::minimal();
    b.config_mut()["linux"]["sysctl"] = json!({"vm.swappiness": "10"});
    run_refused("ns-sysctl-host", &b, "linux.sysctl.vm.swappiness");
}

#[test]
fn sysctl_in_the_hosts_namespace_joined_by_path_is_refused() {
    for (typ, file, key) in [
        ("network", "net", "net.ipv4.ip_forward"),
        ("ipc", "ipc", "kernel.shmmax"),
    ] {
        let mut b = Bundle::minimal();
        replace_namespace(
            &mut b,
            typ,
            json!({"type": typ, "path": format!("/proc/{}/ns/{file}", std::process::id())}),
        );
        if typ == "network" {
            let mounts = b.config_mut()["mounts"].as_array_mut().expect("mounts");
            mounts.retain(|m| m["destination"] != "/sys");
        }
        b.config_mut()["linux"]["sysctl"] = json!({ key: "1" });
        run_refused("ns-sysctl-hostns", &b, &format!("linux.sysctl.{key}"));
    }
}

#[test]
fn sysctl_kernel_hostname_conflicts_with_the_hostname_field() {
    let mut b = Bundle::minimal();
    b.config_mut()["linux"]["sysctl"] = json!({"kernel.hostname": "other"});
    run_refused("ns-sysctl-hostname", &b, "linux.sysctl.kernel.hostname");
}

// ---------------------------------------------------------------------------
// features
// ---------------------------------------------------------------------------

#[test]
fn features_lists_namespaces_and_capabilities() {
    let rt = Runtime::new();
    let out = rt.exec(&["features"]);
    out.assert_success();
    let f: Value = serde_json::from_str(&out.stdout).expect("features JSON");
    let ns: Vec<&str> = f["linux"]["namespaces"]
        .as_array()
        .expect("linux.namespaces")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for t in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(ns.contains(&t), "{t} missing from {ns:?}");
    }
    let caps: Vec<&str> = f["linux"]["capabilities"]
        .as_array()
        .expect("linux.capabilities")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in [
        "CAP_CHOWN",
        "CAP_SYS_ADMIN",
        "CAP_NET_RAW",
        "CAP_AUDIT_READ",
    ] {
        assert!(caps.contains(&c), "{c} missing from {caps:?}");
    }
}
