//! The container's filesystem view, in runc's order: propagation, the rootfs
//! bind, every entry of `mounts`, /dev, pivot_root; then (after pivot) the
//! read-only root, read-only and masked paths.
//!
//! Safety rules, each with the advisory that taught it:
//! * every target is resolved with `init::fs` inside the rootfs (symlinks
//!   and `..` never leave it) and mounted through its descriptor;
//! * procfs and sysfs go only on a real directory reached without a symlink
//!   (CVE-2019-16884, CVE-2023-28642), and the place a destination really
//!   resolves to is checked again: nothing but procfs at /proc and nothing
//!   inside /proc except runc's lxcfs allowlist (CVE-2019-19921,
//!   CVE-2023-27561);
//! * /dev nodes and links are made fd-relative in the resolved /dev, so a
//!   /dev symlink in the image cannot reach the host (runc CVE-2026-41579,
//!   crun CVE-2026-47766);
//! * masked files get the real null device: /dev/null is opened once with
//!   O_NOFOLLOW, checked to be 1:3, and that descriptor is what is bound
//!   (CVE-2025-31133).
//!
//! Mount options are parsed in `init::mountopts`. Id-mapped bind mounts
//! arrive as detached trees made before the namespaces (`init::idmap`)
//! and are attached with move_mount. Note for flag arithmetic:
//! use `difference`/`remove`, never `& !`: bitflags' `!` drops the bits nix
//! does not name (MS_NOSYMFOLLOW).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use super::fs;
use super::mountopts::{self, MountOptions};
use crate::error::{Error, Result};
use crate::process::protocol::InitConfig;
use crate::sys;

/// mount(2) onto a target descriptor (through the pre-pivot host /proc).
fn mount_fd(
    source: Option<&Path>,
    target: BorrowedFd<'_>,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    dest: &Path,
) -> Result<()> {
    let t = sys::fd_path(target);
    nix::mount::mount(source, t.as_str(), fstype, flags, data).map_err(|e| {
        Error::sys("mount", dest, e).context(format!("mount {}", fstype.unwrap_or("bind")))
    })
}

fn abs_source(bundle: &Path, src: &Path) -> PathBuf {
    if src.is_absolute() {
        src.to_path_buf()
    } else {
        bundle.join(src)
    }
}

/// Where a `proc` or `sysfs` or anything under /proc may go (CVE-2019-16884, CVE-2019-19921).
fn check_proc_sys(dest: &Path, typ: &str, bind: bool) -> Result<()> {
    const PROC_BINDS: &[&str] = &[
        "/proc/cpuinfo",
        "/proc/diskstats",
        "/proc/meminfo",
        "/proc/stat",
        "/proc/swaps",
        "/proc/uptime",
        "/proc/loadavg",
        "/proc/slabinfo",
        "/proc/net/dev",
        "/proc/sys/kernel/ns_last_pid",
    ];
    if dest == Path::new("/proc") {
        return if typ == "proc" {
            Ok(())
        } else {
            Err(Error::Msg(format!(
                "{} cannot be mounted because it is not of type proc",
                dest.display()
            )))
        };
    }
    if dest.starts_with("/proc") && !(bind && PROC_BINDS.iter().any(|p| Path::new(p) == dest)) {
        return Err(Error::Msg(format!(
            "{} cannot be mounted because it is inside /proc",
            dest.display()
        )));
    }
    if dest == Path::new("/sys") && typ != "sysfs" && !bind {
        return Err(Error::Msg(format!(
            "{} cannot be mounted because it is not of type sysfs",
            dest.display()
        )));
    }
    Ok(())
}

