//! The rest of runtime-spec 1.3 in real containers, each shown by the
//! host or from inside: `process.scheduler` (util-linux `chrt -p` and
//! /proc/<pid>/sched on the host), `process.ioPriority` (`ionice -p`),
//! both for the init and for `exec`; `linux.personality` (`uname -m`);
//! `linux.memoryPolicy` (/proc/self/numa_maps); `linux.netDevices` (a veth
//! end the test makes, present inside under its new name with its address,
//! gone from the host); `process.execCPUAffinity` (the exec'd process's
//! Cpus_allowed_list); `linux.intelRdt`'s refusal on a host without
//! resctrl. Idmapped mounts are in tests/idmap.rs.
//!
//! Run: `cargo test --test spec_extras` (as root).

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// Run a host command, returning its stdout (panics on failure).
#[track_caller]
fn host(args: &[&str]) -> String {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    let out = run_command(c, Duration::from_secs(10));
    out.assert_success();
    out.stdout
}

/// Create and start `b`, whose process sleeps; the container waits to be dropped.
#[track_caller]
fn start_sleeper<'a>(rt: &'a Runtime, tag: &str, b: &mut Bundle) -> Container<'a> {
    b.set_args(&["/probe", "sleep", "inf"]);
    let c = rt.create_ok(&unique_id(tag), b);
    c.start().assert_success();
    c.wait_status("running", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    c
}

/// `exec -d ARGS...` with the process's stdio going to files in the bundle
/// (a detached process would hold pipes open).
#[track_caller]
fn exec_d(rt: &Runtime, b: &Bundle, args: &[&str]) {
    let mut c = rt.cmd();
    c.arg("exec").arg("-d").args(args);
    run_command_to_files(
        c,
        &b.path().join("exec.stdout"),
        &b.path().join("exec.stderr"),
        WAIT,
    )
    .assert_success();
}

/// `exec -d --pid-file` a process JSON (written into the bundle) in `c`;
/// returns the pid of the exec'd process.
#[track_caller]
fn exec_detached(c: &Container<'_>, b: &Bundle, process: &Value) -> i32 {
    let n = unique_id("proc");
    let pj = b.path().join(format!("{n}.json"));
    let pid_file = b.path().join(format!("{n}.pid"));
    std::fs::write(&pj, process.to_string()).unwrap();
    exec_d(
        c.runtime(),
        b,
        &[
            "--pid-file",
            pid_file.to_str().unwrap(),
            "--process",
            pj.to_str().unwrap(),
            c.id(),
        ],
    );
    std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `exec` a process JSON in the foreground; its output.
#[track_caller]
fn exec_json(c: &Container<'_>, b: &Bundle, process: &Value) -> String {
    let n = unique_id("proc");
    let pj = b.path().join(format!("{n}.json"));
    std::fs::write(&pj, process.to_string()).unwrap();
    let out = c
        .runtime()
        .exec(&["exec", "--process", pj.to_str().unwrap(), c.id()]);
    out.assert_success();
    out.stdout
}

fn process_json(args: &[&str]) -> Value {
    json!({"args": args, "cwd": "/", "user": {"uid": 0, "gid": 0},
           "env": ["PATH=/bin:/usr/bin"]})
}

/// `chrt -p PID` on the host (util-linux), one line per fact.
fn chrt(pid: i32) -> String {
    host(&["chrt", "-p", &pid.to_string()])
}

/// `ionice -p PID` on the host (util-linux).
fn ionice(pid: i32) -> String {
    host(&["ionice", "-p", &pid.to_string()]).trim().to_string()
}

/// A `key : value` line of /proc/<pid>/sched.
fn sched_field(pid: i32, key: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/sched")).unwrap();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/sched:\n{text}"))
}

