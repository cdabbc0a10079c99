//! Engines for the end-to-end client tests (tests/clients.rs): a private
//! podman store ([`Podman`]) and a private containerd daemon
//! ([`Containerd`]), each calling the runtime under test through a wrapper
//! script that logs the exit status and argv of every call ([`Call`]).
//! Both are shared by the tests running at the same time (`get()` hands out
//! an `Arc`; the last one dropped tears the engine down: containers, daemon,
//! shims, cgroups, temp dir).

use super::*;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub const PODMAN_IMAGE: &str = "huskbox:latest";
pub const CTR_IMAGE: &str = "localhost/huskbox:latest";
pub const TIMEOUT: Duration = Duration::from_secs(90);

pub fn have(bin: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(bin).is_file())
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `script -qec "<argv>" /dev/null`: the command gets a pty of its own.
pub fn under_script(argv: &[String], envs: &[(&str, String)]) -> CmdOutput {
    let line: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
    let mut c = Command::new("script");
    c.args(["-qec", &line.join(" "), "/dev/null"]);
    c.envs(envs.iter().map(|(k, v)| (k, v)));
    run_command(c, TIMEOUT)
}

/// Panic unless `out` exited with `code`; its stdout.
#[track_caller]
pub fn stdout_of(out: &CmdOutput, code: i32) -> &str {
    &out.assert_code(code).stdout
}

/// rmdir `/sys/fs/cgroup/*/<rel>` and everything below it, deepest first.
fn remove_cgroup_tree(rel: &str) {
    fn rm(p: &Path) {
        for e in fs::read_dir(p).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rm(&e.path());
            }
        }
        if let Err(e) = fs::remove_dir(p) {
            eprintln!("WARNING: rmdir {}: {e}", p.display());
        }
    }
    let hierarchies = fs::read_dir("/sys/fs/cgroup").into_iter().flatten();
    for h in hierarchies.flatten() {
        let p = h.path().join(rel.trim_start_matches('/'));
        if p.is_dir() {
            rm(&p);
        }
    }
}

/// `file` in `pid`'s cgroup of the v1 hierarchy of `controller`, on the host.
#[track_caller]
pub fn cgroup_file(pid: i32, controller: &str, file: &str) -> PathBuf {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let rel = text
        .lines()
        .filter_map(|l| l.split_once(':')?.1.split_once(':'))
        .find(|(ctrls, _)| ctrls.split(',').any(|c| c == controller))
        .unwrap_or_else(|| panic!("no {controller} cgroup for pid {pid}: {text:?}"))
        .1;
    let dir = Path::new("/sys/fs/cgroup").join(controller);
    dir.join(rel.trim_start_matches('/')).join(file)
}

#[track_caller]
pub fn read_trim(p: &Path) -> String {
    let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    text.trim().to_string()
}

pub fn ns_inode(pid: i32, ns: &str) -> u64 {
    fs::metadata(format!("/proc/{pid}/ns/{ns}")).map_or(0, |m| m.ino())
}

/// Poll until container `id` has left nothing on the host: no process
/// (conmon, shim or container), cgroup, mount or runtime state dir.
#[track_caller]
pub fn assert_nothing_left(id: &str, state_dirs: &[PathBuf]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left: Vec<String> = processes_of(id, Path::new("/nonexistent"));
        left.extend(cgroups_of(id).iter().map(|c| c.display().to_string()));
        let mounts = mountinfo().into_iter().map(|m| m.mount_point);
        left.extend(mounts.filter(|m| m.contains(id)));
        let states = state_dirs.iter().filter(|d| d.exists());
        left.extend(states.map(|d| d.display().to_string()));
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{id} left behind: {left:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// The logging wrapper and the calls it records
// ---------------------------------------------------------------------------

/// One runtime invocation as logged by the wrapper.
#[derive(Debug)]
pub struct Call {
    pub rc: i32,
    pub args: Vec<String>,
}

impl Call {
    /// The verb, after the global flags (`--root R`, `--log F`, ...).
    pub fn verb(&self) -> &str {
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--root" | "--log" | "--log-format" | "--criu" => _ = it.next(),
                f if f.starts_with('-') => {}
                v => return v,
            }
        }
        ""
    }

    pub fn has(&self, arg: &str) -> bool {
        self.args.iter().any(|a| a == arg)
    }

    /// The argument after `flag`.
    pub fn value(&self, flag: &str) -> Option<&str> {
        let i = self.args.iter().position(|a| a == flag)?;
        self.args.get(i + 1).map(String::as_str)
    }
}