/// Normalise a destination: absolute, no `.` components, `..` refused.
fn clean(dest: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::from("/");
    for c in dest.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                return Err(Error::Msg(format!(
                    "mount destination {} contains \"..\"",
                    dest.display()
                )));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Set up the rootfs up to and including pivot_root.
/// `before_pivot` runs once every mount is in place and before pivot_root:
/// the moment of the prestart, createRuntime and createContainer hooks.
pub fn setup(
    cfg: &InitConfig,
    idmapped: &mut super::idmap::Prepared,
    before_pivot: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let spec = &cfg.spec;
    let linux = spec.linux().as_ref();
    let prop = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|p| !p.is_empty())
        .map(propagation_flag)
        .transpose()?;
    // As runc: the whole tree takes rootfsPropagation (rslave by default, so
    // that nothing the container mounts propagates back to the host) ...
    // except an unbindable one, which would refuse the bind of the rootfs
    // below (EINVAL, as runc fails): the tree is rslave until pivot_root, and
    // the new root takes the unbindable propagation after it.
    let before = prop
        .filter(|p| !p.contains(MsFlags::MS_UNBINDABLE))
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    nix::mount::mount(None::<&str>, "/", None::<&str>, before, None::<&str>)
        .map_err(|e| Error::sys("mount", "/", e).context("set the propagation of /"))?;
    // ... and the mount holding the rootfs is made private, so that the bind
    // below does not propagate anywhere and pivot_root accepts it.
    make_parent_mount_private(&cfg.rootfs)?;
    nix::mount::mount(
        Some(&cfg.rootfs),
        &cfg.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::sys("mount", &cfg.rootfs, e).context("bind rootfs"))?;
    let root = nix::fcntl::open(
        &cfg.rootfs,
        nix::fcntl::OFlag::O_PATH
            | nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_CLOEXEC
            | nix::fcntl::OFlag::O_NOFOLLOW,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", &cfg.rootfs, e))?;

    let mut dev_is_bind = false;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let dest = clean(m.destination())?;
        let opts = mountopts::parse(m.options().as_deref().unwrap_or_default());
        if dest == Path::new("/dev") && (opts.is_bind() || m.typ().as_deref() == Some("bind")) {
            dev_is_bind = true;
        }
        mount_entry(cfg, root.as_fd(), m, &dest, &opts, idmapped.take(i))
            .map_err(|e| e.context(format!("mounts[{i}] ({})", dest.display())))?;
    }
    if !dev_is_bind {
        super::devices::create_default(root.as_fd())?;
    }
    super::devices::create_config(
        root.as_fd(),
        linux
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default(),
    )?;

    // The working directory exists before the root may turn read-only (runc creates it too).
    if let Some(p) = spec.process().as_ref() {
        fs::ensure_dir(root.as_fd(), p.cwd()).map_err(|e| e.context("process.cwd"))?;
    }
    before_pivot()?;
    pivot(&cfg.rootfs, root, cfg.no_pivot)?;
    // Again on the new root: pivot_root put a different mount at "/".
    if let Some(p) = prop {
        nix::mount::mount(None::<&str>, "/", None::<&str>, p, None::<&str>)
            .map_err(|e| Error::sys("mount", "/", e).context("linux.rootfsPropagation"))?;
    }
    Ok(())
}

/// runc's values: the `r` forms are recursive.
fn propagation_flag(s: &str) -> Result<MsFlags> {
    let rec = MsFlags::MS_REC;
    Ok(match s {
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        other => {
            return Err(Error::config(
                "linux.rootfsPropagation",
                format!("unknown propagation {other:?}"),
            ));
        }
    })
}

