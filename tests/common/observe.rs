//! Host-side observations: probe output, mountinfo, processes, cgroups, leftovers.

use super::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Observations
// ---------------------------------------------------------------------------

/// Parse the probe's JSON output (the first non-empty line, or the whole text).
#[track_caller]
pub fn probe_report(stdout: &str) -> Value {
    let text = stdout.trim();
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str(first)
        .unwrap_or_else(|e| panic!("probe output is not JSON ({e}): {stdout:?}"))
}

/// Parse every non-empty line as a JSON document (for `probe signals`).
#[track_caller]
pub fn probe_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// Namespace inode numbers of this (host-side) test process, keyed like the
/// probe's `namespaces` object.
pub fn host_namespaces() -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let mut m = BTreeMap::new();
    for ns in [
        "cgroup",
        "ipc",
        "mnt",
        "net",
        "pid",
        "pid_for_children",
        "time",
        "time_for_children",
        "user",
        "uts",
    ] {
        if let Ok(md) = fs::metadata(format!("/proc/self/ns/{ns}")) {
            m.insert(ns.to_string(), md.ino());
        }
    }
    m
}

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_id: u64,
    pub parent_id: u64,
    pub root: String,
    pub mount_point: String,
    pub options: String,
    pub fstype: String,
    pub source: String,
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's mount table.
pub fn mountinfo() -> Vec<MountInfo> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.splitn(3, ' ').collect();
            if pre.len() < 6 || post.len() < 2 {
                return None;
            }
            Some(MountInfo {
                mount_id: pre[0].parse().ok()?,
                parent_id: pre[1].parse().ok()?,
                root: unescape_mountinfo(pre[3]),
                mount_point: unescape_mountinfo(pre[4]),
                options: pre[5].to_string(),
                fstype: post[0].to_string(),
                source: unescape_mountinfo(post[1]),
            })
        })
        .collect()
}

/// True if `hay` contains `id` as a whole token (not followed or preceded by
/// an alphanumeric character), so "x-1-1" does not match "x-1-10".
fn contains_token(hay: &str, id: &str) -> bool {
    if id.is_empty() {
        return false;
    }
    let mut start = 0;
    while let Some(pos) = hay[start..].find(id) {
        let i = start + pos;
        let before = hay[..i].chars().next_back();
        let after = hay[i + id.len()..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
        if edge(before) && edge(after) {
            return true;
        }
        start = i + id.len();
    }
    false
}

/// Host processes that look like they belong to container `id` of `bundle`:
/// an argv or environment entry mentioning the id (as a token) or the bundle
/// path, a cgroup path mentioning the id, a cwd/root symlink inside the
/// bundle, or a root directory that *is* the bundle's rootfs (same dev/inode:
/// after pivot_root the symlink text is just "/"). Returns "pid: cmdline"
/// descriptions; this test process is excluded.
pub fn processes_of(id: &str, bundle: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let me = std::process::id().to_string();
    let bundle_s = bundle.to_string_lossy().into_owned();
    let rootfs_id = fs::metadata(bundle.join("rootfs"))
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let mentions = |s: &str| contains_token(s, id) || s.contains(&bundle_s);
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    };
    let mut found = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return found;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let dir = e.path();
        if is_zombie(&dir) {
            // Exited; only its parent can reap it. Orphaned container inits
            // are reparented to the host's PID 1, which may reap lazily (the
            // test VMs' init does), so zombies are not counted as leftovers.
            continue;
        }
        let args = split(fs::read(dir.join("cmdline")).unwrap_or_default());
        let env = split(fs::read(dir.join("environ")).unwrap_or_default());
        let cgroup = fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
        let hit = args.iter().any(|a| mentions(a))
            || env.iter().any(|a| mentions(a))
            || cgroup.lines().any(|l| contains_token(l, id))
            || ["cwd", "root"]
                .iter()
                .any(|l| fs::read_link(dir.join(l)).is_ok_and(|t| t.starts_with(bundle)))
            || rootfs_id.is_some_and(|rid| {
                fs::metadata(dir.join("root")).is_ok_and(|m| (m.dev(), m.ino()) == rid)
            });
        if hit {
            found.push(format!("{name}: {}", args.join(" ")));
        }
    }
    found
}

/// Cgroup directories (up to 6 levels below /sys/fs/cgroup) whose name
/// contains `id` as a token.
pub fn cgroups_of(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if contains_token(&e.file_name().to_string_lossy(), id) {
                out.push(p.clone());
            }
            if depth > 0 {
                walk(&p, id, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 5, &mut out);
    out
}

/// Everything container `id` of `bundle` may have left behind on the host:
/// its state dir under the runtime root, processes, cgroup dirs, and mounts
/// whose mount point or root mentions the bundle path. Empty means clean.
pub fn leftovers(rt: &Runtime, id: &str, bundle: &Bundle) -> Vec<String> {
    let mut v = Vec::new();
    if !id.is_empty() && rt.state_dir(id).exists() {
        v.push(format!("state dir {}", rt.state_dir(id).display()));
    }
    for p in processes_of(id, bundle.path()) {
        v.push(format!("process {p}"));
    }
    if !id.is_empty() {
        for c in cgroups_of(id) {
            v.push(format!("cgroup {}", c.display()));
        }
    }
    let bundle_s = bundle.path().to_string_lossy().into_owned();
    for m in mountinfo() {
        if m.mount_point.contains(&bundle_s) || m.root.contains(&bundle_s) {
            v.push(format!("mount {} (root {})", m.mount_point, m.root));
        }
    }
    v
}

/// Panic unless [`leftovers`] of container `id` of `bundle` is empty now.
#[track_caller]
pub fn assert_clean(rt: &Runtime, id: &str, bundle: &Bundle) {
    let left = leftovers(rt, id, bundle);
    assert!(left.is_empty(), "container {id:?} left behind: {left:#?}");
}

/// Poll every 20 ms until `cond` holds; panics naming `what` after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True if /proc/<pid> exists on the host.
pub fn pid_alive(pid: i32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// True if the process at `/proc/<pid>` (given as that dir) is a zombie or
/// already gone.
fn is_zombie(proc_dir: &Path) -> bool {
    match fs::read_to_string(proc_dir.join("stat")) {
        Err(_) => true,
        // the state is the field after the parenthesised comm
        Ok(s) => s
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// Poll (every 10 ms) until `/proc/<pid>` disappears or is a zombie.
pub fn wait_pid_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if is_zombie(Path::new(&format!("/proc/{pid}"))) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