/// Write `<dir>/bin/husk`, which runs the runtime under test and appends
/// "<exit status>\t<arg>\t<arg>..." to `<dir>/argv.log` (one write per call).
fn write_wrapper(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let (bin, log) = (dir.join("bin/husk"), dir.join("argv.log"));
    fs::create_dir_all(dir.join("bin")).expect("mkdir bin");
    let script = format!(
        "#!/bin/sh\n{rt} \"$@\"\nrc=$?\nline=$rc\n\
         for a in \"$@\"; do line=\"$line\t$a\"; done\n\
         printf '%s\\n' \"$line\" >> {log}\nexit $rc\n",
        rt = sh_quote(&runtime_bin().to_string_lossy()),
        log = sh_quote(&log.to_string_lossy()),
    );
    fs::write(&bin, script).expect("write wrapper");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
    (bin, log)
}

/// The logged calls that name container `id`.
fn calls_for(log: &Path, id: &str) -> Vec<Call> {
    let text = fs::read_to_string(log).unwrap_or_default();
    let calls = text.lines().filter_map(|l| {
        let mut f = l.split('\t');
        let rc = f.next()?.parse().ok()?;
        let args = f.map(String::from).collect();
        Some(Call { rc, args })
    });
    calls.filter(|c| c.has(id)).collect()
}

/// Every verb of `verbs` (space-separated) was called, and the verbs of the
/// calls that failed are exactly `failed`, in order.
#[track_caller]
pub fn assert_calls(calls: &[Call], verbs: &str, failed: &str) {
    for v in verbs.split(' ') {
        let called = calls.iter().any(|c| c.verb() == v);
        assert!(called, "no `{v}` in {calls:#?}");
    }
    let bad: Vec<&str> = calls.iter().filter(|c| c.rc != 0).map(Call::verb).collect();
    assert_eq!(bad.join(" "), failed, "unexpected failures in {calls:#?}");
}

/// The first call with `verb`.
#[track_caller]
pub fn call<'a>(calls: &'a [Call], verb: &str) -> &'a Call {
    let c = calls.iter().find(|c| c.verb() == verb);
    c.unwrap_or_else(|| panic!("no `{verb}` in {calls:#?}"))
}

// ---------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------

/// A client CLI (podman, ctr) with the flags that point it at our instance.
pub trait Engine {
    /// The client's argv for `args` (split on whitespace: no argument given
    /// this way holds a space), then `tail` as is.
    fn argv(&self, args: &str, tail: &[&str]) -> Vec<String>;

    fn envs(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn command(&self, args: &str, tail: &[&str]) -> Command {
        let argv = self.argv(args, tail);
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]).envs(self.envs());
        c
    }

    fn run_with(&self, args: &str, tail: &[&str]) -> CmdOutput {
        run_command(self.command(args, tail), TIMEOUT)
    }

    fn run(&self, args: &str) -> CmdOutput {
        self.run_with(args, &[])
    }

    /// Run, assert success, return stdout trimmed.
    #[track_caller]
    fn ok_with(&self, args: &str, tail: &[&str]) -> String {
        let out = self.run_with(args, tail);
        out.assert_success().stdout.trim().to_string()
    }

    #[track_caller]
    fn ok(&self, args: &str) -> String {
        self.ok_with(args, &[])
    }
}

fn split_argv(args: String, tail: &[&str]) -> Vec<String> {
    let head = args.split_whitespace().map(String::from);
    head.chain(tail.iter().map(|s| s.to_string())).collect()
}

// ---------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------

const CONTAINERS_CONF: &str = r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
default_sysctls = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
runtime_supports_json = ["crun", "runc", "husk"]
"#;

/// Flags of every test container: no network, and never a pull.
pub const OFFLINE: &str = "--network none --pull never";

/// A private podman store with the test image imported.
pub struct Podman {
    pub dir: PathBuf,
    wrapper: PathBuf,
    argv_log: PathBuf,
    pub cgroup_parent: String,
}

impl Engine for Podman {
    fn argv(&self, args: &str, tail: &[&str]) -> Vec<String> {
        let (root, runroot, tmp) = (self.path("root"), self.path("runroot"), self.path("tmp"));
        let w = self.wrapper.display();
        let flags = format!(
            "podman --root {root} --runroot {runroot} --tmpdir {tmp} --runtime {w} \
             --cgroup-manager cgroupfs --events-backend file {args}"
        );
        split_argv(flags, tail)
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        let conf = ("CONTAINERS_CONF", self.path("containers.conf"));
        vec![conf, ("TMPDIR", self.path("vartmp"))]
    }
}

impl Podman {
    /// The instance shared by the tests running now, or `None` (skip) when
    /// podman or conmon is not installed.
    pub fn get() -> Option<Arc<Podman>> {
        if !have("podman") || !have("conmon") {
            return None;
        }
        static SHARED: Mutex<Weak<Podman>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = shared.upgrade() {
            return Some(p);
        }
        let p = Arc::new(Podman::start());
        *shared = Arc::downgrade(&p);
        Some(p)
    }