/// The mount point of the mount that holds `path` in this process's
/// mountinfo, and whether it is shared (the last of equal candidates is the
/// one on top).
fn parent_mount(mountinfo: &str, path: &Path) -> Option<(PathBuf, bool)> {
    let mut best: Option<(PathBuf, bool)> = None;
    for line in mountinfo.lines() {
        let Some((pre, _)) = line.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = pre.split(' ').collect();
        if f.len() < 6 {
            continue;
        }
        let mp = PathBuf::from(unescape_octal(f[4]));
        if !path.starts_with(&mp) {
            continue;
        }
        let shared = f[6..].iter().any(|t| t.starts_with("shared:"));
        let longer = best
            .as_ref()
            .is_none_or(|(b, _)| mp.components().count() >= b.components().count());
        if longer {
            best = Some((mp, shared));
        }
    }
    best
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// runc's rootfsParentMountPrivate: a shared parent would receive the
/// rootfs bind (and pivot_root refuses a new root whose parent is shared).
fn make_parent_mount_private(rootfs: &Path) -> Result<()> {
    let real =
        std::fs::canonicalize(rootfs).map_err(|e| crate::error::io_err("resolve", rootfs, e))?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| crate::error::io_err("read", "/proc/self/mountinfo", e))?;
    if let Some((mp, true)) = parent_mount(&info, &real) {
        nix::mount::mount(
            None::<&str>,
            &mp,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| {
            Error::sys("mount", &mp, e).context("make the rootfs's parent mount private")
        })?;
    }
    Ok(())
}

