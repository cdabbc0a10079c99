//! Signals and descriptors around a container: `run` in the foreground
//! forwards the signals it gets and exits with the container's code (or
//! 128+signal); `kill --all` and `delete --force` reach every process of a
//! container that shares the host's pid namespace; `--preserve-fds` and
//! systemd's LISTEN_FDS pass exactly the descriptors they name; a new session
//! keyring per container unless `--no-new-keyring`.
//!
//! What the container saw comes from the probe (`/probe signals` prints one
//! JSON line per signal caught, `/probe report` lists fds and env); what is
//! left on the host comes from /proc.
//!
//! Run against husk: `cargo test --test signals`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test signals`

mod common;

use common::console::{reset_dispositions, wait_child};
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// A foreground `run` we can signal
// ---------------------------------------------------------------------------

/// `run` in the foreground as a child of the test, its stdout read line by line.
struct Foreground {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Foreground {
    fn spawn(rt: &Runtime, id: &str, b: &Bundle) -> Foreground {
        let mut c = rt.run_cmd(id, b, &[]);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only raw rt_sigaction, sigprocmask and setpgid in the child.
        unsafe {
            c.pre_exec(|| {
                reset_dispositions();
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        let mut child = c.spawn().expect("spawn run");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Foreground {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Send `sig` to the runtime process (not its group).
    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0, "kill run");
    }

    /// Wait for the next stdout line that is JSON matching `pred`.
    #[track_caller]
    fn expect_line(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if let Ok(v) = serde_json::from_str::<Value>(&l)
                        && pred(&v)
                    {
                        return v;
                    }
                }
                Err(_) => {
                    let _ = wait_child(&mut self.child, Duration::from_millis(1));
                    let mut err = String::new();
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    panic!(
                        "no {what} from the container; stdout {:?}; stderr {err:?}",
                        self.seen
                    );
                }
            }
        }
    }

