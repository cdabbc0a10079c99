//! The lifecycle verbs: create, start, state, kill, delete, run, list.
//! Each takes the container's lock and checks the status gate first.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::cgroups;
use crate::error::{Error, Result, io_err};
use crate::hooks;
use crate::process::{self, protocol};
use crate::spec;
use crate::state::{self, EXEC_FIFO, Root, State, Status};

/// Options of `create` (and `run`).
#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `run` in the foreground (a terminal without a socket is then husk's to make).
    pub foreground: bool,
}

/// What a failed create must undo.
struct Undo<'a> {
    root: &'a Root,
    id: &'a str,
    cgroup: Option<state::CgroupState>,
    pid: Option<i32>,
    /// The resctrl groups create made (`linux.intelRdt`).
    rdt: crate::rdt::Made,
    /// poststop hooks and the state they get, when create fails after hooks could have run.
    poststop: Option<(Vec<oci_spec::runtime::Hook>, String)>,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            if let Ok(fd) = crate::sys::pidfd_open(pid) {
                wait_exit(&fd, Duration::from_secs(5));
            }
        }
        if let Some(cg) = &self.cgroup {
            kill_cgroup(cg);
            if cg.owned {
                let _ = cgroups::remove(cg);
            }
        }
        self.rdt.remove();
        let _ = self.root.remove(self.id);
        // runtime-spec: a failed create still destroys the container and runs poststop.
        if let Some((hooks, state)) = &self.poststop {
            hooks::run_all_warn("poststop", hooks, state);
        }
    }
}

/// A created container, and for a foreground `run` with a terminal the
/// socket on which the init sends the pty master.
pub struct Created {
    pub state: State,
    pub console: Option<std::os::unix::net::UnixStream>,
}

/// Systemd socket activation: descriptors 3.. passed to husk with LISTEN_FDS
/// (and LISTEN_PID naming husk) go on to the container, as runc does.
fn listen_fds() -> u32 {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    match std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        Some(n) if pid_ok => n,
        _ => 0,
    }
}

