//! Shared harness for husk's integration tests (`mod common;` in tests/*.rs).
//!
//! * [`runtime_bin`] / [`probe_bin`] locate the runtime under test and the
//!   in-container probe (built on demand, see tests/probe).
//! * [`Bundle`] is a throw-away OCI bundle under /tmp with a rootfs copied from
//!   a cached template (busybox + /probe + a few /etc files).
//! * [`Runtime`] drives the runtime CLI with a private `--root`; every command
//!   has a timeout, and everything it created is force-deleted on drop.
//!
//! Environment:
//! * `HUSK_RUNTIME` — runtime binary to test (e.g. /usr/sbin/runc); default is
//!   the `husk` binary cargo built for this test run.
//! * `HUSK_PROBE` — prebuilt static probe; default: built once with
//!   `cargo build -p husk-probe --release --target x86_64-unknown-linux-gnu
//!   --target-dir target/probe` and `-C target-feature=+crt-static`.
//! * `HUSK_TEST_TIMEOUT` — seconds before a runtime command is killed (30).
//!
//! Config handling: a `Bundle` owns its config as a `serde_json::Value`.
//! [`Runtime::create`] and [`Runtime::run`] write it to `config.json` right
//! before invoking the runtime, so tests just edit [`Bundle::config_mut`].
//! Tests that need a broken bundle call [`Bundle::set_raw_config`] or
//! [`Bundle::remove_config`], after which config.json is left alone.
#![allow(dead_code)] // every test binary uses a different subset

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Skipping
// ---------------------------------------------------------------------------

/// Loudly skip the current test: prints `SKIP: <test path>: <reason>` to
/// stderr and returns from the enclosing function. Use as `common::skip!(..)`
/// or after `use common::skip;`.
#[allow(unused_macros)]
macro_rules! skip {
    ($($reason:tt)+) => {{
        fn __husk_skip_marker() {}
        let name = std::any::type_name_of_val(&__husk_skip_marker);
        let name = name.strip_suffix("::__husk_skip_marker").unwrap_or(name);
        eprintln!("SKIP: {}: {}", name, format!($($reason)+));
        return;
    }};
}
#[allow(unused_imports)]
pub(crate) use skip;

// ---------------------------------------------------------------------------
// Locations and binaries
// ---------------------------------------------------------------------------

/// The workspace root (the root package's manifest dir).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// cargo's target dir (`CARGO_TARGET_DIR` if set, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// The runtime under test: `$HUSK_RUNTIME`, else the `husk` binary of this package.
pub fn runtime_bin() -> PathBuf {
    match std::env::var_os("HUSK_RUNTIME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_husk")),
    }
}

/// True when `HUSK_RUNTIME` points at runc (used to relax husk-only asserts,
/// e.g. upstream error wording that Debian's runc 1.1.5 predates).
pub fn runtime_is_runc() -> bool {
    std::env::var_os("HUSK_RUNTIME")
        .map(|p| {
            Path::new(&p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("runc"))
        })
        .unwrap_or(false)
}

/// Timeout applied to every runtime command (`HUSK_TEST_TIMEOUT` seconds, default 30).
pub fn command_timeout() -> Duration {
    let secs = std::env::var("HUSK_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// Exclusive flock on `target/husk-test.lock`, shared by all test binaries.
struct BuildLock(File);

impl BuildLock {
    fn acquire() -> BuildLock {
        let dir = target_dir();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let path = dir.join("husk-test.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        loop {
            // SAFETY: valid fd owned by `f`.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                break;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                panic!("flock {}: {e}", path.display());
            }
        }
        BuildLock(f)
    }
}
// The lock is released when the File is closed on drop.

/// The static probe binary (`$HUSK_PROBE`, or built once per process under
/// the cross-process build lock).
pub fn probe_bin() -> PathBuf {
    static PROBE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("HUSK_PROBE").filter(|p| !p.is_empty()) {
                let p = PathBuf::from(p);
                return if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("HUSK_PROBE={} is not a file", p.display()))
                };
            }
            let _lock = BuildLock::acquire();
            build_probe()
        })
        .clone()
        .unwrap_or_else(|e| panic!("cannot build the probe: {e}"))
}

