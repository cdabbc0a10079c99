//! `linux.intelRdt` through resctrl (Intel RDT, AMD QoS), as runc does:
//!
//! * the container's control group is `/sys/fs/resctrl/<closID>`, or
//!   `/sys/fs/resctrl/<container id>` without a closID; it is made when
//!   missing;
//! * `l3CacheSchema`, `memBwSchema` and the `schemata` lines are written to
//!   its `schemata` file (in that order: later lines win);
//! * `enableMonitoring` (or the deprecated `enableCMT`/`enableMBM`) adds a
//!   monitoring group `mon_groups/<container id>` in it;
//! * the init and every exec'd process are written to `tasks` (of the
//!   monitoring group when there is one, which also places them in its
//!   control group);
//! * `delete` removes the monitoring group, and the control group when it
//!   is the container's own (named by the container id); a closID group is
//!   shared or managed by someone else and stays;
//! * a `create` that fails removes what `apply` made for it ([`Made`]): the
//!   directories it created itself, never one that was there before and
//!   never a closID group (another container may have joined it meanwhile,
//!   and removing a resctrl group moves its tasks out).
//!
//! Without resctrl mounted at /sys/fs/resctrl the config is refused with an
//! error naming the field.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIntelRdt, Spec};

use crate::error::{Error, Result, io_err};

/// Where resctrl is mounted.
pub const RESCTRL: &str = "/sys/fs/resctrl";
/// RDTGROUP_SUPER_MAGIC.
const RDTGROUP_SUPER_MAGIC: nix::sys::statfs::FsType = nix::sys::statfs::FsType(0x7655821);

/// Whether resctrl is mounted at [`RESCTRL`].
pub fn mounted() -> bool {
    nix::sys::statfs::statfs(RESCTRL).is_ok_and(|s| s.filesystem_type() == RDTGROUP_SUPER_MAGIC)
}

/// What to do for a container, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The control group directory.
    pub group: PathBuf,
    /// Whether the group is the container's own (removed on delete).
    pub own_group: bool,
    /// Lines for the `schemata` file.
    pub schemata: Vec<String>,
    /// The monitoring group directory, if monitoring is enabled.
    pub monitor: Option<PathBuf>,
}

impl Plan {
    /// The directory whose `tasks` the container's processes go to.
    pub fn tasks_dir(&self) -> &Path {
        self.monitor.as_deref().unwrap_or(&self.group)
    }
}

#[allow(deprecated)] // enableCMT and enableMBM: still honoured, as runc does
fn monitoring(r: &LinuxIntelRdt) -> bool {
    r.enable_monitoring().unwrap_or(false)
        || r.enable_cmt().unwrap_or(false)
        || r.enable_mbm().unwrap_or(false)
}

/// The plan for container `id` under `root` (normally [`RESCTRL`]).
pub fn plan(r: &LinuxIntelRdt, id: &str, root: &Path) -> Result<Plan> {
    let (group, own_group) = match r.clos_id().as_deref().filter(|c| !c.is_empty()) {
        Some(c) => {
            if c == "." || c == ".." || c.contains('/') || c.contains('\n') {
                return Err(Error::config(
                    "linux.intelRdt.closID",
                    format!("{c:?} is not a valid resctrl group name"),
                ));
            }
            (root.join(c), false)
        }
        None => (root.join(id), true),
    };
    let mut schemata = Vec::new();
    for (field, v) in [
        ("l3CacheSchema", r.l3_cache_schema()),
        ("memBwSchema", r.mem_bw_schema()),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            if v.contains('\n') {
                return Err(Error::config(
                    format!("linux.intelRdt.{field}"),
                    "must be one line",
                ));
            }
            schemata.push(v.to_string());
        }
    }
    for (i, line) in r.schemata().iter().flatten().enumerate() {
        if line.contains('\n') {
            return Err(Error::config(
                format!("linux.intelRdt.schemata[{i}]"),
                "must be one line",
            ));
        }
        if !line.is_empty() {
            schemata.push(line.clone());
        }
    }
    let monitor = monitoring(r).then(|| group.join("mon_groups").join(id));
    Ok(Plan {
        group,
        own_group,
        schemata,
        monitor,
    })
}

