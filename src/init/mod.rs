//! The container's init: what `husk init` does after `create` re-executed
//! the sealed husk. A flat checklist in the security-critical order (runc's):
//!
//! 1. read the bootstrap message; become non-dumpable (CVE-2016-9962)
//! 2. id-mapped mount trees (`idmap`, with the host's privileges); join and
//!    create namespaces; fork once for a pid namespace; `create` moves
//!    linux.netDevices in (`crate::netdev`)
//! 3. new session, oom_score_adj, session keyring
//! 4. rootfs: mounts, /dev, pivot_root
//! 5. hostname, domainname, sysctls
//! 6. read-only root, read-only and masked paths
//! 7. rlimits, no_new_privs
//! 8. scheduler, I/O priority, memory policy (`taskattr`; the personality
//!    just before ready); capabilities and user switch, working directory
//!    (checked inside the root)
//! 9. find the program; AppArmor profile and SELinux label for the execve
//!    (`lsm`, through the private procfs); report ready
//! 10. wait for `start` on the exec fifo; close stray fds, reset signals, execve
//!
//! The init is single-threaded and nothing runs before these steps.

pub mod console;
pub mod devices;
pub mod exec;
pub mod fs;
pub mod identity;
pub mod idmap;
pub mod mountopts;
pub mod namespaces;
pub mod procfs;
pub mod rootfs;
pub mod sysctl;
pub mod taskattr;

use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::process::INIT_SOCK_ENV;
use crate::process::protocol::{self, InitConfig, Message};
use crate::sys;

/// Set once the init told `create` it is ready; errors after that go to stderr.
static READY_SENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Entry point of `husk init`. Never returns.
pub fn main() -> ! {
    let fd: RawFd = match std::env::var(INIT_SOCK_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(fd) => fd,
        None => {
            eprintln!("husk init: must be started by husk create");
            std::process::exit(1);
        }
    };
    // SAFETY: `create` placed the socket at this number for us; nothing else owns it.
    let mut sock = unsafe { UnixStream::from_raw_fd(fd) };
    let _ = fcntl(sock.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    let err = match run(&mut sock) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let msg = Message::Error {
        message: err.to_string(),
    };
    // Before ready, `create` reports the failure (or has already failed and
    // closed the socket): print only what nobody else can.
    if protocol::send(&mut sock, &msg).is_err()
        && READY_SENT.load(std::sync::atomic::Ordering::Relaxed)
    {
        // `create` has gone (the error came after ready): the container's stderr is all we have.
        let _ = writeln!(std::io::stderr(), "husk init: {err}");
    }
    std::process::exit(1);
}

fn run(sock: &mut UnixStream) -> Result<std::convert::Infallible> {
    let cfg = match protocol::recv(sock)? {
        Some(Message::Bootstrap(cfg)) => *cfg,
        Some(Message::Exec(cfg)) => return exec::main(*cfg, sock),
        other => {
            return Err(Error::Msg(format!(
                "init: expected bootstrap, got {other:?}"
            )));
        }
    };
    // SAFETY: the parent passed the fifo at this number; we own it from now on.
    let fifo = unsafe { OwnedFd::from_raw_fd(cfg.fifo_fd) };
    let _ = fcntl(fifo.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    sys::set_dumpable(false).map_err(|e| Error::call("prctl PR_SET_DUMPABLE", e))?;
    // With the host's privileges, before any user namespace (as runc): raising
    // a hard rlimit or lowering oom_score_adj needs CAP_SYS_RESOURCE there.
    if let Some(process) = cfg.spec.process().as_ref() {
        identity::set_rlimits(process.rlimits().as_deref().unwrap_or_default())?;
        if let Some(adj) = process.oom_score_adj() {
            procfs::ProcFs::open()?
                .write("self/oom_score_adj", &adj.to_string())
                .map_err(|e| e.context("process.oomScoreAdj"))?;
        }
    }
    // Id-mapped mount trees need the host's privileges: made before any namespace.
    let idmapped = idmap::prepare(&cfg.spec, &cfg.bundle)?;
    let need_fork = namespaces::enter(&cfg.spec, sock)?;
    fork_and_report(sock, need_fork)?;
    // linux.netDevices: create moves them into our network namespace now.
    crate::netdev::request(sock, &cfg.spec)?;
    container_init(&cfg, sock, fifo, idmapped)
}

/// Fork once when a new or joined pid or time namespace must take effect;
/// either way report the pid (host view) of the process that will exec.
/// Only the child returns; the intermediate parent exits.
pub(crate) fn fork_and_report(sock: &mut UnixStream, need_fork: bool) -> Result<()> {
    if !need_fork {
        let pid = std::process::id() as i32;
        return protocol::send(sock, &Message::Pid { pid });
    }
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::call("pipe", e))?;
    match sys::fork().map_err(|e| Error::call("fork", e))? {
        Some(child) => {
            // The intermediate: report the child's pid, let it go, leave.
            protocol::send(sock, &Message::Pid { pid: child })?;
            let _ = nix::unistd::write(&w, &[1]);
            std::process::exit(0);
        }
        None => {
            drop(w);
            // Wait until the pid went out first, so messages keep their order.
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&r, &mut b);
            Ok(())
        }
    }
}

