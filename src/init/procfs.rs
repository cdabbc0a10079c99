//! A procfs handle for the files husk writes inside the container (sysctls,
//! oom_score_adj, LSM attributes, the exec fifo): a private, detached procfs
//! instance made with fsopen/fsmount, checked to be procfs, and resolved
//! beneath it without crossing mounts, so nothing the container mounts over
//! /proc can redirect a write (CVE-2025-52881). Falls back to a checked
//! open of /proc where the new mount API is missing.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::sys;

/// A verified handle on a procfs instance.
pub struct ProcFs {
    root: OwnedFd,
}

fn is_procfs(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    nix::sys::statfs::fstatfs(fd)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

impl ProcFs {
    /// A new private procfs instance for the caller's pid namespace.
    pub fn open() -> Result<ProcFs> {
        let root = match Self::private() {
            Ok(fd) => fd,
            Err(_) => nix::fcntl::open(
                "/proc",
                nix::fcntl::OFlag::O_PATH
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC
                    | nix::fcntl::OFlag::O_NOFOLLOW,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| Error::sys("open", "/proc", e))?,
        };
        if !is_procfs(root.as_fd()) {
            return Err(Error::Msg(
                "/proc is not a procfs: refusing to write through it".into(),
            ));
        }
        Ok(ProcFs { root })
    }

    fn private() -> std::result::Result<OwnedFd, Errno> {
        let ctx = sys::fsopen(c"proc")?;
        sys::fsconfig_create(ctx.as_fd())?;
        sys::fsmount(ctx.as_fd(), sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV)
    }

    /// Open a file beneath the handle: no `..` out, no mount crossing, and
    /// no magic links unless `magic` (only for reopening our own fds).
    pub fn open_file(&self, rel: &str, flags: i32, magic: bool) -> Result<OwnedFd> {
        let mut resolve = sys::RESOLVE_BENEATH | sys::RESOLVE_NO_XDEV;
        if !magic {
            resolve |= sys::RESOLVE_NO_MAGICLINKS;
        }
        let fd = sys::openat2(self.root.as_fd(), Path::new(rel), flags, 0, resolve)
            .map_err(|e| Error::sys("open", Path::new("/proc").join(rel), e))?;
        if !magic && !is_procfs(fd.as_fd()) {
            return Err(Error::Msg(format!("/proc/{rel} is not on procfs")));
        }
        Ok(fd)
    }

    /// Reopen one of our own descriptors (through thread-self/fd, which is a
    /// magic link: openat2's scoped modes refuse those, but this private
    /// instance has nothing mounted over it to redirect the lookup).
    pub fn reopen(
        &self,
        fd: std::os::fd::BorrowedFd<'_>,
        flags: nix::fcntl::OFlag,
    ) -> Result<OwnedFd> {
        use std::os::fd::AsRawFd;
        let rel = format!("thread-self/fd/{}", fd.as_raw_fd());
        loop {
            match nix::fcntl::openat(
                &self.root,
                rel.as_str(),
                flags | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            ) {
                Err(Errno::EINTR) => continue,
                r => return r.map_err(|e| Error::sys("open", Path::new("/proc").join(&rel), e)),
            }
        }
    }

    /// Write a value to a procfs file.
    pub fn write(&self, rel: &str, value: &str) -> Result<()> {
        let fd = self.open_file(rel, libc::O_WRONLY, false)?;
        let mut f = std::fs::File::from(fd);
        f.write_all(value.as_bytes())
            .map_err(|e| crate::error::io_err("write", Path::new("/proc").join(rel), e))
    }
}
