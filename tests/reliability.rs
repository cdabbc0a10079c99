//! Reliability: husk killed at every step of create, start, exec and delete
//! (the HUSK_FAULT injection points) leaves nothing that `delete --force`
//! cannot clear; storms of parallel verbs on one id and on many ids never
//! corrupt state or leave a container no verb can clear; an older
//! state.json still works and a newer one is refused.

mod common;

use common::*;
use std::process::Stdio;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn sleeper() -> Bundle {
    let mut b = Bundle::new();
    b.set_args(&["/probe", "sleep", "inf"]);
    b
}

#[track_caller]
fn assert_clean(rt: &Runtime, id: &str, b: &Bundle) {
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
        let b = sleeper();
        b.sync_config();
        let id = unique_id("rel-crash");
        crash(
            &rt,
            point,
            &["create", "--bundle", b.path().to_str().unwrap(), &id],
            &b,
        );
        rt.delete_force(&id).assert_success();
        assert_clean(&rt, &id, &b);
        // The same id works again.
        let c = rt.create_ok(&id, &b);
        c.start().assert_success();
        c.delete_force().assert_success();
        assert_clean(&rt, &id, &b);
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
        let b = sleeper();
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
        assert_clean(&rt, &id, &b);
        drop(c);
    }
}

#[test]
fn many_verbs_on_one_id_at_once() {
    let rt = Runtime::new();
    let b = sleeper();
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
    assert_clean(&rt, &id, &b);
}

#[test]
fn parallel_creates_and_deletes_on_many_ids() {
    let rt = Runtime::new();
    let bundles: Vec<(String, Bundle)> = (0..24)
        .map(|_| (unique_id("rel-storm2"), sleeper()))
        .collect();
    for (_, b) in &bundles {
        b.sync_config();
    }
    std::thread::scope(|s| {
        for (id, b) in &bundles {
            let rt = &rt;
            s.spawn(move || {
                let mut cmd = rt.cmd();
                cmd.args(["create", "--bundle", b.path().to_str().unwrap(), id])
                    .stdin(Stdio::null());
                run_command_to_files(
                    cmd,
                    &b.path().join("create.stdout"),
                    &b.path().join("create.stderr"),
                    WAIT,
                )
                .assert_success();
                rt.delete_force(id).assert_success();
            });
        }
    });
    for (id, b) in &bundles {
        assert_clean(&rt, id, b);
    }
}

#[test]
fn an_older_state_file_still_works_and_a_newer_one_is_refused() {
    let rt = Runtime::new();
    let b = sleeper();
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
    let b = sleeper();
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
