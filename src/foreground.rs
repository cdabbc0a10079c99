//! `run`: create and start, then (in the foreground) stay with the
//! container until its init exits: forward signals, reap, proxy the pty
//! husk made for `process.terminal` (never handing the host's terminal to
//! the container, which would allow TIOCSTI injection), and return the
//! init's exit code or 128+signal.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::container::{self, CreateOpts};
use crate::error::{Error, Result};
use crate::state::Root;
use crate::tty;

/// Signals `run` forwards to the container.
const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// `run`: create and start; in the foreground wait and return the exit code.
pub fn run(root: &Root, o: &CreateOpts, detach: bool, keep: bool) -> Result<i32> {
    if detach {
        container::create(root, o)?;
        container::start(root, &o.id)?;
        return Ok(0);
    }
    crate::sys::set_child_subreaper()
        .map_err(|e| Error::call("prctl PR_SET_CHILD_SUBREAPER", e))?;
    let set = forwarded_set();
    set.thread_block()
        .map_err(|e| Error::call("sigprocmask", e))?;
    let created = container::create(
        root,
        &CreateOpts {
            foreground: true,
            ..o.clone()
        },
    )?;
    let master = match &created.console {
        Some(sock) => match tty::recv_fd(sock.as_fd()) {
            Ok(m) => Some(m),
            Err(e) => {
                let _ = container::delete(root, &o.id, true);
                return Err(e);
            }
        },
        None => None,
    };
    // The caller's size before the program runs, not after (its first
    // `stty size` must see it).
    if let Some(m) = &master {
        tty::copy_winsize_from_stdin(m.as_fd());
    }
    if let Err(e) = container::start(root, &o.id) {
        let _ = container::delete(root, &o.id, true);
        return Err(e);
    }
    let st = created.state;
    let code = wait(st.init_pid, st.init_pidfd().ok(), &set, master)?;
    if !keep {
        let _ = container::delete(root, &o.id, true);
    }
    Ok(code)
}

/// SIGCHLD and the signals forwarded to the container.
pub fn forwarded_set() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for s in FORWARDED {
        set.add(*s);
    }
    set
}

/// Wait for a process to exit while forwarding signals and proxying the pty.
pub fn wait(
    init: i32,
    pidfd: Option<OwnedFd>,
    set: &SigSet,
    master: Option<OwnedFd>,
) -> Result<i32> {
    let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::call("signalfd", e))?;
    let stdin = std::io::stdin();
    let stdin_fd = stdin.as_fd();
    let stdin_tty = nix::unistd::isatty(stdin_fd).unwrap_or(false);
    // Raw mode on our terminal while the container owns the pty (restored on drop).
    let _raw = match (&master, stdin_tty) {
        (Some(m), true) => {
            tty::copy_winsize_from_stdin(m.as_fd());
            tty::RawMode::enter(stdin_fd).ok()
        }
        _ => None,
    };
    let mut master_open = master.is_some();
    let mut stdin_open = master.is_some();
    loop {
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let (Some(m), true) = (&master, master_open) {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
        }
        if stdin_open {
            fds.push(PollFd::new(stdin_fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::call("poll", e)),
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut idx = 1;
        if let (Some(m), true) = (&master, master_open) {
            if ready[idx] {
                master_open = copy(m.as_fd(), std::io::stdout().as_fd());
            }
            idx += 1;
        }
        if stdin_open
            && ready.get(idx).copied().unwrap_or(false)
            && let Some(m) = &master
        {
            stdin_open = copy(stdin_fd, m.as_fd());
        }
        if !ready[0] {
            continue;
        }
        while let Ok(Some(info)) = sfd.read_signal() {
            let sig = info.ssi_signo as i32;
            if sig == libc::SIGCHLD {
                if let Some(code) = reap(init) {
                    if let (Some(m), true) = (&master, master_open) {
                        drain(m.as_fd());
                    }
                    return Ok(code);
                }
            } else if sig == libc::SIGWINCH && master.is_some() {
                if let Some(m) = &master {
                    tty::copy_winsize_from_stdin(m.as_fd());
                }
            } else if let Some(fd) = &pidfd {
                let _ = crate::sys::pidfd_send_signal(fd.as_fd(), sig);
            }
        }
    }
}

/// Copy what is available from one descriptor to another; false at end of input.
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) => false,
        Ok(n) => {
            let mut out = std::fs::File::from(match to.try_clone_to_owned() {
                Ok(fd) => fd,
                Err(_) => return false,
            });
            out.write_all(&buf[..n]).is_ok()
        }
        Err(Errno::EAGAIN) | Err(Errno::EINTR) => true,
        Err(_) => false,
    }
}

/// Copy out whatever the pty still holds after the init exited.
fn drain(master: BorrowedFd<'_>) {
    let _ = nix::fcntl::fcntl(
        master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let out = std::io::stdout();
    while copy(master, out.as_fd()) {
        let mut p = [PollFd::new(master, PollFlags::POLLIN)];
        if !matches!(poll(&mut p, PollTimeout::from(50u16)), Ok(n) if n > 0) {
            break;
        }
    }
    let _ = std::io::stdout().flush();
    let _ = master.as_raw_fd();
}

/// Reap every exited child; the init's exit code when it was among them.
fn reap(init: i32) -> Option<i32> {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let mut code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, c)) if pid.as_raw() == init => code = Some(c),
            Ok(WaitStatus::Signaled(pid, s, _)) if pid.as_raw() == init => {
                code = Some(128 + s as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(_) => {}
        }
    }
}
