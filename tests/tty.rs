//! Terminals: `process.terminal` with `--console-socket` (the pty master
//! received with SCM_RIGHTS, as containerd and conmon do), the errors for a
//! terminal without a socket and a socket without a terminal, /dev/console
//! never following a symlink of the image (CVE-2025-52565), and a
//! foreground `run` that makes its own pty instead of handing the caller's
//! terminal to the container.
//!
//! Every assertion is on what the container sees (probe report, busybox
//! `stty`/`stat`) or on the host (TIOCGWINSZ on the master, host files and
//! mounts), never on the runtime's word.
//!
//! Run against husk: `cargo test --test tty`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test tty`

mod common;

use common::console::{ConsoleSocket, HostPty, create_with_console, pty_json, wait_child};
use common::*;
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// `process.terminal: true` with the given console size.
fn with_terminal(b: &mut Bundle, rows: u32, cols: u32) {
    let p = &mut b.config_mut()["process"];
    p["terminal"] = json!(true);
    p["consoleSize"] = json!({ "height": rows, "width": cols });
}

/// The value after `KEY=` on a line of terminal output (anywhere in the
/// line: echoed input, e.g. the EOF script(1) types, may come before it).
fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.split(['\r', '\n'])
        .find_map(|l| l.find(key).map(|i| &l[i + key.len()..]))
        .map(str::trim)
}

/// The first line of terminal output that parses as a JSON array.
fn pty_json_array(out: &str) -> Option<Value> {
    out.split(['\r', '\n'])
        .filter_map(|l| l.find('[').map(|i| l[i..].trim()))
        .find_map(|l| serde_json::from_str(l).ok())
}

