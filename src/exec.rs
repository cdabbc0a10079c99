//! `exec`: start a new process in a running container. The process is
//! built from the container's config (or a process JSON), started from the
//! sealed husk like the init, placed in the container's cgroup by the
//! parent, and joins the container's namespaces through a pidfd of its init.

use std::os::fd::AsFd;
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal};
use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::cgroups;
use crate::error::{Error, Result, io_err};
use crate::process::{self, protocol};
use crate::state::{Root, Status};
use crate::tty;

/// Options of `exec`.
#[derive(Debug, Default)]
pub struct ExecOpts {
    pub id: String,
    pub process: Option<Process>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
    /// A sub-cgroup (relative to the container's) to run in.
    pub cgroup: Option<String>,
    pub ignore_paused: bool,
    pub pidfd_socket: Option<PathBuf>,
}

/// The namespaces of the container that an exec'd process joins.
fn ns_flags(spec: &oci_spec::runtime::Spec) -> CloneFlags {
    let mut f = CloneFlags::empty();
    for ns in spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
    {
        f |= CloneFlags::from_bits_retain(ns.typ() as i32);
    }
    f
}

/// Start the process; in the foreground, wait and return its exit code.
pub fn exec(root: &Root, o: ExecOpts) -> Result<i32> {
    let lock = root.lock(&o.id)?;
    let st = root.load(&o.id)?;
    match st.status(root) {
        Status::Stopped => return Err(Error::Msg("cannot exec in a stopped container".into())),
        Status::Paused if !o.ignore_paused => {
            return Err(Error::Msg(
                "cannot exec in a paused container (use --ignore-paused to override)".into(),
            ));
        }
        _ => {}
    }
    let spec = st.config.as_deref().ok_or_else(|| {
        Error::Msg("container state has no config (created by an older husk)".into())
    })?;
    let process = o
        .process
        .clone()
        .ok_or_else(|| Error::Msg("exec: no process to run".into()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config("process.args", "must name a program to run"));
    }
    crate::init::taskattr::check_process(&process, "process")?;
    crate::spec::check_rlimits(&process)?;
    let terminal = process.terminal().unwrap_or(false);
    tty::check_console_flags(terminal, o.console_socket.is_some(), o.detach)?;
    let (console_child, console_keep) = tty::console_socket(o.console_socket.as_deref(), terminal)?;
    let mut set = SigSet::empty();
    if !o.detach {
        crate::sys::set_child_subreaper()
            .map_err(|e| Error::call("prctl PR_SET_CHILD_SUBREAPER", e))?;
        set = crate::foreground::forwarded_set();
        set.thread_block()
            .map_err(|e| Error::call("sigprocmask", e))?;
    }
    let init_pidfd = st.init_pidfd()?;
    let sealed = process::sealed::open()?;
    // execCPUAffinity.initial: the new process runs there from its first
    // instruction until it joins the container's cgroup (which resets it). It
    // inherits this thread's affinity, which gets its own back right after.
    let initial = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().clone())
        .filter(|c| !c.is_empty());
    let saved = match &initial {
        Some(cpus) => {
            let me = nix::unistd::Pid::from_raw(0);
            let old = nix::sched::sched_getaffinity(me)
                .map_err(|e| Error::call("sched_getaffinity", e))?;
            crate::init::exec::set_affinity(cpus, "process.execCPUAffinity.initial")?;
            Some(old)
        }
        None => None,
    };
    let cg = match &o.cgroup {
        Some(sub) => {
            let mut c = st.cgroup.clone();
            c.dirs = c
                .dirs
                .iter()
                .map(|d| d.join(sub.trim_start_matches('/')))
                .collect();
            c
        }
        None => st.cgroup.clone(),
    };
    let entry = cgroups::join::Entry::open(&cg).map_err(|e| e.context("exec"));
    let spawned = entry.and_then(|entry| {
        let init = process::spawn_init(
            &sealed,
            &init_pidfd,
            console_child.as_ref(),
            o.preserve_fds,
            &entry,
        )?;
        Ok((init, entry))
    });
    if let Some(old) = saved {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &old);
    }
    let (mut init, entry) = spawned?;
    drop((sealed, console_child));
    let child = init.child.id() as i32;
    crate::fault::point("exec:after-spawn");
    let result = (|| -> Result<i32> {
        init.join_rest(&entry).map_err(|e| e.context("exec"))?;
        crate::rdt::add_task(spec, &o.id, child).map_err(|e| e.context("exec"))?;
        let cfg = protocol::ExecConfig {
            id: o.id.clone(),
            process: process.clone(),
            pidfd_fd: init.fifo_fd,
            ns_flags: ns_flags(spec).bits(),
            console_fd: init.console_fd,
            preserve_fds: o.preserve_fds,
            seccomp: spec
                .linux()
                .as_ref()
                .and_then(|l| l.seccomp().as_ref())
                .map(crate::seccomp::compile)
                .transpose()?,
            personality: spec.linux().as_ref().and_then(|l| l.personality().clone()),
            memory_policy: spec
                .linux()
                .as_ref()
                .and_then(|l| l.memory_policy().clone()),
        };
        protocol::send(&mut init.sock, &protocol::Message::Exec(Box::new(cfg)))?;
        let mut pid = None;
        loop {
            match protocol::recv(&mut init.sock)? {
                Some(protocol::Message::Pid { pid: p }) => pid = Some(p),
                Some(protocol::Message::Error { message }) => {
                    return Err(Error::Init(format!(
                        "exec failed: unable to start container process: {message}"
                    )));
                }
                Some(other) => {
                    return Err(Error::Msg(format!(
                        "unexpected message from exec init: {other:?}"
                    )));
                }
                // The socket is close-on-exec: its end means execve succeeded.
                None => {
                    return pid.ok_or_else(|| {
                        Error::Init("exec failed: the process died before it ran".into())
                    });
                }
            }
        }
    })();
    let pid = match result {
        Ok(p) => p,
        Err(e) => {
            let _ = init.child.kill();
            let _ = init.child.wait();
            return Err(init
                .join_error(&entry)
                .map(|j| j.context("exec"))
                .unwrap_or(e));
        }
    };
    drop(entry);
    if pid != child {
        let _ = init.child.wait();
    }
    crate::fault::point("exec:after-pid");
    let pidfd = crate::sys::pidfd_open(pid).ok();
    if let Some(p) = &o.pid_file {
        crate::container::write_pid_file(p, pid)?;
    }
    if let (Some(path), Some(fd)) = (&o.pidfd_socket, &pidfd) {
        let s = std::os::unix::net::UnixStream::connect(path)
            .map_err(|e| io_err("connect", path, e).context("--pidfd-socket"))?;
        tty::send_fd(s.as_fd(), fd.as_fd(), "pidfd")?;
    }
    drop(lock);
    if o.detach {
        return Ok(0);
    }
    let master = match &console_keep {
        Some(s) => Some(tty::recv_fd(s.as_fd())?),
        None => None,
    };
    let _ = Signal::SIGCHLD;
    crate::foreground::wait(pid, pidfd, &set, master)
}

