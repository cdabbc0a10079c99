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
    let mut cmd = Command::new(format!("/proc/self/fd/{}", sealed.as_raw_fd()));
    cmd.arg0("husk")
        .arg(INIT_ARG)
        .env_clear()
        .env(INIT_SOCK_ENV, base.to_string());
    if log::log_enabled!(log::Level::Debug) {
        cmd.env("_HUSK_DEBUG", "1");
    }
    // SAFETY: the closure runs in the forked child before execve and calls only
    // dup2(2), which is async-signal-safe; the descriptors it names are open.
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
