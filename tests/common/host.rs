//! Host-side mounts and snapshots for the rootfs and security tests: make a
//! mount on the host (under a bundle, so that [`remove_tree`] takes it down),
//! and record the host's mount table or a directory tree before and after a
//! container ran, to prove nothing changed outside the rootfs.

use super::*;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// mount(2) on the host; panics with the path on failure.
#[track_caller]
pub fn host_mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) {
    let src = source.map(c_path);
    let tgt = c_path(target);
    let typ = fstype.map(|t| CString::new(t).unwrap_or_else(|e| panic!("{e}")));
    let dat = data.map(|d| CString::new(d).unwrap_or_else(|e| panic!("{e}")));
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is null or a valid C string that outlives the call.
    let r = unsafe { libc::mount(ptr(&src), tgt.as_ptr(), ptr(&typ), flags, ptr(&dat).cast()) };
    if r != 0 {
        panic!(
            "host mount {:?} on {} ({fstype:?}, {flags:#x}, {data:?}): {}",
            source,
            target.display(),
            std::io::Error::last_os_error()
        );
    }
}

/// A fresh tmpfs at `target` (created if missing) on the host.
#[track_caller]
pub fn host_tmpfs(target: &Path) {
    fs::create_dir_all(target).unwrap_or_else(|e| panic!("mkdir {}: {e}", target.display()));
    host_mount(
        Some(Path::new("tmpfs")),
        target,
        Some("tmpfs"),
        0,
        Some("size=1m"),
    );
}

/// Make `dir` a mount point of its own (bind onto itself) with a shared
/// peer group, so that later host mounts below it propagate to its copies.
#[track_caller]
pub fn host_make_shared_mountpoint(dir: &Path) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    host_mount(Some(dir), dir, None, libc::MS_BIND, None);
    host_mount(None, dir, None, libc::MS_PRIVATE, None);
    host_mount(None, dir, None, libc::MS_SHARED, None);
}

/// The host's mount table as a sorted list of "mount_point fstype source root"
/// lines (ids left out, so two snapshots compare equal when nothing changed).
pub fn host_mount_table() -> Vec<String> {
    let mut v: Vec<String> = mountinfo()
        .into_iter()
        .map(|m| format!("{} {} {} {}", m.mount_point, m.fstype, m.source, m.root))
        .collect();
    v.sort();
    v
}

/// Host mounts that appeared between two [`host_mount_table`] snapshots.
pub fn new_host_mounts(before: &[String], after: &[String]) -> Vec<String> {
    after
        .iter()
        .filter(|m| !before.contains(m))
        .cloned()
        .collect()
}

/// What a file system entry looks like, for before/after comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySnapshot {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
    /// File content, symlink target, or nothing.
    pub data: Vec<u8>,
}

fn snapshot_entry(p: &Path) -> Option<EntrySnapshot> {
    let md = fs::symlink_metadata(p).ok()?;
    let ft = md.file_type();
    let (kind, data) = if ft.is_symlink() {
        (
            "symlink",
            fs::read_link(p)
                .map(|t| t.as_os_str().as_bytes().to_vec())
                .unwrap_or_default(),
        )
    } else if ft.is_dir() {
        ("dir", Vec::new())
    } else if ft.is_file() {
        ("file", fs::read(p).unwrap_or_default())
    } else {
        ("other", Vec::new())
    };
    Some(EntrySnapshot {
        kind,
        mode: md.mode(),
        uid: md.uid(),
        gid: md.gid(),
        ino: md.ino(),
        data,
    })
}

/// Every entry at and below `dir` (not following symlinks, not crossing into
/// other mounts' content beyond what read_dir shows), keyed by path.
pub fn snapshot_tree(dir: &Path) -> BTreeMap<PathBuf, EntrySnapshot> {
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, EntrySnapshot>) {
        let Some(e) = snapshot_entry(p) else { return };
        let is_dir = e.kind == "dir";
        out.insert(p.to_path_buf(), e);
        if is_dir && let Ok(rd) = fs::read_dir(p) {
            for c in rd.filter_map(Result::ok) {
                walk(&c.path(), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// Human list of differences between two [`snapshot_tree`]s (empty: same).
pub fn tree_changes(
    before: &BTreeMap<PathBuf, EntrySnapshot>,
    after: &BTreeMap<PathBuf, EntrySnapshot>,
) -> Vec<String> {
    let mut v = Vec::new();
    for (p, a) in after {
        match before.get(p) {
            None => v.push(format!("created {} ({})", p.display(), a.kind)),
            Some(b) if b != a => v.push(format!("changed {}: {b:?} -> {a:?}", p.display())),
            _ => {}
        }
    }
    for p in before.keys() {
        if !after.contains_key(p) {
            v.push(format!("removed {}", p.display()));
        }
    }
    v
}