fn container_init(
    cfg: &InitConfig,
    sock: &mut UnixStream,
    fifo: OwnedFd,
    mut idmapped: idmap::Prepared,
) -> Result<std::convert::Infallible> {
    let spec = &cfg.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;
    nix::unistd::setsid().map_err(|e| Error::call("setsid", e))?;
    nix::sys::stat::umask(Mode::empty());
    // Every procfs write from here on goes through a private, verified instance.
    let proc = procfs::ProcFs::open()?;

    let labels = crate::lsm::Labels::of(process);
    if !cfg.no_new_keyring {
        let name = std::ffi::CString::new(format!("_ses.{}", cfg.id))
            .map_err(|_| Error::Msg("bad id".into()))?;
        // The session keyring carries the process's SELinux label, as runc's.
        labels.set_keycreate(&proc, true)?;
        match sys::join_session_keyring(&name) {
            Ok(()) | Err(nix::errno::Errno::ENOSYS) => {}
            Err(e) => return Err(Error::call("join session keyring", e)),
        }
        labels.set_keycreate(&proc, false)?;
    }

    // Hooks before pivot_root: the parent runs prestart and createRuntime,
    // then createContainer runs here, in the container's namespaces.
    let hooks = spec.hooks().clone().unwrap_or_default();
    let wants_hooks = crate::hooks::any(&[
        hooks.prestart(),
        hooks.create_runtime(),
        hooks.create_container(),
        hooks.start_container(),
    ]);
    let mut hook_state = String::new();
    rootfs::setup(cfg, &mut idmapped, &mut || {
        if !wants_hooks {
            return Ok(());
        }
        protocol::send(sock, &Message::RunHooks)?;
        match protocol::recv(sock)? {
            Some(Message::HooksDone { state }) => hook_state = state,
            other => {
                return Err(Error::Msg(format!(
                    "init: expected hooks done, got {other:?}"
                )));
            }
        }
        crate::hooks::run_all(
            "createContainer",
            hooks.create_container().as_deref().unwrap_or_default(),
            &hook_state,
        )
    })?;
    if let Some(fd) = cfg.console_fd {
        // SAFETY: the parent passed the console socket at this number; we own it now.
        let console = unsafe { OwnedFd::from_raw_fd(fd) };
        console::setup(console, process)?;
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h)
            .map_err(|e| Error::call("sethostname", e).context("hostname"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        sys::set_domainname(d)
            .map_err(|e| Error::call("setdomainname", e).context("domainname"))?;
    }
    if let Some(s) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        sysctl::apply(&proc, s)?;
    }
    rootfs::finalize(spec)?;
    if process.no_new_privileges().unwrap_or(false) {
        sys::set_no_new_privs().map_err(|e| Error::call("prctl PR_SET_NO_NEW_PRIVS", e))?;
    }
    let nnp = process.no_new_privileges().unwrap_or(false);
    if !nnp {
        // Before capabilities are dropped: installing needs CAP_SYS_ADMIN.
        seccomp(cfg, sock)?;
    }
    // Scheduler, I/O priority, memory policy: while the capabilities last.
    let linux = spec.linux().as_ref();
    taskattr::apply(process, linux.and_then(|l| l.memory_policy().as_ref()))?;
    identity::switch(process)?;

    let args = process.args().clone().unwrap_or_default();
    let env = identity::environment(process);
    let prog = identity::look_path(&args[0], &env)?;
    let c_prog = std::ffi::CString::new(prog.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Msg("program path contains a NUL byte".into()))?;
    let c_args = identity::cstrings(&args)?;
    let c_env = identity::cstrings(&env)?;
    // AppArmor profile and SELinux label for the execve, while create still listens.
    labels.apply_on_exec(&proc)?;
    sys::cloexec_from(3 + cfg.preserve_fds).map_err(|e| Error::call("close_range", e))?;
    if nnp {
        // As late as possible, but while create still listens.
        seccomp(cfg, sock)?;
    }
    taskattr::set_personality(linux.and_then(|l| l.personality().as_ref()))?;
    protocol::send(sock, &Message::Ready)?;
    READY_SENT.store(true, std::sync::atomic::Ordering::Relaxed);

    // `create` has returned: from here on, the container's stderr is the only place to report.
    let fail = |msg: String| -> ! {
        let _ = writeln!(std::io::stderr(), "husk init: {msg}");
        std::process::exit(127)
    };
    if cfg.seccomp.is_none() {
        // With a filter, this was done before it was installed.
        sys::release_own_text();
    }
    // Wait for `start`: opening the fifo for writing blocks until it opens it for reading.
    let gate = proc.reopen(fifo.as_fd(), OFlag::O_WRONLY);
    let gate = gate.unwrap_or_else(|e| fail(format!("open exec fifo: {e}")));
    // startContainer hooks run now, in the container, before the program; a
    // failure goes back to `start` through the fifo instead of the "0".
    let start_state = crate::hooks::with_status(&hook_state, "created");
    if let Err(e) = crate::hooks::run_all(
        "startContainer",
        hooks.start_container().as_deref().unwrap_or_default(),
        &start_state,
    ) {
        let _ = nix::unistd::write(&gate, e.to_string().as_bytes());
        std::process::exit(1);
    }
    if let Err(e) = nix::unistd::write(&gate, b"0") {
        fail(format!("write exec fifo: {}", crate::error::errno_text(e)));
    }
    drop(gate);
    drop(fifo);
    // No directory of ours stays open while execve resolves the program (CVE-2024-21626).
    drop(proc);
    let umask = process.user().umask().unwrap_or(0o022);
    nix::sys::stat::umask(Mode::from_bits_truncate(umask));
    sys::reset_signals();
    let e = nix::unistd::execve(&c_prog, &c_args, &c_env)
        .err()
        .unwrap_or(nix::errno::Errno::EINVAL);
    fail(format!(
        "exec {:?}: {}",
        args[0],
        crate::error::errno_text(e)
    ))
}

/// Install linux.seccomp; hand a NOTIFY listener fd to the parent.
fn seccomp(cfg: &InitConfig, sock: &mut UnixStream) -> Result<()> {
    let Some(filter) = &cfg.seccomp else {
        return Ok(());
    };
    // While madvise is surely allowed: the filter may forbid it.
    sys::release_own_text();
    if let Some(fd) = crate::seccomp::install(filter)? {
        protocol::send(sock, &Message::SeccompListener)?;
        crate::seccomp::notify::send_fd(sock, fd.as_fd())?;
        match protocol::recv(sock)? {
            Some(Message::SeccompDone) => {}
            other => {
                return Err(Error::Msg(format!(
                    "init: expected seccomp done, got {other:?}"
                )));
            }
        }
    }
    Ok(())
}
