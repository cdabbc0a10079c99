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
    pub child: InitChild,
    /// Whether the child was born in the container's cgroup (clone3 with
    /// CLONE_INTO_CGROUP), so the parent need not move it there.
    pub in_cgroup: bool,
    pub sock: UnixStream,
    /// The number the exec fifo has in the init.
    pub fifo_fd: RawFd,
    /// The number the console socket has in the init.
    pub console_fd: Option<RawFd>,
}

/// The direct child: started by std's Command, or by clone3 into a cgroup.
pub enum InitChild {
    Std(Child),
    Raw(i32),
}

impl InitChild {
    pub fn id(&self) -> u32 {
        match self {
            InitChild::Std(c) => c.id(),
            InitChild::Raw(p) => *p as u32,
        }
    }

    pub fn kill(&mut self) -> std::io::Result<()> {
        match self {
            InitChild::Std(c) => c.kill(),
            InitChild::Raw(p) => nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p),
                nix::sys::signal::Signal::SIGKILL,
            )
            .map_err(std::io::Error::from),
        }
    }

    pub fn wait(&mut self) -> std::io::Result<()> {
        match self {
            InitChild::Std(c) => c.wait().map(drop),
            InitChild::Raw(p) => loop {
                match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(*p), None) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => return r.map(drop).map_err(std::io::Error::from),
                }
            },
        }
    }
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
        child: InitChild::Std(child),
        in_cgroup: false,
        sock: parent,
        fifo_fd: base + 1,
        console_fd: console_raw.map(|_| base + 2),
    })
}

/// On a pure cgroup v2 host: start the init with clone3 and CLONE_INTO_CGROUP,
/// born in the container's cgroup (no window outside it, no cgroup.procs
/// write). Falls back to `spawn_init` when the kernel says no.
pub fn spawn_init_into(
    sealed: &OwnedFd,
    fifo: &OwnedFd,
    console: Option<&OwnedFd>,
    preserve_fds: u32,
    cgroup_dir: &std::path::Path,
) -> Result<Init> {
    use std::ffi::CString;
    let fallback = || spawn_init(sealed, fifo, console, preserve_fds);
    let Ok(cg) = nix::fcntl::open(
        cgroup_dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return fallback();
    };
    let (parent, child_end) =
        UnixStream::pair().map_err(|e| Error::Msg(format!("socketpair: {e}")))?;
    let base = 3 + preserve_fds as RawFd;
    let high =
        |fd: BorrowedFd<'_>| crate::sys::dup_above(fd, base + 2).map_err(|e| Error::call("dup", e));
    let sock_hi = high(child_end.as_fd())?;
    let fifo_hi = high(fifo.as_fd())?;
    let console_hi = console.map(|c| high(c.as_fd())).transpose()?;
    let first_stray = base + 2 + RawFd::from(console_hi.is_some());
    // Everything the child needs is made before the clone: after it, the
    // child only calls dup2, close_range, sigprocmask and execveat.
    let argv = [
        c"husk".to_owned(),
        CString::new(INIT_ARG).map_err(|_| Error::Msg("argv".into()))?,
    ];
    let mut envp = vec![
        CString::new(format!("{INIT_SOCK_ENV}={base}")).map_err(|_| Error::Msg("env".into()))?,
    ];
    if log::log_enabled!(log::Level::Debug) {
        envp.push(c"_HUSK_DEBUG=1".to_owned());
    }
    let moves = [
        Some((sock_hi.as_raw_fd(), base)),
        Some((fifo_hi.as_raw_fd(), base + 1)),
        console_hi.as_ref().map(|c| (c.as_raw_fd(), base + 2)),
    ];
    match crate::sys::clone3_into_cgroup(cg.as_fd()) {
        Err(e) => {
            log::debug!(
                "clone3 into {}: {e}; moving the init after spawning it",
                cgroup_dir.display()
            );
            drop((parent, child_end, sock_hi, fifo_hi, console_hi));
            fallback()
        }
        Ok(None) => {
            crate::sys::exec_init_child(sealed.as_fd(), &moves, first_stray, &argv, &envp);
        }
        Ok(Some(pid)) => {
            drop(child_end);
            Ok(Init {
                child: InitChild::Raw(pid),
                in_cgroup: true,
                sock: parent,
                fifo_fd: base + 1,
                console_fd: console_hi.map(|_| base + 2),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The init is born in the given cgroup v2 directory (here a cgroup of
    /// the hybrid host's unified tree, or of a pure v2 host).
    #[test]
    fn clone3_places_the_child_in_the_cgroup() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let base = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(std::path::Path::new)
            .find(|p| p.join("cgroup.procs").exists() && p.join("cgroup.controllers").exists());
        let Some(base) = base else {
            return;
        };
        let dir = base.join(format!("husk-unit-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let sealed = sealed::open().unwrap();
        let fifo = nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        let mut init = spawn_init_into(&sealed, &fifo, None, 0, &dir).unwrap();
        assert!(init.in_cgroup);
        let pid = init.child.id();
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        let born_there = procs.lines().any(|l| l.trim() == pid.to_string());
        let _ = init.child.kill();
        let _ = init.child.wait();
        let _ = std::fs::remove_dir(&dir);
        assert!(born_there, "pid {pid} not in {}: {procs:?}", dir.display());
    }
}