/// Create a container: everything up to the point where only `start` is missing.
pub fn create(root: &Root, o: &CreateOpts) -> Result<Created> {
    state::validate_id(&o.id)?;
    let mut bundle = spec::load(&o.bundle)?;
    let listen = listen_fds();
    if listen > 0
        && let Some(p) = bundle.spec.process_mut()
    {
        let mut env = p.env().clone().unwrap_or_default();
        env.push(format!("LISTEN_FDS={listen}"));
        env.push("LISTEN_PID=1".into());
        p.set_env(Some(env));
    }
    let passthrough = listen + o.preserve_fds;
    let notify_host = std::env::var_os("NOTIFY_SOCKET")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let process = bundle
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;
    let terminal = process.terminal().unwrap_or(false);
    crate::tty::check_console_flags(terminal, o.console_socket.is_some(), !o.foreground)?;
    let linux = bundle.spec.linux().as_ref();
    let cg_raw = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    let cg_path = cgroups::container_path(cg_raw.as_deref(), &o.id);

    let dir = root.create_dir(&o.id)?;
    // sd_notify: the container gets a socket directory of husk's at /run/notify;
    // `start` listens there and relays READY=1 to the caller's NOTIFY_SOCKET.
    if notify_host.is_some() {
        let nd = dir.join("notify");
        if let Err(e) = std::fs::create_dir(&nd) {
            let _ = root.remove(&o.id);
            return Err(io_err("mkdir", &nd, e));
        }
        let _ = std::fs::set_permissions(&nd, std::os::unix::fs::PermissionsExt::from_mode(0o777));
        let mount: oci_spec::runtime::Mount = serde_json::from_value(json!({
            "destination": "/run/notify",
            "source": nd,
            "type": "bind",
            "options": ["bind", "nosuid", "noexec", "nodev", "ro"],
        }))
        .map_err(|e| Error::Msg(format!("notify mount: {e}")))?;
        let mut mounts = bundle.spec.mounts().clone().unwrap_or_default();
        mounts.push(mount);
        bundle.spec.set_mounts(Some(mounts));
        if let Some(p) = bundle.spec.process_mut() {
            let mut env = p.env().clone().unwrap_or_default();
            env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
            env.push("NOTIFY_SOCKET=/run/notify/notify.sock".into());
            p.set_env(Some(env));
        }
    }
    let mut undo = Undo {
        root,
        id: &o.id,
        cgroup: None,
        pid: None,
        rdt: crate::rdt::Made::default(),
        poststop: bundle
            .spec
            .hooks()
            .as_ref()
            .and_then(|h| h.poststop().clone())
            .filter(|v| !v.is_empty())
            .map(|v| (v, hook_state(&bundle, &o.id, "stopped", 0))),
        armed: true,
    };
    let _lock = root.lock(&o.id)?;
    // A first state.json, before anything is made: should husk die from here
    // on, `delete --force` knows the cgroup to clear (the init is not known
    // yet, so the status reads stopped).
    let early = State {
        version: state::STATE_VERSION,
        id: o.id.clone(),
        oci_version: bundle.spec.version().clone(),
        init_pid: 0,
        init_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: crate::logging::rfc3339_now(),
        owner: String::new(),
        annotations: BTreeMap::new(),
        cgroup: cgroups::planned(&cg_path)?,
        config: None,
        resources: None,
        hooks: None,
        notify_socket: None,
    };
    root.save(&early)?;
    crate::fault::point("create:after-state");

    let fifo_path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .map_err(|e| Error::sys("mkfifo", &fifo_path, e))?;
    // The umask filtered mkfifo's mode; the init may run as any user, even unmapped.
    std::fs::set_permissions(
        &fifo_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o622),
    )
    .map_err(|e| io_err("chmod", &fifo_path, e))?;
    let fifo = nix::fcntl::open(
        &fifo_path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", &fifo_path, e))?;

    let cg = cgroups::create(&cg_path)?;
    undo.cgroup = Some(cg.clone());
    crate::fault::point("create:after-cgroup");
    // The console socket: the caller's (connected here, on the host), or for a
    // foreground `run` one end of a pair whose other end husk keeps.
    let (console_child, console_keep) =
        crate::tty::console_socket(o.console_socket.as_deref(), terminal)?;
    let sealed = process::sealed::open()?;
    // The init enters its cgroups before its exec (born in the cgroup2 one).
    let entry = cgroups::join::Entry::open(&cg)?;
    let mut init =
        process::spawn_init(&sealed, &fifo, console_child.as_ref(), passthrough, &entry)?;
    drop(console_child);
    drop(sealed);
    undo.pid = Some(init.child.id() as i32);
    crate::fault::point("create:after-spawn");
    let result = init
        .join_rest(&entry)
        .and_then(|()| bootstrap(&mut init, &cg, &bundle, o, &cg_path, &mut undo.rdt));
    // Reap the direct child if it was only the intermediate (or it died).
    let container_pid = match result {
        Ok(pid) => pid,
        Err(e) => {
            let _ = init.child.kill();
            let _ = init.child.wait();
            return Err(init.join_error(&entry).unwrap_or(e));
        }
    };
    drop(entry);
    undo.pid = Some(container_pid);
    crate::fault::point("create:after-bootstrap");
    if container_pid != init.child.id() as i32 {
        let _ = init.child.wait();
    }
    let init_start = state::process_start_time(container_pid)
        .ok_or_else(|| Error::Msg("container init exited during create".into()))?;
    let st = State {
        version: state::STATE_VERSION,
        id: o.id.clone(),
        oci_version: bundle.spec.version().clone(),
        init_pid: container_pid,
        init_start,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: crate::logging::rfc3339_now(),
        owner: String::new(),
        annotations: bundle
            .spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        cgroup: cg,
        hooks: bundle.spec.hooks().clone(),
        notify_socket: notify_host,
        config: Some(Box::new(bundle.spec.clone())),
        resources: bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().clone()),
    };
    root.save(&st)?;
    crate::fault::point("create:after-save");
    if let Some(p) = &o.pid_file {
        write_pid_file(p, container_pid)?;
    }
    undo.armed = false;
    Ok(Created {
        state: st,
        console: console_keep,
    })
}

