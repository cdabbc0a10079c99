//! Reliability: husk killed at every step of create, start, exec and delete
//! (the HUSK_FAULT injection points) leaves nothing that `delete --force`
//! cannot clear; storms of parallel verbs on one id and on many ids never
//! corrupt state or leave a container no verb can clear; an older
//! state.json still works and a newer one is refused.

mod common;

use common::*;
use std::process::Stdio;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// [`assert_clean`], allowing [`WAIT`] for what is on its way out.
#[track_caller]
fn wait_clean(rt: &Runtime, id: &str, b: &Bundle) {
    let t0 = std::time::Instant::now();
    loop {
        let left = leftovers(rt, id, b);
        if left.is_empty() {
            return;
        }
        assert!(t0.elapsed() < WAIT, "{id} left behind: {left:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run a husk verb with a fault point armed; it must die by SIGKILL.
fn crash(rt: &Runtime, point: &str, args: &[&str], b: &Bundle) {
    let mut cmd = rt.cmd();
    cmd.env("HUSK_FAULT", point).args(args).stdin(Stdio::null());
    let out = run_command_to_files(
        cmd,
        &b.path().join("crash.stdout"),
        &b.path().join("crash.stderr"),
        WAIT,
    );
    assert_eq!(
        out.code(),
        Some(137),
        "{point}: husk did not die there: {}",
        out.describe()
    );
}

#[test]
fn a_crash_at_any_step_is_cleared_by_delete_force() {
    let rt = Runtime::new();
    for point in [
        "create:after-state",
        "create:after-cgroup",
        "create:after-spawn",
        "create:after-bootstrap",
        "create:after-save",
    ] {
        let b = Bundle::sleeper();
        b.sync_config();
        let id = unique_id("rel-crash");
        crash(
            &rt,
            point,
            &["create", "--bundle", b.path().to_str().unwrap(), &id],
            &b,
        );
        rt.delete_force(&id).assert_success();
        wait_clean(&rt, &id, &b);
        // The same id works again.
        let c = rt.create_ok(&id, &b);
        c.start().assert_success();
        c.delete_force().assert_success();
        wait_clean(&rt, &id, &b);
    }
}

#[test]
fn a_crash_in_start_exec_or_delete_is_cleared_by_delete_force() {
    let rt = Runtime::new();
    for point in [
        "start:after-release",
        "exec:after-spawn",
        "exec:after-pid",
        "delete:after-kill",
        "delete:after-cgroup",
    ] {
        let b = Bundle::sleeper();
        let id = unique_id("rel-crash2");
        let c = rt.create_ok(&id, &b);
        let verb = point.split(':').next().unwrap();
        match verb {
            "start" => crash(&rt, point, &["start", &id], &b),
            "exec" => {
                c.start().assert_success();
                crash(
                    &rt,
                    point,
                    &["exec", "-d", &id, "/probe", "sleep", "inf"],
                    &b,
                );
            }
            _ => {
                c.start().assert_success();
                crash(&rt, point, &["delete", "--force", &id], &b);
            }
        }
        rt.delete_force(&id).assert_success();
        wait_clean(&rt, &id, &b);
        drop(c);
    }
}

#[test]
fn many_verbs_on_one_id_at_once() {
    let rt = Runtime::new();
    let b = Bundle::sleeper();
    let id = unique_id("rel-storm1");
    let c = rt.create_ok(&id, &b);
    let pid = c.pid();
    std::thread::scope(|s| {
        for i in 0..12 {
            let rt = &rt;
            let id = id.as_str();
            s.spawn(move || {
                let verb: &[&str] = match i % 6 {
                    0 => &["start", id],
                    1 => &["state", id],
                    2 => &["kill", id, "0"],
                    3 => &["exec", id, "/probe", "exit", "0"],
                    4 => &["list", "-f", "json"],
                    _ => &["ps", "-f", "json", id],
                };
                let out = rt.exec(verb);
                // Whatever the outcome, a failure is one clean error line.
                if !out.success() {
                    out.assert_error();
                }
            });
        }
    });
    // state.json is still whole, and names the same init.
    let st = c.state().unwrap();
    assert_eq!(st["pid"].as_i64(), Some(i64::from(pid)));
    c.delete_force().assert_success();
    assert!(wait_pid_gone(pid, WAIT));
    wait_clean(&rt, &id, &b);
}

/// Counts a finished thread when dropped, by a panic too (so that the
/// watcher of the storm below always ends).
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Step 10: many ids at once. Every thread creates a real container, checks
/// its state and force-deletes it, all threads released together; meanwhile
/// `list` reads every state.json as it is being written and removed. No
/// state.json is ever seen half-written, and nothing is left on the host.
#[test]
fn parallel_creates_and_deletes_on_many_ids() {
    const IDS: usize = 100;
    let t0 = Instant::now();
    let rt = Runtime::new();
    // A bundle each, on one read-only rootfs: 100 copies of the template
    // took from 2 s to 50 s, as other work loaded the disk.
    let base = Bundle::sleeper();
    let bundles: Vec<(String, Bundle)> = (0..IDS)
        .map(|_| {
            let b = Bundle::sharing_rootfs(base.config().clone(), &base.rootfs());
            (unique_id("rel-storm2"), b)
        })
        .collect();
    let setup = t0.elapsed();
    let go = Barrier::new(IDS + 1);
    let done = AtomicUsize::new(0);
    let t1 = Instant::now();
    std::thread::scope(|s| {
        for (id, b) in &bundles {
            let (rt, go, done) = (&rt, &go, &done);
            s.spawn(move || {
                go.wait();
                let _finished = Finished(done);
                let mut cmd = rt.cmd();
                cmd.args(["create", "--bundle", b.path().to_str().unwrap(), id])
                    .stdin(Stdio::null());
                run_command_to_files(
                    cmd,
                    &b.path().join("create.stdout"),
                    &b.path().join("create.stderr"),
                    command_timeout(),
                )
                .assert_success();
                let st = rt.state(id).unwrap_or_else(|e| panic!("state {id}: {e}"));
                assert_eq!(st["id"], id.as_str(), "{st}");
                assert_eq!(st["status"], "created", "{st}");
                rt.delete_force(id).assert_success();
            });
        }
        // While the storm runs, every state.json there is must parse whole
        // (husk skips unreadable ones in `list`, so they are read here too),
        // and `list` must never fail on containers coming and going.
        let (rt, go, done) = (&rt, &go, &done);
        s.spawn(move || {
            go.wait();
            let (mut rounds, mut files) = (0, 0);
            while done.load(Ordering::SeqCst) < IDS {
                for id in rt.root_entries() {
                    let f = rt.state_dir(&id).join("state.json");
                    let Ok(text) = std::fs::read(&f) else {
                        continue;
                    };
                    let v: serde_json::Value = serde_json::from_slice(&text)
                        .unwrap_or_else(|e| panic!("{} is not whole ({e}): {text:?}", f.display()));
                    assert_eq!(v["id"], id.as_str(), "{}", f.display());
                    files += 1;
                }
                let v = rt.list_json().unwrap_or_else(|e| panic!("list: {e}"));
                for c in v.as_array().into_iter().flatten() {
                    assert!(
                        c["id"]
                            .as_str()
                            .is_some_and(|i| i.starts_with("rel-storm2-")),
                        "list: {c}"
                    );
                }
                rounds += 1;
            }
            eprintln!("{rounds} rounds of list and {files} state.json files read during the storm");
        });
    });
    let storm = t1.elapsed();
    let t2 = Instant::now();
    for (id, b) in &bundles {
        wait_clean(&rt, id, b);
    }
    // No process lives in, and nothing is mounted on, the shared rootfs.
    wait_clean(&rt, "", &base);
    assert_eq!(rt.root_entries(), Vec::<String>::new());
    let checks = t2.elapsed();
    eprintln!("{IDS} ids: bundles {setup:?}, creates+deletes {storm:?}, leak checks {checks:?}");
}

#[test]
fn an_older_state_file_still_works_and_a_newer_one_is_refused() {
    let rt = Runtime::new();
    let b = Bundle::sleeper();
    // A live process stands in for the container's init.
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = child.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start: u64 = stat[stat.rfind(')').unwrap() + 2..]
        .split(' ')
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let id = unique_id("rel-old");
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state-v1-0.1.json"
    ))
    .unwrap();
    let text = fixture
        .replace("__ID__", &id)
        .replace("__PID__", &pid.to_string())
        .replace("__START__", &start.to_string())
        .replace("__BUNDLE__", b.path().to_str().unwrap());
    std::fs::create_dir_all(rt.state_dir(&id)).unwrap();
    std::fs::write(rt.state_dir(&id).join("state.json"), &text).unwrap();
    let st = rt.state(&id).unwrap();
    assert_eq!(st["status"], "running");
    rt.exec(&["kill", &id, "KILL"]).assert_success();
    let _ = child.wait();
    rt.delete(&id).assert_success();
    assert!(!rt.state_dir(&id).exists());

    let id2 = unique_id("rel-new");
    std::fs::create_dir_all(rt.state_dir(&id2)).unwrap();
    let newer = text
        .replace("\"version\":1", "\"version\":99")
        .replace(&id, &id2);
    std::fs::write(rt.state_dir(&id2).join("state.json"), newer).unwrap();
    rt.exec(&["state", &id2])
        .assert_error_contains("newer than this husk understands");
    let _ = std::fs::remove_dir_all(rt.state_dir(&id2));
}

#[test]
fn a_reused_pid_is_never_signalled() {
    let rt = Runtime::new();
    let b = Bundle::sleeper();
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = child.id();
    let id = unique_id("rel-reuse");
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/state-v1-0.1.json"
    ))
    .unwrap();
    // The recorded start time is not this process's: it is a reused pid.
    let text = fixture
        .replace("__ID__", &id)
        .replace("__PID__", &pid.to_string())
        .replace("__START__", "1")
        .replace("__BUNDLE__", b.path().to_str().unwrap());
    std::fs::create_dir_all(rt.state_dir(&id)).unwrap();
    std::fs::write(rt.state_dir(&id).join("state.json"), &text).unwrap();
    assert_eq!(rt.state(&id).unwrap()["status"], "stopped");
    rt.exec(&["kill", &id, "KILL"])
        .assert_error_contains("not running");
    rt.delete_force(&id).assert_success();
    assert!(
        pid_alive(pid as i32),
        "husk signalled a process that was not the container's"
    );
    let _ = child.kill();
    let _ = child.wait();
}
