//! Cgroups on this v1 (hybrid) host: every resource is read back from the
//! host's cgroup files, limits are shown to bite, and update, pause/resume,
//! ps and events are checked against the kernel's view.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn v1(controller: &str, path: &str, file: &str) -> String {
    let p = PathBuf::from("/sys/fs/cgroup")
        .join(controller)
        .join(path.trim_start_matches('/'))
        .join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

fn have_v1() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
}

#[test]
fn resources_reach_the_kernel() {
    if !have_v1() {
        skip!("no cgroup v1 memory controller");
    }
    let rt = Runtime::new();
    let id = unique_id("cg-res");
    let b = sleeper_with(json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 20},
        "cpu": {"shares": 256, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 42}
    }));
    let c = rt.create_ok(&id, &b);
    let path = format!("/husk/{id}");
    assert_eq!(v1("memory", &path, "memory.limit_in_bytes"), "67108864");
    assert_eq!(
        v1("memory", &path, "memory.soft_limit_in_bytes"),
        "33554432"
    );
    assert_eq!(
        v1("memory", &path, "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(v1("memory", &path, "memory.swappiness"), "20");
    assert_eq!(v1("cpu", &path, "cpu.shares"), "256");
    assert_eq!(v1("cpu", &path, "cpu.cfs_quota_us"), "20000");
    assert_eq!(v1("cpu", &path, "cpu.cfs_period_us"), "100000");
    assert_eq!(v1("cpuset", &path, "cpuset.cpus"), "0");
    assert_eq!(v1("pids", &path, "pids.max"), "42");
    let devs = v1("devices", &path, "devices.list");
    assert!(
        devs.contains("c 1:3 rwm") && !devs.contains("a *:* rwm"),
        "devices.list: {devs}"
    );
    // The init is in every hierarchy's cgroup.
    let pid = c.pid();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cg.lines()
            .filter(|l| !l.starts_with("0::"))
            .all(|l| l.ends_with(&path)),
        "{cg}"
    );
    c.delete_force().assert_success();
    assert!(
        cgroups_of(&id).is_empty(),
        "cgroups left: {:?}",
        cgroups_of(&id)
    );
}

