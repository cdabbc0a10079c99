//! The init of `husk exec`: join every namespace of the container through a
//! pidfd of its init (one setns(2) call, no /proc path that a reused pid
//! could redirect), fork for the pid namespace, take on the process's
//! identity, ask for its AppArmor profile and SELinux label (through a
//! private procfs opened before joining) and execve. Success is the
//! close-on-exec socket closing.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};

use super::{console, identity};
use crate::error::{Error, Result};
use crate::process::protocol::ExecConfig;
use crate::sys;

/// Run the exec'd process; returns only with an error.
pub fn main(cfg: ExecConfig, sock: &mut UnixStream) -> Result<std::convert::Infallible> {
    // SAFETY: the parent passed a pidfd of the container's init at this number.
    let pidfd = unsafe { OwnedFd::from_raw_fd(cfg.pidfd_fd) };
    let _ = fcntl(pidfd.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    sys::set_dumpable(false).map_err(|e| Error::call("prctl PR_SET_DUMPABLE", e))?;
    let process = &cfg.process;
    // A private procfs for the LSM writes, made before joining anything the
    // container controls (only when there is something to write).
    let labels = crate::lsm::Labels::of(process);
    let proc = if labels.is_empty() {
        None
    } else {
        Some(super::procfs::ProcFs::open()?)
    };
    // execCPUAffinity.initial was ours from the start (the parent spawned us
    // with it) and the parent has since moved us into the container's cgroup,
    // which reset it; "final" comes below, after that move, as the spec says.
    // With the host's privileges, before joining a user namespace (as runc).
    identity::set_rlimits(process.rlimits().as_deref().unwrap_or_default())?;
    let flags = CloneFlags::from_bits_retain(cfg.ns_flags);
    if !flags.is_empty() {
        nix::sched::setns(&pidfd, flags)
            .map_err(|e| Error::call("setns", e).context("join the container's namespaces"))?;
    }
    drop(pidfd);
    if flags.contains(CloneFlags::CLONE_NEWUSER) {
        let (u, g) = (Uid::from_raw(0), Gid::from_raw(0));
        nix::unistd::setresgid(g, g, g).map_err(|e| Error::call("setresgid 0", e))?;
        nix::unistd::setresuid(u, u, u).map_err(|e| Error::call("setresuid 0", e))?;
    }
    let need_fork = flags
        .intersects(CloneFlags::CLONE_NEWPID | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME));
    super::fork_and_report(sock, need_fork)?;
    // The profile and label for the execve (by the process that will exec),
    // then the handle is closed: no descriptor of the host's procfs stays
    // open while the working directory and the program are looked up.
    if let Some(proc) = proc {
        labels.apply_on_exec(&proc)?;
    }

    nix::unistd::setsid().map_err(|e| Error::call("setsid", e))?;
    if let Some(fd) = cfg.console_fd {
        // SAFETY: the parent passed the console socket at this number; we own it now.
        let c = unsafe { OwnedFd::from_raw_fd(fd) };
        console::setup_exec(c, process)?;
    }
    if process.no_new_privileges().unwrap_or(false) {
        sys::set_no_new_privs().map_err(|e| Error::call("prctl PR_SET_NO_NEW_PRIVS", e))?;
    }
    let nnp = process.no_new_privileges().unwrap_or(false);
    if !nnp {
        // Before capabilities are dropped: installing needs CAP_SYS_ADMIN.
        install_seccomp(&cfg)?;
    }
    // Scheduler, I/O priority, memory policy: while the capabilities last.
    super::taskattr::apply(process, cfg.memory_policy.as_ref())?;
    identity::switch(process)?;
    let args = process.args().clone().unwrap_or_default();
    let env = identity::environment(process);
    let prog = identity::look_path(args.first().map(String::as_str).unwrap_or_default(), &env)?;
    let c_prog = std::ffi::CString::new(prog.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Msg("program path contains a NUL byte".into()))?;
    let c_args = identity::cstrings(&args)?;
    let c_env = identity::cstrings(&env)?;
    if let Some(cpus) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().clone())
    {
        set_affinity(&cpus, "process.execCPUAffinity.final")?;
    }
    sys::cloexec_from(3 + cfg.preserve_fds).map_err(|e| Error::call("close_range", e))?;
    if nnp {
        install_seccomp(&cfg)?;
    }
    nix::sys::stat::umask(Mode::from_bits_truncate(
        process.user().umask().unwrap_or(0o022),
    ));
    super::taskattr::set_personality(cfg.personality.as_ref())?;
    sys::reset_signals();
    let e = nix::unistd::execve(&c_prog, &c_args, &c_env)
        .err()
        .unwrap_or(nix::errno::Errno::EINVAL);
    Err(Error::Msg(format!(
        "exec {:?}: {}",
        args[0],
        crate::error::errno_text(e)
    )))
}

/// The container's seccomp filter for an exec'd process. A NOTIFY listener
/// made here is not passed on (the container's agent got the init's).
fn install_seccomp(cfg: &ExecConfig) -> Result<()> {
    if let Some(f) = &cfg.seccomp {
        drop(crate::seccomp::install(f)?);
    }
    Ok(())
}

/// Parse a CPU list ("0-3,7") into a set.
pub fn parse_cpus(list: &str) -> Option<nix::sched::CpuSet> {
    let mut set = nix::sched::CpuSet::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let n = part.parse::<usize>().ok()?;
                (n, n)
            }
        };
        if a > b {
            return None;
        }
        for c in a..=b {
            set.set(c).ok()?;
        }
    }
    Some(set)
}

/// Set the calling thread's CPU affinity to a CPU list (errors name `field`).
pub fn set_affinity(list: &str, field: &str) -> Result<()> {
    let set = parse_cpus(list)
        .ok_or_else(|| Error::config(field, format!("invalid CPU list {list:?}")))?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| Error::call("sched_setaffinity", e).context(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        let s = parse_cpus("0-2,5").unwrap();
        assert!(s.is_set(0).unwrap() && s.is_set(2).unwrap() && s.is_set(5).unwrap());
        assert!(!s.is_set(3).unwrap());
        assert!(parse_cpus("3-1").is_none());
        assert!(parse_cpus("x").is_none());
    }
}
