//! Cgroups: where the container's cgroup is, and a small manager that
//! creates it, places processes in it and removes it. Step 1 applies only
//! the device rules (v1); every other resource comes with steps 5 and 6.

pub mod bpf;
pub mod devices;
pub mod join;
pub mod plan;
pub mod stats;
pub mod v1;
pub mod v2;

use std::fs;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;

use crate::error::{Error, Result, io_err};
use crate::state::CgroupState;

/// The parent cgroup of containers whose cgroupsPath is relative or absent.
pub const DEFAULT_PARENT: &str = "husk";

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount_point: PathBuf,
    /// The path inside the hierarchy that is the mount's root (usually "/").
    pub root: String,
    /// Controllers of a v1 hierarchy (`name=systemd` included); empty for cgroup2.
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// Parse /proc/self/mountinfo for cgroup hierarchies.
pub fn parse_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let (root, mp) = (pre[3], unescape(pre[4]));
        match post[0] {
            "cgroup2" => out.push(Hierarchy {
                mount_point: mp.into(),
                root: root.to_string(),
                controllers: Vec::new(),
                v2: true,
            }),
            "cgroup" => {
                let controllers = post[2]
                    .split(',')
                    .filter(|o| {
                        !matches!(*o, "rw" | "ro")
                            && !o.starts_with("release_agent")
                            && *o != "clone_children"
                            && *o != "noprefix"
                            && *o != "xattr"
                            && *o != "cpuset_v2_mode"
                    })
                    .map(str::to_string)
                    .collect();
                out.push(Hierarchy {
                    mount_point: mp.into(),
                    root: root.to_string(),
                    controllers,
                    v2: false,
                })
            }
            _ => {}
        }
    }
    // A hierarchy mounted twice is used once.
    let mut seen: Vec<(Vec<String>, bool)> = Vec::new();
    out.retain(|h| {
        let key = (h.controllers.clone(), h.v2);
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    out
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The hierarchies of this host, read once per process: the parent reads
/// them for the plan, the creation and the resources of one container, and
/// never changes its mount namespace. (The init, which does, calls
/// `read_hierarchies`.)
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    static HOST: std::sync::OnceLock<Vec<Hierarchy>> = std::sync::OnceLock::new();
    if let Some(h) = HOST.get() {
        return Ok(h.clone());
    }
    let h = read_hierarchies()?;
    Ok(HOST.get_or_init(|| h).clone())
}

/// The hierarchies mounted in this process's mount namespace now.
pub fn read_hierarchies() -> Result<Vec<Hierarchy>> {
    let mi = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| io_err("read", "/proc/self/mountinfo", e))?;
    Ok(parse_hierarchies(&mi))
}

/// Refuse a cgroupsPath husk cannot use: systemd's `slice:prefix:name` form
/// (no systemd driver yet) and `..` components that would leave the hierarchy.
pub fn check_path(p: &str) -> Result<()> {
    if p.contains(':') {
        return Err(Error::config(
            "linux.cgroupsPath",
            format!(
                "{p:?} is in systemd's slice:prefix:name form, and the systemd cgroup driver is not supported yet"
            ),
        ));
    }
    if Path::new(p).components().any(|c| c == Component::ParentDir) {
        return Err(Error::config(
            "linux.cgroupsPath",
            format!("{p:?} must not contain \"..\""),
        ));
    }
    Ok(())
}

/// The absolute cgroup path (from the hierarchy root) a container uses.
pub fn container_path(cgroups_path: Option<&str>, id: &str) -> String {
    let raw = match cgroups_path {
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(p) if !p.is_empty() => format!("/{DEFAULT_PARENT}/{p}"),
        _ => format!("/{DEFAULT_PARENT}/{id}"),
    };
    let clean: Vec<&str> = raw
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", clean.join("/"))
}

/// The directory of `path` in a hierarchy.
pub fn dir_in(h: &Hierarchy, path: &str) -> PathBuf {
    let rel = path
        .strip_prefix(h.root.trim_end_matches('/'))
        .unwrap_or(path);
    h.mount_point.join(rel.trim_start_matches('/'))
}

/// Create the container's cgroup in every hierarchy (v1, v2 or both on a hybrid host).
/// The directories `create` will make for `path`, without making them
/// (what an early state.json records, so a crash in between leaks nothing).
pub fn planned(path: &str) -> Result<CgroupState> {
    let dirs: Vec<PathBuf> = hierarchies()?.iter().map(|h| dir_in(h, path)).collect();
    let owned = dirs.iter().any(|d| !d.is_dir());
    Ok(CgroupState {
        path: path.to_string(),
        dirs,
        owned,
    })
}

