//! The parent side of the init: spawning it from the sealed binary with its
//! descriptors, and the protocol it speaks (see `protocol`).

pub mod protocol;
pub mod sealed;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use crate::cgroups::join::Entry;
use crate::error::{Error, Result};

/// The environment variable naming the init's socket descriptor.
pub const INIT_SOCK_ENV: &str = "_HUSK_INIT_SOCK";
/// The argument that makes `husk` act as the init.
pub const INIT_ARG: &str = "init";

/// A started init: the direct child and the parent's end of its socket.
pub struct Init {
    pub child: InitChild,
    /// Whether the child was born in the cgroup2 directory (clone3 with
    /// CLONE_INTO_CGROUP), so the parent need not move it there.
    pub in_cgroup: bool,
    pub sock: UnixStream,
    /// Where the child reports a cgroup it could not enter before its exec
    /// (index and errno; nothing when it entered them all).
    join_report: OwnedFd,
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
/// only calls write, dup2, close_range, sigprocmask and execveat.
struct Prepared {
    /// v1 `tasks` files to write "0" into, and the pipe to report a failure on.
    join: Vec<RawFd>,
    report: (OwnedFd, OwnedFd),
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
fn prepare(
    fifo: &OwnedFd,
    console: Option<&OwnedFd>,
    preserve_fds: u32,
    entry: &Entry,
) -> Result<Prepared> {
    use std::ffi::CString;
    let report = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
        .map_err(|e| Error::call("pipe2", e))?;
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
        join: entry.child_fds(),
        report,
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
    /// Fork (or clone into the cgroup2 directory of `entry`) and exec the
    /// sealed binary as `husk init`, the child entering its v1 cgroups first.
    fn spawn(self, sealed: &OwnedFd, entry: &Entry) -> Result<Init> {
        let dir = entry.v2_dir().and_then(|d| {
            nix::fcntl::open(
                d,
                nix::fcntl::OFlag::O_PATH
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .ok()
        });
        let born = dir
            .as_ref()
            .and_then(|d| match crate::sys::clone3_into_cgroup(d.as_fd()) {
                Err(e) => {
                    log::debug!("clone3 into the cgroup: {e}; moving the init after spawning it");
                    None
                }
                ok => Some(ok),
            });
        // In its cgroup2 directory already, or with none to enter.
        let in_cgroup = born.is_some() || entry.v2_dir().is_none();
        let forked = born.unwrap_or_else(crate::sys::fork);
        match forked {
            Err(e) => Err(Error::call("fork", e)),
            Ok(None) => crate::sys::exec_init_child(
                crate::sys::ChildJoin {
                    tasks: &self.join,
                    report: self.report.1.as_raw_fd(),
                },
                sealed.as_fd(),
                &self.moves,
                self.first_stray,
                &self.argv,
                &self.envp,
            ),
            Ok(Some(pid)) => {
                drop((self.child_end, self.high, self.report.1));
                Ok(Init {
                    child: InitChild(pid),
                    in_cgroup,
                    sock: self.parent,
                    join_report: self.report.0,
                    fifo_fd: self.base + 1,
                    console_fd: self.moves[2].map(|(_, to)| to),
                })
            }
        }
    }
}

impl Init {
    /// Finish placing the init: the cgroup2 directory, when it could not be
    /// born there. (Its v1 cgroups it entered itself before its exec.)
    pub fn join_rest(&self, entry: &Entry) -> Result<()> {
        if self.in_cgroup {
            return Ok(());
        }
        entry.place_v2(self.child.id() as i32)
    }

    /// After the child failed: the cgroup it could not enter, if that is why.
    pub fn join_error(&self, entry: &Entry) -> Option<Error> {
        let mut buf = [0u8; 8];
        match nix::unistd::read(&self.join_report, &mut buf) {
            Ok(8) => {
                let index = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
                Some(entry.child_error(index, errno))
            }
            _ => None,
        }
    }
}

/// Start `husk init` from the sealed binary, entering the cgroups of `entry`
/// before its exec (born in the cgroup2 one where the kernel allows).
pub fn spawn_init(
    sealed: &OwnedFd,
    fifo: &OwnedFd,
    console: Option<&OwnedFd>,
    preserve_fds: u32,
    entry: &Entry,
) -> Result<Init> {
    prepare(fifo, console, preserve_fds, entry)?.spawn(sealed, entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::CgroupState;
    use std::path::{Path, PathBuf};

    fn fifo() -> OwnedFd {
        nix::fcntl::open(
            "/dev/null",
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap()
    }

    fn scratch(base: &str, what: &str) -> Option<PathBuf> {
        let base = Path::new(base);
        if !nix::unistd::geteuid().is_root() || !base.join("cgroup.procs").exists() {
            return None;
        }
        let dir = base.join(format!("husk-unit-{what}-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        Some(dir)
    }

    /// The init is born in the given cgroup v2 directory (of the hybrid
    /// host's unified tree, or of a pure v2 host) and enters a v1 one before
    /// its exec, with no write by the parent.
    #[test]
    fn the_child_is_in_its_cgroups_before_it_runs() {
        let v2 = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .find(|p| Path::new(p).join("cgroup.controllers").exists())
            .and_then(|b| scratch(b, "v2"));
        let v1 = scratch("/sys/fs/cgroup/pids", "v1");
        let dirs: Vec<PathBuf> = v2.iter().chain(v1.iter()).cloned().collect();
        if dirs.is_empty() {
            return;
        }
        let st = CgroupState {
            path: String::new(),
            dirs: dirs.clone(),
            owned: true,
        };
        let entry = Entry::open(&st).unwrap();
        // Not husk itself (the unit test binary would run as `husk init`):
        // an exec that fails, after the joins; the zombie keeps its cgroups.
        let not_exec = std::fs::File::open("/dev/null").unwrap().into();
        let mut init = spawn_init(&not_exec, &fifo(), None, 0, &entry).unwrap();
        let pid = init.child.id();
        let _ = nix::sys::wait::waitid(
            nix::sys::wait::Id::Pid(nix::unistd::Pid::from_raw(pid as i32)),
            nix::sys::wait::WaitPidFlag::WEXITED | nix::sys::wait::WaitPidFlag::WNOWAIT,
        );
        let seen = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        // A zombie shows its cgroup2 directory in /proc/PID/cgroup; in v1 it
        // shows "/", but the pids controller keeps its charge until the reap.
        let placed: Vec<bool> = dirs
            .iter()
            .map(|d| match std::fs::read_to_string(d.join("pids.current")) {
                Ok(n) if v1.as_ref() == Some(d) => n.trim() == "1",
                _ => {
                    let name = d.file_name().unwrap().to_str().unwrap();
                    seen.lines().any(|l| l.ends_with(&format!("/{name}")))
                }
            })
            .collect();
        let born = init.in_cgroup;
        let _ = init.child.wait();
        let report = init.join_error(&entry).map(|e| e.to_string());
        for d in &dirs {
            let _ = std::fs::remove_dir(d);
        }
        assert_eq!(report, None);
        assert!(born || v2.is_none(), "clone3 into {v2:?} refused");
        assert!(placed.iter().all(|p| *p), "{dirs:?}: {placed:?} in {seen}");
    }

    /// A v1 cpuset cgroup with no CPUs takes no task: the child reports
    /// which file refused it and why, and never runs the init.
    #[test]
    fn a_cgroup_the_child_cannot_enter_is_named() {
        let Some(dir) = scratch("/sys/fs/cgroup/cpuset", "empty") else {
            return;
        };
        let st = CgroupState {
            path: String::new(),
            dirs: vec![dir.clone()],
            owned: true,
        };
        let entry = Entry::open(&st).unwrap();
        let sealed = sealed::open().unwrap();
        let mut init = spawn_init(&sealed, &fifo(), None, 0, &entry).unwrap();
        let _ = init.child.wait();
        let err = init.join_error(&entry).map(|e| e.to_string());
        let _ = std::fs::remove_dir(&dir);
        let err = err.expect("no report from the child");
        assert!(
            err.contains("tasks") && err.contains("join cgroup"),
            "{err}"
        );
    }
}