/// Place the init, send it the config, and wait for it to be ready.
fn bootstrap(
    init: &mut process::Init,
    cg: &state::CgroupState,
    bundle: &spec::Bundle,
    o: &CreateOpts,
    cg_path: &str,
    rdt: &mut crate::rdt::Made,
) -> Result<i32> {
    let pid = init.child.id() as i32;
    crate::rdt::apply(&bundle.spec, &o.id, pid, rdt)?;
    {
        let linux = bundle.spec.linux().as_ref();
        let spec_rules = linux
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.devices().clone())
            .unwrap_or_default();
        cgroups::apply_devices(cg, &cgroups::devices::rules(&spec_rules))
            .map_err(|e| e.context("linux.resources.devices"))?;
    }
    let cfg = protocol::InitConfig {
        id: o.id.clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        spec: bundle.spec.clone(),
        cgroup_path: cg_path.to_string(),
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: listen_fds() + o.preserve_fds,
        fifo_fd: init.fifo_fd,
        console_fd: init.console_fd,
        seccomp: bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(crate::seccomp::compile)
            .transpose()?,
    };
    let listener = cfg.seccomp.as_ref().and_then(|f| f.listener.clone());
    if let Some(r) = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
    {
        cgroups::apply(cg, r, false)?;
    }
    protocol::send(&mut init.sock, &protocol::Message::Bootstrap(Box::new(cfg)))?;
    let mut container_pid = None;
    loop {
        match protocol::recv(&mut init.sock)? {
            Some(protocol::Message::Pid { pid }) => container_pid = Some(pid),
            Some(protocol::Message::NetDevices) => {
                crate::netdev::move_all(&bundle.spec, container_pid.unwrap_or(pid))?;
                protocol::send(&mut init.sock, &protocol::Message::NetDevicesDone)?;
            }
            Some(protocol::Message::RunHooks) => {
                let pid = container_pid.unwrap_or(pid);
                let state = hook_state(bundle, &o.id, "creating", pid);
                if let Some(h) = bundle.spec.hooks() {
                    hooks::run_all(
                        "prestart",
                        h.prestart().as_deref().unwrap_or_default(),
                        &state,
                    )?;
                    hooks::run_all(
                        "createRuntime",
                        h.create_runtime().as_deref().unwrap_or_default(),
                        &state,
                    )?;
                }
                // createContainer runs while create is not done yet: still "creating".
                protocol::send(&mut init.sock, &protocol::Message::HooksDone { state })?;
            }
            Some(protocol::Message::SeccompListener) => {
                let fd = crate::seccomp::notify::recv_fd(&init.sock)?;
                let pid = container_pid.unwrap_or(pid);
                let l = listener
                    .as_ref()
                    .ok_or_else(|| Error::Msg("seccomp listener without listenerPath".into()))?;
                let state: oci_spec::runtime::State =
                    serde_json::from_str(&hook_state(bundle, &o.id, "creating", pid))
                        .map_err(|e| Error::Msg(format!("state: {e}")))?;
                let msg = crate::seccomp::notify::process_state(l, &state, pid);
                crate::seccomp::notify::send_to_agent(l, &msg, std::os::fd::AsFd::as_fd(&fd))?;
                protocol::send(&mut init.sock, &protocol::Message::SeccompDone)?;
            }
            Some(protocol::Message::IdMapRequest) => {
                write_id_maps(pid, &bundle.spec)?;
                protocol::send(&mut init.sock, &protocol::Message::IdMapDone)?;
            }
            Some(protocol::Message::Ready) => {
                return container_pid
                    .ok_or_else(|| Error::Msg("init was ready before reporting its pid".into()));
            }
            Some(protocol::Message::Error { message }) => {
                if let Some(p) = container_pid {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
                }
                return Err(Error::Init(format!(
                    "unable to start container process: {message}"
                )));
            }
            Some(other) => {
                return Err(Error::Msg(format!(
                    "unexpected message from init: {other:?}"
                )));
            }
            None => {
                if let Some(p) = container_pid {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
                }
                return Err(Error::Init(
                    "unable to start container process: init exited without a word".into(),
                ));
            }
        }
    }
}