pub fn create(path: &str) -> Result<CgroupState> {
    let mut st = CgroupState {
        path: path.to_string(),
        dirs: Vec::new(),
        owned: false,
    };
    for h in hierarchies()? {
        let dir = dir_in(&h, path);
        let existed = dir.is_dir();
        if let Err(e) = fs::create_dir_all(&dir) {
            let err = io_err("mkdir", &dir, e);
            let _ = remove(&st);
            return Err(err.context("create cgroup"));
        }
        if !existed {
            st.owned = true;
        } else if fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty()) {
            // Another container (or anything else) lives there: never share it.
            let _ = remove(&st);
            return Err(Error::config(
                "linux.cgroupsPath",
                format!("cgroup {} already has processes", dir.display()),
            ));
        }
        if h.v2
            && let Err(e) = enable_controllers(
                &h,
                &dir,
                &[
                    "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
                ],
            )
        {
            st.dirs.push(dir);
            let _ = remove(&st);
            return Err(e);
        }
        if h.controllers.iter().any(|c| c == "cpuset")
            && let Err(e) = init_cpuset(&h.mount_point, &dir)
        {
            st.dirs.push(dir);
            let _ = remove(&st);
            return Err(e);
        }
        st.dirs.push(dir);
    }
    Ok(st)
}

/// A new v1 cpuset cgroup has empty `cpuset.cpus` and `cpuset.mems` and takes
/// no task until they are set: copy them down from the nearest parent.
fn init_cpuset(mount_point: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(mount_point).unwrap_or(Path::new(""));
    let mut cur = mount_point.to_path_buf();
    for c in rel.components() {
        let parent = cur.clone();
        cur.push(c);
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let mine = cur.join(f);
            let v = fs::read_to_string(&mine).map_err(|e| io_err("read", &mine, e))?;
            if v.trim().is_empty() {
                let from = parent.join(f);
                let pv = fs::read_to_string(&from).map_err(|e| io_err("read", &from, e))?;
                fs::write(&mine, pv.trim()).map_err(|e| io_err("write", &mine, e))?;
            }
        }
    }
    Ok(())
}