fn build_probe() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let probe_target = target_dir().join("probe");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args([
            "build",
            "-p",
            "husk-probe",
            "--release",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target-dir",
        ])
        .arg(&probe_target)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        // These would take precedence over RUSTFLAGS.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    let out = run_command(cmd, Duration::from_secs(600));
    if !out.success() {
        return Err(format!("{}\n{}", out.cmdline, out.stderr));
    }
    let bin = probe_target.join("x86_64-unknown-linux-gnu/release/probe");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} missing after build", bin.display()))
    }
}

// ---------------------------------------------------------------------------
// Rootfs template
// ---------------------------------------------------------------------------

/// Bump when the template's layout changes, to force a rebuild.
const TEMPLATE_VERSION: u32 = 1;
const BUSYBOX: &str = "/bin/busybox";

fn file_fingerprint(p: &Path) -> String {
    match fs::metadata(p) {
        Ok(md) => {
            use std::os::unix::fs::MetadataExt;
            format!(
                "{} size={} mtime={}.{} ino={}",
                p.display(),
                md.size(),
                md.mtime(),
                md.mtime_nsec(),
                md.ino()
            )
        }
        Err(e) => format!("{}: {e}", p.display()),
    }
}

/// Path of the cached rootfs template (`target/test-rootfs`), (re)built when
/// missing or when the probe/busybox it was made from changed.
pub fn rootfs_template() -> PathBuf {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let probe = probe_bin();
            let _lock = BuildLock::acquire();
            let dir = target_dir().join("test-rootfs");
            let stamp_path = target_dir().join("test-rootfs.stamp");
            let stamp = format!(
                "v{TEMPLATE_VERSION}\n{}\n{}\n",
                file_fingerprint(&probe),
                file_fingerprint(Path::new(BUSYBOX))
            );
            if dir.is_dir() && fs::read_to_string(&stamp_path).ok().as_deref() == Some(&stamp) {
                return Ok(dir);
            }
            let tmp = target_dir().join(format!("test-rootfs.tmp-{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            build_template(&tmp, &probe).inspect_err(|_| {
                let _ = fs::remove_dir_all(&tmp);
            })?;
            let _ = fs::remove_file(&stamp_path);
            if dir.exists() {
                let old = target_dir().join(format!("test-rootfs.old-{}", std::process::id()));
                fs::rename(&dir, &old).map_err(|e| format!("rename old template: {e}"))?;
                let _ = fs::remove_dir_all(&old);
            }
            fs::rename(&tmp, &dir).map_err(|e| format!("rename template: {e}"))?;
            fs::write(&stamp_path, stamp).map_err(|e| format!("write stamp: {e}"))?;
            Ok(dir)
        })
        .clone()
        .unwrap_or_else(|e| panic!("cannot build the rootfs template: {e}"))
}

fn build_template(root: &Path, probe: &Path) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    for (d, mode) in [
        ("", 0o755),
        ("bin", 0o755),
        ("etc", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("tmp", 0o1777),
        ("home", 0o755),
        ("home/user", 0o755),
        ("root", 0o700),
    ] {
        let p = root.join(d);
        fs::create_dir_all(&p).map_err(|e| io(&format!("mkdir {}", p.display()), e))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .map_err(|e| io(&format!("chmod {}", p.display()), e))?;
    }
    chown(&root.join("home/user"), 1000, 1000)?;

    let bb = root.join("bin/busybox");
    fs::copy(BUSYBOX, &bb).map_err(|e| io("copy busybox", e))?;
    let list = run_command(
        {
            let mut c = Command::new(BUSYBOX);
            c.arg("--list");
            c
        },
        Duration::from_secs(30),
    );
    if !list.success() {
        return Err(format!("busybox --list failed: {}", list.stderr));
    }
    for applet in list.stdout.lines().map(str::trim) {
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
            .map_err(|e| io(&format!("symlink {applet}"), e))?;
    }

    let p = root.join("probe");
    fs::copy(probe, &p).map_err(|e| io("copy probe", e))?;
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).map_err(|e| io("chmod probe", e))?;

    let files = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\n\
             user:x:1000:1000:user:/home/user:/bin/sh\n\
             nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        (
            "etc/group",
            "root:x:0:\nuser:x:1000:\nextra:x:1001:user\nnogroup:x:65534:\n",
        ),
        ("etc/hostname", "husk-test\n"),
    ];
    for (name, content) in files {
        fs::write(root.join(name), content).map_err(|e| io(&format!("write {name}"), e))?;
    }
    Ok(())
}

