//! Idmapped bind mounts: a mount's `uidMappings`/`gidMappings` and the
//! `idmap`/`ridmap` options, with runc's semantics:
//!
//! * mappings on a mount (or either option) make it id-mapped; only bind
//!   mounts may be, and mappings come in pairs (uid and gid);
//! * `idmap`/`ridmap` without mappings take the container's user
//!   namespace: its `linux.uidMappings`/`gidMappings` when it is new, the
//!   namespace itself when it is joined by path; without a user namespace
//!   that is an error;
//! * a mapping reads as a uid_map line: a file owned by `containerID + k` on
//!   disk shows as `hostID + k` through the mount (so the container's own
//!   user namespace, mapping the same way, sees it as `containerID + k`);
//! * `rbind` clones the whole tree; `ridmap` maps every mount in it, `idmap`
//!   only the top one.
//!
//! The mapped tree is made by the init while it still has the host's
//! privileges (before any namespace: MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN
//! over the filesystem), as runc's parent does: `open_tree(OPEN_TREE_CLONE)`
//! of the source, a user namespace with the mappings (a child that
//! unshares one, whose maps are written and whose `ns/user` is opened,
//! shared by mounts with equal mappings), `mount_setattr(MOUNT_ATTR_IDMAP)`.
//! `rootfs` later attaches the detached tree at the destination with
//! `move_mount`, inside the container's mount namespace.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};

use super::mountopts;
use super::namespaces::id_map_text;
use super::procfs::ProcFs;
use crate::error::{Error, Result};
use crate::sys;

/// Where the id mapping of a mount comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Userns {
    /// A new user namespace with these uid_map and gid_map texts.
    Maps { uid: String, gid: String },
    /// The container's user namespace, joined by this path.
    Path(PathBuf),
}

/// One id-mapped mount, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Index in `mounts`.
    pub index: usize,
    /// Absolute source path on the host.
    pub source: PathBuf,
    /// `rbind`: clone the whole tree.
    pub rec_tree: bool,
    /// `ridmap`: map every mount of the tree.
    pub rec_map: bool,
    pub userns: Userns,
}

fn nonempty(m: &Option<Vec<LinuxIdMapping>>) -> Option<&[LinuxIdMapping]> {
    m.as_deref().filter(|v| !v.is_empty())
}

/// Whether a mount asks for an id mapping at all.
pub fn is_idmapped(m: &Mount) -> bool {
    let opts = mountopts::parse(m.options().as_deref().unwrap_or_default());
    m.uid_mappings().is_some() || m.gid_mappings().is_some() || opts.idmap.is_some()
}

/// The plan for mount `i`, or `None` when it is not id-mapped. Errors name
/// the field.
pub fn plan_mount(spec: &Spec, bundle: &Path, i: usize, m: &Mount) -> Result<Option<Plan>> {
    if !is_idmapped(m) {
        return Ok(None);
    }
    let field = |k: &str| format!("mounts[{i}]{k}");
    let opts = mountopts::parse(m.options().as_deref().unwrap_or_default());
    if !(opts.is_bind() || m.typ().as_deref() == Some("bind")) {
        return Err(Error::config(
            field(""),
            "id-mapped mounts are only supported for bind mounts",
        ));
    }
    let source = m
        .source()
        .as_deref()
        .filter(|s| !s.as_os_str().is_empty())
        .ok_or_else(|| Error::config(field(".source"), "an id-mapped bind mount needs a source"))?;
    let source = if source.is_absolute() {
        source.to_path_buf()
    } else {
        bundle.join(source)
    };
    let (uids, gids) = (nonempty(m.uid_mappings()), nonempty(m.gid_mappings()));
    let userns = match (uids, gids) {
        (Some(u), Some(g)) => {
            for (k, maps) in [(".uidMappings", u), (".gidMappings", g)] {
                if maps.iter().any(|x| x.size() == 0) {
                    return Err(Error::config(field(k), "a mapping of size 0 maps nothing"));
                }
            }
            Userns::Maps {
                uid: id_map_text(u),
                gid: id_map_text(g),
            }
        }
        (None, None) if m.uid_mappings().is_none() && m.gid_mappings().is_none() => {
            container_userns(spec).ok_or_else(|| {
                Error::config(
                    field(".uidMappings"),
                    "\"idmap\" without uidMappings and gidMappings takes the container's user namespace, and there is none in linux.namespaces",
                )
            })?
        }
        _ => {
            return Err(Error::config(
                field(".uidMappings"),
                "id-mapped mounts need both uidMappings and gidMappings",
            ));
        }
    };
    let (rec_tree, rec_map) = (
        opts.flags.contains(nix::mount::MsFlags::MS_REC),
        opts.idmap == Some(true),
    );
    Ok(Some(Plan {
        index: i,
        source,
        rec_tree,
        rec_map,
        userns,
    }))
}