/// Validation: the fields are well formed and the host has resctrl (and
/// the allocation a schema asks for).
pub fn check(r: &LinuxIntelRdt) -> Result<()> {
    plan(r, "check", Path::new(RESCTRL))?;
    if !mounted() {
        return Err(Error::config(
            "linux.intelRdt",
            format!(
                "resctrl is not mounted at {RESCTRL}: this host offers no Intel RDT (or AMD QoS) control"
            ),
        ));
    }
    let info = Path::new(RESCTRL).join("info");
    if r.l3_cache_schema()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        && !info.join("L3").exists()
        && !info.join("L3DATA").exists()
    {
        return Err(Error::config(
            "linux.intelRdt.l3CacheSchema",
            "the host's resctrl has no L3 cache allocation (CAT)",
        ));
    }
    if r.mem_bw_schema().as_deref().is_some_and(|s| !s.is_empty()) && !info.join("MB").exists() {
        return Err(Error::config(
            "linux.intelRdt.memBwSchema",
            "the host's resctrl has no memory bandwidth allocation (MBA)",
        ));
    }
    Ok(())
}

fn rdt_of(spec: &Spec) -> Option<&LinuxIntelRdt> {
    spec.linux().as_ref()?.intel_rdt().as_ref()
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| io_err("write", path, e).context("linux.intelRdt"))
}

/// Make a directory; whether this call made it (false: it was there).
fn mkdir(path: &Path) -> Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err("mkdir", path, e).context("linux.intelRdt")),
    }
}

/// The resctrl directories `apply` made for a container being created, so
/// that a `create` failing after it removes them again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Made(Vec<PathBuf>);

impl Made {
    /// Remove them, innermost first (best effort: on a failed create).
    pub fn remove(&mut self) {
        while let Some(d) = self.0.pop() {
            if let Err(e) = std::fs::remove_dir(&d) {
                log::warn!("linux.intelRdt: remove {}: {e}", d.display());
            }
        }
    }
}

/// Make the groups, write the schemata, and place `pid` (the init). What
/// it made goes into `made` as it is made, so that it is known even when a
/// later step fails.
pub fn apply(spec: &Spec, id: &str, pid: i32, made: &mut Made) -> Result<()> {
    let Some(r) = rdt_of(spec) else {
        return Ok(());
    };
    apply_at(r, id, pid, Path::new(RESCTRL), made)
}

fn apply_at(r: &LinuxIntelRdt, id: &str, pid: i32, root: &Path, made: &mut Made) -> Result<()> {
    let p = plan(r, id, root)?;
    // A closID group is shared: never the container's to remove.
    if mkdir(&p.group)? && p.own_group {
        made.0.push(p.group.clone());
    }
    if !p.schemata.is_empty() {
        let mut text = p.schemata.join("\n");
        text.push('\n');
        write(&p.group.join("schemata"), &text)?;
    }
    if let Some(m) = &p.monitor
        && mkdir(m)?
    {
        made.0.push(m.clone());
    }
    write(&p.tasks_dir().join("tasks"), &pid.to_string())
}

/// Place an exec'd process.
pub fn add_task(spec: &Spec, id: &str, pid: i32) -> Result<()> {
    let Some(r) = rdt_of(spec) else {
        return Ok(());
    };
    let p = plan(r, id, Path::new(RESCTRL))?;
    write(&p.tasks_dir().join("tasks"), &pid.to_string())
}