/// Flags that a bind mount needs a second (remount) step for. (`difference`,
/// not `& !`: bitflags' `!` drops bits nix does not know, such as MS_NOSYMFOLLOW.)
fn remount_flags(o: &MountOptions) -> MsFlags {
    o.flags
        .difference(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
}

fn mount_entry(
    cfg: &InitConfig,
    root: BorrowedFd<'_>,
    m: &Mount,
    dest: &Path,
    o: &MountOptions,
    idmapped: Option<OwnedFd>,
) -> Result<()> {
    let typ = m.typ().as_deref().unwrap_or("");
    let bind = o.is_bind() || typ == "bind";
    check_proc_sys(dest, typ, bind)?;
    if o.tmpcopyup && (bind || typ != "tmpfs") {
        return Err(Error::config(
            "mounts.options",
            format!("tmpcopyup is only for tmpfs, not {typ:?}"),
        ));
    }
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroup(cfg, root, dest, o);
    }
    let target = if bind {
        let src = abs_source(
            &cfg.bundle,
            m.source()
                .as_deref()
                .ok_or_else(|| Error::Msg("bind mount without a source".into()))?,
        );
        let md = std::fs::metadata(&src).map_err(|e| crate::error::io_err("stat", &src, e))?;
        let t = resolve_target(root, dest, typ, true, md.is_dir())?;
        let mut flags = MsFlags::MS_BIND;
        if o.flags.contains(MsFlags::MS_REC) {
            flags |= MsFlags::MS_REC;
        }
        match idmapped {
            // An id-mapped tree, made before the namespaces: attach it.
            Some(tree) => sys::move_mount(tree.as_fd(), t.fd.as_fd())
                .map_err(|e| Error::sys("move_mount", dest, e).context("id-mapped mount"))?,
            None => mount_fd(Some(&src), t.fd.as_fd(), None, flags, None, dest)?,
        }
        let target = reopen(root, &t.path)?;
        let extra = remount_flags(o);
        if !extra.is_empty() {
            remount(target.as_fd(), extra, o.cleared, dest)?;
        }
        target
    } else {
        // runc: a tmpfs over a directory the image already had takes that
        // directory's mode (never its owner).
        let pre_mode = if typ == "tmpfs" {
            fs::open(root, dest, libc::O_PATH)
                .ok()
                .and_then(|fd| nix::sys::stat::fstat(&fd).ok())
                .filter(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
                .map(|st| st.st_mode & 0o7777)
        } else {
            None
        };
        let t = resolve_target(root, dest, typ, false, true)?;
        let src = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
        let data = crate::lsm::mount_data(typ, false, &o.data_string(), mount_label(&cfg.spec));
        let mut flags = o.flags.difference(MsFlags::MS_REMOUNT);
        // tmpcopyup: the directory's old contents stay reachable through this
        // descriptor once the tmpfs covers them; the copy needs a writable tmpfs.
        // A read-only tmpfs is made writable first and turned read-only after
        // the mode and the copy.
        let late_ro = typ == "tmpfs" && flags.contains(MsFlags::MS_RDONLY);
        if late_ro {
            flags.remove(MsFlags::MS_RDONLY);
        }
        let copy_from = if o.tmpcopyup {
            Some(open_dir(t.fd.as_fd(), dest)?)
        } else {
            None
        };
        let r = mount_fd(
            Some(&src),
            t.fd.as_fd(),
            Some(typ),
            flags,
            (!data.is_empty()).then_some(data.as_str()),
            dest,
        );
        match r {
            // sysfs cannot be mounted in a user namespace that does not own the
            // network namespace: bind the host's /sys instead, as runc does.
            Err(e) if typ == "sysfs" && e.errno() == Some(Errno::EPERM) => {
                let rec = MsFlags::MS_BIND | MsFlags::MS_REC;
                mount_fd(Some(Path::new("/sys")), t.fd.as_fd(), None, rec, None, dest)?;
                let extra = flags
                    & (MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC);
                let bound = reopen(root, &t.path)?;
                if !extra.is_empty() {
                    remount(bound.as_fd(), extra, o.cleared, dest)?;
                }
                return Ok(());
            }
            r => r?,
        }
        let mounted = reopen(root, &t.path)?;
        if typ == "proc" || typ == "sysfs" {
            verify_fs(mounted.as_fd(), typ, dest)?;
        }
        // mqueue takes linux.mountLabel on its root, not in its data.
        if let Some(label) = mount_label(&cfg.spec).filter(|l| !l.is_empty())
            && crate::lsm::labels_root_after_mount(typ)
        {
            let d = open_dir(mounted.as_fd(), dest)?;
            crate::lsm::label_mount_root(d.as_fd(), label)?;
        }
        if let Some(old) = copy_from {
            copy_up(old.as_fd(), mounted.as_fd(), dest)?;
        }
        if let Some(mode) = pre_mode {
            let d = open_dir(mounted.as_fd(), dest)?;
            nix::sys::stat::fchmod(&d, nix::sys::stat::Mode::from_bits_truncate(mode))
                .map_err(|e| Error::sys("chmod", dest, e))?;
        }
        if late_ro {
            sys::mount_setattr(mounted.as_fd(), mountopts::MOUNT_ATTR_RDONLY, 0, false)
                .map_err(|e| Error::sys("mount_setattr", dest, e).context("read-only tmpfs"))?;
        }
        mounted
    };
    for p in &o.propagation {
        mount_fd(None, target.as_fd(), None, *p, None, dest)?;
    }
    if o.rec_attr != Default::default() {
        sys::mount_setattr(target.as_fd(), o.rec_attr.set, o.rec_attr.clear, true)
            .map_err(|e| Error::sys("mount_setattr", dest, e))?;
    }
    Ok(())
}

/// Resolve (creating what is missing) a mount destination inside the root,
/// and check where it really is. procfs and sysfs only go on a real directory
/// reached without any symlink (CVE-2019-16884, CVE-2023-28642); anything
/// that a symlink leads elsewhere is checked again at its real place, so
/// nothing lands in /proc by way of one (CVE-2019-19921, CVE-2023-27561).
fn resolve_target(
    root: BorrowedFd<'_>,
    dest: &Path,
    typ: &str,
    bind: bool,
    dir: bool,
) -> Result<fs::Resolved> {
    if typ == "proc" || typ == "sysfs" {
        let w = fs::walk(root, dest, false).map_err(|e| Error::sys("resolve", dest, e))?;
        let at = w.existing_path();
        let at = at.join(w.missing.iter().collect::<PathBuf>());
        let last_is_link = w.missing.is_empty() && fs::file_type(w.last())? == libc::S_IFLNK;
        if at != dest || last_is_link {
            return Err(Error::Msg(format!(
                "mount destination {} is reached through a symlink; {typ} must be mounted on a real directory",
                dest.display()
            )));
        }
    }
    let t = if dir {
        fs::ensure_dir(root, dest)?
    } else {
        fs::ensure_file(root, dest)?
    };
    if t.path != dest {
        check_proc_sys(&t.path, typ, bind).map_err(|e| {
            e.context(format!(
                "mount destination {} resolves to {}",
                dest.display(),
                t.path.display()
            ))
        })?;
    }
    Ok(t)
}

/// A readable descriptor of a directory given by an `O_PATH` one.
fn open_dir(fd: BorrowedFd<'_>, what: &Path) -> Result<OwnedFd> {
    nix::fcntl::openat(
        fd,
        ".",
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", what, e))
}

/// tmpcopyup: copy what the directory held into the tmpfs now over it (the
/// tmpfs root's mode follows runc's rule in `mount_entry`; its owner stays root).
fn copy_up(old: BorrowedFd<'_>, mounted: BorrowedFd<'_>, dest: &Path) -> Result<()> {
    let new = open_dir(mounted, dest)?;
    fs::copy_tree(old, new.as_fd(), dest).map_err(|e| e.context("tmpcopyup"))
}

/// Check that what is mounted at a descriptor really is the filesystem asked for.
fn verify_fs(fd: BorrowedFd<'_>, typ: &str, dest: &Path) -> Result<()> {
    let st = nix::sys::statfs::fstatfs(fd).map_err(|e| Error::sys("statfs", dest, e))?;
    let want = match typ {
        "proc" => nix::sys::statfs::PROC_SUPER_MAGIC,
        _ => nix::sys::statfs::SYSFS_MAGIC,
    };
    if st.filesystem_type() != want {
        return Err(Error::Msg(format!(
            "{} is not a {typ} filesystem after mounting it",
            dest.display()
        )));
    }
    Ok(())
}

/// Open the mount now at `dest` (the old descriptor still names what it covers).
fn reopen(root: BorrowedFd<'_>, dest: &Path) -> Result<OwnedFd> {
    fs::open(root, dest, libc::O_PATH | libc::O_NOFOLLOW).map_err(|e| Error::sys("open", dest, e))
}

/// Remount a bind mount with extra flags, keeping the flags it already has
/// except those the options cleared (`suid`, `atime`, ...). A user namespace
/// cannot clear the flags of a mount it received (EPERM): then, as runc
/// does, it is retried keeping them all.
fn remount(target: BorrowedFd<'_>, extra: MsFlags, cleared: MsFlags, dest: &Path) -> Result<()> {
    let st = nix::sys::statvfs::fstatvfs(target).map_err(|e| Error::sys("statvfs", dest, e))?;
    let has = |bit: u64| st.flags().bits() & bit != 0;
    let mut keep = MsFlags::empty();
    for (bit, m) in [
        (libc::ST_NOSUID, MsFlags::MS_NOSUID),
        (libc::ST_NODEV, MsFlags::MS_NODEV),
        (libc::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (libc::ST_NOATIME, MsFlags::MS_NOATIME),
        (libc::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (libc::ST_RELATIME, MsFlags::MS_RELATIME),
        (
            ST_NOSYMFOLLOW,
            MsFlags::from_bits_retain(mountopts::MS_NOSYMFOLLOW),
        ),
    ] {
        if has(bit) {
            keep |= m;
        }
    }
    let base = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | extra;
    let path = sys::fd_path(target);
    let remount = |flags: MsFlags| {
        nix::mount::mount(
            None::<&str>,
            path.as_str(),
            None::<&str>,
            flags,
            None::<&str>,
        )
    };
    match remount(base | keep.difference(cleared)) {
        Err(Errno::EPERM) => {
            let mut all = keep;
            if has(libc::ST_RDONLY) {
                all |= MsFlags::MS_RDONLY;
            }
            remount(base | all)
        }
        r => r,
    }
    .map_err(|e| Error::sys("mount", dest, e).context("remount bind"))
}

/// statvfs's flag for a nosymfollow mount (not in every libc binding).
const ST_NOSYMFOLLOW: u64 = 0x2000;

/// A `cgroup` mount: cgroup2 (with a cgroup namespace) or the container's own
/// cgroup directories bound under a tmpfs (v1, hybrid, or no cgroup namespace).
fn mount_cgroup(
    cfg: &InitConfig,
    root: BorrowedFd<'_>,
    dest: &Path,
    o: &MountOptions,
) -> Result<()> {
    let hier = crate::cgroups::read_hierarchies()?;
    let ro = o.flags.contains(MsFlags::MS_RDONLY);
    let base_flags = o.flags.difference(MsFlags::MS_RDONLY)
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    let cgroupns = has_ns(&cfg.spec, LinuxNamespaceType::Cgroup);
    let fs::Resolved {
        fd: target,
        path: dest,
    } = resolve_target(root, dest, "cgroup", false, true)?;
    let dest = dest.as_path();
    let pure_v2 = hier.len() == 1 && hier[0].v2;
    if pure_v2 && cgroupns {
        mount_fd(
            Some(Path::new("cgroup2")),
            target.as_fd(),
            Some("cgroup2"),
            base_flags
                | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                },
            None,
            dest,
        )?;
        return Ok(());
    }
    if pure_v2 {
        let src = crate::cgroups::dir_in(&hier[0], &cfg.cgroup_path);
        mount_fd(
            Some(&src),
            target.as_fd(),
            None,
            MsFlags::MS_BIND,
            None,
            dest,
        )?;
        if ro {
            remount(
                reopen(root, dest)?.as_fd(),
                MsFlags::MS_RDONLY,
                MsFlags::empty(),
                dest,
            )?;
        }
        return Ok(());
    }
    mount_fd(
        Some(Path::new("tmpfs")),
        target.as_fd(),
        Some("tmpfs"),
        base_flags,
        Some(cgroup_tmpfs_data(mount_label(&cfg.spec)).as_str()),
        dest,
    )?;
    for h in &hier {
        let name = h
            .mount_point
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("unified"));
        let sub = dest.join(&name);
        let t = fs::ensure_dir(root, &sub)?.fd;
        let src = crate::cgroups::dir_in(h, &cfg.cgroup_path);
        mount_fd(Some(&src), t.as_fd(), None, MsFlags::MS_BIND, None, &sub)?;
        let t = reopen(root, &sub)?;
        remount(
            t.as_fd(),
            base_flags
                | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                },
            MsFlags::empty(),
            &sub,
        )?;
        // Co-mounted controllers ("cpu,cpuacct") get a link per controller, as on the host.
        if let Some(n) = name.to_str().filter(|n| n.contains(',')) {
            for part in n.split(',') {
                let _ = nix::unistd::symlinkat(n, fs::ensure_dir(root, dest)?.fd.as_fd(), part);
            }
        }
    }
    if ro {
        remount(
            reopen(root, dest)?.as_fd(),
            base_flags | MsFlags::MS_RDONLY,
            MsFlags::empty(),
            dest,
        )?;
    }
    Ok(())
}

/// The data of the tmpfs under which the v1 cgroup hierarchies are bound:
/// labelled like any tmpfs husk mounts (runc mounts it as a tmpfs entry too).
fn cgroup_tmpfs_data(label: Option<&str>) -> String {
    crate::lsm::mount_data("tmpfs", false, "mode=755", label)
}

/// `linux.mountLabel`, if any (empty means none: `lsm::mount_data` and
/// [`fsconfig_context`] skip it).
fn mount_label(spec: &Spec) -> Option<&str> {
    spec.linux().as_ref()?.mount_label().as_deref()
}

/// The value of the `context` parameter of a tmpfs made with fsconfig(2):
/// the label itself, unquoted. The quotes of runc's `context="..."` are for
/// mount(2)'s comma-separated data (the kernel strips them there, since an
/// MLS label holds commas); fsconfig passes one parameter whole, quotes and all.
fn fsconfig_context(label: Option<&str>) -> Result<Option<std::ffi::CString>> {
    label
        .filter(|l| !l.is_empty())
        .map(|l| {
            std::ffi::CString::new(l)
                .map_err(|_| Error::config("linux.mountLabel", "contains a NUL byte"))
        })
        .transpose()
}

pub fn has_ns(spec: &Spec, t: LinuxNamespaceType) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|v| v.iter().any(|n| n.typ() == t))
}

