//! OCI hooks (runtime-spec 1.3, config.md#posix-platform-hooks): each kind
//! runs at its moment and in its namespace, with the state on stdin, its
//! `args`, `env` and `timeout`; failures fail the operation the spec says
//! and leave nothing behind.
//!
//! The hooks are shell scripts that write what they see (state on stdin,
//! namespaces, root directory, argv, environment) into a directory of the
//! bundle that is also bound into the container at /out, so that even
//! startContainer (which runs inside the container) can report. The
//! container's own program writes its namespaces there too; every
//! comparison is between kernel facts, never husk's word.
//!
//! Run against husk: `cargo test --test hooks`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test hooks`

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// What a hook records: `$1` is its name, `$2` the output directory.
const RECORD: &str = r#"
cat > "$2/$1.state"
{
  echo "mnt=$(readlink /proc/self/ns/mnt)"
  echo "uts=$(readlink /proc/self/ns/uts)"
  echo "root=$(stat -L -c %d:%i /)"
  echo "hostname=$(hostname)"
  echo "argv=$0|$#|$1|$2"
  echo "env=$(env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort | tr '\n' ' ')"
} > "$2/$1.info"
echo "$1" >> "$2/order"
"#;

/// The container's program: record its own namespaces and wait.
const PROGRAM: &str = "echo process >> /out/order; \
     readlink /proc/self/ns/mnt > /out/ctr.mnt; readlink /proc/self/ns/uts > /out/ctr.uts; \
     exec /probe sleep inf";

#[track_caller]
fn assert_clean(rt: &Runtime, id: &str, b: &Bundle) {
    let left = leftovers(rt, id, b);
    assert!(left.is_empty(), "container {id:?} left behind: {left:#?}");
}

/// A bundle with `<bundle>/out` bound at /out (read-write) and the recording program.
fn hook_bundle() -> (Bundle, PathBuf) {
    let mut b = Bundle::new();
    let out = b.path().join("out");
    fs::create_dir(&out).expect("mkdir out");
    fs::create_dir(b.rootfs().join("out")).expect("mkdir rootfs/out");
    b.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({
            "destination": "/out", "type": "bind", "source": &out,
            "options": ["rbind", "rw"],
        }));
    b.config_mut()["annotations"] = json!({ "org.husk.test": "hooks" });
    b.set_args(&["/bin/sh", "-c", PROGRAM]);
    (b, out)
}

/// A recording hook for `kind`; startContainer runs in the container, so it
/// writes to /out (the same directory).
fn recording_hook(kind: &str, out: &Path) -> Value {
    let dir = if kind == "startContainer" {
        "/out".to_string()
    } else {
        out.to_string_lossy().into_owned()
    };
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", RECORD, "hook", kind, dir],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", format!("HOOK_MARK=mark-{kind}")],
    })
}

fn set_hooks(b: &mut Bundle, hooks: Value) {
    b.config_mut()["hooks"] = hooks;
}

/// `key=value` lines of a hook's `.info` file.
#[track_caller]
fn info(out: &Path, kind: &str) -> BTreeMap<String, String> {
    let p = out.join(format!("{kind}.info"));
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{kind} did not run ({e})"));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[track_caller]
fn state_of(out: &Path, kind: &str) -> Value {
    let p = out.join(format!("{kind}.state"));
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{kind} did not run ({e})"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{kind} state {text:?}: {e}"))
}

