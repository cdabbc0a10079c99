//! /dev in the container: the default device nodes, the standard links, and
//! `linux.devices`. Nodes are made with mknodat in a descriptor of the
//! directory resolved inside the rootfs, never through a path string.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::stat::{Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::fs;
use crate::error::{Error, Result};

/// (name, major, minor) of the devices every container gets.
const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// One device node to make.
#[derive(Clone, Copy)]
struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    perm: u32,
    uid: u32,
    gid: u32,
    /// A configured device (linux.devices): an existing mismatch is an error.
    strict: bool,
}

/// Make one device node inside the rootfs with its mode and owner (the init
/// runs with umask 0 while it sets up the rootfs, so the mode is exact).
fn make_node(root: BorrowedFd<'_>, n: &Node<'_>) -> Result<()> {
    let Node {
        path,
        kind,
        major,
        minor,
        perm,
        uid,
        gid,
        ..
    } = *n;
    let (parent, name) = fs::split(path)?;
    let dir = fs::mkdir_all(root, &parent, 0o755)?;
    // O_PATH descriptors cannot be used for mknodat: open the directory for real.
    let dir = nix::fcntl::openat(
        dir.as_fd(),
        ".",
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", &parent, e))?;
    // runtime-spec: a file already at a configured device's path that is not
    // that device is an error. (A default device replaces what the image had.)
    if n.strict
        && let Ok(st) =
            nix::sys::stat::fstatat(&dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
    {
        let same_numbers =
            kind == SFlag::S_IFIFO || st.st_rdev == libc::makedev(major as u32, minor as u32);
        if st.st_mode & libc::S_IFMT != kind.bits() || !same_numbers {
            return Err(Error::Msg(format!(
                "{} already exists and is not the requested device",
                path.display()
            )));
        }
    }
    // A file already there (from the image) is replaced, but never followed.
    match nix::unistd::unlinkat(&dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("unlink", path, e)),
    }
    let dev = libc::makedev(major as u32, minor as u32);
    match nix::sys::stat::mknodat(&dir, name, kind, Mode::from_bits_truncate(perm), dev) {
        Ok(()) => {}
        // In a user namespace mknod is not allowed: bind the host's node instead, as runc.
        Err(Errno::EPERM) => return bind_host_node(&dir, name, n),
        Err(e) => return Err(Error::sys("mknod", path, e)),
    }
    let fd = nix::fcntl::openat(
        &dir,
        name,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", path, e))?;
    nix::unistd::fchownat(
        &fd,
        "",
        Some(uid.into()),
        Some(gid.into()),
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    )
    .map_err(|e| Error::sys("chown", path, e))?;
    Ok(())
}

/// Bind-mount the host's device node at the same path onto an empty file,
/// after checking that it is the node asked for (type and numbers).
fn bind_host_node(dir: &std::os::fd::OwnedFd, name: &std::ffi::OsStr, n: &Node<'_>) -> Result<()> {
    let path = n.path;
    nix::fcntl::openat(
        dir,
        name,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_EXCL
            | nix::fcntl::OFlag::O_WRONLY
            | nix::fcntl::OFlag::O_CLOEXEC
            | nix::fcntl::OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| Error::sys("create", path, e))?;
    let target = nix::fcntl::openat(
        dir,
        name,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", path, e))?;
    let tree = crate::sys::open_tree(nix::fcntl::AT_FDCWD, path, crate::sys::OPEN_TREE_CLONE)
        .map_err(|e| Error::sys("open_tree", path, e).context("bind host device"))?;
    let st = nix::sys::stat::fstat(&tree).map_err(|e| Error::sys("stat", path, e))?;
    let want = libc::makedev(n.major as u32, n.minor as u32);
    let same_numbers = n.kind == SFlag::S_IFIFO || st.st_rdev == want;
    if st.st_mode & libc::S_IFMT != n.kind.bits() || !same_numbers {
        return Err(Error::Msg(format!(
            "{}: the host's node is not the device asked for ({}:{}), so it cannot be bound in a user namespace",
            path.display(),
            n.major,
            n.minor
        )));
    }
    crate::sys::move_mount(tree.as_fd(), target.as_fd())
        .map_err(|e| Error::sys("move_mount", path, e))
}

/// The default devices, links and /dev/ptmx (when /dev is not bind-mounted).
pub fn create_default(root: BorrowedFd<'_>) -> Result<()> {
    for (name, major, minor) in DEFAULT_DEVICES {
        let p = Path::new("/dev").join(name);
        make_node(
            root,
            &Node {
                path: &p,
                kind: SFlag::S_IFCHR,
                major: *major,
                minor: *minor,
                perm: 0o666,
                uid: 0,
                gid: 0,
                strict: false,
            },
        )?;
    }
    let dev = fs::mkdir_all(root, Path::new("/dev"), 0o755)?;
    let dev = nix::fcntl::openat(
        &dev,
        ".",
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", "/dev", e))?;
    for (name, target) in LINKS {
        match nix::unistd::symlinkat(*target, &dev, *name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("symlink", Path::new("/dev").join(name), e)),
        }
    }
    if Path::new("/proc/kcore").exists() {
        let _ = nix::unistd::symlinkat("/proc/kcore", &dev, "core");
    }
    match nix::unistd::unlinkat(&dev, "ptmx", nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("unlink", "/dev/ptmx", e)),
    }
    nix::unistd::symlinkat("pts/ptmx", &dev, "ptmx")
        .map_err(|e| Error::sys("symlink", "/dev/ptmx", e))?;
    Ok(())
}

/// The nodes of `linux.devices`.
pub fn create_config(root: BorrowedFd<'_>, devices: &[LinuxDevice]) -> Result<()> {
    for (i, d) in devices.iter().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::config(
                    format!("linux.devices[{i}].type"),
                    "\"a\" is not a device type",
                ));
            }
        };
        let node = Node {
            path: d.path(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            perm: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
            strict: true,
        };
        make_node(root, &node).map_err(|e| e.context(format!("linux.devices[{i}]")))?;
    }
    Ok(())
}
