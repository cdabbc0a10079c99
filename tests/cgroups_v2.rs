//! Cgroups on a pure cgroup v2 host: every resource is read back from the
//! container's cgroup2 files, the device eBPF program is shown to allow and
//! deny, and update, pause/resume, kill --all, events and delete are checked
//! against the kernel's view.
//!
//! Every test skips (loudly) unless /sys/fs/cgroup is a cgroup2 mount with
//! `cgroup.controllers`, so on the v1/hybrid development host they skip and
//! in the VM of `hack/vm-test` (booted with `cgroup_no_v1=all`) they run.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const ROOT: &str = "/sys/fs/cgroup";

/// Why this host is not pure cgroup v2, if it is not.
fn not_pure_v2() -> Option<String> {
    if !Path::new(ROOT).join("cgroup.controllers").exists() {
        return Some(format!(
            "{ROOT}/cgroup.controllers missing: not a cgroup v2 host"
        ));
    }
    // SAFETY: statfs is plain old data, for which all zeroes is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statfs buffer that outlives the call.
    if unsafe { libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) } != 0 {
        return Some(format!(
            "statfs {ROOT}: {}",
            std::io::Error::last_os_error()
        ));
    }
    if st.f_type != libc::CGROUP2_SUPER_MAGIC {
        return Some(format!(
            "{ROOT} is not cgroup2 (f_type {:#x}): a v1 or hybrid host",
            st.f_type
        ));
    }
    None
}

macro_rules! require_v2 {
    () => {
        if let Some(why) = not_pure_v2() {
            skip!("{why}");
        }
    };
}

/// `/sys/fs/cgroup/<path>`.
fn cg_dir(path: &str) -> PathBuf {
    Path::new(ROOT).join(path.trim_start_matches('/'))
}

/// A cgroup file's content, trimmed (panics with the path if unreadable).
#[track_caller]
fn cg_read(path: &str, file: &str) -> String {
    let p = cg_dir(path).join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The value of `key` in a flat-keyed file such as cgroup.events.
#[track_caller]
fn cg_key(path: &str, file: &str, key: &str) -> Option<u64> {
    cg_read(path, file).lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

fn procs(path: &str) -> Vec<i32> {
    std::fs::read_to_string(cg_dir(path).join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Controllers enabled in `<path>/cgroup.subtree_control`.
fn subtree_control(path: &str) -> Vec<String> {
    cg_read(path, "cgroup.subtree_control")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// runc's cpu.shares → cpu.weight conversion.
fn weight(shares: u64) -> u64 {
    1 + ((shares - 2) * 9999) / 262_142
}

#[track_caller]
fn assert_no_cgroups(id: &str) {
    let left = cgroups_of(id);
    assert!(left.is_empty(), "cgroups left for {id}: {left:?}");
}

fn add_caps(b: &mut Bundle, caps: &[&str]) {
    for set in ["bounding", "effective", "permitted"] {
        let v = b.config_mut()["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        for c in caps {
            v.push(json!(c));
        }
    }
}

fn events_stats(rt: &Runtime, id: &str) -> Value {
    let out = rt.exec(&["events", "--stats", id]);
    out.assert_success();
    let v: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("events --stats is not JSON ({e}): {}", out.describe()));
    assert_eq!(v["type"], "stats", "{v}");
    assert_eq!(v["id"], id, "{v}");
    v["data"].clone()
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

#[test]
fn resources_reach_the_v2_files() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-res");
    let b = sleeper_with(json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
        "cpu": {"shares": 256, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 42},
        "unified": {"memory.high": "50331648", "memory.oom.group": "1"}
    }));
    let c = rt.create_ok(&id, &b);
    let path = format!("/husk/{id}");
    assert!(
        cg_dir(&path).is_dir(),
        "{} missing",
        cg_dir(&path).display()
    );
    assert_eq!(cg_read(&path, "memory.max"), "67108864");
    // runtime-spec's swap is memory+swap; v2's swap.max is the swap alone.
    assert_eq!(cg_read(&path, "memory.swap.max"), "67108864");
    assert_eq!(cg_read(&path, "memory.low"), "33554432");
    assert_eq!(cg_read(&path, "cpu.weight"), weight(256).to_string());
    assert_eq!(cg_read(&path, "cpu.max"), "20000 100000");
    assert_eq!(cg_read(&path, "cpuset.cpus"), "0");
    assert_eq!(cg_read(&path, "cpuset.mems"), "0");
    assert_eq!(cg_read(&path, "pids.max"), "42");
    assert_eq!(cg_read(&path, "memory.high"), "50331648");
    assert_eq!(cg_read(&path, "memory.oom.group"), "1");
    // The controllers are enabled all the way down.
    for parent in ["/", "/husk"] {
        let ctl = subtree_control(parent);
        for want in ["cpu", "cpuset", "memory", "pids"] {
            assert!(
                ctl.iter().any(|c| c == want),
                "{want} not enabled in {parent}/cgroup.subtree_control: {ctl:?}"
            );
        }
    }
    // The init is in the container's cgroup (and nowhere else: one line).
    let pid = c.pid();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(cg.trim(), format!("0::{path}"));
    assert_eq!(procs(&path), vec![pid]);
    c.delete_force().assert_success();
    assert!(!cg_dir(&path).exists());
    assert_no_cgroups(&id);
}

#[test]
fn cgroups_path_relative_and_absolute() {
    require_v2!();
    let rt = Runtime::new();
    // A relative cgroupsPath lives under /husk.
    let id = unique_id("cg2-rel");
    let mut b = sleeper_with(json!({"pids": {"limit": 10}}));
    b.config_mut()["linux"]["cgroupsPath"] = json!(format!("rel-{id}"));
    let c = rt.create_ok(&id, &b);
    let path = format!("/husk/rel-{id}");
    assert_eq!(cg_read(&path, "pids.max"), "10");
    let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid())).unwrap();
    assert_eq!(cg.trim(), format!("0::{path}"));
    c.delete_force().assert_success();
    assert!(!cg_dir(&path).exists());

    // An absolute one is taken from the hierarchy root, with its controllers
    // enabled in a parent husk did not make by default.
    let id = unique_id("cg2-abs");
    let parent = format!("/husk-test-abs-{id}");
    let mut b = sleeper_with(json!({"memory": {"limit": 33554432}, "pids": {"limit": 11}}));
    b.config_mut()["linux"]["cgroupsPath"] = json!(format!("{parent}/ctr"));
    let c = rt.create_ok(&id, &b);
    let path = format!("{parent}/ctr");
    assert_eq!(cg_read(&path, "memory.max"), "33554432");
    assert_eq!(cg_read(&path, "pids.max"), "11");
    let ctl = subtree_control(&parent);
    assert!(
        ctl.iter().any(|c| c == "memory") && ctl.iter().any(|c| c == "pids"),
        "{parent}/cgroup.subtree_control: {ctl:?}"
    );
    let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid())).unwrap();
    assert_eq!(cg.trim(), format!("0::{path}"));
    c.delete_force().assert_success();
    assert!(!cg_dir(&path).exists());
    let _ = std::fs::remove_dir(cg_dir(&parent));
}