fn chown(p: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let c = CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: valid C string.
    if unsafe { libc::lchown(c.as_ptr(), uid, gid) } != 0 {
        return Err(format!(
            "chown {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Temp dirs and cleanup
// ---------------------------------------------------------------------------

/// mkdtemp(3) with the given prefix, e.g. "/tmp/husk-test-".
pub fn mkdtemp(prefix: &str) -> PathBuf {
    let tmpl = CString::new(format!("{prefix}XXXXXX")).unwrap_or_else(|e| panic!("{e}"));
    let mut buf = tmpl.into_bytes_with_nul();
    // SAFETY: buf is a writable NUL-terminated template.
    let r = unsafe { libc::mkdtemp(buf.as_mut_ptr().cast()) };
    if r.is_null() {
        panic!("mkdtemp {prefix}: {}", std::io::Error::last_os_error());
    }
    buf.pop();
    PathBuf::from(std::ffi::OsStr::from_bytes(&buf))
}

/// Mount points (from this process's mountinfo) at or below `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mountinfo()
        .into_iter()
        .map(|m| PathBuf::from(m.mount_point))
        .filter(|mp| mp.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

/// Remove `dir` recursively without following symlinks. Mounts left below it
/// are lazily unmounted first; if that fails the dir is kept (and reported),
/// because recursing into a stray bind mount could delete host files.
pub fn remove_tree(dir: &Path) {
    if !dir.exists() {
        return;
    }
    let mut stuck = Vec::new();
    for mp in mounts_under(dir) {
        let c = match CString::new(mp.as_os_str().as_bytes()) {
            Ok(c) => c,
            Err(_) => continue,
        };
        // SAFETY: valid C string.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) } != 0 {
            stuck.push(mp);
        }
    }
    let still = mounts_under(dir);
    if !still.is_empty() {
        eprintln!(
            "WARNING: leaving {} in place, mounts below it: {:?} (failed to unmount: {:?})",
            dir.display(),
            still,
            stuck
        );
        return;
    }
    if let Err(e) = fs::remove_dir_all(dir) {
        eprintln!("WARNING: cannot remove {}: {e}", dir.display());
    }
}

/// A unique container id: `<prefix>-<pid>-<n>`.
pub fn unique_id(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// Result of a runtime (or other) command.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line, for messages.
    pub cmdline: String,
    /// `None` if the command was killed for exceeding its timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl CmdOutput {
    /// Exit code; a death by signal N is reported as 128+N (like a shell).
    pub fn code(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let st = self.status?;
        st.code().or_else(|| st.signal().map(|s| 128 + s))
    }

    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Human summary for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` -> {}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline,
            match self.status {
                Some(_) => format!("exit {:?}", self.code()),
                None => "no exit status".to_string(),
            },
            if self.timed_out {
                " (TIMED OUT, killed)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        )
    }

    /// Panic unless the command exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed: {}", self.describe());
        self
    }

    /// Panic unless the command exited with exactly `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "unexpected exit code: {}",
            self.describe()
        );
        self
    }

    /// Check the runtime error convention: exit status 1 and exactly one
    /// non-empty line on stderr. Returns that line.
    #[track_caller]
    pub fn assert_error(&self) -> String {
        assert!(!self.timed_out, "command timed out: {}", self.describe());
        assert_eq!(self.code(), Some(1), "expected exit 1: {}", self.describe());
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one non-empty stderr line: {}",
            self.describe()
        );
        assert_eq!(
            self.stderr.lines().count(),
            1,
            "expected a single stderr line (no blank lines): {}",
            self.describe()
        );
        lines[0].to_string()
    }

    /// [`assert_error`](Self::assert_error) plus: the line contains `needle`
    /// (case-insensitive).
    #[track_caller]
    pub fn assert_error_contains(&self, needle: &str) -> String {
        let line = self.assert_error();
        assert!(
            line.to_lowercase().contains(&needle.to_lowercase()),
            "stderr should mention {needle:?}: {}",
            self.describe()
        );
        line
    }

    /// Like [`assert_error_contains`](Self::assert_error_contains), but the
    /// wording is only checked against husk; against runc (whose 1.1.5
    /// wording differs from upstream) only the exit-1/one-line convention is.
    #[track_caller]
    pub fn assert_error_wording(&self, upstream: &str) -> String {
        if runtime_is_runc() {
            let line = self.assert_error();
            if !line.to_lowercase().contains(&upstream.to_lowercase()) {
                eprintln!(
                    "NOTE: runc wording differs from upstream {upstream:?}: {line:?} (not asserted)"
                );
            }
            line
        } else {
            self.assert_error_contains(upstream)
        }
    }
}

fn describe_command(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(' ') {
            s.push_str(&format!("{a:?}"));
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Wait for `child` up to `timeout`; kill it (SIGKILL) if it takes longer.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> (Option<ExitStatus>, bool) {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return (Some(st), false),
            Ok(None) => {}
            Err(e) => panic!("wait: {e}"),
        }
        if Instant::now() >= deadline {
            // The child leads its own process group (see prepare_child).
            // SAFETY: plain kill(2) on a process group we created.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.kill();
            let st = child.wait().ok();
            return (st, true);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Give the child default dispositions for every signal and its own process
/// group (so that a timed-out command can be killed with all its helpers).
///
/// Besides not leaking a caller's ignored signals into containers, having a
/// `pre_exec` hook makes std use fork+exec instead of posix_spawn: glibc's
/// posix_spawn sets its internal SIGCANCEL (32) to SIG_IGN in the child when
/// the parent has a handler for it, and runtimes such as runc pass that on
/// to the container (SigIgn 0000000080000000).
fn prepare_child(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    /// The kernel's `struct sigaction` for rt_sigaction(2) on x86_64.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    // SAFETY: the hook only issues raw rt_sigaction syscalls on a stack
    // value, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let dfl = KernelSigaction {
                handler: libc::SIG_DFL,
                flags: 0,
                restorer: 0,
                mask: 0,
            };
            for sig in 1..=64 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::syscall(
                        libc::SYS_rt_sigaction,
                        sig,
                        &dfl as *const KernelSigaction,
                        std::ptr::null_mut::<KernelSigaction>(),
                        8usize,
                    );
                }
            }
            libc::setpgid(0, 0);
            Ok(())
        });
    }
}

