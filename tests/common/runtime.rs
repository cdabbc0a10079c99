//! The runtime CLI wrapper ([`Runtime`]) and the created-container guard ([`Container`]).

use super::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
        run_command(self.run_cmd(id, bundle, extra), self.timeout)
    }

    pub fn run(&self, id: &str, bundle: &Bundle) -> CmdOutput {
        self.run_with(id, bundle, &[])
    }

    /// The command `run --bundle B [EXTRA...] ID` (config.json written now),
    /// for tests that spawn it themselves: with descriptors, signals or a
    /// terminal of their own.
    pub fn run_cmd(&self, id: &str, bundle: &Bundle, extra: &[&str]) -> Command {
        bundle.sync_config();
        let mut c = self.cmd();
        c.arg("run")
            .arg("--bundle")
            .arg(bundle.path())
            .args(extra)
            .arg(id);
        c
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

/// Run `sh -c SCRIPT` in a fresh container of `bundle` (`run [EXTRA...]`),
/// assert that it exited 0 and left nothing new behind (host mounts the test
/// itself made under the bundle are not counted), and return every JSON line
/// it printed: each `/probe` call prints one.
#[track_caller]
pub fn run_probe_script(bundle: &mut Bundle, script: &str, extra: &[&str]) -> Vec<Value> {
    bundle.set_args(&["/bin/sh", "-c", script]);
    let rt = Runtime::new();
    let id = unique_id("script");
    let before = leftovers(&rt, &id, bundle);
    let out = rt.run_with(&id, bundle, extra);
    out.assert_code(0);
    let left: Vec<String> = leftovers(&rt, &id, bundle)
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect();
    assert!(left.is_empty(), "container {id} left behind: {left:#?}");
    probe_lines(&out.stdout)
}