#[test]
fn hugetlb_limit_is_written() {
    require_v2!();
    if !cg_read("/", "cgroup.controllers").contains("hugetlb") {
        skip!("no hugetlb controller");
    }
    if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        skip!("no 2MB huge pages");
    }
    let rt = Runtime::new();
    let id = unique_id("cg2-huge");
    let b = sleeper_with(json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}));
    let c = rt.create_ok(&id, &b);
    let path = format!("/husk/{id}");
    assert_eq!(cg_read(&path, "hugetlb.2MB.max"), "4194304");
    assert!(subtree_control("/husk").iter().any(|c| c == "hugetlb"));
    c.delete_force().assert_success();
    assert_no_cgroups(&id);
}

#[test]
fn bad_resources_fail_create_and_leave_nothing() {
    require_v2!();
    let rt = Runtime::new();
    // A unified key that names no file of the cgroup.
    let id = unique_id("cg2-badkey");
    let b = sleeper_with(json!({"unified": {"memory.no_such_file": "1"}}));
    let c = rt.create(&id, &b);
    c.create_output.assert_error_contains("memory.no_such_file");
    assert!(!rt.state_dir(&id).exists());
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "{left:?}");
    drop(c);
    // A swap limit without a memory limit cannot be expressed on v2.
    let id = unique_id("cg2-swap");
    let b = sleeper_with(json!({"memory": {"swap": 134217728}}));
    let c = rt.create(&id, &b);
    c.create_output.assert_error_contains("swap");
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-pids");
    let b = fork_loop(8);
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    // The kernel counts the forks it refused in pids.events.
    wait_until("a refused fork in pids.events", WAIT, || {
        cg_key(&path, "pids.events", "max").unwrap_or(0) > 0
    });
    let current: u64 = cg_read(&path, "pids.current").parse().unwrap();
    assert!(current <= 8, "{current} processes under a limit of 8");
    c.delete_force().assert_success();
    assert_no_cgroups(&id);
}