/// `/dev/pts/N` with a number.
fn is_pts_name(s: &str) -> bool {
    s.strip_prefix("/dev/pts/")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// --console-socket
// ---------------------------------------------------------------------------

#[test]
fn console_socket_gives_the_container_a_pty() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 37, 101);
    b.set_args(&[
        "/bin/sh",
        "-c",
        "echo SIZE=$(stty size); echo TTY=$(tty); echo CTTY=$(cut -d' ' -f7 /proc/$$/stat); \
         /probe report; \
         /probe stat /dev/console \"$(tty)\"; echo DONE",
    ]);
    let rt = Runtime::new();
    let id = unique_id("tty-sock");
    {
        let (c, master) = create_with_console(&rt, &id, &b, WAIT);
        // The size is on the pty before the program runs (seen from the host).
        assert_eq!(master.winsize(), (37, 101), "TIOCGWINSZ on the master");
        c.start().assert_success();
        let out = master
            .read_until(|o| o.contains("DONE"), WAIT)
            .expect("container output on the pty");

        // stty reads the size from its stdin, the pty slave.
        assert_eq!(field(&out, "SIZE="), Some("37 101"), "stty size: {out:?}");
        let r = pty_json(&out).unwrap_or_else(|| panic!("no probe report in {out:?}"));
        let t = &r["tty"];
        assert_eq!(t["stdin"], true, "{t}");
        assert_eq!(t["stdout"], true, "{t}");
        assert_eq!(t["stderr"], true, "{t}");
        let name = t["ttyname"].as_str().unwrap_or_default();
        assert!(is_pts_name(name), "ttyname {:?}", t["ttyname"]);
        assert_eq!(field(&out, "TTY="), Some(name), "tty(1) vs ttyname");
        // The pty is the init's controlling terminal (tty_nr in /proc/PID/stat).
        let ctty = field(&out, "CTTY=").unwrap_or_else(|| panic!("{out:?}"));
        assert!(
            ctty.parse::<u64>().is_ok_and(|n| n != 0),
            "no controlling tty: {ctty:?}"
        );

        // /dev/console is a character device: the same pty, bound over it.
        let st = pty_json_array(&out).unwrap_or_else(|| panic!("no stat output in {out:?}"));
        let (console, slave) = (&st[0], &st[1]);
        assert_eq!(console["type"], "char", "/dev/console: {console}");
        assert_eq!(slave["type"], "char", "{name}: {slave}");
        for k in ["rdev_major", "rdev_minor", "ino"] {
            assert_eq!(console[k], slave[k], "/dev/console is not {name}: {st}");
        }
        let mounts = r["mounts"].as_array().expect("mounts");
        let m = mounts
            .iter()
            .rev()
            .find(|m| m["mount_point"] == "/dev/console")
            .unwrap_or_else(|| panic!("nothing mounted on /dev/console: {mounts:#?}"));
        assert_eq!(m["fstype"], "devpts", "/dev/console mount: {m}");

        // The container's pty lives on its own devpts, never the host's.
        let pts = mounts
            .iter()
            .rev()
            .find(|m| m["mount_point"] == "/dev/pts")
            .unwrap_or_else(|| panic!("no /dev/pts: {mounts:#?}"));
        assert_eq!(m["major_minor"], pts["major_minor"], "{m} vs {pts}");
        c.wait_status("stopped", WAIT).expect("container exits");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn console_socket_talks_to_a_shell() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    b.set_args(&["/bin/sh"]);
    let rt = Runtime::new();
    let id = unique_id("tty-shell");
    {
        let (c, master) = create_with_console(&rt, &id, &b, WAIT);
        c.start().assert_success();
        master.write_all(b"echo hi-$((1+2))\n");
        // The echoed input holds "hi-$((1+2))"; only the shell prints "hi-3".
        master
            .read_until(|o| o.contains("hi-3"), WAIT)
            .expect("the shell answers");
        master.write_all(b"exit 7\n");
        let st = c.wait_status("stopped", WAIT).expect("shell exits");
        assert_eq!(st["pid"], 0, "{st}");
        master.read_to_end(WAIT).expect("slave closed after exit");
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn terminal_without_console_socket_is_refused_when_detached() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    let rt = Runtime::new();
    for (verb, extra) in [("create", &[][..]), ("run -d", &["--detach"][..])] {
        let id = unique_id("tty-nosock");
        let out = if verb == "create" {
            let c = rt.create(&id, &b);
            c.create_output.clone()
        } else {
            rt.run_with(&id, &b, extra)
        };
        let line = out.assert_error_wording("cannot allocate tty if");
        if !runtime_is_runc() {
            assert!(
                line.contains("will detach without setting console socket"),
                "{verb}: {line}"
            );
        }
        assert_clean(&rt, &id, &b);
    }
}

#[test]
fn console_socket_without_terminal_is_refused() {
    let b = Bundle::new();
    let rt = Runtime::new();
    let sock = ConsoleSocket::new();
    let id = unique_id("tty-noterm");
    let out = {
        let c = rt.create_with(&id, &b, &["--console-socket", sock.path_str()]);
        c.create_output.clone()
    };
    let line = out.assert_error_wording("cannot use console socket if");
    if !runtime_is_runc() {
        assert!(line.contains("will not detach or allocate tty"), "{line}");
    }
    assert_clean(&rt, &id, &b);
}

// ---------------------------------------------------------------------------
// CVE-2025-52565: /dev/console in the image as a symlink
// ---------------------------------------------------------------------------

/// Make `b` a bundle whose /dev is the image's own (no tmpfs), so that a
/// /dev/console symlink in the image is what the runtime meets, with a
/// host directory bound at /shared.
fn console_symlink_bundle(b: &mut Bundle, link_target: &str, shared: &std::path::Path) {
    with_terminal(b, 24, 80);
    let mounts = b.config_mut()["mounts"].as_array_mut().expect("mounts");
    mounts.retain(|m| m["destination"] != "/dev");
    mounts.push(json!({
        "destination": "/shared", "type": "bind", "source": shared,
        "options": ["rbind", "rw"],
    }));
    let dev = b.rootfs().join("dev");
    for d in ["pts", "shm", "mqueue"] {
        fs::create_dir_all(dev.join(d)).expect("mkdir in image /dev");
    }
    fs::create_dir_all(b.rootfs().join("shared")).expect("mkdir /shared");
    symlink(link_target, dev.join("console")).expect("symlink /dev/console");
    b.set_args(&[
        "/bin/sh",
        "-c",
        "/probe stat /dev/console /shared/target; /probe report; echo DONE",
    ]);
}

#[track_caller]
fn check_console_not_followed(link_target: &str) {
    // A host file in the bundle, outside the rootfs (removed with the bundle).
    let mut b = Bundle::new();
    let shared = b.path().join("shared");
    fs::create_dir(&shared).expect("mkdir shared");
    let target = shared.join("target");
    fs::write(&target, "precious\n").expect("write target");
    console_symlink_bundle(&mut b, link_target, &shared);
    let host_before = host_mount_table();
    let tree_before = snapshot_tree(&shared);
    let rt = Runtime::new();
    let id = unique_id("tty-cve");
    let sock = ConsoleSocket::new();
    let result = {
        let c = rt.create_with(&id, &b, &["--console-socket", sock.path_str()]);
        if c.create_output.success() {
            let master = sock.recv_master(WAIT).expect("pty master");
            c.start().assert_success();
            let out = master.read_until(|o| o.contains("DONE"), WAIT);
            let _ = c.wait_status("stopped", WAIT);
            Some(out)
        } else {
            // Refusing the container is a safe answer too; it must say why.
            let line = c.create_output.assert_error();
            assert!(line.contains("console"), "{line}");
            None
        }
    };
    // Nothing on the host changed: the file, its directory, the mount table.
    let changes = tree_changes(&tree_before, &snapshot_tree(&shared));
    assert!(changes.is_empty(), "host files changed: {changes:#?}");
    // Other tests may mount on the host meanwhile: only ours count.
    let bundle = b.path().to_string_lossy().into_owned();
    let new: Vec<String> = new_host_mounts(&host_before, &host_mount_table())
        .into_iter()
        .filter(|m| m.contains(&bundle) || m.contains(&id) || m.contains("sysrq"))
        .collect();
    assert!(new.is_empty(), "host mounts appeared: {new:#?}");
    assert_clean(&rt, &id, &b);

    if let Some(out) = result {
        let out = out.expect("container output");
        let st = pty_json_array(&out).unwrap_or_else(|| panic!("no stat in {out:?}"));
        assert_eq!(st[0]["type"], "char", "/dev/console: {}", st[0]);
        assert_eq!(st[1]["type"], "file", "/shared/target: {}", st[1]);
        let r = pty_json(&out).unwrap_or_else(|| panic!("no report in {out:?}"));
        let mounts = r["mounts"].as_array().expect("mounts");
        let stray: Vec<&Value> = mounts
            .iter()
            .filter(|m| m["fstype"] == "devpts")
            .filter(|m| m["mount_point"] != "/dev/pts" && m["mount_point"] != "/dev/console")
            .collect();
        assert!(
            stray.is_empty(),
            "the pty was mounted through the symlink: {stray:#?}"
        );
        assert!(
            !mounts.iter().any(|m| m["mount_point"] == "/shared/target"),
            "a mount landed on the symlink's target: {mounts:#?}"
        );
    }
}

#[test]
fn dev_console_symlink_to_a_host_file_is_not_followed() {
    check_console_not_followed("/shared/target");
}

#[test]
fn dev_console_relative_symlink_is_not_followed() {
    check_console_not_followed("../shared/target");
}

#[test]
fn dev_console_symlink_to_proc_is_not_followed() {
    // The attack of CVE-2025-52565: a pty bound over a sensitive procfs file.
    check_console_not_followed("/proc/sysrq-trigger");
}

// ---------------------------------------------------------------------------
// run in the foreground with a terminal
// ---------------------------------------------------------------------------

/// What a container prints about its stdin, for the foreground tests.
const SHOW_TTY: &str = "echo SIZE=$(stty size); echo OWNDEV=$(stat -c %d /dev/pts); \
     echo FDDEVS=$(stat -L -c %d /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); \
     /probe report; echo DONE";

#[test]
fn foreground_run_under_script_gets_its_own_pty() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    b.set_args(&["/bin/sh", "-c", SHOW_TTY]);
    b.sync_config();
    let rt = Runtime::new();
    let id = unique_id("tty-script");
    let line = format!(
        "{} --root {} run --bundle {} {id}",
        rt.bin().display(),
        rt.root().display(),
        b.path().display()
    );
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"]);
    let out = run_command(c, command_timeout());
    out.assert_code(0);
    // script(1) types an EOF into the terminal when its stdin ends; the
    // container's pty echoes it ("^@", "^D") wherever the output then is.
    let text = &out.stdout.replace("^@", "").replace("^D", "");
    assert!(text.contains("DONE"), "{}", out.describe());
    let r = pty_json(text).unwrap_or_else(|| panic!("no report: {}", out.describe()));
    let t = &r["tty"];
    assert_eq!(
        (&t["stdin"], &t["stdout"], &t["stderr"]),
        (&json!(true), &json!(true), &json!(true)),
        "{t}"
    );
    assert!(
        t["ttyname"].as_str().is_some_and(is_pts_name),
        "ttyname {}",
        t["ttyname"]
    );
    let host_pts = fs::metadata("/dev/pts").expect("host /dev/pts").dev();
    let own = field(text, "OWNDEV=").unwrap_or_else(|| panic!("{text:?}"));
    let fd_devs: Vec<&str> = field(text, "FDDEVS=")
        .unwrap_or_else(|| panic!("{text:?}"))
        .split_whitespace()
        .collect();
    assert_ne!(own, host_pts.to_string(), "container devpts is the host's");
    assert_eq!(
        fd_devs,
        vec![own; 3],
        "stdio is not on the container's devpts (host devpts is {host_pts})"
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn foreground_run_proxies_a_host_terminal_and_restores_it() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 1, 1);
    // Show the size, wait for a line, show the size again (after a resize).
    b.set_args(&[
        "/bin/sh",
        "-c",
        &format!(
            "{SHOW_TTY}; read line; echo GOT=$line; echo SIZE2=$(stty size); \
             read line2; exit 3"
        ),
    ]);
    let rt = Runtime::new();
    let id = unique_id("tty-proxy");
    let pty = HostPty::open(30, 90);
    let before = pty.termios();
    let mut child = pty.spawn(rt.run_cmd(&id, &b, &[]));
    let got = pty.master.read_until(|o| o.contains("DONE"), WAIT);
    let out = match got {
        Ok(o) => o,
        Err(e) => {
            let _ = wait_child(&mut child, Duration::from_millis(1));
            panic!("{e}");
        }
    };
    // The container's pty got the caller's size, not consoleSize.
    assert_eq!(field(&out, "SIZE="), Some("30 90"), "{out:?}");
    let host_pts = fs::metadata("/dev/pts").expect("host /dev/pts").dev();
    let own = field(&out, "OWNDEV=").unwrap_or_else(|| panic!("{out:?}"));
    assert_ne!(own, host_pts.to_string(), "container devpts is the host's");
    let fd_devs: Vec<&str> = field(&out, "FDDEVS=")
        .unwrap_or_else(|| panic!("{out:?}"))
        .split_whitespace()
        .collect();
    assert_eq!(fd_devs, vec![own; 3], "{out:?}");
    let r = pty_json(&out).unwrap_or_else(|| panic!("no report in {out:?}"));
    assert!(
        r["tty"]["ttyname"].as_str().is_some_and(is_pts_name),
        "{}",
        r["tty"]
    );
    // Raw mode on the caller's terminal while the container runs.
    let during = pty.termios();
    assert_eq!(
        during.c_lflag & (libc::ICANON | libc::ECHO),
        0,
        "caller's terminal not in raw mode while proxying"
    );
    // Resize the caller's terminal: SIGWINCH reaches run, which resizes the container's pty.
    pty.resize(40, 120);
    std::thread::sleep(Duration::from_millis(200));
    pty.master.write_all(b"typed-through\r");
    let out = pty
        .master
        .read_until(|o| o.contains("SIZE2="), WAIT)
        .unwrap_or_else(|e| {
            let _ = wait_child(&mut child, Duration::from_millis(1));
            panic!("{e}")
        });
    assert_eq!(field(&out, "GOT="), Some("typed-through"), "{out:?}");
    assert_eq!(field(&out, "SIZE2="), Some("40 120"), "{out:?}");
    pty.master.write_all(b"bye\r");
    let code = wait_child(&mut child, WAIT).expect("run exits");
    assert_eq!(
        code,
        3,
        "run's exit code is the container's: {:?}",
        pty.master.output()
    );
    let after = pty.termios();
    assert_eq!(
        (after.c_iflag, after.c_oflag, after.c_lflag, after.c_cflag),
        (
            before.c_iflag,
            before.c_oflag,
            before.c_lflag,
            before.c_cflag
        ),
        "caller's terminal not restored"
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn unreachable_console_socket_fails_create_and_leaves_nothing() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    let rt = Runtime::new();
    let id = unique_id("tty-badsock");
    let missing = b.path().join("no-such.sock");
    let out = {
        let c = rt.create_with(&id, &b, &["--console-socket", &missing.to_string_lossy()]);
        c.create_output.clone()
    };
    let line = out.assert_error();
    assert!(
        line.contains("no-such.sock"),
        "error should name the socket: {line}"
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn detached_run_with_console_socket() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    b.set_args(&["/bin/sh"]);
    let rt = Runtime::new();
    let id = unique_id("tty-rund");
    let sock = ConsoleSocket::new();
    let out = rt.run_with(&id, &b, &["--detach", "--console-socket", sock.path_str()]);
    out.assert_success();
    let master = sock.recv_master(WAIT).expect("pty master");
    rt.wait_status(&id, "running", WAIT).expect("running");
    master.write_all(b"echo rund-$((6*7))\n");
    master
        .read_until(|o| o.contains("rund-42"), WAIT)
        .expect("the shell answers");
    master.write_all(b"exit\n");
    rt.wait_status(&id, "stopped", WAIT).expect("stopped");
    rt.delete(&id).assert_success();
    assert_clean(&rt, &id, &b);
}

#[test]
fn foreground_terminal_with_pipes_passes_all_output_and_the_code() {
    // No terminal on the caller's side (as in CI): the pty is still made and
    // proxied, nothing of the output is lost, the exit code comes through.
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    b.set_args(&["/bin/sh", "-c", "seq 1 20000; tty; exit 5"]);
    let rt = Runtime::new();
    let id = unique_id("tty-pipes");
    let out = rt.run(&id, &b);
    out.assert_code(5);
    let lines: Vec<&str> = out.stdout.split("\r\n").collect();
    let nums: Vec<&str> = lines.iter().take(20000).copied().collect();
    let want: Vec<String> = (1..=20000).map(|n| n.to_string()).collect();
    assert!(
        nums.iter().zip(&want).all(|(a, b)| a == b) && nums.len() == 20000,
        "output lost or mangled: {} lines, last {:?}",
        lines.len(),
        lines.iter().rev().take(3).collect::<Vec<_>>()
    );
    assert!(
        lines.get(20000).is_some_and(|l| is_pts_name(l)),
        "tty: {:?}",
        lines.get(20000)
    );
    assert_clean(&rt, &id, &b);
}

#[test]
fn terminal_for_a_non_root_user() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    b.config_mut()["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
    b.set_args(&[
        "/bin/sh",
        "-c",
        "echo OWNER=$(stat -c %u $(tty)); echo via-dev-tty > /dev/tty; /probe report; echo DONE",
    ]);
    let rt = Runtime::new();
    let id = unique_id("tty-user");
    {
        let (c, master) = create_with_console(&rt, &id, &b, WAIT);
        c.start().assert_success();
        let out = master
            .read_until(|o| o.contains("DONE"), WAIT)
            .expect("output");
        assert_eq!(field(&out, "OWNER="), Some("1000"), "{out:?}");
        assert!(out.contains("via-dev-tty"), "/dev/tty unusable: {out:?}");
        let r = pty_json(&out).unwrap_or_else(|| panic!("{out:?}"));
        assert_eq!(r["uid"], 1000);
        assert_eq!(r["tty"]["stdout"], true, "{}", r["tty"]);
    }
    assert_clean(&rt, &id, &b);
}

#[test]
fn terminal_in_a_user_namespace() {
    let mut b = Bundle::new();
    with_terminal(&mut b, 24, 80);
    b.add_namespace("user");
    let map = json!([{ "containerID": 0, "hostID": 200000, "size": 65536 }]);
    b.config_mut()["linux"]["uidMappings"] = map.clone();
    b.config_mut()["linux"]["gidMappings"] = map;
    b.set_args(&[
        "/bin/sh",
        "-c",
        "echo OWNER=$(stat -c %u $(tty)); /probe stat /dev/console \"$(tty)\"; echo DONE",
    ]);
    let rt = Runtime::new();
    let id = unique_id("tty-userns");
    {
        let (c, master) = create_with_console(&rt, &id, &b, WAIT);
        c.start().assert_success();
        let out = master
            .read_until(|o| o.contains("DONE"), WAIT)
            .expect("output");
        assert_eq!(field(&out, "OWNER="), Some("0"), "{out:?}");
        let st = pty_json_array(&out).unwrap_or_else(|| panic!("{out:?}"));
        assert_eq!(st[0]["type"], "char", "{st}");
        assert_eq!(st[0]["ino"], st[1]["ino"], "{st}");
    }
    assert_clean(&rt, &id, &b);
}
