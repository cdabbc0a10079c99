//! Terminals: the pty the init makes for `process.terminal`, its master sent
//! over the console socket with SCM_RIGHTS (as runc), the receiving side
//! used by `run` in the foreground, window sizes and raw mode.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use nix::sys::termios;

use crate::error::{Error, Result, io_err};

/// runc's rules for `process.terminal` and `--console-socket`, for `create`
/// and `exec` alike: a process that husk leaves running on its own (`create`,
/// `exec -d`) needs the socket for its terminal; the socket is only for a terminal.
pub fn check_console_flags(terminal: bool, socket: bool, detach: bool) -> Result<()> {
    match (terminal, socket) {
        (true, false) if detach => Err(Error::Msg(
            "cannot allocate tty if husk will detach without setting console socket".into(),
        )),
        (false, true) => Err(Error::Msg(
            "cannot use console socket if husk will not detach or allocate tty".into(),
        )),
        _ => Ok(()),
    }
}

/// The console socket of a new process (the init of `create`, or an
/// `exec`'d process), over which it sends its pty master: with a terminal,
/// the caller's `--console-socket` connected here, on the host; or, in the
/// foreground without one, one end of a socket pair whose other end husk
/// keeps (the second value) to receive the master and proxy the terminal.
/// Without a terminal, neither.
pub fn console_socket(
    socket: Option<&Path>,
    terminal: bool,
) -> Result<(Option<OwnedFd>, Option<UnixStream>)> {
    match (socket, terminal) {
        (Some(path), true) => {
            let s = UnixStream::connect(path)
                .map_err(|e| io_err("connect", path, e).context("--console-socket"))?;
            Ok((Some(OwnedFd::from(s)), None))
        }
        (None, true) => {
            let (a, b) = UnixStream::pair().map_err(|e| Error::Msg(format!("socketpair: {e}")))?;
            Ok((Some(OwnedFd::from(a)), Some(b)))
        }
        (_, false) => Ok((None, None)),
    }
}

/// A new pty: master, and the slave opened from it without a path lookup.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// The slave's name inside the container's devpts (`/dev/pts/N`).
    pub name: String,
}

/// Open a pty on the devpts of the current /dev/ptmx.
pub fn open_pty() -> Result<Pty> {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("open", "/dev/ptmx", e))?;
    nix::pty::grantpt(&master).map_err(|e| Error::call("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| Error::call("unlockpt", e))?;
    let master = OwnedFd::from(master);
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the valid pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) } < 0 {
        return Err(Error::call("ioctl TIOCGPTN", Errno::last()));
    }
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new descriptor.
    let s = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if s < 0 {
        return Err(Error::call("ioctl TIOCGPTPEER", Errno::last()));
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    let slave = unsafe { OwnedFd::from_raw_fd(s) };
    Ok(Pty {
        master,
        slave,
        name: format!("/dev/pts/{n}"),
    })
}

/// Make `fd` the controlling terminal of this (session leader) process.
pub fn set_ctty(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
        return Err(Error::call("ioctl TIOCSCTTY", Errno::last()));
    }
    Ok(())
}

/// Window size (rows, columns) of a terminal.
pub fn get_winsize(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    // SAFETY: an all-zero winsize is valid; TIOCGWINSZ fills it through the pointer.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `ws` outlives the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some((ws.ws_row, ws.ws_col))
}

/// Set the window size of a terminal.
pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize through the valid pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(Error::call("ioctl TIOCSWINSZ", Errno::last()));
    }
    Ok(())
}

/// Give a pty the window size of the terminal on our stdin, if stdin is one
/// and its size is known (a 0x0 size, as script(1) gives without a terminal
/// of its own, leaves the pty's size, e.g. `process.consoleSize`, alone).
pub fn copy_winsize_from_stdin(master: BorrowedFd<'_>) {
    let stdin = std::io::stdin();
    if let Some((r, c)) = get_winsize(stdin.as_fd())
        && r > 0
        && c > 0
    {
        let _ = set_winsize(master, r, c);
    }
}

/// Send a descriptor with a name over a unix socket (runc's format: the
/// name as the data, the descriptor as SCM_RIGHTS).
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>, name: &str) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| Error::call("send pty master over the console socket", e))?;
    Ok(())
}

/// Receive one descriptor sent by `send_fd`.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Error::call("receive pty master", e))?;
    for c in msg
        .cmsgs()
        .map_err(|e| Error::call("receive pty master", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel installed this descriptor for us with SCM_RIGHTS.
            return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    Err(Error::Msg("console socket: no descriptor received".into()))
}

/// Raw mode on a terminal, restored on drop.
pub struct RawMode {
    fd: OwnedFd,
    saved: termios::Termios,
}

impl RawMode {
    pub fn enter(fd: BorrowedFd<'_>) -> Result<RawMode> {
        let saved = termios::tcgetattr(fd).map_err(|e| Error::call("tcgetattr", e))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, termios::SetArg::TCSANOW, &raw)
            .map_err(|e| Error::call("tcsetattr", e))?;
        let fd = fd
            .try_clone_to_owned()
            .map_err(|e| Error::Msg(e.to_string()))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd.as_fd(), termios::SetArg::TCSANOW, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_flags_follow_runc() {
        let e = check_console_flags(true, false, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot allocate tty if husk will detach"),
            "{e}"
        );
        let e = check_console_flags(false, true, false)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot use console socket"), "{e}");
        check_console_flags(false, true, true).unwrap_err();
        for (terminal, socket, detach) in [
            (true, false, false),
            (true, true, true),
            (true, true, false),
            (false, false, true),
            (false, false, false),
        ] {
            check_console_flags(terminal, socket, detach).unwrap();
        }
    }

    #[test]
    fn console_socket_pair_carries_the_master() {
        let (child, keep) = console_socket(None, false).unwrap();
        assert!(child.is_none() && keep.is_none());
        let (child, keep) = console_socket(None, true).unwrap();
        let (child, keep) = (child.unwrap(), keep.unwrap());
        let pty = open_pty().unwrap();
        send_fd(child.as_fd(), pty.master.as_fd(), "master").unwrap();
        let got = recv_fd(keep.as_fd()).unwrap();
        let a = nix::sys::stat::fstat(&got).unwrap();
        let b = nix::sys::stat::fstat(&pty.master).unwrap();
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
    }

    #[test]
    fn console_socket_names_the_flag() {
        let p = Path::new("/nonexistent/husk-console.sock");
        let e = console_socket(Some(p), true).unwrap_err().to_string();
        assert!(e.contains("--console-socket"), "{e}");
        assert!(e.contains("/nonexistent/husk-console.sock"), "{e}");
        // Without a terminal the socket is not used (the flags check refused it before).
        let (child, keep) = console_socket(Some(p), false).unwrap();
        assert!(child.is_none() && keep.is_none());
    }
}