/// The process an `exec` from the command line runs: the container's process
/// with runc's overrides.
pub struct CmdlineProcess<'a> {
    pub args: Vec<String>,
    pub tty: bool,
    pub cwd: Option<&'a str>,
    pub env: &'a [String],
    pub user: Option<&'a str>,
    pub additional_gids: &'a [u32],
    pub caps: &'a [String],
    pub no_new_privs: bool,
}

/// Build the process of an exec from the container's config and the flags.
pub fn process_from_cmdline(base: &Process, c: &CmdlineProcess<'_>) -> Result<Process> {
    let mut p = base.clone();
    p.set_args(Some(c.args.clone()));
    p.set_terminal(Some(c.tty));
    p.set_console_size(None);
    if let Some(cwd) = c.cwd {
        p.set_cwd(PathBuf::from(cwd));
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(c.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(u) = c.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u, None),
        };
        let user = p.user_mut();
        user.set_uid(
            uid.parse()
                .map_err(|_| Error::Msg(format!("invalid --user {u:?}: want uid[:gid]")))?,
        );
        if let Some(g) = gid {
            user.set_gid(
                g.parse()
                    .map_err(|_| Error::Msg(format!("invalid --user {u:?}: want uid[:gid]")))?,
            );
        }
    }
    if !c.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(c.additional_gids.to_vec()));
    }
    if c.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !c.caps.is_empty() {
        let mut caps =
            serde_json::to_value(p.capabilities().clone().unwrap_or_default()).unwrap_or_default();
        for set in [
            "bounding",
            "effective",
            "permitted",
            "ambient",
            "inheritable",
        ] {
            if set == "inheritable" || set == "ambient" {
                // runc adds -c capabilities to every set but these two unless already used.
                if caps
                    .get(set)
                    .and_then(|v| v.as_array())
                    .is_none_or(|a| a.is_empty())
                {
                    continue;
                }
            }
            let arr = caps[set].as_array().cloned().unwrap_or_default();
            let mut arr: Vec<serde_json::Value> = arr;
            for c in c.caps {
                let v = serde_json::Value::String(c.clone());
                if !arr.contains(&v) {
                    arr.push(v);
                }
            }
            caps[set] = serde_json::Value::Array(arr);
        }
        let parsed = serde_json::from_value(caps).map_err(|e| Error::Msg(format!("--cap: {e}")))?;
        p.set_capabilities(Some(parsed));
    }
    Ok(p)
}

/// Fill what a process JSON leaves out from the container's process
/// (capabilities, rlimits; scheduler, I/O priority and execCPUAffinity as runc).
pub fn complete_process(mut p: Process, base: &Process) -> Process {
    if p.scheduler().is_none() {
        p.set_scheduler(base.scheduler().clone());
    }
    if p.io_priority().is_none() {
        p.set_io_priority(*base.io_priority());
    }
    if p.exec_cpu_affinity().is_none() {
        p.set_exec_cpu_affinity(base.exec_cpu_affinity().clone());
    }
    if p.capabilities().is_none() {
        p.set_capabilities(base.capabilities().clone());
    }
    if p.rlimits().is_none() {
        p.set_rlimits(base.rlimits().clone());
    }
    p
}

/// Namespace types joined (for tests and `features`).
pub fn joined(spec: &oci_spec::runtime::Spec) -> Vec<LinuxNamespaceType> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .map(|n| n.typ())
        .collect()
}