// ---------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------

#[test]
fn update_changes_the_v2_files() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-upd");
    let b = sleeper_with(json!({"memory": {"limit": 67108864}, "pids": {"limit": 50}}));
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    rt.exec(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--pids-limit",
        "-1",
        "--cpu-share",
        "300",
        "--cpu-quota",
        "50000",
        "--cpu-period",
        "200000",
        "--cpuset-cpus",
        "0",
        &id,
    ])
    .assert_success();
    assert_eq!(cg_read(&path, "memory.max"), "134217728");
    assert_eq!(cg_read(&path, "memory.swap.max"), "134217728");
    assert_eq!(cg_read(&path, "pids.max"), "max");
    assert_eq!(cg_read(&path, "cpu.weight"), weight(300).to_string());
    assert_eq!(cg_read(&path, "cpu.max"), "50000 200000");
    assert_eq!(cg_read(&path, "cpuset.cpus"), "0");
    let f = b.path().join("res.json");
    std::fs::write(
        &f,
        r#"{"pids": {"limit": 77}, "unified": {"memory.high": "100663296"}}"#,
    )
    .unwrap();
    rt.exec(&["update", "-r", f.to_str().unwrap(), &id])
        .assert_success();
    assert_eq!(cg_read(&path, "pids.max"), "77");
    assert_eq!(cg_read(&path, "memory.high"), "100663296");
    // What was set before is left alone.
    assert_eq!(cg_read(&path, "memory.max"), "134217728");
    assert_eq!(cg_read(&path, "cpu.max"), "50000 200000");
    rt.exec(&["update", "--memory", "nonsense", &id])
        .assert_error();
    assert_eq!(cg_read(&path, "memory.max"), "134217728");
    // Still the same process in the same cgroup.
    assert_eq!(procs(&path), vec![c.pid()]);
}

// ---------------------------------------------------------------------------
// pause / resume, kill --all, delete --force
// ---------------------------------------------------------------------------

#[test]
fn pause_freezes_and_resume_thaws() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-pause");
    let b = ticker();
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    let read = || ticks(&b);
    wait_until("the loop to tick", WAIT, || {
        read().trim().parse::<u64>().unwrap_or(0) >= 3
    });
    assert_eq!(cg_read(&path, "cgroup.freeze"), "0");

    rt.exec(&["pause", &id]).assert_success();
    assert_eq!(c.state().unwrap()["status"], "paused");
    assert_eq!(cg_read(&path, "cgroup.freeze"), "1");
    assert_eq!(
        cg_key(&path, "cgroup.events", "frozen"),
        Some(1),
        "{}",
        cg_read(&path, "cgroup.events")
    );
    let frozen = read();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read(), frozen, "a paused container went on running");
    rt.exec(&["pause", &id]).assert_error();

    rt.exec(&["resume", &id]).assert_success();
    assert_eq!(c.state().unwrap()["status"], "running");
    assert_eq!(cg_read(&path, "cgroup.freeze"), "0");
    assert_eq!(cg_key(&path, "cgroup.events", "frozen"), Some(0));
    wait_until("resume to restart the loop", WAIT, || read() != frozen);
    rt.exec(&["resume", &id])
        .assert_error_contains("not paused");

    // A paused container can be force-deleted.
    rt.exec(&["pause", &id]).assert_success();
    let pid = c.pid();
    c.delete_force().assert_success();
    assert!(wait_pid_gone(pid, WAIT));
    assert_no_cgroups(&id);
}

/// A started container in the host's pid namespace with three processes:
/// killing its init does not take the others along, so only the cgroup can.
fn three_in_host_pidns<'a>(rt: &'a Runtime, id: &str) -> (Bundle, Container<'a>, Vec<i32>) {
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe sleep inf & /probe sleep inf & exec /probe sleep inf",
    ]);
    let c = rt.create_ok(id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    wait_until("three processes in the cgroup", WAIT, || {
        procs(&path).len() == 3
    });
    let pids = procs(&path);
    (b, c, pids)
}