/// Remove what `apply` made for the container (best effort: on delete).
pub fn remove(spec: Option<&Spec>, id: &str) {
    let Some(r) = spec.and_then(rdt_of) else {
        return;
    };
    let Ok(p) = plan(r, id, Path::new(RESCTRL)) else {
        return;
    };
    if let Some(m) = &p.monitor {
        let _ = std::fs::remove_dir(m);
    }
    if p.own_group {
        let _ = std::fs::remove_dir(&p.group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(v: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn groups_schemata_and_monitoring() {
        let root = Path::new("/r");
        let p = plan(
            &rdt(
                serde_json::json!({"l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=50",
                "schemata": ["L2:0=3"], "enableMonitoring": true}),
            ),
            "ctr",
            root,
        )
        .unwrap();
        assert_eq!(
            p,
            Plan {
                group: "/r/ctr".into(),
                own_group: true,
                schemata: vec!["L3:0=f".into(), "MB:0=50".into(), "L2:0=3".into()],
                monitor: Some("/r/ctr/mon_groups/ctr".into()),
            }
        );
        assert_eq!(p.tasks_dir(), Path::new("/r/ctr/mon_groups/ctr"));
        let p = plan(&rdt(serde_json::json!({"closID": "gold"})), "ctr", root).unwrap();
        assert_eq!(
            (p.group.as_path(), p.own_group),
            (Path::new("/r/gold"), false)
        );
        assert_eq!(p.tasks_dir(), Path::new("/r/gold"));
        for bad in ["..", "a/b", "."] {
            let e = plan(&rdt(serde_json::json!({"closID": bad})), "c", root)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("linux.intelRdt.closID: "), "{e}");
        }
    }

    /// A scratch directory standing in for /sys/fs/resctrl.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let d = std::env::temp_dir().join(format!("husk-rdt-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn apply_records_only_what_it_made_for_the_container() {
        // The container's own group, made here: recorded.
        let s = Scratch::new("own");
        let mut made = Made::default();
        apply_at(&rdt(serde_json::json!({})), "ctr", 7, &s.0, &mut made).unwrap();
        assert_eq!(made, Made(vec![s.0.join("ctr")]));
        assert_eq!(std::fs::read_to_string(s.0.join("ctr/tasks")).unwrap(), "7");
        // The same group already there (left by someone else): not recorded.
        let mut made = Made::default();
        apply_at(&rdt(serde_json::json!({})), "ctr", 7, &s.0, &mut made).unwrap();
        assert_eq!(made, Made::default());

        // A closID group is never recorded, made here or not; the container's
        // monitoring group in it is.
        let s = Scratch::new("clos");
        let mut made = Made::default();
        apply_at(
            &rdt(serde_json::json!({"closID": "gold"})),
            "ctr",
            7,
            &s.0,
            &mut made,
        )
        .unwrap();
        assert!(s.0.join("gold").is_dir());
        assert_eq!(made, Made::default());
        std::fs::create_dir(s.0.join("gold/mon_groups")).unwrap();
        let r = rdt(serde_json::json!({"closID": "gold", "enableMonitoring": true}));
        let mut made = Made::default();
        apply_at(&r, "ctr", 7, &s.0, &mut made).unwrap();
        assert_eq!(made, Made(vec![s.0.join("gold/mon_groups/ctr")]));
        // resctrl's files are not real: rmdir takes a group with them.
        std::fs::remove_file(s.0.join("gold/mon_groups/ctr/tasks")).unwrap();
        made.remove();
        assert!(!s.0.join("gold/mon_groups/ctr").exists());
        assert!(s.0.join("gold").is_dir());
    }

    #[test]
    fn what_was_made_is_known_when_a_later_step_fails() {
        // No mon_groups in the new group (resctrl would have made one): the
        // monitoring group's mkdir fails after the control group was made.
        let s = Scratch::new("fail");
        let r = rdt(serde_json::json!({"enableMonitoring": true}));
        let mut made = Made::default();
        let e = apply_at(&r, "ctr", 7, &s.0, &mut made)
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.intelRdt"), "{e}");
        assert_eq!(made, Made(vec![s.0.join("ctr")]));
        made.remove();
        assert!(!s.0.join("ctr").exists());
        assert_eq!(made, Made::default());
    }

    #[test]
    fn remove_goes_innermost_first() {
        let s = Scratch::new("order");
        let (a, b) = (s.0.join("a"), s.0.join("a/mon_groups"));
        std::fs::create_dir_all(&b).unwrap();
        let mut made = Made(vec![a.clone(), b]);
        made.remove();
        assert!(!a.exists());
    }

    #[test]
    fn without_resctrl_the_field_is_named() {
        if mounted() {
            return;
        }
        let e = check(&rdt(serde_json::json!({"closID": "x"})))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("linux.intelRdt: resctrl is not mounted"),
            "{e}"
        );
    }
}
