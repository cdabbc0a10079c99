//! `process.terminal` inside the init: a new pty on the container's devpts,
//! /dev/console bound to it without following any symlink the image put
//! there (CVE-2025-52565), the master sent to the console socket, the
//! slave made stdio and the controlling terminal.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::Process;

use super::fs;
use crate::error::{Error, Result};
use crate::{sys, tty};

/// Set up the terminal; `sock` is the console socket. Runs after pivot_root.
pub fn setup(sock: OwnedFd, process: &Process) -> Result<()> {
    attach(sock, process, true)
}

/// The terminal of an `exec`'d process: a pty like the init's, without
/// touching /dev/console (that belongs to the container's init).
pub fn setup_exec(sock: OwnedFd, process: &Process) -> Result<()> {
    attach(sock, process, false)
}

/// Make a pty, size it, optionally bind it at /dev/console, hand the master
/// to the console socket, and make the slave this process's stdio and
/// controlling terminal, owned by the process's user (as with a login).
fn attach(sock: OwnedFd, process: &Process, console: bool) -> Result<()> {
    let pty = tty::open_pty()?;
    if let Some(size) = process.console_size() {
        tty::set_winsize(
            pty.master.as_fd(),
            size.height() as u16,
            size.width() as u16,
        )?;
    }
    if console {
        mount_console(&pty.slave)?;
    }
    tty::send_fd(sock.as_fd(), pty.master.as_fd(), &pty.name)?;
    drop(pty.master);
    drop(sock);
    let u = process.user();
    nix::unistd::fchown(&pty.slave, Some(u.uid().into()), Some(u.gid().into()))
        .map_err(|e| Error::sys("chown", &pty.name, e))?;
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which this process owns.
        if unsafe { libc::dup2(pty.slave.as_raw_fd(), target) } < 0 {
            return Err(Error::call("dup2 pty onto stdio", Errno::last()));
        }
    }
    tty::set_ctty(std::io::stdin().as_fd())
}

/// Bind the pty slave over /dev/console: the file is made fresh (a symlink
/// or anything else the image had there is removed, never followed).
fn mount_console(slave: &OwnedFd) -> Result<()> {
    let root = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", "/", e))?;
    let dev = fs::mkdir_all(root.as_fd(), Path::new("/dev"), 0o755)?;
    let dev = nix::fcntl::openat(
        &dev,
        ".",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", "/dev", e))?;
    match nix::unistd::unlinkat(&dev, "console", nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys("unlink", "/dev/console", e)),
    }
    nix::fcntl::openat(
        &dev,
        "console",
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(|e| Error::sys("create", "/dev/console", e))?;
    let target = nix::fcntl::openat(
        &dev,
        "console",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", "/dev/console", e))?;
    let tree = sys::open_tree(slave.as_fd(), Path::new(""), sys::OPEN_TREE_CLONE)
        .map_err(|e| Error::sys("open_tree", "pty slave", e))?;
    sys::move_mount(tree.as_fd(), target.as_fd())
        .map_err(|e| Error::sys("move_mount", "/dev/console", e))
}
