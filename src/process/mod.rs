//! The parent side of the init: spawning it from the sealed binary with its
//! descriptors, and the protocol it speaks (see `protocol`).

pub mod protocol;
pub mod sealed;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use crate::error::{Error, Result};

/// The environment variable naming the init's socket descriptor.
pub const INIT_SOCK_ENV: &str = "_HUSK_INIT_SOCK";
/// The argument that makes `husk` act as the init.
pub const INIT_ARG: &str = "init";

/// A started init: the direct child and the parent's end of its socket.
pub struct Init {
    pub child: Child,
    pub sock: UnixStream,
    /// The number the exec fifo has in the init.
    pub fifo_fd: RawFd,
    /// The number the console socket has in the init.
    pub console_fd: Option<RawFd>,
}

/// Start `husk init` from the sealed binary. Descriptors 3..3+preserve_fds
/// pass through; the socket and the fifo follow them.
pub fn spawn_init(
    sealed: &OwnedFd,
    fifo: &OwnedFd,
    console: Option<&OwnedFd>,
    preserve_fds: u32,
) -> Result<Init> {
    let (parent, child_end) =
        UnixStream::pair().map_err(|e| Error::Msg(format!("socketpair: {e}")))?;
    let base = 3 + preserve_fds as RawFd;
    // Copies above the slots they go to, so no dup2 below clobbers a source.
    let high =
        |fd: BorrowedFd<'_>| crate::sys::dup_above(fd, base + 2).map_err(|e| Error::call("dup", e));
    let sock_hi = high(child_end.as_fd())?;
    let fifo_hi = high(fifo.as_fd())?;
    let console_hi = console.map(|c| high(c.as_fd())).transpose()?;
    let (sock_raw, fifo_raw) = (sock_hi.as_raw_fd(), fifo_hi.as_raw_fd());
    let console_raw = console_hi.as_ref().map(|c| c.as_raw_fd());
    // Descriptors the caller left open beyond those passed on: not for the
    // init (as runc marks them close-on-exec before starting its init): a
    // directory among them would give a path out of the container while the
    // init resolves the program and its working directory (CVE-2024-21626).
    let first_stray = base + 2 + RawFd::from(console_raw.is_some());
    let mut cmd = Command::new(format!("/proc/self/fd/{}", sealed.as_raw_fd()));
    cmd.arg0("husk")
        .arg(INIT_ARG)
        .env_clear()
        .env(INIT_SOCK_ENV, base.to_string());
    if log::log_enabled!(log::Level::Debug) {
        cmd.env("_HUSK_DEBUG", "1");
    }
    // SAFETY: the closure runs in the forked child before execve and calls only
    // dup2(2), close_range(2), getrlimit(2) and fcntl(2), which are
    // async-signal-safe; the descriptors it names are open.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(sock_raw, base) < 0 || libc::dup2(fifo_raw, base + 1) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(c) = console_raw
                && libc::dup2(c, base + 2) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
            let (first, all) = (first_stray as libc::c_uint, libc::c_uint::MAX);
            if libc::syscall(libc::SYS_close_range, first, all, CLOSE_RANGE_CLOEXEC) != 0 {
                // Kernels before 5.11: one by one, up to the descriptor limit.
                let mut lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                    lim.rlim_cur.min(1 << 20) as RawFd
                } else {
                    1 << 16
                };
                for fd in first_stray..top {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| Error::Msg(format!("start init: {e}")))?;
    drop(child_end);
    Ok(Init {
        child,
        sock: parent,
        fifo_fd: base + 1,
        console_fd: console_raw.map(|_| base + 2),
    })
}
