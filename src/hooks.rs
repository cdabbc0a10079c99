//! OCI hooks: run one hook with the container's state on stdin, its `env`
//! and `timeout`, and a list of them in order. Where each list runs (which
//! process, which namespace, which moment) is decided by the caller, as
//! runtime-spec 1.3 says: prestart and createRuntime in the parent before
//! pivot_root, createContainer in the init before pivot_root,
//! startContainer in the init before execve, poststart in `start`,
//! poststop in `delete`.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use oci_spec::runtime::Hook;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The state document hooks receive on stdin.
pub fn state_json(
    oci_version: &str,
    id: &str,
    status: &str,
    pid: i32,
    bundle: &std::path::Path,
    annotations: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut v = json!({
        "ociVersion": oci_version,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = json!(annotations);
    }
    v.to_string()
}

/// Run every hook of a list in order; the first failure stops the list.
pub fn run_all(kind: &str, hooks: &[Hook], state: &str) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state).map_err(|e| e.context(format!("error running {kind} hook #{i}")))?;
    }
    Ok(())
}

/// Run every hook of a list even when some fail (poststop), warning for each failure.
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &str) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state) {
            log::warn!("error running {kind} hook #{i}: {e}");
        }
    }
}

/// The same state document with another status.
pub fn with_status(state: &str, status: &str) -> String {
    match serde_json::from_str::<Value>(state) {
        Ok(mut v) if v.is_object() => {
            v["status"] = Value::String(status.to_string());
            v.to_string()
        }
        _ => state.to_string(),
    }
}

fn run_one(h: &Hook, state: &str) -> Result<()> {
    let path = h.path();
    let mut cmd = Command::new(path);
    if let Some(args) = h.args() {
        if let Some(first) = args.first() {
            cmd.arg0(first);
        }
        cmd.args(args.iter().skip(1));
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| crate::error::io_err("exec", path, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state.as_bytes());
    }
    let out = match h.timeout() {
        Some(secs) if secs <= 0 => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::config("hooks.timeout", "must be positive"));
        }
        Some(secs) => match wait_with_deadline(&mut child, Duration::from_secs(secs as u64)) {
            Ok(Some(out)) => out,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Msg(format!("timeout after {secs} seconds")));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        },
        None => child
            .wait_with_output()
            .map_err(|e| crate::error::io_err("wait", path, e))?,
    };
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Msg(format!(
        "{}, stdout: {}, stderr: {}",
        describe(out.status),
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

fn describe(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(sig)) => format!("signal: {sig}"),
        _ => "unknown exit".into(),
    }
}

/// How much of a hook's stdout and stderr is kept for an error message.
const KEEP_OUTPUT: usize = 64 << 10;

/// Wait for a hook until `timeout`, reading its stdout and stderr meanwhile:
/// a hook that prints more than a pipe holds must not stall into its
/// timeout. `None` when the time ran out. Single-threaded on purpose: the
/// init runs createContainer and startContainer hooks and must stay so.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Result<Option<Output>> {
    let deadline = Instant::now() + timeout;
    let pidfd =
        crate::sys::pidfd_open(child.id() as i32).map_err(|e| Error::call("pidfd_open", e))?;
    let mut pipes = [
        child.stdout.take().map(OwnedFd::from),
        child.stderr.take().map(OwnedFd::from),
    ];
    let mut bufs = [Vec::new(), Vec::new()];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let ms = u16::try_from(left.as_millis().min(60_000)).unwrap_or(u16::MAX);
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        for p in pipes.iter().flatten() {
            fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::from(ms)) {
            Err(Errno::EINTR) | Ok(0) => continue,
            Err(e) => return Err(Error::call("poll hook", e)),
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut i = 1;
        for (p, buf) in pipes.iter_mut().zip(bufs.iter_mut()) {
            if p.is_some() {
                if ready[i] {
                    read_some(p, buf);
                }
                i += 1;
            }
        }
        if ready[0] {
            break;
        }
    }
    // The hook exited: take what its pipes hold now, without waiting for a
    // descendant that may keep them open.
    for (p, buf) in pipes.iter_mut().zip(bufs.iter_mut()) {
        if let Some(fd) = p.as_ref() {
            let _ = fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        }
        while p.is_some() && read_some(p, buf) {}
    }
    let status = child
        .wait()
        .map_err(|e| Error::Msg(format!("wait for hook: {e}")))?;
    let [stdout, stderr] = bufs;
    Ok(Some(Output {
        status,
        stdout,
        stderr,
    }))
}

/// One read from a hook's pipe into `buf` (kept up to [`KEEP_OUTPUT`]);
/// the pipe is closed at its end or on an error. False when nothing was read.
fn read_some(pipe: &mut Option<OwnedFd>, buf: &mut Vec<u8>) -> bool {
    let Some(fd) = pipe.as_ref() else {
        return false;
    };
    let mut chunk = [0u8; 8192];
    match nix::unistd::read(fd, &mut chunk) {
        Ok(0) => {
            *pipe = None;
            false
        }
        Ok(n) => {
            let room = KEEP_OUTPUT.saturating_sub(buf.len()).min(n);
            buf.extend_from_slice(&chunk[..room]);
            true
        }
        Err(Errno::EINTR) => true,
        Err(_) => {
            *pipe = None;
            false
        }
    }
}

/// Whether a config has any hook of the given lists.
pub fn any(lists: &[&Option<Vec<Hook>>]) -> bool {
    lists
        .iter()
        .any(|l| l.as_ref().is_some_and(|v| !v.is_empty()))
}

/// Parse the state a hook got (for tests and the init).
pub fn parse_state(s: &str) -> Option<Value> {
    serde_json::from_str(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(v: Value) -> Hook {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn runs_with_state_on_stdin_and_env() {
        let dir = std::env::temp_dir().join(format!("husk-hook-{}", std::process::id()));
        let out = dir.with_extension("out");
        let h = hook(
            json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}; echo $X >> {}", out.display(), out.display())], "env": ["X=42"]}),
        );
        run_all("test", &[h], "{\"id\":\"c\"}").unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert_eq!(got, "{\"id\":\"c\"}42\n");
    }

    #[test]
    fn failure_and_timeout_are_errors() {
        let h = hook(json!({"path": "/bin/sh", "args": ["sh", "-c", "echo bad >&2; exit 3"]}));
        let e = run_all("prestart", &[h], "{}").unwrap_err().to_string();
        assert!(
            e.contains("prestart hook #0") && e.contains("exit status 3") && e.contains("bad"),
            "{e}"
        );
        let h = hook(json!({"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}));
        let t = std::time::Instant::now();
        let e = run_all("poststart", &[h], "{}").unwrap_err().to_string();
        assert!(e.contains("timeout after 1 seconds"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn output_is_read_while_the_timeout_runs() {
        // More than a pipe holds, on both streams: must not stall into the timeout.
        let h = hook(json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"],
            "timeout": 5,
        }));
        let t = std::time::Instant::now();
        run_all("createRuntime", &[h], "{}").unwrap();
        assert!(t.elapsed() < Duration::from_secs(4));
        // A failing one still reports what it said (kept short).
        let h = hook(json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo bad >&2; exit 4"],
            "timeout": 5,
        }));
        let e = run_all("createRuntime", &[h], "{}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("exit status 4") && e.contains("bad"),
            "{}",
            &e[e.len() - 100..]
        );
        assert!(e.len() < 70_000, "{} bytes", e.len());
    }
}
