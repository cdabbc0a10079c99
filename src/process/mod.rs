//! The parent side of the init: spawning it from the sealed binary with its
//! descriptors, and the protocol it speaks (see `protocol`).

pub mod protocol;
pub mod sealed;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

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

/// The direct child (forked, or cloned into a cgroup), reaped by `wait`.
pub struct InitChild(i32);

impl InitChild {
    pub fn id(&self) -> u32 {
        self.0 as u32
    }

    pub fn kill(&mut self) -> std::io::Result<()> {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        )
        .map_err(std::io::Error::from)
    }

    pub fn wait(&mut self) -> std::io::Result<()> {
        loop {
            match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.0), None) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => return r.map(drop).map_err(std::io::Error::from),
            }
        }
    }
}

/// Everything the child needs, made before it is forked: after the fork it
/// only calls dup2, close_range, sigprocmask and execveat.
struct Prepared {
    parent: UnixStream,
    child_end: UnixStream,
    /// Copies above the slots they go to, so no dup2 in the child clobbers a source.
    high: Vec<OwnedFd>,
    moves: [Option<(RawFd, RawFd)>; 3],
    first_stray: RawFd,
    base: RawFd,
    argv: crate::sys::ExecVec,
    envp: crate::sys::ExecVec,
}

/// Descriptors 3..3+preserve_fds pass through; the socket, the fifo and the
/// console socket follow them.
fn prepare(fifo: &OwnedFd, console: Option<&OwnedFd>, preserve_fds: u32) -> Result<Prepared> {
    use std::ffi::CString;
    let (parent, child_end) =
        UnixStream::pair().map_err(|e| Error::Msg(format!("socketpair: {e}")))?;
    let base = 3 + preserve_fds as RawFd;
    let high =
        |fd: BorrowedFd<'_>| crate::sys::dup_above(fd, base + 2).map_err(|e| Error::call("dup", e));
    let sock_hi = high(child_end.as_fd())?;
    let fifo_hi = high(fifo.as_fd())?;
    let console_hi = console.map(|c| high(c.as_fd())).transpose()?;
    let moves = [
        Some((sock_hi.as_raw_fd(), base)),
        Some((fifo_hi.as_raw_fd(), base + 1)),
        console_hi.as_ref().map(|c| (c.as_raw_fd(), base + 2)),
    ];
    // Descriptors the caller left open beyond those passed on: not for the
    // init (as runc marks them close-on-exec before starting its init): a
    // directory among them would give a path out of the container while the
    // init resolves the program and its working directory (CVE-2024-21626).
    let first_stray = base + 2 + RawFd::from(console_hi.is_some());
    let argv = vec![
        c"husk".to_owned(),
        CString::new(INIT_ARG).map_err(|_| Error::Msg("argv".into()))?,
    ];
    let mut envp = vec![
        CString::new(format!("{INIT_SOCK_ENV}={base}")).map_err(|_| Error::Msg("env".into()))?,
    ];
    if log::log_enabled!(log::Level::Debug) {
        envp.push(c"_HUSK_DEBUG=1".to_owned());
    }
    let mut high = vec![sock_hi, fifo_hi];
    high.extend(console_hi);
    Ok(Prepared {
        parent,
        child_end,
        high,
        moves,
        first_stray,
        base,
        argv: crate::sys::ExecVec::new(argv),
        envp: crate::sys::ExecVec::new(envp),
    })
}

impl Prepared {
    /// Fork (or clone into `cgroup`) and exec the sealed binary as `husk init`.
    fn spawn(self, sealed: &OwnedFd, cgroup: Option<BorrowedFd<'_>>) -> Result<Init> {
        let mut in_cgroup = cgroup.is_some();
        let forked = match cgroup.map(crate::sys::clone3_into_cgroup) {
            Some(Err(e)) => {
                log::debug!("clone3 into the cgroup: {e}; moving the init after spawning it");
                in_cgroup = false;
                crate::sys::fork()
            }
            Some(r) => r,
            None => crate::sys::fork(),
        };
        match forked {
            Err(e) => Err(Error::call("fork", e)),
            Ok(None) => crate::sys::exec_init_child(
                sealed.as_fd(),
                &self.moves,
                self.first_stray,
                &self.argv,
                &self.envp,
            ),
            Ok(Some(pid)) => {
                drop((self.child_end, self.high));
                Ok(Init {
                    child: InitChild(pid),
                    in_cgroup,
                    sock: self.parent,
                    fifo_fd: self.base + 1,
                    console_fd: self.moves[2].map(|(_, to)| to),
                })
            }
        }
    }
}

/// Start `husk init` from the sealed binary.
pub fn spawn_init(
    sealed: &OwnedFd,
    fifo: &OwnedFd,
    console: Option<&OwnedFd>,
    preserve_fds: u32,
) -> Result<Init> {
    prepare(fifo, console, preserve_fds)?.spawn(sealed, None)
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
    let prepared = prepare(fifo, console, preserve_fds)?;
    let Ok(cg) = nix::fcntl::open(
        cgroup_dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) else {
        return prepared.spawn(sealed, None);
    };
    prepared.spawn(sealed, Some(cg.as_fd()))
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