/// The nice value (field 19) of /proc/<pid>/stat.
fn nice(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(") ").unwrap().1;
    rest.split_whitespace().nth(16).unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------
// process.scheduler and process.ioPriority
// ---------------------------------------------------------------------------

#[test]
fn scheduler_and_io_priority_for_the_init_and_exec() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.config_mut()["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 19});
    b.config_mut()["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 7});
    let c = start_sleeper(&rt, "sched", &mut b);
    let pid = c.pid();
    let facts = chrt(pid);
    assert!(facts.contains("policy: SCHED_BATCH"), "{facts}");
    assert!(facts.contains("priority: 0"), "{facts}");
    assert_eq!(sched_field(pid, "policy"), "3");
    assert_eq!(sched_field(pid, "prio"), "139");
    assert_eq!(nice(pid), 19);
    assert_eq!(ionice(pid), "best-effort: prio 7");

    // exec without a process JSON: the config's process, scheduler and all.
    let pid_file = b.path().join("e1.pid");
    exec_d(
        &rt,
        &b,
        &[
            "--pid-file",
            pid_file.to_str().unwrap(),
            c.id(),
            "/probe",
            "sleep",
            "inf",
        ],
    );
    let epid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(chrt(epid).contains("policy: SCHED_BATCH"), "{}", chrt(epid));
    assert_eq!(nice(epid), 19);
    assert_eq!(ionice(epid), "best-effort: prio 7");

    // exec with its own settings: SCHED_DEADLINE with the spec's flag name,
    // and the realtime I/O class.
    let mut p = process_json(&["/probe", "sleep", "inf"]);
    p["scheduler"] = json!({"policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK"],
        "runtime": 42000, "deadline": 100000, "period": 1000000});
    p["ioPriority"] = json!({"class": "IOPRIO_CLASS_RT", "priority": 3});
    let epid = exec_detached(&c, &b, &p);
    let facts = chrt(epid);
    assert!(
        facts.contains("policy: SCHED_DEADLINE|SCHED_RESET_ON_FORK"),
        "{facts}"
    );
    assert!(
        facts.contains("runtime/deadline/period parameters: 42000/100000/1000000"),
        "{facts}"
    );
    assert_eq!(sched_field(epid, "policy"), "6");
    assert_eq!(ionice(epid), "realtime: prio 3");

    // An idle-class exec of a process JSON without a scheduler takes the config's.
    let mut p = process_json(&["/probe", "sleep", "inf"]);
    p["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    let epid = exec_detached(&c, &b, &p);
    assert!(chrt(epid).contains("policy: SCHED_BATCH"));
    assert_eq!(ionice(epid), "idle");
}

/// A v1 cpu cgroup with realtime group scheduling gives a new group no
/// realtime time: the test makes a parent with some, for the container's
/// realtimeRuntime to come out of. Removed on drop.
struct RtParent {
    name: String,
}

impl RtParent {
    fn new() -> Option<RtParent> {
        let name = format!("husk-rt-{}", unique_id("p"));
        let cpu = Path::new("/sys/fs/cgroup/cpu");
        if !cpu.join("cpu.rt_runtime_us").exists() {
            return None;
        }
        std::fs::create_dir(cpu.join(&name)).unwrap();
        std::fs::write(cpu.join(&name).join("cpu.rt_runtime_us"), "50000").unwrap();
        Some(RtParent { name })
    }
}

impl Drop for RtParent {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                let _ = std::fs::remove_dir(e.path().join(&self.name));
            }
        }
    }
}

#[test]
fn realtime_policies() {
    let mut b = Bundle::new();
    b.config_mut()["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 10});
    let rt_parent = RtParent::new();
    let id = unique_id("sched-rt");
    if let Some(p) = &rt_parent {
        b.config_mut()["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", p.name));
        b.config_mut()["linux"]["resources"]["cpu"] =
            json!({"realtimeRuntime": 20000, "realtimePeriod": 1000000});
    }
    let rt = Runtime::new();
    b.set_args(&["/probe", "sleep", "inf"]);
    let c = rt.create_ok(&id, &b);
    c.start().assert_success();
    let pid = c.pid();
    let facts = chrt(pid);
    assert!(facts.contains("policy: SCHED_FIFO"), "{facts}");
    assert!(facts.contains("priority: 10"), "{facts}");
    let mut p = process_json(&["/probe", "sleep", "inf"]);
    p["scheduler"] = json!({"policy": "SCHED_RR", "priority": 5});
    let epid = exec_detached(&c, &b, &p);
    let facts = chrt(epid);
    assert!(facts.contains("policy: SCHED_RR"), "{facts}");
    assert!(facts.contains("priority: 5"), "{facts}");
    // SCHED_IDLE (the kernel keeps no nice value for it).
    let mut p = process_json(&["/probe", "sleep", "inf"]);
    p["scheduler"] = json!({"policy": "SCHED_IDLE"});
    let epid = exec_detached(&c, &b, &p);
    assert!(chrt(epid).contains("policy: SCHED_IDLE"), "{}", chrt(epid));
    assert_eq!(sched_field(epid, "policy"), "5");
    c.delete_force().assert_success();
    drop(c);
    drop(rt_parent);
}