fn order(out: &Path) -> Vec<String> {
    fs::read_to_string(out.join("order"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Poll until `path` exists and is non-empty.
#[track_caller]
fn wait_file(path: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(s) = fs::read_to_string(path)
            && !s.is_empty()
        {
            return s.trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ns_link(path: &str) -> String {
    fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| panic!("readlink {path}: {e}"))
}

fn dev_ino(p: &Path) -> String {
    let m = fs::metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
    format!("{}:{}", m.dev(), m.ino())
}

// ---------------------------------------------------------------------------
// Every hook at its moment, in its namespace, with its state
// ---------------------------------------------------------------------------

#[test]
fn every_hook_runs_at_its_moment_in_its_namespace() {
    let (mut b, out) = hook_bundle();
    let mut hooks = serde_json::Map::new();
    for k in KINDS {
        hooks.insert(k.to_string(), json!([recording_hook(k, &out)]));
    }
    set_hooks(&mut b, Value::Object(hooks));
    let rt = Runtime::new();
    let id = unique_id("hooks-all");
    let host_mnt = ns_link("/proc/self/ns/mnt");
    let host_uts = ns_link("/proc/self/ns/uts");
    let host_root = dev_ino(Path::new("/"));
    let rootfs = dev_ino(&b.rootfs());
    let pid;
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
        // create runs prestart, createRuntime and createContainer, in that order.
        assert_eq!(
            order(&out),
            ["prestart", "createRuntime", "createContainer"],
            "hooks run by create"
        );
        pid = c.pid();
        c.start().assert_success();
        // start: startContainer before the program; poststart before start returns.
        let seen = order(&out);
        assert!(
            seen.contains(&"poststart".to_string()),
            "poststart had not run when start returned: {seen:?}"
        );
        let ctr_mnt = wait_file(&out.join("ctr.mnt"));
        let ctr_uts = wait_file(&out.join("ctr.uts"));
        let seen = order(&out);
        let at = |k: &str| seen.iter().position(|s| s == k);
        assert!(
            at("startContainer") < at("process") && at("process").is_some(),
            "startContainer must run before the program: {seen:?}"
        );
        assert_ne!(
            ctr_mnt, host_mnt,
            "the container has its own mount namespace"
        );

        for k in ["prestart", "createRuntime", "poststart"] {
            let i = info(&out, k);
            assert_eq!(
                i["mnt"], host_mnt,
                "{k} runs in the runtime's mount namespace"
            );
            assert_eq!(
                i["uts"], host_uts,
                "{k} runs in the runtime's uts namespace"
            );
            assert_eq!(i["root"], host_root, "{k} sees the host's root");
        }
        for k in ["createContainer", "startContainer"] {
            let i = info(&out, k);
            assert_eq!(
                i["mnt"], ctr_mnt,
                "{k} runs in the container's mount namespace"
            );
            assert_eq!(
                i["uts"], ctr_uts,
                "{k} runs in the container's uts namespace"
            );
        }
        // createContainer runs before pivot_root, startContainer after it.
        assert_eq!(info(&out, "createContainer")["root"], host_root);
        assert_eq!(info(&out, "startContainer")["root"], rootfs);
        assert_eq!(info(&out, "startContainer")["hostname"], "husk-test");

        // The pid in every state is the container's process: a process in its
        // mount namespace, as the kernel says.
        for k in [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
        ] {
            let s = state_of(&out, k);
            let p = s["pid"]
                .as_i64()
                .unwrap_or_else(|| panic!("{k}: no pid in {s}"));
            assert_eq!(p, i64::from(pid), "{k}: pid in the state: {s}");
        }
        let s = state_of(&out, "poststart");
        assert_eq!(s["pid"], pid, "poststart: {s}");
        let p_mnt = ns_link(&format!("/proc/{pid}/ns/mnt"));
        assert_eq!(
            p_mnt, ctr_mnt,
            "the state's pid is not the container's process"
        );

        c.kill("KILL").assert_success();
        c.wait_status("stopped", WAIT).expect("stopped");
        assert!(
            !out.join("poststop.state").exists(),
            "poststop ran before delete"
        );
        c.delete().assert_success();
        assert!(
            out.join("poststop.state").exists(),
            "poststop did not run during delete"
        );
    }
    assert_clean(&rt, &id, &b);

    let i = info(&out, "poststop");
    assert_eq!(
        i["mnt"], host_mnt,
        "poststop runs in the runtime's mount namespace"
    );
    assert_eq!(i["root"], host_root);

    // args and env are exactly the hook's.
    for k in KINDS {
        let i = info(&out, k);
        let dir = if k == "startContainer" {
            "/out".to_string()
        } else {
            out.to_string_lossy().into_owned()
        };
        assert_eq!(i["argv"], format!("hook|2|{k}|{dir}"), "{k}: args");
        assert_eq!(
            i["env"],
            format!("HOOK_MARK=mark-{k} PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
            "{k}: environment"
        );
    }

    // Status, id, bundle, annotations as the spec's state.
    let bundle = b.path().to_string_lossy().into_owned();
    for (k, status) in [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        // createContainer's status: see create_container_hook_sees_status_creating.
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let s = state_of(&out, k);
        assert_eq!(s["id"], id.as_str(), "{k}: {s}");
        assert_eq!(s["status"], status, "{k}: status in {s}");
        assert_eq!(s["bundle"], bundle.as_str(), "{k}: {s}");
        assert!(s["ociVersion"].is_string(), "{k}: {s}");
        assert_eq!(s["annotations"]["org.husk.test"], "hooks", "{k}: {s}");
    }
    assert!(
        state_of(&out, "poststop")["pid"].is_number()
            || state_of(&out, "poststop").get("pid").is_none()
    );
}

#[test]
fn hook_args_zero_is_argv_zero() {
    // args[0] is the program's argv[0] (dash does not care what it is called).
    let (mut b, out) = hook_bundle();
    let script = format!("tr '\\0' ' ' < /proc/$$/cmdline > {}/argv", out.display());
    set_hooks(
        &mut b,
        json!({ "createRuntime": [ { "path": "/bin/dash", "args": ["not-dash", "-c", script] } ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-argv0");
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
    }
    let argv = fs::read_to_string(out.join("argv")).expect("hook ran");
    assert!(argv.starts_with("not-dash -c "), "argv: {argv:?}");
    assert_clean(&rt, &id, &b);
}

#[test]
fn hooks_of_a_kind_run_in_order() {
    let (mut b, out) = hook_bundle();
    let h = |n: &str| json!({ "path": "/bin/sh", "args": ["sh", "-c", format!("echo {n} >> {}/order", out.display())] });
    set_hooks(
        &mut b,
        json!({ "createRuntime": [h("one"), h("two"), h("three")] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-order");
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
    }
    assert_eq!(order(&out), ["one", "two", "three"]);
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// timeout
// ---------------------------------------------------------------------------

#[test]
fn hook_timeout_is_enforced() {
    let (mut b, _out) = hook_bundle();
    set_hooks(
        &mut b,
        json!({ "createRuntime": [ { "path": "/bin/sleep", "args": ["sleep", "37.25"], "timeout": 1 } ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-timeout");
    let t0 = Instant::now();
    let out = {
        let c = rt.create(&id, &b);
        c.create_output.clone()
    };
    let took = t0.elapsed();
    let line = create_error_line(&out);
    assert!(
        line.contains("createRuntime"),
        "error names the hook: {line}"
    );
    assert!(
        line.to_lowercase().contains("timeout") || line.contains("timed out"),
        "{line}"
    );
    assert!(
        took < Duration::from_secs(8),
        "create took {took:?} with a 1 s timeout"
    );
    // The hook was killed, not left sleeping.
    let sleepers: Vec<String> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("37.25"))
        .collect();
    assert!(
        sleepers.is_empty(),
        "timed-out hook still running: {sleepers:?}"
    );
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// failures
// ---------------------------------------------------------------------------

/// The runtime's error line on a failed create. Exit 1 and the line are
/// checked; that it is the only line is left to
/// failing_create_hook_prints_one_error_line (a known husk race).
#[track_caller]
fn create_error_line(out: &CmdOutput) -> String {
    out.assert_code(1);
    out.stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("no error message: {}", out.describe()))
        .to_string()
}

/// runtime-spec: a failed startContainer/poststart hook makes the runtime
/// "stop the container, and continue the lifecycle at step 12" (destroy);
/// runc stops it and leaves the delete to the caller. Either is accepted.
#[track_caller]
fn assert_stopped_or_gone(c: &Container<'_>) {
    let deadline = Instant::now() + WAIT;
    loop {
        match c.state() {
            Err(_) => return,
            Ok(s) if s["status"] == "stopped" => return,
            Ok(s) => assert!(Instant::now() < deadline, "container not stopped: {s}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[track_caller]
fn delete_if_present(c: &Container<'_>) {
    if c.state().is_ok() {
        c.delete().assert_success();
    }
}

fn failing_hook(kind: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat >/dev/null; echo oops-{kind} >&2; exit 3")],
    })
}

#[test]
fn failing_create_hooks_fail_create_and_leave_nothing() {
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let (mut b, out) = hook_bundle();
        set_hooks(&mut b, json!({ kind: [failing_hook(kind)] }));
        let rt = Runtime::new();
        let id = unique_id("hooks-fail");
        let host_mounts = host_mount_table();
        let res = {
            let c = rt.create(&id, &b);
            c.create_output.clone()
        };
        // The one-line convention is checked in failing_create_hook_prints_one_error_line.
        res.assert_code(1);
        assert!(
            res.stderr.contains(kind),
            "error should name {kind}: {}",
            res.describe()
        );
        assert!(!order(&out).contains(&"process".to_string()), "program ran");
        assert_clean(&rt, &id, &b);
        // Other tests may mount on the host meanwhile: only ours count.
        let bundle = b.path().to_string_lossy().into_owned();
        let new: Vec<String> = new_host_mounts(&host_mounts, &host_mount_table())
            .into_iter()
            .filter(|m| m.contains(&bundle) || m.contains(&id))
            .collect();
        assert!(new.is_empty(), "{kind}: mounts left: {new:#?}");
        assert!(
            rt.list_json().is_ok_and(|v| v.is_null() || v == json!([])),
            "{kind}: list shows a container: {:?}",
            rt.list_json()
        );
    }
}

#[test]
fn failing_start_container_hook_fails_start() {
    let (mut b, out) = hook_bundle();
    set_hooks(
        &mut b,
        json!({ "startContainer": [ {
            "path": "/bin/sh",
            "args": ["sh", "-c", "echo oops-start >&2; exit 3"],
        } ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-failstart");
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
        let line = c.start().assert_error();
        assert!(
            line.contains("startContainer"),
            "error should name the hook: {line}"
        );
        assert_stopped_or_gone(&c);
        assert!(
            !order(&out).contains(&"process".to_string()),
            "the program ran although startContainer failed"
        );
        let procs = processes_of(&id, b.path());
        assert!(procs.is_empty(), "container processes left: {procs:?}");
        delete_if_present(&c);
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn failing_poststart_hook_fails_start_and_stops_the_container() {
    let (mut b, out) = hook_bundle();
    // The program must be running when poststart fails: wait for it first.
    let wait_prog = format!(
        "cat >/dev/null; while [ ! -s {0}/ctr.mnt ]; do sleep 0.01; done; echo oops-post >&2; exit 3",
        out.display()
    );
    set_hooks(
        &mut b,
        json!({ "poststart": [ { "path": "/bin/sh", "args": ["sh", "-c", wait_prog], "timeout": 10 } ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-failpost");
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
        let pid = c.pid();
        let line = c.start().assert_error();
        assert!(
            line.contains("poststart"),
            "error should name the hook: {line}"
        );
        assert!(
            order(&out).contains(&"process".to_string()),
            "the program never ran"
        );
        assert!(
            wait_pid_gone(pid, WAIT),
            "container process {pid} still alive"
        );
        assert_stopped_or_gone(&c);
        let procs = processes_of(&id, b.path());
        assert!(procs.is_empty(), "container processes left: {procs:?}");
        delete_if_present(&c);
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn failing_poststop_hook_only_warns() {
    for force in [false, true] {
        let (mut b, out) = hook_bundle();
        let post = format!(
            "cat > {}/poststop.state; echo oops-poststop >&2; exit 3",
            out.display()
        );
        set_hooks(
            &mut b,
            json!({ "poststop": [
                { "path": "/bin/sh", "args": ["sh", "-c", post] },
            ] }),
        );
        let rt = Runtime::new();
        let id = unique_id("hooks-failstop");
        {
            let c = rt.create(&id, &b);
            c.create_output.assert_success();
            c.start().assert_success();
            if !force {
                c.kill("KILL").assert_success();
                c.wait_status("stopped", WAIT).expect("stopped");
            }
            let res = if force { c.delete_force() } else { c.delete() };
            res.assert_code(0);
            assert!(
                res.stderr.contains("poststop"),
                "no warning about the failed poststop hook (force={force}): {}",
                res.describe()
            );
            assert!(out.join("poststop.state").exists(), "poststop did not run");
            let s = state_of(&out, "poststop");
            assert_eq!(s["status"], "stopped", "{s}");
            assert!(
                c.state().is_err(),
                "container still exists after delete (force={force})"
            );
        }
        assert_clean(&rt, &id, &b);
        let _ = out;
    }
}

#[test]
fn hook_with_a_timeout_may_print_a_lot() {
    // A hook's output is collected while its timeout runs: one that prints
    // more than a pipe holds must not be stalled into its timeout.
    let (mut b, out) = hook_bundle();
    let script = format!(
        "cat >/dev/null; head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; touch {}/done",
        out.display()
    );
    set_hooks(
        &mut b,
        json!({ "createRuntime": [ { "path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 3 } ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-chatty");
    let t0 = Instant::now();
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
    }
    assert!(out.join("done").exists(), "the hook did not finish");
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "create took {:?}",
        t0.elapsed()
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn missing_hook_program_fails_create_naming_the_hook() {
    let (mut b, _out) = hook_bundle();
    set_hooks(
        &mut b,
        json!({ "prestart": [ { "path": "/nonexistent/husk-hook" } ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-missing");
    let res = {
        let c = rt.create(&id, &b);
        c.create_output.clone()
    };
    let line = create_error_line(&res);
    assert!(
        line.contains("prestart"),
        "error should name the hook: {line}"
    );
    assert!(
        line.contains("/nonexistent/husk-hook"),
        "error should name the path: {line}"
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn foreground_run_runs_every_hook_once() {
    let (mut b, out) = hook_bundle();
    let mut hooks = serde_json::Map::new();
    for k in KINDS {
        hooks.insert(k.to_string(), json!([recording_hook(k, &out)]));
    }
    set_hooks(&mut b, Value::Object(hooks));
    b.set_args(&["/bin/sh", "-c", "echo process >> /out/order; exit 4"]);
    let rt = Runtime::new();
    let id = unique_id("hooks-run");
    rt.run(&id, &b).assert_code(4);
    let mut seen = order(&out);
    // The program and poststart run at the same time; their order is free.
    let p = seen.iter().position(|s| s == "process");
    let ps = seen.iter().position(|s| s == "poststart");
    if let (Some(p), Some(ps)) = (p, ps)
        && ps < p
    {
        seen.swap(p, ps);
    }
    assert_eq!(
        seen,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "process",
            "poststart",
            "poststop"
        ],
        "hooks of a foreground run"
    );
    assert_eq!(state_of(&out, "poststop")["status"], "stopped");
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// Known husk bugs (run with `cargo test --test hooks -- --ignored`)
// ---------------------------------------------------------------------------

#[test]
fn create_container_hook_sees_status_creating() {
    // create has not finished when createContainer runs, so the container is
    // still "creating" (runc: rootfs_linux.go sets StateCreating for it).
    let (mut b, out) = hook_bundle();
    set_hooks(
        &mut b,
        json!({ "createContainer": [recording_hook("createContainer", &out)] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-cc-status");
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
    }
    let s = state_of(&out, "createContainer");
    assert_eq!(s["status"], "creating", "{s}");
    assert_clean(&rt, &id, &b);
}

#[test]
fn hooks_after_a_failing_poststop_hook_still_run() {
    // runtime-spec (runtime.md, lifecycle step 13): "If any poststop hook
    // fails, the runtime MUST log a warning, but the remaining hooks and
    // lifecycle continue as if the hook had succeeded."
    let (mut b, out) = hook_bundle();
    set_hooks(
        &mut b,
        json!({ "poststop": [
            { "path": "/bin/sh", "args": ["sh", "-c", "exit 3"] },
            { "path": "/bin/sh", "args": ["sh", "-c", format!("touch {}/second", out.display())] },
        ] }),
    );
    let rt = Runtime::new();
    let id = unique_id("hooks-stop-rest");
    {
        let c = rt.create(&id, &b);
        c.create_output.assert_success();
        c.delete_force().assert_code(0);
    }
    assert!(
        out.join("second").exists(),
        "the second poststop hook did not run"
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn failing_create_hook_prints_one_error_line() {
    // create's error is one line; the init, whose socket the parent closed
    // before killing it, must not add its own. Racy: repeat.
    for n in 0..20 {
        let (mut b, _out) = hook_bundle();
        set_hooks(
            &mut b,
            json!({ "createRuntime": [failing_hook("createRuntime")] }),
        );
        let rt = Runtime::new();
        let id = unique_id("hooks-oneline");
        let res = {
            let c = rt.create(&id, &b);
            c.create_output.clone()
        };
        let line = res.assert_error();
        assert!(line.contains("createRuntime"), "try {n}: {line}");
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn failing_create_hook_still_runs_poststop() {
    // runtime-spec lifecycle steps 4-6: if a prestart, createRuntime or
    // createContainer hook fails, the runtime MUST "generate an error, stop
    // the container, and continue the lifecycle at step 12": destroy, then
    // (13) the poststop hooks. runc does this through destroy().
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let (mut b, out) = hook_bundle();
        set_hooks(
            &mut b,
            json!({
                kind: [failing_hook(kind)],
                "poststop": [recording_hook("poststop", &out)],
            }),
        );
        let rt = Runtime::new();
        let id = unique_id("hooks-fail-poststop");
        let res = {
            let c = rt.create(&id, &b);
            c.create_output.clone()
        };
        res.assert_code(1);
        assert!(
            out.join("poststop.state").exists(),
            "{kind} failed, but the poststop hooks did not run"
        );
        assert_clean(&rt, &id, &b);
    }
}