/// Apply `linux.resources` (all but the device rules) to the container's cgroup.
/// With `update`, `memory.checkBeforeUpdate` is honoured.
pub fn apply(st: &CgroupState, r: &oci_spec::runtime::LinuxResources, update: bool) -> Result<()> {
    let hier = hierarchies()?;
    if is_pure_v2(&hier) {
        return apply_v2(&hier, st, r);
    }
    let mut plan = v1::plan(r)?;
    for w in &plan.warnings {
        log::warn!("{w}");
    }
    let dir_of = |controller: &str| -> Option<PathBuf> {
        hier.iter()
            .find(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
            .map(|h| dir_in(h, &st.path))
    };
    if update
        && let Some(m) = r.memory()
        && m.check_before_update() == Some(true)
        && let (Some(limit), Some(dir)) = (m.limit(), dir_of("memory"))
        && limit > 0
    {
        let usage: i64 = read_num(&dir.join("memory.usage_in_bytes")).unwrap_or(0);
        if limit < usage {
            return Err(Error::config(
                "linux.resources.memory.limit",
                format!("unable to set memory limit to {limit} (current usage: {usage})"),
            ));
        }
    }
    let memsw = dir_of("memory").and_then(|d| read_num(&d.join("memory.memsw.limit_in_bytes")));
    v1::order_memory(&mut plan.writes, memsw);
    for w in &plan.writes {
        let (dir, file) = match dir_of(w.controller) {
            Some(d) => (d, w.file.clone()),
            None if w.controller == "hugetlb" => match unified_hugetlb(&hier, &st.path)? {
                Some(d) => (d, w.file.replace(".limit_in_bytes", ".max")),
                None => {
                    log::warn!("hugetlb controller not available: {} not set", w.file);
                    continue;
                }
            },
            None => {
                log::warn!(
                    "{} controller not mounted: {} not set",
                    w.controller,
                    w.file
                );
                continue;
            }
        };
        let f = dir.join(&file);
        fs::write(&f, &w.value).map_err(|e| {
            io_err("write", &f, e).context(format!("linux.resources: set {file} to {}", w.value))
        })?;
    }
    Ok(())
}

/// A host whose every hierarchy is cgroup2 (no v1 controller mounted).
pub fn is_pure_v2(hier: &[Hierarchy]) -> bool {
    !hier.is_empty() && hier.iter().all(|h| h.v2)
}

/// Enable `controllers` (those the root offers) in `cgroup.subtree_control` of
/// every ancestor of `dir`, from the hierarchy root down.
fn enable_controllers(h: &Hierarchy, dir: &Path, controllers: &[&str]) -> Result<()> {
    let avail = fs::read_to_string(h.mount_point.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<&str> = controllers
        .iter()
        .copied()
        .filter(|c| avail.split_whitespace().any(|a| a == *c))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let rel = dir
        .strip_prefix(&h.mount_point)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let mut cur = h.mount_point.clone();
    for c in rel.components() {
        let ctl = cur.join("cgroup.subtree_control");
        let have = fs::read_to_string(&ctl).unwrap_or_default();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|w| !have.split_whitespace().any(|x| x == **w))
            .map(|w| format!("+{w}"))
            .collect();
        if !missing.is_empty() {
            fs::write(&ctl, missing.join(" "))
                .map_err(|e| io_err("write", &ctl, e).context("enable cgroup controllers"))?;
        }
        cur.push(c);
    }
    Ok(())
}

fn apply_v2(
    hier: &[Hierarchy],
    st: &CgroupState,
    r: &oci_spec::runtime::LinuxResources,
) -> Result<()> {
    let plan = v2::plan(r)?;
    for w in &plan.warnings {
        log::warn!("{w}");
    }
    let h = &hier[0];
    let dir = dir_in(h, &st.path);
    enable_controllers(h, &dir, &v2::controllers(&plan))?;
    for w in &plan.writes {
        let f = dir.join(&w.file);
        fs::write(&f, &w.value).map_err(|e| {
            io_err("write", &f, e)
                .context(format!("linux.resources: set {} to {}", w.file, w.value))
        })?;
    }
    Ok(())
}

/// Apply device rules: v1's devices.allow/deny, or an eBPF program on v2.
pub fn apply_devices(st: &CgroupState, rules: &[devices::Rule]) -> Result<()> {
    let hier = hierarchies()?;
    if is_pure_v2(&hier) {
        return bpf::apply(&dir_in(&hier[0], &st.path), rules);
    }
    match hier
        .iter()
        .find(|h| !h.v2 && h.controllers.iter().any(|c| c == "devices"))
    {
        Some(h) => devices::apply_v1(&dir_in(h, &st.path), rules),
        None => {
            log::warn!("no devices cgroup controller: device rules not applied");
            Ok(())
        }
    }
}

/// On a hybrid host hugetlb may live only in the cgroup2 tree: enable it down
/// the path and return the container's directory there.
fn unified_hugetlb(hier: &[Hierarchy], path: &str) -> Result<Option<PathBuf>> {
    let Some(u) = hier.iter().find(|h| h.v2) else {
        return Ok(None);
    };
    let root_ctl = fs::read_to_string(u.mount_point.join("cgroup.controllers")).unwrap_or_default();
    if !root_ctl.split_whitespace().any(|c| c == "hugetlb") {
        return Ok(None);
    }
    let target = dir_in(u, path);
    let mut cur = u.mount_point.clone();
    let rel = target
        .strip_prefix(&u.mount_point)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    for c in rel.components() {
        let ctl = cur.join("cgroup.subtree_control");
        let have = fs::read_to_string(&ctl).unwrap_or_default();
        if !have.split_whitespace().any(|c| c == "hugetlb") {
            fs::write(&ctl, "+hugetlb")
                .map_err(|e| io_err("write", &ctl, e).context("enable hugetlb"))?;
        }
        cur.push(c);
    }
    Ok(Some(target))
}

fn read_num(p: &Path) -> Option<i64> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// Remove the container's cgroup directories (waiting briefly for exiting tasks).
pub fn remove(st: &CgroupState) -> Result<()> {
    let mut last = Ok(());
    for dir in &st.dirs {
        let mut tries = 0;
        loop {
            match fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(Errno::EBUSY as i32) && tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => {
                    last = Err(io_err("rmdir", dir, e));
                    break;
                }
            }
        }
    }
    last
}