/// The state a hook gets on stdin, for a container being created.
fn hook_state(bundle: &spec::Bundle, id: &str, status: &str, pid: i32) -> String {
    let annotations: BTreeMap<String, String> = bundle
        .spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    hooks::state_json(
        bundle.spec.version(),
        id,
        status,
        pid,
        &bundle.dir,
        &annotations,
    )
}

/// The state a hook gets on stdin, for a created container.
fn saved_hook_state(st: &State, status: Status) -> String {
    let pid = if status == Status::Stopped {
        0
    } else {
        st.init_pid
    };
    hooks::state_json(
        &st.oci_version,
        &st.id,
        status.as_str(),
        pid,
        &st.bundle,
        &st.annotations,
    )
}

/// Write the user namespace's uid and gid maps for the init (only the parent,
/// outside the namespace, may write them).
fn write_id_maps(pid: i32, spec: &oci_spec::runtime::Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    for (file, maps, field) in [
        (
            "uid_map",
            linux.and_then(|l| l.uid_mappings().as_deref()),
            "linux.uidMappings",
        ),
        (
            "gid_map",
            linux.and_then(|l| l.gid_mappings().as_deref()),
            "linux.gidMappings",
        ),
    ] {
        let path = format!("/proc/{pid}/{file}");
        let text = crate::init::namespaces::id_map_text(maps.unwrap_or_default());
        std::fs::write(&path, text).map_err(|e| io_err("write", &path, e).context(field))?;
    }
    Ok(())
}

/// Write the pid file atomically (temporary file in the same directory, then rename).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs = std::path::absolute(path).map_err(|e| io_err("abs", path, e))?;
    let dir = abs.parent().unwrap_or(Path::new("/"));
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| io_err("write", &tmp, e))?;
    std::fs::rename(&tmp, &abs).map_err(|e| io_err("rename", &abs, e))
}

/// Release the init to execve.
pub fn start(root: &Root, id: &str) -> Result<()> {
    let lock = root.lock(id)?;
    let st = root.load(id)?;
    st.status(root).can_start()?;
    // The pidfd first: once the fifo is open the init may exec and exit at once.
    let pidfd = st
        .init_pidfd()
        .map_err(|_| Error::Msg("cannot start a container that has stopped".into()))?;
    // Listen for the container's READY=1 before it can run.
    let notify = match &st.notify_socket {
        Some(_) => {
            let p = root.dir(id).join("notify").join("notify.sock");
            let _ = std::fs::remove_file(&p);
            let s =
                std::os::unix::net::UnixDatagram::bind(&p).map_err(|e| io_err("bind", &p, e))?;
            let _ =
                std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o777));
            Some(s)
        }
        None => None,
    };
    let fifo_path = root.dir(id).join(EXEC_FIFO);
    let fifo = nix::fcntl::open(
        &fifo_path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys("open", &fifo_path, e))?;
    // The init writes "0" when released, or the error of a startContainer hook.
    let released = || -> Option<Result<()>> {
        let mut buf = [0u8; 4096];
        match nix::unistd::read(&fifo, &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(1) if buf[0] == b'0' => Some(Ok(())),
            Ok(n) => Some(Err(Error::Msg(
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ))),
        }
    };
    let outcome = loop {
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::call("poll exec fifo", e)),
            Ok(_) => {}
        }
        let fifo_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
        let died = fds[1].revents().is_some_and(|r| !r.is_empty());
        if fifo_ready && let Some(r) = released() {
            break r;
        }
        // A process that wrote the byte and then exited still counts as started.
        if died {
            if let Some(r) = released() {
                break r;
            }
            return Err(Error::Msg(
                "cannot start a container that has stopped".into(),
            ));
        }
    };
    crate::fault::point("start:after-release");
    std::fs::remove_file(&fifo_path).map_err(|e| io_err("remove", &fifo_path, e))?;
    outcome?;
    // The lock is not held while waiting for the container to be ready.
    drop(lock);
    if let (Some(sock), Some(host)) = (notify, &st.notify_socket) {
        relay_ready(&sock, host, &pidfd, st.init_pid)?;
    }
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststart().as_ref()) {
        let state = saved_hook_state(&st, Status::Running);
        if let Err(e) = hooks::run_all("poststart", h, &state) {
            // runtime-spec 1.3: a failed poststart hook fails start and stops the container.
            let _ = kill_and_destroy_processes(&st);
            return Err(e);
        }
    }
    Ok(())
}

