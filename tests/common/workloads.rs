//! Containers that do one known thing, for the cgroup tests of both
//! versions (tests/cgroups.rs on this v1 host, tests/cgroups_v2.rs in the
//! VM): sleep under given resources, fork past a pids limit, eat memory
//! past a memory limit, tick a counter (to see a freeze), and `events`
//! watching one of them.

use super::*;
use serde_json::{Value, json};
use std::process::{Child, Stdio};

/// [`Bundle::sleeper`] with `linux.resources` set to `resources`.
pub fn sleeper_with(resources: Value) -> Bundle {
    let mut b = Bundle::sleeper();
    b.config_mut()["linux"]["resources"] = resources;
    b
}

/// A shell that starts 30 sleepers in the background (the forks refused
/// silently) under a pids limit of `limit`, then waits.
pub fn fork_loop(limit: i64) -> Bundle {
    let mut b = Bundle::new();
    b.set_args(&[
        "/bin/sh",
        "-c",
        "i=0; while [ $i -lt 30 ]; do /probe sleep 60 & i=$((i+1)); done 2>/dev/null; wait",
    ]);
    b.config_mut()["linux"]["resources"] = json!({"pids": {"limit": limit}});
    b
}

/// A shell (on a writable rootfs) that, half a second after it starts, runs
/// a dd reading 64 MiB into one buffer under a memory and memory+swap limit
/// of 32 MiB, and prints "survived" (to create.stdout) if it was not killed.
pub fn memory_hog() -> Bundle {
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    b.set_args(&[
        "/bin/sh",
        "-c",
        // One 64 MiB buffer filled by a single read of /dev/zero: over the
        // 32 MiB limit at kernel speed (a shell filling a variable took
        // most of a minute in the emulated VM when its host was busy).
        "sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1 && echo survived",
    ]);
    b.config_mut()["linux"]["resources"] = json!({"memory": {"limit": 33554432, "swap": 33554432}});
    b
}

/// A shell (on a writable rootfs) that writes a growing counter to
/// /tmp/tick every 20 ms; [`ticks`] reads it from the host.
pub fn ticker() -> Bundle {
    let mut b = Bundle::new();
    b.config_mut()["root"]["readonly"] = json!(false);
    b.set_args(&[
        "/bin/sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.02; done",
    ]);
    b
}

/// What a [`ticker`] wrote last ("" before it first did).
pub fn ticks(ticker: &Bundle) -> String {
    std::fs::read_to_string(ticker.rootfs().join("tmp/tick")).unwrap_or_default()
}

/// `events --interval 100ms ID` in the background, its stdout piped; it
/// ends when the container does. Read it with [`events_printed`].
pub fn spawn_events(rt: &Runtime, id: &str) -> Child {
    let mut ev = rt.cmd();
    ev.args(["events", "--interval", "100ms", id]);
    ev.stdout(Stdio::piped());
    ev.spawn()
        .unwrap_or_else(|e| panic!("spawn events {id}: {e}"))
}

/// Wait for an [`spawn_events`] child to end; its output and the events in
/// it (the lines that are JSON).
pub fn events_printed(child: Child) -> (String, Vec<Value>) {
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for events: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let events = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (text, events)
}
