//! How a new process (the init of `create` or of `exec`) enters the
//! container's cgroups.
//!
//! The parent writing the child's pid into a v1 `cgroup.procs` takes the
//! kernel's global threadgroup lock for writing, and its first taker waits
//! for an RCU grace period: 5 to 20 ms on this kind of machine, more than
//! all of the rest of a `create`. A single-threaded process moving itself
//! (writing "0" to `tasks`) needs no such lock. So the forked child, before
//! it executes the sealed binary, writes "0" into every v1 `tasks` file the
//! parent opened for it; a cgroup2 directory is entered at birth
//! (clone3 with CLONE_INTO_CGROUP), or by the parent when the kernel refuses
//! that. Either way the init is in every cgroup before its first instruction.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use crate::error::{Error, Result, io_err};
use crate::state::CgroupState;

/// The ways into a container's cgroups, opened before the fork.
#[derive(Default)]
pub struct Entry {
    /// v1 `tasks` files (write-only, close-on-exec) the child writes "0" into.
    tasks: Vec<(OwnedFd, PathBuf)>,
    /// The cgroup2 directory (at most one hierarchy), for CLONE_INTO_CGROUP.
    v2: Option<PathBuf>,
}

impl Entry {
    /// Open the way into every directory of `st`.
    pub fn open(st: &CgroupState) -> Result<Entry> {
        let mut e = Entry::default();
        for dir in &st.dirs {
            let tasks = dir.join("tasks");
            match open(
                &tasks,
                OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                Mode::empty(),
            ) {
                Ok(fd) => e.tasks.push((fd, tasks)),
                // cgroup2 has no `tasks` file.
                Err(Errno::ENOENT) if dir.join("cgroup.procs").exists() && e.v2.is_none() => {
                    e.v2 = Some(dir.clone())
                }
                Err(Errno::ENOENT) if !dir.is_dir() => {
                    return Err(Error::sys("open", dir, Errno::ENOENT).context("join cgroup"));
                }
                Err(err) => return Err(Error::sys("open", &tasks, err).context("join cgroup")),
            }
        }
        Ok(e)
    }

    /// The descriptors the child writes "0" into, in order.
    pub fn child_fds(&self) -> Vec<RawFd> {
        self.tasks.iter().map(|(fd, _)| fd.as_raw_fd()).collect()
    }

    /// The cgroup2 directory the child should be born in.
    pub fn v2_dir(&self) -> Option<&std::path::Path> {
        self.v2.as_deref()
    }

    /// The error behind a child's report: the index of the `tasks` file it
    /// could not write and the errno.
    pub fn child_error(&self, index: u32, errno: i32) -> Error {
        let path = self
            .tasks
            .get(index as usize)
            .map_or_else(|| PathBuf::from("tasks"), |(_, p)| p.clone());
        Error::sys("write", path, Errno::from_raw(errno)).context("join cgroup")
    }

    /// Place `pid` in the cgroup2 directory, for a child that could not be
    /// born there.
    pub fn place_v2(&self, pid: i32) -> Result<()> {
        if let Some(dir) = &self.v2 {
            let f = dir.join("cgroup.procs");
            fs::write(&f, pid.to_string())
                .map_err(|e| io_err("write", &f, e).context("join cgroup"))?;
        }
        Ok(())
    }
}