/// Wait for READY=1 from the container (or its end) and tell the caller's
/// NOTIFY_SOCKET, with the container's pid as MAINPID.
fn relay_ready(
    sock: &std::os::unix::net::UnixDatagram,
    host: &Path,
    pidfd: &OwnedFd,
    pid: i32,
) -> Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::call("poll notify socket", e)),
            Ok(_) => {}
        }
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            let n = sock
                .recv(&mut buf)
                .map_err(|e| Error::Msg(format!("notify socket: {e}")))?;
            let msg = String::from_utf8_lossy(&buf[..n]);
            if msg.lines().any(|l| l == "READY=1") {
                let out = std::os::unix::net::UnixDatagram::unbound()
                    .map_err(|e| Error::Msg(format!("notify socket: {e}")))?;
                out.send_to(format!("READY=1\nMAINPID={pid}\n").as_bytes(), host)
                    .map_err(|e| io_err("send to NOTIFY_SOCKET", host, e))?;
                return Ok(());
            }
        } else if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return Ok(());
        }
    }
}

/// The state JSON, as runc prints it.
pub fn state_value(root: &Root, st: &State) -> Value {
    let status = st.status(root);
    let mut v = json!({
        "ociVersion": st.oci_version,
        "id": st.id,
        "pid": if status == Status::Stopped { 0 } else { st.init_pid },
        "status": status.as_str(),
        "bundle": st.bundle,
        "rootfs": st.rootfs,
        "created": st.created,
    });
    if !st.annotations.is_empty() {
        v["annotations"] = json!(st.annotations);
    }
    v["owner"] = json!(st.owner);
    v
}

/// `state ID`.
pub fn state(root: &Root, id: &str) -> Result<Value> {
    state::validate_id(id)?;
    // The brief view: the saved config is not needed to say the state.
    let st = root.load_brief(id)?;
    Ok(state_value(root, &st))
}

/// Every container's state (for `list`).
pub fn list(root: &Root) -> Result<Vec<Value>> {
    Ok(root
        .ids()?
        .iter()
        .filter_map(|id| root.load_brief(id).ok())
        .map(|st| state_value(root, &st))
        .collect())
}

/// Parse a signal as runc does: a number, or a name with or without "SIG".
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::Msg(format!("unknown signal {s:?}")));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map_err(|_| Error::Msg(format!("unknown signal {s:?}")))
}