    #[track_caller]
    fn wait(&mut self) -> i32 {
        wait_child(&mut self.child, WAIT).expect("run exits")
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) on the process group we made for the child.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// run: signal forwarding and exit codes
// ---------------------------------------------------------------------------

#[test]
fn run_forwards_signals_to_the_container() {
    let mut b = Bundle::new();
    b.set_args(&["/probe", "signals"]);
    let rt = Runtime::new();
    let id = unique_id("sig-fwd");
    {
        let mut run = Foreground::spawn(&rt, &id, &b);
        run.expect_line("ready", |v| v["ready"] == true);
        for (sig, n) in [(libc::SIGUSR1, 10), (libc::SIGHUP, 1), (libc::SIGUSR2, 12)] {
            run.signal(sig);
            run.expect_line(&format!("signal {n}"), |v| v["signal"] == n);
        }
        // SIGINT (a ^C on the caller's terminal) is passed on too.
        run.signal(libc::SIGINT);
        run.expect_line("signal 2", |v| v["signal"] == 2);
        run.signal(libc::SIGTERM);
        run.expect_line("signal 15", |v| v["signal"] == 15);
        // The probe exits 0 after SIGTERM: run's code is the container's.
        assert_eq!(run.wait(), 0, "run's exit code");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn run_exit_code_is_the_containers() {
    let mut b = Bundle::new();
    let rt = Runtime::new();
    for code in [0, 1, 7, 255] {
        b.set_args(&["/probe", "exit", &code.to_string()]);
        let id = unique_id("sig-exit");
        rt.run(&id, &b).assert_code(code);
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn run_exit_code_is_128_plus_the_signal() {
    // Without a pid namespace the probe can die from its own SIGUSR1.
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.set_args(&["/probe", "kill-self", "USR1"]);
    let rt = Runtime::new();
    let id = unique_id("sig-self");
    rt.run(&id, &b).assert_code(128 + libc::SIGUSR1);
    assert_clean(&rt, &id, &b);

    // A forwarded SIGTERM that kills the program (default disposition).
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.set_args(&["/bin/sh", "-c", "echo '{\"ready\":true}'; exec sleep 1000"]);
    let id = unique_id("sig-term");
    {
        let mut run = Foreground::spawn(&rt, &id, &b);
        run.expect_line("ready", |v| v["ready"] == true);
        // Give exec a moment to replace the shell (the probe cannot tell us).
        let deadline = Instant::now() + WAIT;
        while !processes_of(&id, b.path())
            .iter()
            .any(|p| p.contains("sleep 1000"))
        {
            assert!(Instant::now() < deadline, "sleep never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        run.signal(libc::SIGTERM);
        assert_eq!(run.wait(), 128 + libc::SIGTERM, "run's exit code");
    }
    assert_clean(&rt, &id, &b);

    // SIGKILL from outside (`kill`), with a pid namespace.
    let mut b = Bundle::new();
    b.set_args(&[
        "/bin/sh",
        "-c",
        "echo '{\"ready\":true}'; exec /probe sleep inf",
    ]);
    let id = unique_id("sig-kill");
    {
        let mut run = Foreground::spawn(&rt, &id, &b);
        run.expect_line("ready", |v| v["ready"] == true);
        rt.wait_status(&id, "running", WAIT).expect("running");
        rt.kill(&id, "KILL").assert_success();
        assert_eq!(run.wait(), 128 + libc::SIGKILL, "run's exit code");
    }
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// kill --all and delete --force without a pid namespace
// ---------------------------------------------------------------------------

/// A container sharing the host's pid namespace whose init has forked two
/// children; returns when all three are visible on the host.
fn forked_family<'a>(rt: &'a Runtime, b: &mut Bundle, id: &str) -> Container<'a> {
    b.remove_namespace("pid");
    b.set_args(&["/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    let c = rt.create_ok(id, b);
    c.start().assert_success();
    let deadline = Instant::now() + WAIT;
    loop {
        let procs = processes_of(id, b.path());
        if procs.iter().filter(|p| p.contains("sleep 1000")).count() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "children never started: {procs:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    c
}

#[track_caller]
fn wait_no_process(id: &str, b: &Bundle, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let procs = processes_of(id, b.path());
        if procs.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: processes of the container left on the host: {procs:#?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_all_without_pid_namespace_leaves_no_process() {
    for sig in ["KILL", "TERM"] {
        let mut b = Bundle::new();
        let rt = Runtime::new();
        let id = unique_id("sig-killall");
        {
            let c = forked_family(&rt, &mut b, &id);
            rt.exec(&["kill", "--all", &id, sig]).assert_success();
            wait_no_process(&id, &b, &format!("kill --all {sig}"));
            c.wait_status("stopped", WAIT).expect("stopped");
            c.delete().assert_success();
        }
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn delete_force_without_pid_namespace_leaves_no_process() {
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-delforce");
    {
        let c = forked_family(&rt, &mut b, &id);
        c.delete_force().assert_success();
        wait_no_process(&id, &b, "delete --force");
        assert!(c.state().is_err(), "container still exists");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn delete_of_a_stopped_init_kills_its_orphans() {
    // Only the init is killed; its children (no pid namespace) outlive it.
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-orphans");
    {
        let c = forked_family(&rt, &mut b, &id);
        let pid = c.pid();
        c.kill("KILL").assert_success();
        assert!(wait_pid_gone(pid, WAIT), "init {pid} survived SIGKILL");
        c.wait_status("stopped", WAIT).expect("stopped");
        assert!(
            processes_of(&id, b.path()).len() >= 2,
            "the children should outlive their init here"
        );
        c.delete().assert_success();
        wait_no_process(&id, &b, "delete of a stopped container");
    }
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// --preserve-fds and LISTEN_FDS
// ---------------------------------------------------------------------------

/// A pre_exec hook placing `fds[i]` at 3+i without close-on-exec.
fn pass_fds(fds: Vec<i32>) -> impl FnMut() -> std::io::Result<()> + Send + Sync + 'static {
    move || {
        // First move every source above the targets, so that no dup2 below
        // clobbers a source that happens to sit at 3, 4, ...
        let mut high = Vec::with_capacity(fds.len());
        for &fd in &fds {
            // SAFETY: fcntl on a descriptor this process owns.
            let h = unsafe { libc::fcntl(fd, libc::F_DUPFD, 100) };
            if h < 0 {
                return Err(std::io::Error::last_os_error());
            }
            high.push(h);
        }
        for (i, &fd) in high.iter().enumerate() {
            let to = 3 + i as i32;
            // SAFETY: dup2 on descriptors this process owns.
            if unsafe { libc::dup2(fd, to) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn fds_of(r: &Value) -> Vec<(i64, String)> {
    r["fds"]
        .as_array()
        .unwrap_or_else(|| panic!("no fds in report: {r}"))
        .iter()
        .map(|f| {
            (
                f["fd"].as_i64().unwrap_or(-1),
                f["target"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// Three files in the bundle dir, opened for writing.
fn three_files(b: &Bundle) -> (Vec<std::fs::File>, Vec<String>) {
    let paths: Vec<String> = ["fd-one", "fd-two", "fd-three"]
        .iter()
        .map(|n| b.path().join(n).to_string_lossy().into_owned())
        .collect();
    let files = paths
        .iter()
        .map(|p| std::fs::File::create(p).expect("create"))
        .collect();
    (files, paths)
}

/// `run [EXTRA...]` of `b` with the [`three_files`] at fds 3, 4 and 5; with
/// `listen_pid`, under `sh -c 'export LISTEN_PID=PID LISTEN_FDS=1; exec
/// "$@"'` (a LISTEN_PID of `$$` names the runtime's own pid, which only the
/// shell knows before exec). Returns the output and the files' paths.
fn run_with_three_fds(
    rt: &Runtime,
    b: &Bundle,
    id: &str,
    listen_pid: Option<&str>,
    extra: &[&str],
) -> (CmdOutput, Vec<String>) {
    let (files, paths) = three_files(b);
    let run = rt.run_cmd(id, b, extra);
    let mut c = match listen_pid {
        None => run,
        Some(pid) => {
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg(format!("export LISTEN_PID={pid} LISTEN_FDS=1; exec \"$@\""))
                .arg("sh")
                .arg(run.get_program())
                .args(run.get_args());
            sh
        }
    };
    let fds = files.iter().map(|f| f.as_raw_fd()).collect();
    // SAFETY: the hook calls only dup2/fcntl.
    unsafe { c.pre_exec(pass_fds(fds)) };
    let out = run_command(c, command_timeout());
    drop(files);
    (out, paths)
}

#[test]
fn preserve_fds_passes_exactly_those() {
    let b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-preserve");
    let (out, paths) = run_with_three_fds(&rt, &b, &id, None, &["--preserve-fds", "2"]);
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    let got = fds_of(&r);
    let nums: Vec<i64> = got.iter().map(|f| f.0).collect();
    assert_eq!(nums, [0, 1, 2, 3, 4], "{got:?}");
    assert_eq!(got[3].1, paths[0], "fd 3");
    assert_eq!(got[4].1, paths[1], "fd 4");
    assert_clean(&rt, &id, &b);
}

#[test]
fn listen_fds_for_the_runtime_pass_fd_3_on() {
    let b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-listen");
    let (out, _) = run_with_three_fds(&rt, &b, &id, Some("$$"), &[]);
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    let got = fds_of(&r);
    let nums: Vec<i64> = got.iter().map(|f| f.0).collect();
    assert_eq!(
        nums,
        [0, 1, 2, 3],
        "exactly one socket-activation fd: {got:?}"
    );
    assert!(got[3].1.ends_with("/fd-one"), "fd 3: {got:?}");
    assert_eq!(r["env"]["LISTEN_FDS"], "1", "env: {}", r["env"]);
    assert_eq!(r["env"]["LISTEN_PID"], "1", "env: {}", r["env"]);
    assert_clean(&rt, &id, &b);
}

#[test]
fn listen_fds_for_another_pid_are_ignored() {
    let b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-listen-other");
    let (out, _) = run_with_three_fds(&rt, &b, &id, Some("1"), &[]);
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    let nums: Vec<i64> = fds_of(&r).iter().map(|f| f.0).collect();
    assert_eq!(nums, [0, 1, 2], "fds: {}", r["fds"]);
    assert!(r["env"].get("LISTEN_FDS").is_none(), "env: {}", r["env"]);
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// session keyring
// ---------------------------------------------------------------------------

/// `/proc/keys` as the container reads it; `unmask` drops it from maskedPaths.
fn proc_keys(extra: &[&str], unmask: bool) -> (String, String) {
    let mut b = Bundle::new();
    if unmask {
        b.config_mut()["linux"]["maskedPaths"]
            .as_array_mut()
            .expect("maskedPaths")
            .retain(|p| p != "/proc/keys");
    }
    b.set_args(&["/probe", "read", "/proc/keys"]);
    let rt = Runtime::new();
    let id = unique_id("sig-keys");
    let out = rt.run_with(&id, &b, extra);
    out.assert_code(0);
    let v = probe_report(&out.stdout);
    assert_eq!(v["ok"], true, "read /proc/keys: {v}");
    assert_clean(&rt, &id, &b);
    (id, v["content"].as_str().unwrap_or_default().to_string())
}

#[test]
fn proc_keys_is_masked_by_default() {
    let (_, keys) = proc_keys(&[], false);
    assert_eq!(keys, "", "/proc/keys is readable in the default config");
}

#[test]
fn new_session_keyring_unless_no_new_keyring() {
    if !std::path::Path::new("/proc/keys").exists() {
        skip!("kernel without /proc/keys (CONFIG_KEYS_DEBUG_PROC_KEYS)");
    }
    // The container's session keyring is named "_ses.<id>" (as runc names it):
    // with /proc/keys unmasked the container sees the keyring it possesses.
    let (id, keys) = proc_keys(&[], true);
    assert!(
        keys.lines().any(|l| l.contains(&format!("_ses.{id}"))),
        "no session keyring _ses.{id} in the container's /proc/keys:\n{keys}"
    );
    let (id, keys) = proc_keys(&["--no-new-keyring"], true);
    assert!(
        !keys.contains(&format!("_ses.{id}")),
        "--no-new-keyring made a keyring anyway:\n{keys}"
    );
}

// ---------------------------------------------------------------------------
// signal state handed to the container
// ---------------------------------------------------------------------------

#[test]
fn signals_ignored_by_the_caller_are_reset_even_glibc_reserved_ones() {
    // A caller started by glibc's posix_spawn may have SIGCANCEL (32) set to
    // SIG_IGN; glibc's signal()/sigaction() refuse to touch 32 and 33, so a
    // runtime that resets dispositions with them passes the SIG_IGN on.
    let b = Bundle::new();
    let rt = Runtime::new();
    for sig in [32, 33, libc::SIGUSR2] {
        let id = unique_id("sig-ign");
        let mut c = rt.run_cmd(&id, &b, &[]);
        // SAFETY: one raw rt_sigaction in the child.
        unsafe {
            c.pre_exec(move || {
                common::console::ignore_signal_raw(sig);
                Ok(())
            })
        };
        // Not run_command: its own pre_exec would reset the disposition again.
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn run");
        let code = wait_child(&mut child, WAIT).expect("run exits");
        let mut stdout = String::new();
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stdout.take().expect("out"), &mut stdout);
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("err"), &mut stderr);
        assert_eq!(code, 0, "run: {stdout} {stderr}");
        let r = probe_report(&stdout);
        assert_eq!(
            r["sig_ign"], "0000000000000000",
            "signal {sig} ignored by the caller reached the container"
        );
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn foreground_run_ends_with_the_init_and_leaves_no_process() {
    // No pid namespace: the init's background child would outlive it.
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.set_args(&["/bin/sh", "-c", "sleep 1000 >/dev/null 2>&1 & exit 3"]);
    let rt = Runtime::new();
    let id = unique_id("sig-fg-orphan");
    let t0 = Instant::now();
    rt.run(&id, &b).assert_code(3);
    assert!(
        t0.elapsed() < WAIT,
        "run waited for the orphan: {:?}",
        t0.elapsed()
    );
    wait_no_process(&id, &b, "after run");
    assert_clean(&rt, &id, &b);
}

#[test]
fn preserve_fds_without_descriptors_leaks_nothing_of_the_runtime() {
    // --preserve-fds 3 when the caller has no fd 3..5 open: whatever the
    // runtime itself opens there must not reach the container.
    for terminal in [false, true] {
        let mut b = Bundle::new();
        b.config_mut()["process"]["terminal"] = serde_json::json!(terminal);
        let rt = Runtime::new();
        let id = unique_id("sig-preserve-none");
        let out = rt.run_with(&id, &b, &["--preserve-fds", "3"]);
        out.assert_code(0);
        let r = if terminal {
            common::console::pty_json(&out.stdout).unwrap_or_else(|| panic!("{}", out.describe()))
        } else {
            probe_report(&out.stdout)
        };
        let got = fds_of(&r);
        let nums: Vec<i64> = got.iter().map(|f| f.0).collect();
        assert_eq!(nums, [0, 1, 2], "terminal={terminal}: {got:?}");
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn listen_fds_and_preserve_fds_together() {
    let b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-listen-preserve");
    let (out, paths) = run_with_three_fds(&rt, &b, &id, Some("$$"), &["--preserve-fds", "2"]);
    out.assert_code(0);
    let r = probe_report(&out.stdout);
    let got = fds_of(&r);
    let want: Vec<(i64, String)> = vec![
        (0, got[0].1.clone()),
        (1, got[1].1.clone()),
        (2, got[2].1.clone()),
        (3, paths[0].clone()),
        (4, paths[1].clone()),
        (5, paths[2].clone()),
    ];
    assert_eq!(got, want);
    assert_eq!(r["env"]["LISTEN_FDS"], "1", "env: {}", r["env"]);
    assert_clean(&rt, &id, &b);
}

#[test]
fn kill_all_reaches_the_orphans_of_a_stopped_init() {
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-orphans-killall");
    {
        let c = forked_family(&rt, &mut b, &id);
        let pid = c.pid();
        c.kill("KILL").assert_success();
        assert!(wait_pid_gone(pid, WAIT), "init {pid} survived SIGKILL");
        c.wait_status("stopped", WAIT).expect("stopped");
        rt.exec(&["kill", "--all", &id, "KILL"]).assert_success();
        wait_no_process(&id, &b, "kill --all on a stopped container");
        c.delete().assert_success();
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn kill_all_on_a_created_container() {
    let b = Bundle::sleeper();
    let rt = Runtime::new();
    let id = unique_id("sig-killall-created");
    {
        let c = rt.create_ok(&id, &b);
        let pid = c.pid();
        rt.exec(&["kill", "--all", &id, "KILL"]).assert_success();
        assert!(wait_pid_gone(pid, WAIT), "init {pid} survived kill --all");
        c.wait_status("stopped", WAIT).expect("stopped");
        c.delete().assert_success();
    }
    assert_clean(&rt, &id, &b);
}

/// `forked_family`, paused; `None` (after a loud skip) without a freezer.
fn paused_family<'a>(rt: &'a Runtime, b: &mut Bundle, id: &str) -> Option<Container<'a>> {
    let c = forked_family(rt, b, id);
    let p = rt.exec(&["pause", id]);
    if !p.success() {
        eprintln!("SKIP: pause failed: {}", p.describe());
        return None;
    }
    rt.wait_status(id, "paused", WAIT).expect("paused");
    Some(c)
}

#[test]
fn paused_container_can_be_force_deleted() {
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-paused-del");
    {
        let Some(c) = paused_family(&rt, &mut b, &id) else {
            return;
        };
        c.delete_force().assert_success();
        wait_no_process(&id, &b, "delete --force of a paused container");
        assert!(c.state().is_err(), "container still exists");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn paused_container_can_be_killed_with_kill_all() {
    let mut b = Bundle::new();
    let rt = Runtime::new();
    let id = unique_id("sig-paused-kill");
    {
        let Some(c) = paused_family(&rt, &mut b, &id) else {
            return;
        };
        rt.exec(&["kill", "--all", &id, "KILL"]).assert_success();
        wait_no_process(&id, &b, "kill --all KILL of a paused container");
        c.wait_status("stopped", WAIT).expect("stopped");
        c.delete().assert_success();
    }
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// NOTIFY_SOCKET
// ---------------------------------------------------------------------------

#[test]
fn notify_socket_reaches_the_container() {
    // runc binds a socket of its own into the container (at
    // /run/notify/notify.sock), sets NOTIFY_SOCKET there and relays READY=1
    // to the caller's socket. Here: the container gets a NOTIFY_SOCKET that
    // names a socket it can see.
    if runtime_is_runc() {
        skip!("runc's run waits for READY=1, which nothing in this image can send");
    }
    let mut b = Bundle::new();
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe report; /probe stat \"${NOTIFY_SOCKET:-/nonexistent}\"",
    ]);
    let host_sock = b.path().join("notify.sock");
    let _listener = std::os::unix::net::UnixDatagram::bind(&host_sock).expect("bind notify");
    let rt = Runtime::new();
    let id = unique_id("sig-notify");
    let mut c = rt.run_cmd(&id, &b, &[]);
    c.env("NOTIFY_SOCKET", &host_sock);
    let out = run_command(c, command_timeout());
    out.assert_code(0);
    let lines = probe_lines(&out.stdout);
    let env = &lines[0]["env"];
    let path = env["NOTIFY_SOCKET"]
        .as_str()
        .unwrap_or_else(|| panic!("no NOTIFY_SOCKET in the container: {env}"));
    let st = &lines[1][0];
    assert_eq!(st["type"], "socket", "{path}: {st}");
    assert_clean(&rt, &id, &b);
}