/// Enter the rootfs: pivot_root, or MS_MOVE plus chroot with --no-pivot.
fn pivot(rootfs: &Path, root: OwnedFd, no_pivot: bool) -> Result<()> {
    nix::unistd::fchdir(&root).map_err(|e| Error::sys("chdir", rootfs, e))?;
    if no_pivot {
        nix::mount::mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .map_err(|e| Error::sys("mount", rootfs, e).context("move rootfs to /"))?;
        nix::unistd::chroot(".").map_err(|e| Error::sys("chroot", rootfs, e))?;
    } else {
        let old = nix::fcntl::open(
            "/",
            nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Error::sys("open", "/", e))?;
        nix::unistd::pivot_root(".", ".").map_err(|e| Error::sys("pivot_root", rootfs, e))?;
        // The old root is now stacked under the new one at "."; detach it.
        nix::unistd::fchdir(&old).map_err(|e| Error::call("fchdir old root", e))?;
        nix::mount::mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| Error::call("make old root rslave", e))?;
        nix::mount::umount2(".", MntFlags::MNT_DETACH)
            .map_err(|e| Error::call("unmount old root", e))?;
    }
    nix::unistd::chdir("/").map_err(|e| Error::sys("chdir", "/", e))?;
    Ok(())
}

/// After pivot_root: read-only root, read-only paths, masked paths.
pub fn finalize(spec: &Spec) -> Result<()> {
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", "/", e))?;
    let linux = spec.linux().as_ref();
    let label = fsconfig_context(mount_label(spec))?;
    for p in linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or_default()
    {
        readonly_path(root.as_fd(), Path::new(p)).map_err(|e| e.context("linux.readonlyPaths"))?;
    }
    for p in linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default()
    {
        mask_path(root.as_fd(), Path::new(p), label.as_deref())
            .map_err(|e| e.context("linux.maskedPaths"))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        sys::mount_setattr(root.as_fd(), sys::MOUNT_ATTR_RDONLY as u64, 0, false)
            .map_err(|e| Error::sys("mount_setattr", "/", e).context("make root read-only"))?;
    }
    Ok(())
}