/// Run `cmd` with stdin from /dev/null and stdout/stderr captured through
/// pipes, killing it after `timeout`. If the command was killed, output that
/// is still held open by a surviving grandchild is abandoned after 1 s.
pub fn run_command(mut cmd: Command, timeout: Duration) -> CmdOutput {
    let cmdline = describe_command(&cmd);
    prepare_child(&mut cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn `{cmdline}`: {e}"));
    let out_rx = child.stdout.take().map(spawn_reader);
    let err_rx = child.stderr.take().map(spawn_reader);
    let (status, timed_out) = wait_with_timeout(&mut child, timeout);
    let grace = if timed_out {
        Duration::from_secs(1)
    } else {
        timeout
    };
    let collect = |rx: Option<mpsc::Receiver<Vec<u8>>>| {
        rx.and_then(|rx| rx.recv_timeout(grace).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    CmdOutput {
        cmdline,
        status,
        stdout: collect(out_rx),
        stderr: collect(err_rx),
        timed_out,
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut s = Vec::new();
    if let Ok(mut f) = File::open(path)
        && f.seek(SeekFrom::Start(offset)).is_ok()
    {
        let _ = f.read_to_end(&mut s);
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// Run `cmd` with stdout/stderr appended to files (never pipes): for `create`,
/// whose container inherits these descriptors and outlives the command. The
/// returned output holds what was appended while the command ran.
pub fn run_command_to_files(
    mut cmd: Command,
    stdout_path: &Path,
    stderr_path: &Path,
    timeout: Duration,
) -> CmdOutput {
    let cmdline = describe_command(&cmd);
    let open = |p: &Path| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
    };
    let (out, err) = (open(stdout_path), open(stderr_path));
    let len = |f: &File| f.metadata().map(|m| m.len()).unwrap_or(0);
    let (out_off, err_off) = (len(&out), len(&err));
    prepare_child(&mut cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn `{cmdline}`: {e}"));
    let (status, timed_out) = wait_with_timeout(&mut child, timeout);
    CmdOutput {
        cmdline,
        status,
        stdout: read_from(stdout_path, out_off),
        stderr: read_from(stderr_path, err_off),
        timed_out,
    }
}

// ---------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The equivalent of upstream `runc spec` (without a terminal, without a
/// cgroup namespace, hostname "husk-test", args `/probe report`).
pub fn default_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/probe", "report"],
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
            },
            "rlimits": [
                { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }
            ],
            "noNewPrivileges": true,
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "husk-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
            },
            {
                "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
        ],
        "linux": {
            "resources": {
                "devices": [ { "allow": false, "access": "rwm" } ]
            },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
            ],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
                "/sys/devices/virtual/tpm",
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    })
}

/// A bare-bones config for early tests: root user, no capabilities/rlimits/
/// masked paths, only /proc, a /dev tmpfs and /sys; same namespaces as
/// [`default_config`].
pub fn minimal_config() -> Value {
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/probe", "report"],
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "husk-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
        ],
        "linux": {
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
            ],
        },
    })
}