/// `kill ID SIGNAL`: to the init (by pidfd), or with `all` to every process in its cgroup.
pub fn kill(root: &Root, id: &str, sig: Signal, all: bool) -> Result<()> {
    state::validate_id(id)?;
    let st = root.load_brief(id)?;
    let status = st.status(root);
    if all && status == Status::Stopped && cgroups::pids(&st.cgroup).is_empty() {
        return Err(Error::NotRunning);
    }
    if !all {
        status.can_kill()?;
    }
    if all {
        return cgroups::signal_all(&st.cgroup, sig as i32);
    }
    let fd = st.init_pidfd()?;
    crate::sys::pidfd_send_signal(fd.as_fd(), sig as i32).map_err(|e| match e {
        Errno::ESRCH => Error::NotRunning,
        e => Error::call(format!("kill container init with {sig}"), e),
    })?;
    if sig == Signal::SIGKILL && status == Status::Paused {
        cgroups::freeze(&st.cgroup, false)?;
    }
    Ok(())
}

/// Wait until a pidfd reports its process exited (or the timeout passes).
pub(crate) fn wait_exit(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
}

/// SIGKILL whatever is left in a cgroup, and wait briefly for it to empty.
fn kill_cgroup(cg: &state::CgroupState) {
    for _ in 0..100 {
        if cgroups::pids(cg).is_empty() {
            return;
        }
        let _ = cgroups::signal_all(cg, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kill the init and everything in the cgroup, then remove the container.
fn kill_and_destroy(root: &Root, st: &State) -> Result<()> {
    if let Ok(fd) = st.init_pidfd() {
        let _ = crate::sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
        // A frozen process only dies once thawed.
        if cgroups::is_frozen(&st.cgroup) {
            let _ = cgroups::freeze(&st.cgroup, false);
        }
        if !wait_exit(&fd, Duration::from_secs(10)) {
            return Err(Error::Msg(format!(
                "container {} init did not die after SIGKILL",
                st.id
            )));
        }
    }
    destroy(root, st)
}

fn destroy(root: &Root, st: &State) -> Result<()> {
    kill_cgroup(&st.cgroup);
    crate::fault::point("delete:after-kill");
    if st.cgroup.owned {
        cgroups::remove(&st.cgroup)?;
    }
    crate::fault::point("delete:after-cgroup");
    crate::rdt::remove(st.config.as_deref(), &st.id);
    root.remove(&st.id)?;
    if let Some(h) = st.hooks.as_ref().and_then(|h| h.poststop().as_ref()) {
        let state = saved_hook_state(st, Status::Stopped);
        hooks::run_all_warn("poststop", h, &state);
    }
    Ok(())
}

/// SIGKILL the init and everything in its cgroup, and wait for the init to go.
fn kill_and_destroy_processes(st: &State) -> Result<()> {
    if let Ok(fd) = st.init_pidfd() {
        let _ = crate::sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
        wait_exit(&fd, Duration::from_secs(10));
    }
    kill_cgroup(&st.cgroup);
    Ok(())
}

/// `delete [--force] ID`.
pub fn delete(root: &Root, id: &str, force: bool) -> Result<()> {
    state::validate_id(id)?;
    let lock = root.lock(id);
    let st = match lock
        .as_ref()
        .map_err(|_| ())
        .and_then(|_| root.load(id).map_err(|_| ()))
    {
        Ok(st) => st,
        Err(()) => {
            // An aborted create can leave a directory without state: clean it.
            let existed = root.dir(id).exists();
            if existed {
                root.remove(id)?;
            }
            return if force || existed {
                Ok(())
            } else {
                Err(Error::NotExist)
            };
        }
    };
    match st.status(root) {
        Status::Stopped => destroy(root, &st),
        Status::Created => kill_and_destroy(root, &st),
        _ if force => kill_and_destroy(root, &st),
        s => Err(Error::Msg(format!(
            "cannot delete container {id} that is not stopped: {}",
            s.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_runc() {
        for s in ["KILL", "SIGKILL", "kill", "9"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::SIGKILL, "{s}");
        }
        assert_eq!(parse_signal("term").unwrap(), Signal::SIGTERM);
        assert!(
            parse_signal("NOPE")
                .unwrap_err()
                .to_string()
                .contains("unknown signal")
        );
        assert!(parse_signal("999").is_err());
    }
}