#[test]
fn scheduler_and_io_priority_refusals_name_the_field() {
    let rt = Runtime::new();
    let cases = [
        (
            json!({"scheduler": {"policy": "SCHED_OTHER", "nice": 20}}),
            "process.scheduler.nice",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_BATCH", "priority": 3}}),
            "process.scheduler.priority",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_OTHER", "runtime": 1000}}),
            "process.scheduler.runtime",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_ISO"}}),
            "process.scheduler.policy",
        ),
        (
            json!({"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 9}}),
            "process.ioPriority.priority",
        ),
        (
            json!({"execCPUAffinity": {"initial": "9999999"}}),
            "process.execCPUAffinity.initial",
        ),
        // runtime-spec: duplicated rlimits entries of one type are an error.
        (
            json!({"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024},
                               {"type": "RLIMIT_NOFILE", "soft": 64, "hard": 64}]}),
            "process.rlimits[1].type: duplicate RLIMIT_NOFILE",
        ),
    ];
    for (extra, field) in cases {
        let mut b = Bundle::new();
        for (k, v) in extra.as_object().unwrap() {
            b.config_mut()["process"][k] = v.clone();
        }
        let id = unique_id("sched-bad");
        let out = rt.run(&id, &b);
        let e = out.assert_error_contains(field);
        assert!(!out.stdout.contains("\"pid\""), "ran: {e}");
        let left = leftovers(&rt, &id, &b);
        assert!(left.is_empty(), "{left:?}");
    }
    // The same checks hold for an exec'd process.
    let mut b = Bundle::new();
    let c = start_sleeper(&rt, "sched-bad-exec", &mut b);
    let mut p = process_json(&["/probe", "exit", "0"]);
    p["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 0});
    let pj = b.path().join("bad.json");
    std::fs::write(&pj, p.to_string()).unwrap();
    rt.exec(&["exec", "--process", pj.to_str().unwrap(), c.id()])
        .assert_error_contains("process.scheduler.priority");
    let mut p = process_json(&["/probe", "exit", "0"]);
    p["rlimits"] = json!([{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                          {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}]);
    std::fs::write(&pj, p.to_string()).unwrap();
    rt.exec(&["exec", "--process", pj.to_str().unwrap(), c.id()])
        .assert_error_contains("process.rlimits[1].type: duplicate RLIMIT_CORE");
}

// ---------------------------------------------------------------------------
// linux.personality
// ---------------------------------------------------------------------------

#[test]
fn personality_linux32_gives_i686() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["personality"] = json!({"domain": "LINUX32"});
    b.set_args(&["/bin/uname", "-m"]);
    let out = rt.run(&unique_id("pers32"), &b);
    out.assert_success();
    assert_eq!(out.stdout.trim(), "i686");

    b.config_mut()["linux"]["personality"] = json!({"domain": "LINUX"});
    let out = rt.run(&unique_id("pers64"), &b);
    out.assert_success();
    assert_eq!(out.stdout.trim(), "x86_64");

    // exec'd processes take the container's personality too (as runc's).
    b.config_mut()["linux"]["personality"] = json!({"domain": "LINUX32"});
    let c = start_sleeper(&rt, "pers-exec", &mut b);
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{}/personality", c.pid()))
            .unwrap()
            .trim(),
        "00000008"
    );
    let out = rt.exec(&["exec", c.id(), "/bin/uname", "-m"]);
    out.assert_success();
    assert_eq!(out.stdout.trim(), "i686");
}

// ---------------------------------------------------------------------------
// linux.memoryPolicy
// ---------------------------------------------------------------------------

/// The policy column of the first line of /proc/self/numa_maps, as the
/// container's process sees it (the text up to the first " anon="/" file="...).
fn numa_policy(line: &str) -> String {
    let rest = line.split_once(' ').map_or("", |(_, r)| r);
    // Two policy names have a space in them.
    for two in ["prefer (many)", "weighted interleave"] {
        if let Some(tail) = rest.strip_prefix(two) {
            return format!("{two}{}", tail.split(' ').next().unwrap_or(""));
        }
    }
    rest.split(' ').next().unwrap_or("").to_string()
}

#[test]
fn memory_policy_modes_and_flags() {
    let rt = Runtime::new();
    let cases = [
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
            "interleave:0",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "bind=static:0",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]}),
            "bind=balancing:0",
        ),
        (
            json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]}),
            "prefer=relative:0",
        ),
        (
            json!({"mode": "MPOL_PREFERRED_MANY", "nodes": "0"}),
            "prefer (many):0",
        ),
        (
            json!({"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": "0"}),
            "weighted interleave:0",
        ),
        (json!({"mode": "MPOL_LOCAL"}), "local"),
        (json!({"mode": "MPOL_DEFAULT"}), "default"),
        (json!({}), "default"),
    ];
    for (policy, want) in cases {
        let mut b = Bundle::new();
        b.config_mut()["linux"]["memoryPolicy"] = policy.clone();
        b.set_args(&["/bin/head", "-n", "1", "/proc/self/numa_maps"]);
        let out = rt.run(&unique_id("mpol"), &b);
        out.assert_success();
        assert_eq!(
            numa_policy(out.stdout.trim()),
            want,
            "{policy}: {}",
            out.stdout
        );
    }
}