// ---------------------------------------------------------------------------
// Bundle
// ---------------------------------------------------------------------------

/// A temporary OCI bundle: `/tmp/husk-test-XXXXXX/{config.json,rootfs/}`.
/// Removed (without following symlinks) on drop.
pub struct Bundle {
    dir: PathBuf,
    config: Value,
    /// false after set_raw_config/remove_config: config.json is then left alone.
    managed: bool,
}

impl Bundle {
    /// A bundle with [`default_config`].
    pub fn new() -> Bundle {
        Bundle::with_config(default_config())
    }

    /// A bundle with [`minimal_config`].
    pub fn minimal() -> Bundle {
        Bundle::with_config(minimal_config())
    }

    pub fn with_config(config: Value) -> Bundle {
        let template = rootfs_template();
        let dir = mkdtemp("/tmp/husk-test-");
        let b = Bundle {
            dir,
            config,
            managed: true,
        };
        // mkdtemp makes 0700; let non-root container users traverse it.
        fs::set_permissions(&b.dir, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", b.dir.display()));
        let mut cp = Command::new("cp");
        cp.arg("-a").arg(&template).arg(b.rootfs());
        run_command(cp, Duration::from_secs(120)).assert_success();
        b.write_config()
            .unwrap_or_else(|e| panic!("write config.json: {e}"));
        b
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Mutable access to the config; it is written to config.json by
    /// [`Runtime::create`]/[`Runtime::run`] (or an explicit [`write_config`](Self::write_config)).
    pub fn config_mut(&mut self) -> &mut Value {
        self.managed = true;
        &mut self.config
    }

    /// Set `process.args`.
    pub fn set_args(&mut self, args: &[&str]) {
        self.config_mut()["process"]["args"] = json!(args);
    }

    /// Write the config to config.json now.
    pub fn write_config(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.config).map_err(std::io::Error::other)?;
        fs::write(self.config_path(), text)
    }

    /// Write config.json if the bundle manages it (called before create/run).
    pub fn sync_config(&self) {
        if self.managed {
            self.write_config()
                .unwrap_or_else(|e| panic!("write config.json: {e}"));
        }
    }

    /// Replace config.json with arbitrary text (e.g. malformed JSON); the
    /// in-memory config is no longer written until `config_mut` is called.
    pub fn set_raw_config(&mut self, text: &str) {
        self.managed = false;
        fs::write(self.config_path(), text).unwrap_or_else(|e| panic!("write config.json: {e}"));
    }

    /// Delete config.json and stop managing it.
    pub fn remove_config(&mut self) {
        self.managed = false;
        let _ = fs::remove_file(self.config_path());
    }

    /// Everything the container wrote to stdout so far, for containers
    /// started with [`Runtime::create`] (whose stdio goes to files here).
    pub fn create_stdout(&self) -> String {
        read_from(&self.dir.join("create.stdout"), 0)
    }

    /// Poll (every 10 ms) until `pred` holds for [`create_stdout`](Self::create_stdout);
    /// returns the output, or `Err` with the last output seen on timeout.
    pub fn wait_create_stdout(
        &self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.create_stdout();
            if pred(&out) {
                return Ok(out);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "condition not met within {timeout:?}; create.stdout: {out:?}; create.stderr: {:?}",
                    self.create_stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Like [`create_stdout`](Self::create_stdout), for stderr (the runtime's
    /// own `create` errors are in there too).
    pub fn create_stderr(&self) -> String {
        read_from(&self.dir.join("create.stderr"), 0)
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        remove_tree(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------

/// The runtime CLI with a private state root (`/tmp/husk-test-root-XXXXXX`).
/// On drop, every container left in the root is force-deleted and the root
/// removed.
pub struct Runtime {
    bin: PathBuf,
    root: PathBuf,
    timeout: Duration,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    pub fn new() -> Runtime {
        Runtime {
            bin: runtime_bin(),
            root: mkdtemp("/tmp/husk-test-root-"),
            timeout: command_timeout(),
        }
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The `--root` state directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<id>`, where runc (and husk) keep a container's state.
    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Names of the entries in the root dir (sorted).
    pub fn root_entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.root)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A command for the runtime, preloaded with `--root <root>`.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root);
        c
    }

    /// Run `runtime --root R ARGS...` with piped output and the timeout.
    pub fn exec(&self, args: &[&str]) -> CmdOutput {
        let mut c = self.cmd();
        c.args(args);
        run_command(c, self.timeout)
    }

    /// `create --bundle B [EXTRA...] ID` with the container's stdio going to
    /// `B/create.stdout` and `B/create.stderr` (appended). The returned guard
    /// force-deletes the container on drop; `create_output` holds the
    /// command's result (including the runtime's own error message).
    pub fn create_with(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Container<'_> {
        bundle.sync_config();
        let mut c = self.cmd();
        c.arg("create")
            .arg("--bundle")
            .arg(bundle.path())
            .args(extra)
            .arg(id);
        let out = run_command_to_files(
            c,
            &bundle.path().join("create.stdout"),
            &bundle.path().join("create.stderr"),
            self.timeout,
        );
        Container {
            rt: self,
            id: id.to_string(),
            create_output: out,
        }
    }

    /// `create --bundle B ID` (see [`create_with`](Self::create_with)).
    pub fn create(&self, id: &str, bundle: &Bundle) -> Container<'_> {
        self.create_with(id, bundle, &[])
    }

    /// Like [`create`](Self::create) but panics if creation failed.
    #[track_caller]
    pub fn create_ok(&self, id: &str, bundle: &Bundle) -> Container<'_> {
        let c = self.create(id, bundle);
        c.create_output.assert_success();
        c
    }

    pub fn start(&self, id: &str) -> CmdOutput {
        self.exec(&["start", id])
    }

    /// `state ID` parsed as JSON; `Err` carries the runtime's stderr (or a
    /// parse error).
    pub fn state(&self, id: &str) -> Result<Value, String> {
        let out = self.exec(&["state", id]);
        if !out.success() {
            return Err(format!("exit {:?}: {}", out.code(), out.stderr.trim_end()));
        }
        serde_json::from_str(&out.stdout)
            .map_err(|e| format!("bad state JSON ({e}): {:?}", out.stdout))
    }

    /// `kill ID SIG`.
    pub fn kill(&self, id: &str, sig: &str) -> CmdOutput {
        self.exec(&["kill", id, sig])
    }

    /// `kill ID` (the runtime's default signal, SIGTERM).
    pub fn kill_default(&self, id: &str) -> CmdOutput {
        self.exec(&["kill", id])
    }

    pub fn delete(&self, id: &str) -> CmdOutput {
        self.exec(&["delete", id])
    }

    pub fn delete_force(&self, id: &str) -> CmdOutput {
        self.exec(&["delete", "--force", id])
    }

    /// Foreground `run --bundle B [EXTRA...] ID`; the container's stdout and
    /// stderr come back in the output, its exit code is run's exit code.
    pub fn run_with(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> CmdOutput {
        bundle.sync_config();
        let mut c = self.cmd();
        c.arg("run")
            .arg("--bundle")
            .arg(bundle.path())
            .args(extra)
            .arg(id);
        run_command(c, self.timeout)
    }

    pub fn run(&self, id: &str, bundle: &Bundle) -> CmdOutput {
        self.run_with(id, bundle, &[])
    }

    /// `list --format json` parsed (runc prints `null` when there are none).
    pub fn list_json(&self) -> Result<Value, String> {
        let out = self.exec(&["list", "--format", "json"]);
        if !out.success() {
            return Err(out.describe());
        }
        serde_json::from_str(&out.stdout)
            .map_err(|e| format!("bad list JSON ({e}): {:?}", out.stdout))
    }

    /// Poll `state` every 10 ms until its status is `status`; on timeout,
    /// `Err` describes the last state (or state error) seen.
    pub fn wait_status(&self, id: &str, status: &str, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.state(id);
            if let Ok(v) = &last
                && v["status"] == status
            {
                return Ok(v.clone());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "container {id} did not reach {status:?} within {timeout:?}; last state: {}",
                    match last {
                        Ok(v) => v.to_string(),
                        Err(e) => format!("error: {e}"),
                    }
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for id in self.root_entries() {
            let out = self.delete_force(&id);
            if !out.success() {
                eprintln!("WARNING: cleanup failed: {}", out.describe());
            }
        }
        remove_tree(&self.root);
    }
}

/// A created container; `delete --force` is run for it on drop.
pub struct Container<'a> {
    rt: &'a Runtime,
    id: String,
    /// The result of the `create` command.
    pub create_output: CmdOutput,
}

impl Container<'_> {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn runtime(&self) -> &Runtime {
        self.rt
    }

    pub fn start(&self) -> CmdOutput {
        self.rt.start(&self.id)
    }

    pub fn state(&self) -> Result<Value, String> {
        self.rt.state(&self.id)
    }

    /// The init pid according to `state` (panics if unavailable).
    #[track_caller]
    pub fn pid(&self) -> i32 {
        let st = self
            .state()
            .unwrap_or_else(|e| panic!("state {}: {e}", self.id));
        st["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid in state {st}")) as i32
    }

    pub fn kill(&self, sig: &str) -> CmdOutput {
        self.rt.kill(&self.id, sig)
    }

    pub fn kill_default(&self) -> CmdOutput {
        self.rt.kill_default(&self.id)
    }

    pub fn delete(&self) -> CmdOutput {
        self.rt.delete(&self.id)
    }

    pub fn delete_force(&self) -> CmdOutput {
        self.rt.delete_force(&self.id)
    }

    pub fn wait_status(&self, status: &str, timeout: Duration) -> Result<Value, String> {
        self.rt.wait_status(&self.id, status, timeout)
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let out = self.rt.delete_force(&self.id);
        if !out.success() {
            eprintln!("WARNING: cleanup failed: {}", out.describe());
        }
    }
}

// ---------------------------------------------------------------------------
// Observations
// ---------------------------------------------------------------------------

/// Parse the probe's JSON output (the first non-empty line, or the whole text).
#[track_caller]
pub fn probe_report(stdout: &str) -> Value {
    let text = stdout.trim();
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str(first)
        .unwrap_or_else(|e| panic!("probe output is not JSON ({e}): {stdout:?}"))
}

/// Parse every non-empty line as a JSON document (for `probe signals`).
#[track_caller]
pub fn probe_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// Namespace inode numbers of this (host-side) test process, keyed like the
/// probe's `namespaces` object.
pub fn host_namespaces() -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let mut m = BTreeMap::new();
    for ns in [
        "cgroup",
        "ipc",
        "mnt",
        "net",
        "pid",
        "pid_for_children",
        "time",
        "time_for_children",
        "user",
        "uts",
    ] {
        if let Ok(md) = fs::metadata(format!("/proc/self/ns/{ns}")) {
            m.insert(ns.to_string(), md.ino());
        }
    }
    m
}

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct MountInfo {
    pub mount_id: u64,
    pub parent_id: u64,
    pub root: String,
    pub mount_point: String,
    pub options: String,
    pub fstype: String,
    pub source: String,
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's mount table.
pub fn mountinfo() -> Vec<MountInfo> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.splitn(3, ' ').collect();
            if pre.len() < 6 || post.len() < 2 {
                return None;
            }
            Some(MountInfo {
                mount_id: pre[0].parse().ok()?,
                parent_id: pre[1].parse().ok()?,
                root: unescape_mountinfo(pre[3]),
                mount_point: unescape_mountinfo(pre[4]),
                options: pre[5].to_string(),
                fstype: post[0].to_string(),
                source: unescape_mountinfo(post[1]),
            })
        })
        .collect()
}

/// True if `hay` contains `id` as a whole token (not followed or preceded by
/// an alphanumeric character), so "x-1-1" does not match "x-1-10".
fn contains_token(hay: &str, id: &str) -> bool {
    if id.is_empty() {
        return false;
    }
    let mut start = 0;
    while let Some(pos) = hay[start..].find(id) {
        let i = start + pos;
        let before = hay[..i].chars().next_back();
        let after = hay[i + id.len()..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
        if edge(before) && edge(after) {
            return true;
        }
        start = i + id.len();
    }
    false
}

/// Host processes that look like they belong to container `id` of `bundle`:
/// an argv or environment entry mentioning the id (as a token) or the bundle
/// path, a cgroup path mentioning the id, a cwd/root symlink inside the
/// bundle, or a root directory that *is* the bundle's rootfs (same dev/inode:
/// after pivot_root the symlink text is just "/"). Returns "pid: cmdline"
/// descriptions; this test process is excluded.
pub fn processes_of(id: &str, bundle: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let me = std::process::id().to_string();
    let bundle_s = bundle.to_string_lossy().into_owned();
    let rootfs_id = fs::metadata(bundle.join("rootfs"))
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let mentions = |s: &str| contains_token(s, id) || s.contains(&bundle_s);
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    };
    let mut found = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return found;
    };
    for e in rd.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let dir = e.path();
        if is_zombie(&dir) {
            // Exited; only its parent can reap it. Orphaned container inits
            // are reparented to the host's PID 1, which may reap lazily (the
            // test VMs' init does), so zombies are not counted as leftovers.
            continue;
        }
        let args = split(fs::read(dir.join("cmdline")).unwrap_or_default());
        let env = split(fs::read(dir.join("environ")).unwrap_or_default());
        let cgroup = fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
        let hit = args.iter().any(|a| mentions(a))
            || env.iter().any(|a| mentions(a))
            || cgroup.lines().any(|l| contains_token(l, id))
            || ["cwd", "root"]
                .iter()
                .any(|l| fs::read_link(dir.join(l)).is_ok_and(|t| t.starts_with(bundle)))
            || rootfs_id.is_some_and(|rid| {
                fs::metadata(dir.join("root")).is_ok_and(|m| (m.dev(), m.ino()) == rid)
            });
        if hit {
            found.push(format!("{name}: {}", args.join(" ")));
        }
    }
    found
}

/// Cgroup directories (up to 6 levels below /sys/fs/cgroup) whose name
/// contains `id` as a token.
pub fn cgroups_of(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue;
            }
            let p = e.path();
            if contains_token(&e.file_name().to_string_lossy(), id) {
                out.push(p.clone());
            }
            if depth > 0 {
                walk(&p, id, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 5, &mut out);
    out
}

/// Everything container `id` of `bundle` may have left behind on the host:
/// its state dir under the runtime root, processes, cgroup dirs, and mounts
/// whose mount point or root mentions the bundle path. Empty means clean.
pub fn leftovers(rt: &Runtime, id: &str, bundle: &Bundle) -> Vec<String> {
    let mut v = Vec::new();
    if !id.is_empty() && rt.state_dir(id).exists() {
        v.push(format!("state dir {}", rt.state_dir(id).display()));
    }
    for p in processes_of(id, bundle.path()) {
        v.push(format!("process {p}"));
    }
    if !id.is_empty() {
        for c in cgroups_of(id) {
            v.push(format!("cgroup {}", c.display()));
        }
    }
    let bundle_s = bundle.path().to_string_lossy().into_owned();
    for m in mountinfo() {
        if m.mount_point.contains(&bundle_s) || m.root.contains(&bundle_s) {
            v.push(format!("mount {} (root {})", m.mount_point, m.root));
        }
    }
    v
}

/// True if /proc/<pid> exists on the host.
pub fn pid_alive(pid: i32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// True if the process at `/proc/<pid>` (given as that dir) is a zombie or
/// already gone.
fn is_zombie(proc_dir: &Path) -> bool {
    match fs::read_to_string(proc_dir.join("stat")) {
        Err(_) => true,
        // the state is the field after the parenthesised comm
        Ok(s) => s
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

/// Poll (every 10 ms) until `/proc/<pid>` disappears or is a zombie.
pub fn wait_pid_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if is_zombie(Path::new(&format!("/proc/{pid}"))) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