    fn start() -> Podman {
        let dir = mkdtemp("/tmp/husk-clients-podman-");
        let (wrapper, argv_log) = write_wrapper(&dir);
        let cgroup_parent = format!("/{}", unique_id("husk-clients"));
        let pm = Podman {
            dir,
            wrapper,
            argv_log,
            cgroup_parent,
        };
        fs::write(pm.path("containers.conf"), CONTAINERS_CONF).expect("containers.conf");
        fs::create_dir_all(pm.path("vartmp")).expect("mkdir vartmp");
        let (tar, rootfs) = (pm.path("rootfs.tar"), rootfs_template());
        let mut c = Command::new("tar");
        c.args(["-C", &rootfs.to_string_lossy(), "-cf", &tar, "."]);
        run_command(c, TIMEOUT).assert_success();
        pm.ok(&format!("import -q {tar} {PODMAN_IMAGE}"));
        pm
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// "VERB <test flags> FLAGS IMAGE" for `verb_flags` = "VERB FLAGS".
    pub fn container_args(&self, verb_flags: &str) -> String {
        let (verb, flags) = verb_flags.split_once(' ').unwrap_or((verb_flags, ""));
        let parent = &self.cgroup_parent;
        format!("{verb} {OFFLINE} --cgroup-parent {parent} {flags} {PODMAN_IMAGE}")
    }

    /// `run`/`create` ("VERB FLAGS") a container of the test image running `cmd`.
    pub fn launch(&self, verb_flags: &str, cmd: &[&str]) -> CmdOutput {
        self.run_with(&self.container_args(verb_flags), cmd)
    }

    #[track_caller]
    pub fn launch_ok(&self, verb_flags: &str, cmd: &[&str]) -> String {
        let out = self.launch(verb_flags, cmd);
        out.assert_success().stdout.trim().to_string()
    }

    #[track_caller]
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&format!("inspect --format {format} {name}"))
    }

    #[track_caller]
    pub fn pid(&self, name: &str) -> i32 {
        self.inspect(name, "{{.State.Pid}}").parse().expect("pid")
    }

    pub fn calls(&self, id: &str) -> Vec<Call> {
        calls_for(&self.argv_log, id)
    }

    /// A fresh name, and the `--cidfile` for podman to write the id to.
    pub fn name_and_cidfile(&self, prefix: &str) -> (String, String) {
        let name = unique_id(prefix);
        let cid = self.path(&format!("{name}.cid"));
        (name, cid)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run("rm --all --force --time 0");
        let reset = self.run("system reset --force");
        if !reset.success() {
            eprintln!("WARNING: {}", reset.describe());
        }
        remove_cgroup_tree(&self.cgroup_parent);
        remove_tree(&self.dir);
    }
}

/// Removes a podman container (by name) on drop, e.g. when a test panics.
pub struct PodmanContainer<'a>(pub &'a Podman, pub String);

impl Drop for PodmanContainer<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&format!("rm --force --time 0 {}", self.1));
    }
}

/// Where husk (or runc, for comparison runs) keeps a podman container's state.
pub fn podman_state_dirs(id: &str) -> Vec<PathBuf> {
    ["/run/husk", "/run/runc"]
        .map(|r| Path::new(r).join(id))
        .into()
}

#[track_caller]
pub fn read_id(cidfile: &str) -> String {
    fs::read_to_string(cidfile).expect("cidfile")
}

// ---------------------------------------------------------------------------
// containerd
// ---------------------------------------------------------------------------

/// A containerd daemon of our own, with the test image imported.
pub struct Containerd {
    pub dir: PathBuf,
    sock: String,
    pub ns: String,
    wrapper: PathBuf,
    argv_log: PathBuf,
    daemon: Option<Child>,
}

impl Engine for Containerd {
    fn argv(&self, args: &str, tail: &[&str]) -> Vec<String> {
        let (sock, ns) = (&self.sock, &self.ns);
        split_argv(
            format!("ctr --address {sock} --namespace {ns} {args}"),
            tail,
        )
    }
}

impl Containerd {
    /// The daemon shared by the tests running now, or `None` (skip) when
    /// containerd, ctr, the shim or podman (which makes the image) is missing.
    pub fn get() -> Option<Arc<Containerd>> {
        let bins = ["containerd", "ctr", "containerd-shim-runc-v2"];
        if !bins.iter().all(|b| have(b)) {
            return None;
        }
        static SHARED: Mutex<Weak<Containerd>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = shared.upgrade() {
            return Some(c);
        }
        let c = Arc::new(Containerd::start(&*Podman::get()?));
        *shared = Arc::downgrade(&c);
        Some(c)
    }