/// The container's own user namespace, as an id mapping source.
fn container_userns(spec: &Spec) -> Option<Userns> {
    let linux = spec.linux().as_ref()?;
    let user = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User)?;
    if let Some(p) = user.path() {
        return Some(Userns::Path(p.clone()));
    }
    Some(Userns::Maps {
        uid: id_map_text(nonempty(linux.uid_mappings())?),
        gid: id_map_text(nonempty(linux.gid_mappings())?),
    })
}

/// Every id-mapped mount of the config.
pub fn plan(spec: &Spec, bundle: &Path) -> Result<Vec<Plan>> {
    let mut v = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if let Some(p) = plan_mount(spec, bundle, i, m)? {
            v.push(p);
        }
    }
    Ok(v)
}

/// The detached, id-mapped trees, by mount index, waiting for `rootfs`.
#[derive(Debug, Default)]
pub struct Prepared {
    trees: BTreeMap<usize, OwnedFd>,
}

impl Prepared {
    /// The tree for mount `i`, if it is id-mapped (taken: attach it once).
    pub fn take(&mut self, i: usize) -> Option<OwnedFd> {
        self.trees.remove(&i)
    }
}

/// Make the id-mapped trees, with the host's privileges (before any
/// namespace is entered).
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Prepared> {
    let plans = plan(spec, bundle)?;
    let mut out = Prepared::default();
    if plans.is_empty() {
        return Ok(out);
    }
    let proc = ProcFs::open()?;
    let mut namespaces: Vec<(Userns, OwnedFd)> = Vec::new();
    for p in plans {
        let field = format!("mounts[{}]", p.index);
        let userns = match namespaces.iter().find(|(u, _)| *u == p.userns) {
            Some((_, fd)) => fd
                .try_clone()
                .map_err(|e| crate::error::io_err("dup", "user namespace", e).context(&field))?,
            None => {
                let fd = open_userns(&proc, &p.userns).map_err(|e| e.context(&field))?;
                let keep = fd.try_clone().map_err(|e| {
                    crate::error::io_err("dup", "user namespace", e).context(&field)
                })?;
                namespaces.push((p.userns.clone(), keep));
                fd
            }
        };
        let tree = mapped_tree(&p, userns.as_fd()).map_err(|e| e.context(&field))?;
        out.trees.insert(p.index, tree);
    }
    Ok(out)
}