#[test]
fn hugetlb_lives_in_the_unified_tree_on_a_hybrid_host() {
    let ctl =
        std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap_or_default();
    if !ctl.contains("hugetlb") {
        skip!("no hugetlb in the cgroup2 tree of this host");
    }
    let rt = Runtime::new();
    let id = unique_id("cg-huge");
    let b = sleeper_with(json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}));
    let c = rt.create_ok(&id, &b);
    let f = format!("/sys/fs/cgroup/unified/husk/{id}/hugetlb.2MB.max");
    assert_eq!(std::fs::read_to_string(&f).unwrap().trim(), "4194304");
    c.delete_force().assert_success();
    assert!(!std::path::Path::new(&f).exists());
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    if !have_v1() {
        skip!("no cgroup v1");
    }
    let rt = Runtime::new();
    let id = unique_id("cg-pids");
    let b = fork_loop(8);
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    let t0 = Instant::now();
    // The kernel counts the forks it refused in pids.events.
    loop {
        let ev = v1("pids", &path, "pids.events");
        if ev
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            > 0
        {
            break;
        }
        assert!(t0.elapsed() < WAIT, "no fork was refused: {ev}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let current: u64 = v1("pids", &path, "pids.current").parse().unwrap();
    assert!(current <= 8, "{current} processes under a limit of 8");
    c.delete_force().assert_success();
    assert!(cgroups_of(&id).is_empty());
}

#[test]
fn memory_limit_oom_kills_and_events_report_it() {
    if !have_v1() {
        skip!("no cgroup v1");
    }
    let rt = Runtime::new();
    let id = unique_id("cg-oom");
    // Fill a shell variable well past the limit.
    let b = memory_hog();
    let c = rt.create_ok(&id, &b);
    let events = spawn_events(&rt, &id);
    c.start().assert_success();
    c.wait_status("stopped", WAIT).unwrap();
    let kills = v1("memory", &format!("/husk/{id}"), "memory.oom_control");
    assert!(
        kills.contains("oom_kill 1")
            || kills
                .lines()
                .any(|l| l.starts_with("oom_kill ") && l != "oom_kill 0"),
        "{kills}"
    );
    let (text, events) = events_printed(events);
    assert!(
        events
            .iter()
            .any(|v| v["type"] == "oom" && v["id"] == id.as_str()),
        "events printed: {text}"
    );
    assert!(
        events.iter().any(|v| v["type"] == "stats"),
        "no stats event: {text}"
    );
    assert!(!b.create_stdout().contains("survived"));
}

#[test]
fn update_changes_the_kernel_value() {
    if !have_v1() {
        skip!("no cgroup v1");
    }
    let rt = Runtime::new();
    let id = unique_id("cg-upd");
    let b = sleeper_with(json!({"memory": {"limit": 67108864}, "pids": {"limit": 50}}));
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let path = format!("/husk/{id}");
    rt.exec(&[
        "update",
        "--memory",
        "128m",
        "--pids-limit",
        "-1",
        "--cpu-share",
        "300",
        &id,
    ])
    .assert_success();
    assert_eq!(v1("memory", &path, "memory.limit_in_bytes"), "134217728");
    assert_eq!(v1("pids", &path, "pids.max"), "max");
    assert_eq!(v1("cpu", &path, "cpu.shares"), "300");
    let f = b.path().join("res.json");
    std::fs::write(&f, r#"{"pids": {"limit": 77}}"#).unwrap();
    rt.exec(&["update", "-r", f.to_str().unwrap(), &id])
        .assert_success();
    assert_eq!(v1("pids", &path, "pids.max"), "77");
    // The memory limit set before is still what update remembers and leaves alone.
    assert_eq!(v1("memory", &path, "memory.limit_in_bytes"), "134217728");
    let bad = rt.exec(&["update", "--memory", "nonsense", &id]);
    bad.assert_error();
}

#[test]
fn pause_stops_the_processes_and_resume_restarts_them() {
    if !have_v1() {
        skip!("no cgroup v1");
    }
    let rt = Runtime::new();
    let id = unique_id("cg-pause");
    let b = ticker();
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let read = || ticks(&b);
    wait_until("the loop to run", WAIT, || {
        read().trim().parse::<u64>().unwrap_or(0) >= 3
    });
    rt.exec(&["pause", &id]).assert_success();
    assert_eq!(c.state().unwrap()["status"], "paused");
    let frozen = read();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read(), frozen, "a paused container went on running");
    rt.exec(&["resume", &id]).assert_success();
    assert_eq!(c.state().unwrap()["status"], "running");
    wait_until("resume to restart the loop", WAIT, || read() != frozen);
    rt.exec(&["resume", &id])
        .assert_error_contains("not paused");
    // A paused container can be killed and force-deleted.
    rt.exec(&["pause", &id]).assert_success();
    let pid = c.pid();
    c.delete_force().assert_success();
    assert!(wait_pid_gone(pid, WAIT));
    assert!(cgroups_of(&id).is_empty());
}

#[test]
fn ps_lists_the_container_processes() {
    let rt = Runtime::new();
    let id = unique_id("cg-ps");
    let mut b = Bundle::new();
    b.set_args(&["/bin/sh", "-c", "/probe sleep inf & exec /probe sleep inf"]);
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let pid = c.pid();
    let t0 = Instant::now();
    let pids = loop {
        let out = rt.exec(&["ps", "-f", "json", &id]);
        out.assert_success();
        let v: Vec<i32> = serde_json::from_str(out.stdout.trim()).unwrap();
        if v.len() == 2 || t0.elapsed() > WAIT {
            break v;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&pid));
    let table = rt.exec(&["ps", &id]);
    table.assert_success();
    assert!(
        table
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .contains("PID")
    );
    assert_eq!(table.stdout.lines().count(), 3, "{}", table.stdout);
}

#[test]
fn cgroup_namespace_shows_root_and_paths_are_placed() {
    let rt = Runtime::new();
    let id = unique_id("cg-ns");
    let mut b = Bundle::new();
    b.add_namespace("cgroup");
    b.config_mut()["linux"]["cgroupsPath"] = json!(format!("/husk-test-abs/{id}"));
    let out = rt.run(&id, &b);
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    let lines: Vec<&str> = r["cgroup"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.ends_with(":/")),
        "{lines:?}"
    );
    assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/memory/husk-test-abs/{id}")).exists());
    let _ = std::fs::remove_dir("/sys/fs/cgroup/husk-test-abs");
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd",
        "unified",
    ] {
        let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{c}/husk-test-abs"));
    }
}

#[test]
fn joining_a_busy_cgroup_is_refused() {
    let rt = Runtime::new();
    let id1 = unique_id("cg-busy1");
    let id2 = unique_id("cg-busy2");
    let shared = format!("husk-test-shared-{id1}");
    let mut b1 = Bundle::sleeper();
    b1.config_mut()["linux"]["cgroupsPath"] = json!(shared);
    let c1 = rt.create_ok(&id1, &b1);
    let mut b2 = Bundle::sleeper();
    b2.config_mut()["linux"]["cgroupsPath"] = json!(shared);
    let c2 = rt.create(&id2, &b2);
    c2.create_output.assert_error_contains("cgroupsPath");
    assert!(!rt.state_dir(&id2).exists());
    // The first container is untouched.
    assert_eq!(c1.state().unwrap()["status"], "created");
}
