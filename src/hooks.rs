//! OCI hooks: run one hook with the container's state on stdin, its `env`
//! and `timeout`, and a list of them in order. Where each list runs (which
//! process, which namespace, which moment) is decided by the caller, as
//! runtime-spec 1.3 says: prestart and createRuntime in the parent before
//! pivot_root, createContainer in the init before pivot_root,
//! startContainer in the init before execve, poststart in `start`,
//! poststop in `delete`.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

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
    if let Some(secs) = h.timeout() {
        if secs <= 0 {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::config("hooks.timeout", "must be positive"));
        }
        let pidfd =
            crate::sys::pidfd_open(child.id() as i32).map_err(|e| Error::call("pidfd_open", e))?;
        if !wait_readable(&pidfd, Duration::from_secs(secs as u64)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Msg(format!("timeout after {secs} seconds")));
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| crate::error::io_err("wait", path, e))?;
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

fn wait_readable(fd: &std::os::fd::OwnedFd, timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = u16::try_from(left.as_millis().min(60_000)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return true,
            Ok(_) if left.is_zero() => return false,
            _ => {}
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
}