#[test]
fn kill_all_empties_the_cgroup() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-killall");
    let (b, c, pids) = three_in_host_pidns(&rt, &id);
    rt.exec(&["kill", "--all", &id, "KILL"]).assert_success();
    for pid in &pids {
        assert!(
            wait_pid_gone(*pid, WAIT),
            "process {pid} survived kill --all"
        );
    }
    let path = format!("/husk/{id}");
    wait_until("an empty cgroup", WAIT, || procs(&path).is_empty());
    assert_eq!(cg_key(&path, "cgroup.events", "populated"), Some(0));
    c.wait_status("stopped", WAIT).unwrap();
    c.delete().assert_success();
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn delete_force_leaves_no_process() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-delf");
    let (b, c, pids) = three_in_host_pidns(&rt, &id);
    c.delete_force().assert_success();
    for pid in &pids {
        assert!(
            wait_pid_gone(*pid, WAIT),
            "process {pid} survived delete --force"
        );
    }
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "{left:?}");
    assert!(!cg_dir(&format!("/husk/{id}")).exists());
}

// ---------------------------------------------------------------------------
// Devices: the eBPF program
// ---------------------------------------------------------------------------

/// `/probe write PATH` with no content: an open(O_WRONLY) and nothing else.
fn open_result(v: &Value) -> Result<(), String> {
    if v["ok"] == true {
        Ok(())
    } else {
        Err(v["error"].as_str().unwrap_or("?").to_string())
    }
}

/// Device nodes made inside the container (runc's default rules allow
/// `mknod` of any character or block device: "c *:* m", "b *:* m").
const MKNODS: &str = "mknod /dev/lc c 10 237 && mknod /dev/blk b 7 0 || exit 3";

#[test]
fn device_program_allows_and_denies() {
    require_v2!();
    let mut b = Bundle::new();
    add_caps(&mut b, &["CAP_MKNOD"]);
    b.config_mut()["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
        {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "r"}
    ]);
    let lines = run_probe_script(
        &mut b,
        &format!(
            "{MKNODS}; /probe read /dev/null; /probe write /dev/null x; /probe write /dev/full; \
             /probe read /dev/lc; /probe write /dev/lc; /probe read /dev/blk; /probe write /dev/blk"
        ),
        &[],
    );
    assert_eq!(lines.len(), 7, "{lines:#?}");
    let ok = |i: usize, what: &str| {
        assert_eq!(open_result(&lines[i]), Ok(()), "{what}: {}", lines[i]);
    };
    let denied = |i: usize, what: &str| {
        assert_eq!(
            open_result(&lines[i]),
            Err("EPERM".into()),
            "{what}: {}",
            lines[i]
        );
    };
    // Allowed by the config (and runc's defaults) for reading and writing.
    ok(0, "read /dev/null");
    ok(1, "write /dev/null");
    // One of the devices every container gets (runc's defaults).
    ok(2, "write /dev/full");
    // 10:237 may be opened for reading only (the driver may then refuse the
    // read itself, but not with EPERM).
    assert_ne!(
        open_result(&lines[3]),
        Err("EPERM".into()),
        "read of c 10:237 (allowed \"r\"): {}",
        lines[3]
    );
    denied(4, "write of c 10:237 (allowed \"r\" only)");
    // No rule for b 7:0: the deny-all holds.
    denied(5, "read of b 7:0");
    denied(6, "write of b 7:0");
}

/// `linux.devices` creates nodes but allows nothing: the cgroup rules come
/// from `linux.resources.devices` and the defaults alone (runc 1.1.5 on this
/// project's v1 host: open of such a node fails with EPERM).
#[test]
fn linux_devices_get_no_implicit_allow_rule() {
    require_v2!();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    b.config_mut()["linux"]["devices"] = json!([
        {"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237,
         "fileMode": 438, "uid": 0, "gid": 0}
    ]);
    let lines = run_probe_script(
        &mut b,
        "/probe stat /dev/loop-control; /probe write /dev/loop-control",
        &[],
    );
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0][0]["rdev_major"], 10, "{}", lines[0]);
    assert_eq!(lines[0][0]["rdev_minor"], 237, "{}", lines[0]);
    assert_eq!(
        open_result(&lines[1]),
        Err("EPERM".into()),
        "open of /dev/loop-control (linux.devices, no allow rule): {}",
        lines[1]
    );
}