/// Pids in the container's cgroup (from the first hierarchy that lists them).
pub fn pids(st: &CgroupState) -> Vec<i32> {
    for dir in &st.dirs {
        if let Ok(s) = fs::read_to_string(dir.join("cgroup.procs")) {
            return s.lines().filter_map(|l| l.trim().parse().ok()).collect();
        }
    }
    Vec::new()
}

/// Send a signal to every process of the container's cgroup, with the
/// cgroup frozen meanwhile so that nothing forks away from the signal
/// (`cgroup.kill` on v2 for SIGKILL). Works when the container shares the
/// host's pid namespace, where killing the init alone would leave the rest.
pub fn signal_all(st: &CgroupState, sig: i32) -> Result<()> {
    // cgroup.kill only where every controller is v2: on a hybrid host the v1
    // freezer would keep the killed processes frozen.
    if sig == libc::SIGKILL
        && st.dirs.len() == 1
        && let Some(d) = st.dirs.iter().find(|d| d.join("cgroup.kill").exists())
        && fs::write(d.join("cgroup.kill"), "1").is_ok()
    {
        return Ok(());
    }
    let was_paused = is_frozen(st);
    let frozen = was_paused || freeze(st, true).is_ok();
    for pid in pids(st) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::try_from(sig).ok(),
        );
    }
    // A paused container stays paused, except that SIGKILL must be able to land.
    if frozen && (!was_paused || sig == libc::SIGKILL) {
        freeze(st, false)?;
    }
    Ok(())
}

/// Freeze or thaw the container's cgroup and wait until the kernel says it is done.
pub fn freeze(st: &CgroupState, on: bool) -> Result<()> {
    for d in &st.dirs {
        let v1 = d.join("freezer.state");
        if v1.exists() {
            let want = if on { "FROZEN" } else { "THAWED" };
            for _ in 0..1000 {
                fs::write(&v1, want).map_err(|e| io_err("write", &v1, e))?;
                if fs::read_to_string(&v1).is_ok_and(|s| s.trim() == want) {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            return Err(Error::Msg(format!(
                "{}: did not become {want}",
                v1.display()
            )));
        }
        let v2 = d.join("cgroup.freeze");
        if v2.exists() {
            fs::write(&v2, if on { "1" } else { "0" }).map_err(|e| io_err("write", &v2, e))?;
            let events = d.join("cgroup.events");
            let want = if on { "frozen 1" } else { "frozen 0" };
            for _ in 0..1000 {
                if fs::read_to_string(&events).is_ok_and(|s| s.lines().any(|l| l == want)) {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            return Err(Error::Msg(format!("{}: not {want}", events.display())));
        }
    }
    Err(Error::Msg("no freezer for this container's cgroup".into()))
}

/// Whether the container's cgroup is frozen (v1 freezer or v2 cgroup.freeze).
pub fn is_frozen(st: &CgroupState) -> bool {
    // One read where the v1 freezer is mounted (state and list ask this of
    // every container: no probing of the other nine controllers' files).
    if let Some(d) = v1_dir(st, "freezer") {
        return fs::read_to_string(d.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN");
    }
    st.dirs
        .iter()
        .any(|d| fs::read_to_string(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1"))
}

/// The hierarchy directory of one v1 controller, if the container has it.
pub fn v1_dir<'a>(st: &'a CgroupState, controller: &str) -> Option<&'a PathBuf> {
    st.dirs.iter().find(|d| {
        d.strip_prefix("/sys/fs/cgroup")
            .ok()
            .and_then(|r| r.components().next())
            .is_some_and(|c| {
                c.as_os_str()
                    .to_str()
                    .is_some_and(|s| s.split(',').any(|x| x == controller))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn parses_hybrid_mountinfo() {
        let h = parse_hierarchies(HYBRID);
        assert_eq!(h.len(), 4);
        assert_eq!(h[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(h[2].controllers, vec!["name=systemd"]);
        assert!(h[3].v2);
        assert_eq!(
            dir_in(&h[1], "/husk/a"),
            PathBuf::from("/sys/fs/cgroup/memory/husk/a")
        );
    }

    #[test]
    fn paths() {
        assert_eq!(container_path(None, "c1"), "/husk/c1");
        assert_eq!(container_path(Some("x/y"), "c1"), "/husk/x/y");
        assert_eq!(container_path(Some("/a//b/"), "c1"), "/a/b");
        assert!(check_path("system.slice:husk:c1").is_err());
        assert!(check_path("/a/../../b").is_err());
        assert!(check_path("/a/b").is_ok());
    }
}
