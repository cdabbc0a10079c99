//! The one path resolver for everything inside the container's rootfs.
//! Paths are resolved relative to a descriptor of the root with openat2(2)
//! and RESOLVE_IN_ROOT, so `..` and symlinks (absolute or relative) can never
//! lead out of it, and magic links are refused. Created objects are made
//! fd-relative, one component at a time.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::sys;

const RESOLVE: u64 = sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS;

/// The components of a path inside the root, without `/`, `.` or `..` tricks
/// (`..` is kept: the kernel clamps it at the root).
fn rel(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| {
            !matches!(
                c,
                Component::RootDir | Component::CurDir | Component::Prefix(_)
            )
        })
        .collect()
}

/// Open `path` inside the root (following symlinks only within it).
pub fn open(root: BorrowedFd<'_>, path: &Path, flags: i32) -> std::result::Result<OwnedFd, Errno> {
    let r = rel(path);
    let r = if r.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        r
    };
    sys::openat2(root, &r, flags, 0, RESOLVE)
}

/// Open `path` inside the root without following a symlink in its last component.
pub fn open_nofollow(root: BorrowedFd<'_>, path: &Path) -> std::result::Result<OwnedFd, Errno> {
    open(root, path, libc::O_PATH | libc::O_NOFOLLOW)
}

/// Make every directory of `path` inside the root; returns an O_PATH descriptor of the last.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> Result<OwnedFd> {
    let mut cur = open(root, Path::new("/"), libc::O_PATH | libc::O_DIRECTORY)
        .map_err(|e| Error::sys("open", "/", e))?;
    let mut so_far = PathBuf::from("/");
    for c in rel(path).components() {
        let name = c.as_os_str();
        so_far.push(name);
        // Resolve the prefix from the root each time, so a symlink in it stays inside.
        match open(root, &so_far, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => cur = fd,
            Err(Errno::ENOENT) => {
                match nix::sys::stat::mkdirat(cur.as_fd(), name, Mode::from_bits_truncate(mode)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(Error::sys("mkdir", &so_far, e)),
                }
                cur = open(root, &so_far, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(|e| Error::sys("open", &so_far, e))?;
            }
            Err(e) => return Err(Error::sys("open", &so_far, e)),
        }
    }
    Ok(cur)
}

/// Split a path into its parent and last component (which must be a normal name).
pub fn split(path: &Path) -> Result<(PathBuf, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Msg(format!("{}: no file name", path.display())))?;
    let parent = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    Ok((parent, name))
}

/// Make sure a regular file exists at `path` (creating its parents); returns an O_PATH descriptor.
pub fn ensure_file(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd> {
    match open(root, path, libc::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("open", path, e)),
    }
    let (parent, name) = split(path)?;
    let dir = mkdir_all(root, &parent, 0o755)?;
    match nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(Error::sys("create", path, e)),
    }
    open(root, path, libc::O_PATH).map_err(|e| Error::sys("open", path, e))
}

/// Make sure a directory exists at `path`; returns an O_PATH descriptor.
pub fn ensure_dir(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd> {
    mkdir_all(root, path, 0o755)
}

/// Whether a descriptor is a directory.
pub fn is_dir(fd: BorrowedFd<'_>) -> Result<bool> {
    let st = nix::sys::stat::fstat(fd).map_err(|e| Error::call("fstat", e))?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

/// The file type bits of a descriptor.
pub fn file_type(fd: BorrowedFd<'_>) -> Result<u32> {
    let st = nix::sys::stat::fstat(fd).map_err(|e| Error::call("fstat", e))?;
    Ok(st.st_mode & libc::S_IFMT)
}