/// Bind a path onto itself read-only (all mounts under it too). Missing paths are skipped.
fn readonly_path(root: BorrowedFd<'_>, p: &Path) -> Result<()> {
    let fd = match fs::open(root, p, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys("open", p, e)),
    };
    let tree = sys::open_tree(
        fd.as_fd(),
        Path::new(""),
        sys::OPEN_TREE_CLONE | sys::AT_RECURSIVE,
    )
    .map_err(|e| Error::sys("open_tree", p, e))?;
    let flags = sys::MOUNT_ATTR_RDONLY as u64
        | sys::MOUNT_ATTR_NOSUID as u64
        | sys::MOUNT_ATTR_NODEV as u64;
    sys::mount_setattr(tree.as_fd(), flags, 0, true)
        .map_err(|e| Error::sys("mount_setattr", p, e))?;
    sys::move_mount(tree.as_fd(), fd.as_fd()).map_err(|e| Error::sys("move_mount", p, e))
}

/// Hide a path: a directory under an empty read-only tmpfs (with
/// `linux.mountLabel` as its context, as runc labels it), anything else
/// under the real /dev/null, checked to be the character device 1:3 (CVE-2025-31133).
fn mask_path(root: BorrowedFd<'_>, p: &Path, label: Option<&std::ffi::CStr>) -> Result<()> {
    let fd = match fs::open(root, p, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys("open", p, e)),
    };
    if fs::is_dir(fd.as_fd())? {
        let ctx = sys::fsopen(c"tmpfs").map_err(|e| Error::call("fsopen tmpfs", e))?;
        if let Some(l) = label {
            sys::fsconfig_set_string(ctx.as_fd(), c"context", l).map_err(|e| {
                Error::call("fsconfig tmpfs context", e).context("linux.mountLabel")
            })?;
        }
        sys::fsconfig_create(ctx.as_fd()).map_err(|e| Error::call("fsconfig tmpfs", e))?;
        let mnt = sys::fsmount(
            ctx.as_fd(),
            sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
        )
        .map_err(|e| Error::call("fsmount tmpfs", e))?;
        sys::move_mount(mnt.as_fd(), fd.as_fd()).map_err(|e| Error::sys("move_mount", p, e))
    } else {
        let null = fs::open(
            root,
            Path::new("/dev/null"),
            libc::O_PATH | libc::O_NOFOLLOW,
        )
        .map_err(|e| Error::sys("open", "/dev/null", e))?;
        let st = nix::sys::stat::fstat(&null).map_err(|e| Error::sys("stat", "/dev/null", e))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
            return Err(Error::Msg(
                "/dev/null is not the null device (1:3); refusing to mask with it".into(),
            ));
        }
        let tree = sys::open_tree(null.as_fd(), Path::new(""), sys::OPEN_TREE_CLONE)
            .map_err(|e| Error::sys("open_tree", "/dev/null", e))?;
        sys::move_mount(tree.as_fd(), fd.as_fd()).map_err(|e| Error::sys("move_mount", p, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_and_sys_rules() {
        assert!(check_proc_sys(Path::new("/proc"), "proc", false).is_ok());
        assert!(check_proc_sys(Path::new("/proc"), "tmpfs", false).is_err());
        assert!(check_proc_sys(Path::new("/proc/self"), "bind", true).is_err());
        assert!(check_proc_sys(Path::new("/proc/cpuinfo"), "bind", true).is_ok());
        assert!(check_proc_sys(Path::new("/sys"), "tmpfs", false).is_err());
        assert!(check_proc_sys(Path::new("/sys"), "sysfs", false).is_ok());
    }

    #[test]
    fn clean_paths() {
        assert_eq!(
            clean(Path::new("/a/./b//c")).unwrap(),
            PathBuf::from("/a/b/c")
        );
        assert!(clean(Path::new("/a/../b")).is_err());
    }

    #[test]
    fn mount_label_on_the_cgroup_tmpfs_and_masked_directories() {
        let l = "system_u:object_r:container_file_t:s0:c1,c2";
        assert_eq!(
            cgroup_tmpfs_data(Some(l)),
            format!("mode=755,context=\"{l}\"")
        );
        assert_eq!(cgroup_tmpfs_data(None), "mode=755");
        assert_eq!(cgroup_tmpfs_data(Some("")), "mode=755");
        // fsconfig takes the label whole: no quotes, commas kept.
        assert_eq!(
            fsconfig_context(Some(l))
                .unwrap()
                .unwrap()
                .to_str()
                .unwrap(),
            l
        );
        assert!(fsconfig_context(None).unwrap().is_none());
        assert!(fsconfig_context(Some("")).unwrap().is_none());
        let e = fsconfig_context(Some("a\0b")).unwrap_err().to_string();
        assert!(e.starts_with("linux.mountLabel: "), "{e}");
    }

    #[test]
    fn mount_label_is_read_from_linux() {
        let mut spec = Spec::default();
        assert_eq!(mount_label(&spec), None);
        let mut linux = spec.linux().clone().unwrap_or_default();
        linux.set_mount_label(Some("x:y:z:s0".into()));
        spec.set_linux(Some(linux));
        assert_eq!(mount_label(&spec), Some("x:y:z:s0"));
    }
}