#[test]
fn memory_policy_of_exec_and_refusals() {
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["memoryPolicy"] =
        json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]});
    let c = start_sleeper(&rt, "mpol-exec", &mut b);
    let maps = std::fs::read_to_string(format!("/proc/{}/numa_maps", c.pid())).unwrap();
    assert_eq!(
        numa_policy(maps.lines().next().unwrap()),
        "prefer=relative:0"
    );
    let out = exec_json(
        &c,
        &b,
        &process_json(&["/bin/head", "-n", "1", "/proc/self/numa_maps"]),
    );
    assert_eq!(numa_policy(out.trim()), "prefer=relative:0", "{out}");
    drop(c);

    for (policy, field) in [
        (json!({"mode": "MPOL_BIND"}), "linux.memoryPolicy.nodes"),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-9876543210"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_DEFAULT", "nodes": "0-7"}),
            "linux.memoryPolicy.nodes",
        ),
        (
            json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES", "badflag"]}),
            "linux.memoryPolicy.flags",
        ),
        (
            json!({"mode": "INTERLEAVE", "nodes": "0"}),
            "linux.memoryPolicy.mode",
        ),
        (json!({"nodes": "0"}), "linux.memoryPolicy"),
    ] {
        let mut b = Bundle::new();
        b.config_mut()["linux"]["memoryPolicy"] = policy;
        rt.run(&unique_id("mpol-bad"), &b)
            .assert_error_contains(field);
    }
}

// ---------------------------------------------------------------------------
// process.execCPUAffinity
// ---------------------------------------------------------------------------

fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in {status:?}"))
        .trim()
        .to_string()
}