/// A clone of the source's mount tree with the id mapping set.
fn mapped_tree(p: &Plan, userns: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd> {
    let src = nix::fcntl::open(
        &p.source,
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", &p.source, e))?;
    let mut flags = sys::OPEN_TREE_CLONE;
    if p.rec_tree {
        flags |= sys::AT_RECURSIVE;
    }
    let tree = sys::open_tree(src.as_fd(), Path::new(""), flags)
        .map_err(|e| Error::sys("open_tree", &p.source, e))?;
    crate::sysx::mount_setattr_idmap(tree.as_fd(), userns, p.rec_map).map_err(|e| {
        let hint = if e == nix::errno::Errno::EINVAL {
            " (does the filesystem support idmapped mounts on this kernel?)"
        } else {
            ""
        };
        Error::Msg(format!(
            "mount_setattr MOUNT_ATTR_IDMAP {}: {}{hint}",
            p.source.display(),
            crate::error::errno_text(e)
        ))
    })?;
    Ok(tree)
}

/// A descriptor of a user namespace: the joined one, or a new one with the maps.
fn open_userns(proc: &ProcFs, u: &Userns) -> Result<OwnedFd> {
    match u {
        Userns::Path(path) => {
            let fd = nix::fcntl::open(
                path,
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| Error::sys("open", path, e))?;
            check_userns(fd.as_fd(), path)?;
            Ok(fd)
        }
        Userns::Maps { uid, gid } => new_userns(proc, uid, gid),
    }
}

fn check_userns(fd: std::os::fd::BorrowedFd<'_>, what: &Path) -> Result<()> {
    match sys::ns_type(fd) {
        Ok(t) if t == libc::CLONE_NEWUSER => Ok(()),
        _ => Err(Error::Msg(format!(
            "{} is not a user namespace",
            what.display()
        ))),
    }
}

/// A user namespace with the given maps: a child unshares one and waits;
/// we write its maps, open its `ns/user`, and let it go. The init is
/// single-threaded here, so forking is safe.
fn new_userns(proc: &ProcFs, uid_map: &str, gid_map: &str) -> Result<OwnedFd> {
    let (ready_r, ready_w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::call("pipe", e))?;
    let (hold_r, hold_w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::call("pipe", e))?;
    let child = match sys::fork().map_err(|e| Error::call("fork", e))? {
        None => {
            drop((ready_r, hold_w));
            let ok = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).is_ok();
            let _ = nix::unistd::write(&ready_w, &[u8::from(ok)]);
            // Stay until the parent is done with our namespace (its end closes).
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&hold_r, &mut b);
            std::process::exit(0);
        }
        Some(pid) => pid,
    };
    drop((ready_w, hold_r));
    let result = (|| {
        let mut b = [0u8; 1];
        match nix::unistd::read(&ready_r, &mut b) {
            Ok(1) if b[0] == 1 => {}
            _ => {
                return Err(Error::Msg(
                    "unshare a user namespace for an id-mapped mount failed".into(),
                ));
            }
        }
        proc.write(&format!("{child}/uid_map"), uid_map)?;
        proc.write(&format!("{child}/gid_map"), gid_map)?;
        // ns/user leads to another filesystem (nsfs), which the private
        // procfs's scoped lookups refuse: open its directory through them,
        // then the link itself; the type is checked on the result.
        let dir = proc.open_file(
            &format!("{child}/ns"),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            false,
        )?;
        let fd = nix::fcntl::openat(
            &dir,
            "user",
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Error::sys("open", format!("/proc/{child}/ns/user"), e))?;
        check_userns(fd.as_fd(), Path::new("ns/user"))?;
        Ok(fd)
    })();
    drop(hold_w);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> Spec {
        crate::spec::parse(v.to_string().as_bytes()).unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}]},
            "mounts": []
        })
    }

    fn map(c: u32, h: u32, s: u32) -> serde_json::Value {
        serde_json::json!([{"containerID": c, "hostID": h, "size": s}])
    }

    #[test]
    fn explicit_mappings_without_userns() {
        let mut v = base();
        v["mounts"] = serde_json::json!([
            {"destination": "/a", "source": "src", "options": ["rbind", "ridmap"],
             "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 200000, 10)},
            {"destination": "/b", "source": "/x", "type": "bind"}
        ]);
        let p = plan(&spec(v), Path::new("/bundle")).unwrap();
        assert_eq!(
            p,
            vec![Plan {
                index: 0,
                source: PathBuf::from("/bundle/src"),
                rec_tree: true,
                rec_map: true,
                userns: Userns::Maps {
                    uid: "0 100000 65536\n".into(),
                    gid: "0 200000 10\n".into()
                },
            }]
        );
    }

    #[test]
    fn idmap_option_takes_the_containers_userns() {
        let mut v = base();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "user"}]);
        v["linux"]["uidMappings"] = map(0, 1000, 10);
        v["linux"]["gidMappings"] = map(0, 2000, 10);
        v["mounts"] = serde_json::json!([{"destination": "/a", "source": "/s", "options": ["bind", "idmap"]}]);
        let p = plan(&spec(v.clone()), Path::new("/")).unwrap();
        assert_eq!(
            p[0].userns,
            Userns::Maps {
                uid: "0 1000 10\n".into(),
                gid: "0 2000 10\n".into()
            }
        );
        assert!(!p[0].rec_map && !p[0].rec_tree);
        v["linux"]["namespaces"] =
            serde_json::json!([{"type": "mount"}, {"type": "user", "path": "/proc/1/ns/user"}]);
        v["linux"]["uidMappings"] = serde_json::Value::Null;
        v["linux"]["gidMappings"] = serde_json::Value::Null;
        let p = plan(&spec(v), Path::new("/")).unwrap();
        assert_eq!(p[0].userns, Userns::Path("/proc/1/ns/user".into()));
    }

    #[test]
    fn refusals_name_the_field() {
        let err = |mounts: serde_json::Value| {
            let mut v = base();
            v["mounts"] = mounts;
            plan(&spec(v), Path::new("/")).unwrap_err().to_string()
        };
        let e = err(
            serde_json::json!([{"destination": "/a", "source": "tmpfs", "type": "tmpfs", "options": ["idmap"]}]),
        );
        assert!(
            e.starts_with("mounts[0]: id-mapped mounts are only supported for bind"),
            "{e}"
        );
        let e = err(
            serde_json::json!([{"destination": "/a", "source": "/s", "options": ["bind"], "uidMappings": map(0, 1, 1)}]),
        );
        assert!(
            e.starts_with("mounts[0].uidMappings: id-mapped mounts need both"),
            "{e}"
        );
        let e = err(
            serde_json::json!([{"destination": "/a", "source": "/s", "options": ["bind", "idmap"]}]),
        );
        assert!(e.contains("there is none in linux.namespaces"), "{e}");
        let e = err(
            serde_json::json!([{"destination": "/a", "source": "/s", "options": ["bind"],
            "uidMappings": map(0, 1, 0), "gidMappings": map(0, 1, 1)}]),
        );
        assert!(
            e.starts_with("mounts[0].uidMappings: a mapping of size 0"),
            "{e}"
        );
    }
}