    fn start(pm: &Podman) -> Containerd {
        let dir = mkdtemp("/tmp/husk-clients-containerd-");
        let (wrapper, argv_log) = write_wrapper(&dir);
        let d = dir.to_string_lossy().into_owned();
        // disabled_plugins must come before the first table.
        let config = format!(
            "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             [grpc]\n  address = \"{d}/containerd.sock\"\n\
             [ttrpc]\n  address = \"{d}/containerd.sock.ttrpc\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n"
        );
        fs::write(dir.join("config.toml"), config).expect("config.toml");
        let log = fs::File::create(dir.join("containerd.log")).expect("containerd.log");
        let mut cmd = Command::new("containerd");
        cmd.arg("--config").arg(dir.join("config.toml"));
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log);
        cmd.process_group(0);
        let mut cd = Containerd {
            sock: format!("{d}/containerd.sock"),
            ns: unique_id("husk-clients"),
            daemon: Some(cmd.spawn().expect("spawn containerd")),
            dir,
            wrapper,
            argv_log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cd.run("version").success() {
            let exited = cd.daemon.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = fs::read_to_string(cd.dir.join("containerd.log"));
                panic!("containerd did not come up ({exited:?}):\n{log:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let img = cd.dir.join("img.tar").display().to_string();
        pm.ok(&format!(
            "save --format docker-archive -o {img} {PODMAN_IMAGE}"
        ));
        cd.ok(&format!("images import {img}"));
        cd
    }

    /// "run --runc-binary <wrapper> --runc-root <tmp> FLAGS IMAGE ID"
    pub fn run_args(&self, flags: &str, id: &str) -> String {
        let (w, root) = (self.wrapper.display(), self.runc_root());
        let root = root.display();
        format!("run --runc-binary {w} --runc-root {root} {flags} {CTR_IMAGE} {id}")
    }

    pub fn runc_root(&self) -> PathBuf {
        self.dir.join("runc")
    }

    /// Where husk keeps the state of container `id` (`--root <runc-root>/<ns>`).
    pub fn state_dirs(&self, id: &str) -> Vec<PathBuf> {
        vec![self.runc_root().join(&self.ns).join(id)]
    }

    /// The shim's bundle dir, holding the runtime's log.json.
    pub fn bundle(&self, id: &str) -> PathBuf {
        let tasks = self.dir.join("state/io.containerd.runtime.v2.task");
        tasks.join(&self.ns).join(id)
    }

    /// `(pid, status)` from `ctr task ls`.
    pub fn task(&self, id: &str) -> Option<(i32, String)> {
        let out = self.ok("task ls");
        out.lines()
            .find_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
                [i, pid, status] if i == id => Some((pid.parse().ok()?, status.to_string())),
                _ => None,
            })
    }

    pub fn calls(&self, id: &str) -> Vec<Call> {
        calls_for(&self.argv_log, id)
    }

    pub fn remove(&self, id: &str) {
        let _ = self.run(&format!("task kill --signal SIGKILL {id}"));
        let _ = self.run(&format!("task delete --force {id}"));
        let _ = self.run(&format!("containers delete {id}"));
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let ls = self.run("containers ls --quiet");
        for id in ls.stdout.lines().filter(|l| ls.success() && !l.is_empty()) {
            self.remove(id);
        }
        if let Some(mut child) = self.daemon.take() {
            // SAFETY: plain kill(2) of the daemon this process started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Shims outlive containerd by design; those of our daemon name its socket.
        for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = e.file_name().to_string_lossy().parse::<i32>().unwrap_or(0);
            let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
            if pid > 0 && String::from_utf8_lossy(&cmdline).contains(&self.sock) {
                eprintln!("WARNING: killing leftover shim {pid}");
                // SAFETY: plain kill(2) of a shim our daemon started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        remove_cgroup_tree(&self.ns);
        remove_tree(&self.dir);
    }
}

/// Removes a containerd container and its task on drop.
pub struct CtrContainer<'a>(pub &'a Containerd, pub String);

impl Drop for CtrContainer<'_> {
    fn drop(&mut self) {
        self.0.remove(&self.1);
    }
}

/// The runtime's log.json lines at "error" level (or not JSON at all).
pub fn log_errors(bundle: &Path) -> Vec<String> {
    let text = fs::read_to_string(bundle.join("log.json")).unwrap_or_default();
    let parse = |l: &str| serde_json::from_str::<Value>(l).ok();
    let is_error = |l: &&str| parse(l).is_none_or(|v| v["level"] == "error");
    text.lines().filter(is_error).map(String::from).collect()
}