#[test]
fn exec_cpu_affinity_initial_before_the_cgroup_final_after() {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    if n < 2 {
        skip!("needs at least two CPUs");
    }
    let rt = Runtime::new();
    let mut b = Bundle::new();
    // The container runs on CPU 1; execs start on CPU 0 (outside its cpuset).
    b.config_mut()["linux"]["resources"]["cpu"] = json!({"cpus": "1"});
    b.config_mut()["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "1"});
    let c = start_sleeper(&rt, "affinity", &mut b);
    let init_cpus =
        cpus_allowed(&std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap());
    assert_eq!(init_cpus, "1", "the init's affinity is its cpuset's");

    let grep = ["/bin/grep", "Cpus_allowed_list", "/proc/self/status"];
    // From config.json, for an exec from the command line: final wins.
    let out = rt.exec(&["exec", c.id(), grep[0], grep[1], grep[2]]);
    out.assert_success();
    assert_eq!(cpus_allowed(&out.stdout), "1");

    // Only "initial", in a process JSON: CPU 0 holds until the process joins
    // the container's cgroup, whose cpuset then moves it to CPU 1. Applied
    // after the move it could not be (CPU 0 is outside the cpuset: EINVAL).
    let mut p = process_json(&grep);
    p["execCPUAffinity"] = json!({"initial": "0"});
    assert_eq!(cpus_allowed(&exec_json(&c, &b, &p)), "1");
    drop(c);

    // In a container on every CPU the move changes no CPU, and the kernel
    // (since 6.2) leaves the affinity alone: "initial" is what stays.
    let mut b = Bundle::new();
    let c = start_sleeper(&rt, "affinity-all", &mut b);
    let init_cpus =
        cpus_allowed(&std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap());
    let mut p = process_json(&grep);
    p["execCPUAffinity"] = json!({"initial": "0"});
    let got = cpus_allowed(&exec_json(&c, &b, &p));
    if kernel_at_least(6, 2) {
        assert_eq!(got, "0", "initial was not applied");
    } else {
        assert!(got == "0" || got == init_cpus, "{got}");
    }
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = r
        .trim()
        .split(['.', '-'])
        .map(|x| x.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (major, minor)
}

// ---------------------------------------------------------------------------
// linux.netDevices
// ---------------------------------------------------------------------------

/// A veth pair made with iproute2; deleted on drop (if still there).
struct Veth {
    host_end: String,
    moved_end: String,
}

impl Veth {
    fn new() -> Veth {
        // Interface names are at most 15 bytes: "hxa" + pid + a counter.
        static N: AtomicU32 = AtomicU32::new(0);
        let n = format!(
            "{}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let v = Veth {
            host_end: format!("hxa{n}"),
            moved_end: format!("hxb{n}"),
        };
        host(&[
            "ip",
            "link",
            "add",
            &v.host_end,
            "type",
            "veth",
            "peer",
            "name",
            &v.moved_end,
        ]);
        host(&["ip", "link", "set", &v.host_end, "up"]);
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in [&self.host_end, &self.moved_end] {
            if link_exists(n) {
                let _ = Command::new("ip").args(["link", "del", n]).status();
            }
        }
    }
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Poll until `cond` holds (10 ms steps).
fn wait_for(what: &str, timeout: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn net_device_moved_renamed_with_its_address_and_up() {
    let v = Veth::new();
    host(&["ip", "addr", "add", "10.199.77.1/24", "dev", &v.moved_end]);
    // A link-scope address does not move (only permanent global ones do).
    host(&[
        "ip",
        "addr",
        "add",
        "169.254.7.7/16",
        "scope",
        "link",
        "dev",
        &v.moved_end,
    ]);
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["netDevices"] = json!({ v.moved_end.clone(): {"name": "ctr0"} });
    b.set_args(&["/bin/sh", "-c", "ip link show ctr0; ip addr show dev ctr0"]);
    let id = unique_id("netdev");
    let c = rt.create_ok(&id, &b);
    // Moved at create: gone from the host, the peer still there.
    assert!(
        !link_exists(&v.moved_end),
        "{} is still on the host",
        v.moved_end
    );
    assert!(link_exists(&v.host_end));
    c.start().assert_success();
    c.wait_status("stopped", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = b.create_stdout();
    let link = out.lines().next().unwrap_or_default();
    assert!(link.contains(": ctr0@"), "{out}");
    let flags = link.split(['<', '>']).nth(1).unwrap_or_default();
    assert!(flags.split(',').any(|f| f == "UP"), "not up: {out}");
    assert!(out.contains("inet 10.199.77.1/24"), "{out}");
    assert!(
        !out.contains("169.254.7.7"),
        "a link-scope address moved: {out}"
    );
    c.delete().assert_success();
    drop(c);
    // The namespace is gone: the kernel destroyed the veth (both ends).
    wait_for("the veth to be destroyed", WAIT, || {
        !link_exists(&v.host_end)
    });
}

#[test]
fn net_device_keeps_its_name_or_takes_a_template() {
    let v1 = Veth::new();
    let v2 = Veth::new();
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["netDevices"] =
        json!({ v1.moved_end.clone(): {}, v2.moved_end.clone(): {"name": "eth%d"} });
    b.set_args(&["/bin/sh", "-c", "ls /sys/class/net"]);
    let out = rt.run(&unique_id("netdev2"), &b);
    out.assert_success();
    let names: Vec<&str> = out.stdout.split_whitespace().collect();
    assert!(names.contains(&v1.moved_end.as_str()), "{names:?}");
    assert!(names.contains(&"eth0"), "{names:?}");
}

#[test]
fn net_device_refusals_name_the_field() {
    let rt = Runtime::new();
    // Without a network namespace of its own.
    let mut b = Bundle::new();
    b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    b.config_mut()["linux"]["netDevices"] = json!({"hxnone0": {}});
    let id = unique_id("netdev-nons");
    rt.run(&id, &b).assert_error_contains(
        "linux.netDevices: unable to move network devices without a private network namespace",
    );
    assert!(leftovers(&rt, &id, &b).is_empty());
    // A device the host does not have.
    let mut b = Bundle::new();
    b.config_mut()["linux"]["netDevices"] = json!({"hxnosuch0": {"name": "x0"}});
    let id = unique_id("netdev-missing");
    rt.run(&id, &b)
        .assert_error_contains("linux.netDevices.hxnosuch0: no such network device on the host");
    let left = leftovers(&rt, &id, &b);
    assert!(left.is_empty(), "{left:?}");
    // A name the kernel would refuse.
    let mut b = Bundle::new();
    b.config_mut()["linux"]["netDevices"] = json!({"eth0": {"name": "a/b"}});
    rt.run(&unique_id("netdev-badname"), &b)
        .assert_error_contains("linux.netDevices.eth0.name");
}

// ---------------------------------------------------------------------------
// linux.intelRdt
// ---------------------------------------------------------------------------

#[test]
fn intel_rdt_without_resctrl_is_refused_naming_the_field() {
    if is_resctrl_mounted() {
        skip!("resctrl is mounted at /sys/fs/resctrl: the refusal does not apply");
    }
    let rt = Runtime::new();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["intelRdt"] = json!({"closID": "husk-test", "l3CacheSchema": "L3:0=f"});
    let id = unique_id("rdt");
    let out = rt.run(&id, &b);
    out.assert_error_contains("linux.intelRdt: resctrl is not mounted at /sys/fs/resctrl");
    assert!(leftovers(&rt, &id, &b).is_empty());
    // A closID that is not a group name is refused first, whatever the host.
    b.config_mut()["linux"]["intelRdt"] = json!({"closID": "../x"});
    rt.run(&unique_id("rdt-bad"), &b)
        .assert_error_contains("linux.intelRdt.closID");
}

fn is_resctrl_mounted() -> bool {
    mountinfo().iter().any(|m| m.fstype == "resctrl")
}

// ---------------------------------------------------------------------------
// features
// ---------------------------------------------------------------------------

#[test]
fn features_reports_the_extras() {
    let rt = Runtime::new();
    let out = rt.exec(&["features"]);
    out.assert_success();
    let f: Value = serde_json::from_str(&out.stdout).unwrap();
    let l = &f["linux"];
    assert_eq!(l["mountExtensions"]["idmap"]["enabled"], true);
    assert_eq!(l["netDevices"]["enabled"], true);
    assert_eq!(l["intelRdt"]["enabled"], true);
    let modes: Vec<&str> = l["memoryPolicy"]["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(modes.contains(&"MPOL_WEIGHTED_INTERLEAVE"), "{modes:?}");
    let opts = f["mountOptions"].as_array().unwrap();
    assert!(opts.contains(&json!("idmap")) && opts.contains(&json!("ridmap")));
}
