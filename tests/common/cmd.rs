//! Running commands with a timeout and capturing their output ([`CmdOutput`]).

use super::*;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

pub(super) fn read_from(path: &Path, offset: u64) -> String {
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