#[test]
fn update_replaces_the_device_program() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-devupd");
    let mut b = sleeper_with(json!({"devices": [{"allow": false, "access": "rwm"}]}));
    add_caps(&mut b, &["CAP_MKNOD"]);
    b.set_args(&["/bin/sh", "-c", &format!("{MKNODS}; exec /probe sleep inf")]);
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let try_open = |p: &str| {
        let out = rt.exec(&["exec", &id, "/probe", "write", p]);
        out.assert_success();
        probe_report(&out.stdout)
    };
    let mut before = try_open("/dev/lc");
    let t0 = Instant::now();
    while before["error"] == "ENOENT" && t0.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
        before = try_open("/dev/lc");
    }
    assert_eq!(open_result(&before), Err("EPERM".into()), "{before}");
    let f = b.path().join("devices.json");
    std::fs::write(
        &f,
        r#"{"devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rw"}]}"#,
    )
    .unwrap();
    rt.exec(&["update", "-r", f.to_str().unwrap(), &id])
        .assert_success();
    // Allowed now: it opens (or fails in the driver, never with EPERM).
    let after = try_open("/dev/lc");
    assert_ne!(open_result(&after), Err("EPERM".into()), "{after}");
    // The new program has the defaults too, and still the deny-all.
    let null = try_open("/dev/null");
    assert_eq!(open_result(&null), Ok(()), "{null}");
    let blk = try_open("/dev/blk");
    assert_eq!(open_result(&blk), Err("EPERM".into()), "{blk}");
    drop(c);
    assert_no_cgroups(&id);
}

// ---------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------

#[test]
fn events_stats_come_from_the_v2_files() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-stats");
    let mut b = sleeper_with(json!({"memory": {"limit": 67108864}, "pids": {"limit": 42}}));
    b.set_args(&["/bin/sh", "-c", "/probe sleep inf & exec /probe sleep inf"]);
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    wait_until("two processes", WAIT, || procs(&path).len() == 2);
    let d = events_stats(&rt, &id);
    assert_eq!(d["pids"]["current"], 2, "{d}");
    assert_eq!(d["pids"]["limit"], 42, "{d}");
    assert_eq!(d["memory"]["usage"]["limit"], 67108864, "{d}");
    let usage = d["memory"]["usage"]["usage"].as_u64().unwrap_or(0);
    assert!(usage > 0, "no memory usage: {d}");
    assert!(
        usage <= 67108864,
        "memory usage {usage} above the limit: {d}"
    );
    assert!(
        d["memory"]["raw"].get("anon").is_some(),
        "memory.stat not passed through: {d}"
    );
    assert!(
        d["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0,
        "no cpu usage: {d}"
    );
}

#[test]
fn oom_is_counted_and_reported() {
    require_v2!();
    let rt = Runtime::new();
    let id = unique_id("cg2-oom");
    let b = memory_hog();
    let c = rt.create_ok(&id, &b);
    let path = format!("/husk/{id}");
    assert_eq!(cg_read(&path, "memory.max"), "33554432");
    assert_eq!(cg_read(&path, "memory.swap.max"), "0");
    let events = spawn_events(&rt, &id);
    c.start().assert_success();
    c.wait_status("stopped", Duration::from_secs(60)).unwrap();
    let kills = cg_key(&path, "memory.events", "oom_kill").unwrap_or(0);
    assert!(
        kills >= 1,
        "memory.events: {}",
        cg_read(&path, "memory.events")
    );
    let (text, events) = events_printed(events);
    assert!(
        events
            .iter()
            .any(|v| v["type"] == "oom" && v["id"] == id.as_str()),
        "events printed: {text}"
    );
    assert!(!b.create_stdout().contains("survived"));
    c.delete().assert_success();
    assert_no_cgroups(&id);
}

// ---------------------------------------------------------------------------
// Cgroup namespace
// ---------------------------------------------------------------------------

#[test]
fn cgroup_namespace_sees_its_own_cgroup_as_root() {
    require_v2!();
    let mut b = Bundle::new();
    b.add_namespace("cgroup");
    b.config_mut()["linux"]["resources"] = json!({"pids": {"limit": 33}});
    // The default config mounts cgroup (read-only) on /sys/fs/cgroup.
    let lines = run_probe_script(
        &mut b,
        "/probe read /proc/self/cgroup; /probe read /sys/fs/cgroup/pids.max; \
         /probe stat /sys/fs/cgroup/husk; /probe write /sys/fs/cgroup/cgroup.procs 1",
        &[],
    );
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0]["content"], "0::/\n", "{}", lines[0]);
    // The mount's root is the container's own cgroup...
    assert_eq!(lines[1]["content"], "33\n", "{}", lines[1]);
    assert!(
        lines[2][0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("ENOENT")),
        "/sys/fs/cgroup/husk in the container: {}",
        lines[2]
    );
    // ...and read-only.
    assert_eq!(open_result(&lines[3]), Err("EROFS".into()), "{}", lines[3]);
}
