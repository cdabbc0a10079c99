//! Hostile images: one test per known advisory, each named after it. Every
//! test checks the HOST afterwards (no file created or changed outside the
//! rootfs, no mount made there, nothing left running), not only the
//! runtime's error: a runtime may refuse such an image or run it safely, but
//! it must never act on the host through it.
//!
//! Run against husk: `cargo test --test security`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test security`
//! (Debian's runc 1.1.5 predates some of these fixes; those tests say so.)

mod common;

use common::console::{ConsoleSocket, pty_json};
use common::*;
use serde_json::json;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A directory on the host, outside every bundle, removed on drop.
struct HostDir(PathBuf);

impl HostDir {
    fn new(tag: &str) -> HostDir {
        HostDir(mkdtemp(&format!("/tmp/husk-test-host-{tag}-")))
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        remove_tree(&self.0);
    }
}

/// Run `sh -c SCRIPT` (or the probe report) and return the output; asserts
/// that the container left nothing behind whether it ran or was refused.
#[track_caller]
fn run(b: &mut Bundle, script: Option<&str>) -> CmdOutput {
    match script {
        Some(s) => b.set_args(&["/bin/sh", "-c", s]),
        None => b.set_args(&["/probe", "report"]),
    }
    let rt = Runtime::new();
    let id = unique_id("sec");
    let before = leftovers(&rt, &id, b);
    let out = rt.run(&id, b);
    let left: Vec<String> = leftovers(&rt, &id, b)
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect();
    assert!(
        left.is_empty(),
        "container {id} left behind: {left:#?}\n{}",
        out.describe()
    );
    out
}

/// The run must have been refused with runc's error convention.
#[track_caller]
fn assert_refused(out: &CmdOutput, needle: &str) {
    assert!(
        !out.success(),
        "a hostile image must be refused: {}",
        out.describe()
    );
    if runtime_is_runc() {
        return;
    }
    out.assert_error_contains(needle);
}

/// Mounts in the host's mount table at or below `p`.
fn host_mounts_under(p: &Path) -> Vec<String> {
    mountinfo()
        .into_iter()
        .filter(|m| Path::new(&m.mount_point).starts_with(p))
        .map(|m| format!("{} {}", m.mount_point, m.fstype))
        .collect()
}

#[track_caller]
fn assert_host_unchanged(dir: &Path, before: &std::collections::BTreeMap<PathBuf, EntrySnapshot>) {
    let changes = tree_changes(before, &snapshot_tree(dir));
    assert!(
        changes.is_empty(),
        "the host directory {} was changed: {changes:#?}",
        dir.display()
    );
    let mounts = host_mounts_under(dir);
    assert!(
        mounts.is_empty(),
        "mounts appeared on the host: {mounts:#?}"
    );
}

/// Drop every mount at or below /dev from the config.
fn without_dev_mounts(b: &mut Bundle) {
    b.config_mut()["mounts"]
        .as_array_mut()
        .expect("mounts")
        .retain(|m| {
            !m["destination"]
                .as_str()
                .is_some_and(|d| d == "/dev" || d.starts_with("/dev/"))
        });
}

fn replace_with_symlink(p: &Path, target: &str) {
    fs::remove_dir_all(p).unwrap_or_else(|e| panic!("rm {}: {e}", p.display()));
    symlink(target, p).unwrap_or_else(|e| panic!("symlink {}: {e}", p.display()));
}

/// A host directory that looks like a /dev: a file called `ptmx` and one
/// called `null` that runc and crun once deleted or replaced through a link.
fn decoy_dev(tag: &str) -> HostDir {
    let h = HostDir::new(tag);
    fs::write(h.0.join("ptmx"), "host file, must survive\n").expect("write decoy");
    fs::write(h.0.join("null"), "host file, must survive\n").expect("write decoy");
    h
}

// ---------------------------------------------------------------------------
// /dev as a symlink
// ---------------------------------------------------------------------------

/// runc CVE-2026-41579 (GHSA-xjvp-4fhw-gc47): with nothing mounted on /dev
/// and the image's /dev a symlink to a host directory, runc's setupPtmx and
/// setupDevSymlinks deleted `ptmx` and created the fd/stdin/stdout/stderr
/// links in that host directory (filepath.Join on the host path).
/// crun CVE-2026-47766 is the same flaw in crun's device set-up.
#[test]
fn cve_2026_41579_dev_symlink_to_host_dir_absolute() {
    let host = decoy_dev("dev-abs");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    without_dev_mounts(&mut b);
    replace_with_symlink(&b.rootfs().join("dev"), &host.0.to_string_lossy());
    let out = run(&mut b, None);
    assert_host_unchanged(&host.0, &before);
    if out.success() {
        // It ran: then the devices were made inside the rootfs, where the link
        // leads when resolved inside it.
        let inside = b.rootfs().join(host.0.strip_prefix("/").expect("absolute"));
        assert!(
            inside.join("null").exists(),
            "devices should be inside the rootfs at {}",
            inside.display()
        );
    }
}

/// CVE-2026-41579 / CVE-2026-47766 again, with a relative link that climbs
/// out of the rootfs (`../../../..`) to the host directory.
#[test]
fn cve_2026_41579_dev_symlink_to_host_dir_relative() {
    let host = decoy_dev("dev-rel");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    without_dev_mounts(&mut b);
    let climb = format!("../../../../../../../..{}", host.0.display());
    replace_with_symlink(&b.rootfs().join("dev"), &climb);
    run(&mut b, None);
    assert_host_unchanged(&host.0, &before);
}

/// The same link with linux.devices: nodes from the config must not be
/// created through it either.
#[test]
fn cve_2026_47766_linux_devices_through_dev_symlink() {
    let host = decoy_dev("dev-devices");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    without_dev_mounts(&mut b);
    b.config_mut()["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
    ]);
    replace_with_symlink(&b.rootfs().join("dev"), &host.0.to_string_lossy());
    run(&mut b, None);
    assert_host_unchanged(&host.0, &before);
}

// ---------------------------------------------------------------------------
// /proc and /sys as symlinks, mounts into /proc
// ---------------------------------------------------------------------------

/// CVE-2019-16884: an image whose /proc is a symlink to a directory it
/// controls made runc mount procfs there, while the container's /proc (its
/// AppArmor attr files) were the image's fakes: AppArmor was bypassed.
/// procfs must only go on a real /proc directory.
#[test]
fn cve_2019_16884_proc_symlink_in_image_is_refused() {
    let mut b = Bundle::new();
    let fake = b.rootfs().join("fakeproc/self/attr");
    fs::create_dir_all(&fake).expect("mkdir");
    fs::write(fake.join("current"), "unconfined\n").expect("write");
    replace_with_symlink(&b.rootfs().join("proc"), "/fakeproc");
    let before = snapshot_tree(&b.rootfs().join("fakeproc"));
    let out = run(&mut b, None);
    assert_refused(&out, "/proc");
    assert_host_unchanged(&b.rootfs().join("fakeproc"), &before);
}

/// CVE-2023-28642: the same bypass when /proc in the image is a symlink
/// (runc 1.1.4 followed it again); here it leads to a host directory, which
/// must get no procfs mount and no change.
#[test]
fn cve_2023_28642_proc_symlink_to_host_dir_is_refused() {
    let host = HostDir::new("proc");
    fs::write(host.0.join("keep"), "x").expect("write");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    replace_with_symlink(&b.rootfs().join("proc"), &host.0.to_string_lossy());
    let out = run(&mut b, None);
    assert_refused(&out, "/proc");
    assert_host_unchanged(&host.0, &before);
    assert!(
        !b.rootfs()
            .join(host.0.strip_prefix("/").expect("absolute"))
            .join("self")
            .exists(),
        "procfs must not be mounted where the link leads"
    );
}

/// CVE-2019-16884's /sys twin: sysfs must not go through a symlink either.
#[test]
fn cve_2019_16884_sys_symlink_in_image_is_refused() {
    let host = HostDir::new("sys");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    replace_with_symlink(&b.rootfs().join("sys"), &host.0.to_string_lossy());
    let out = run(&mut b, None);
    assert_refused(&out, "/sys");
    assert_host_unchanged(&host.0, &before);
}

/// CVE-2019-19921: a mount destination that is (or goes through) a symlink
/// to /proc let a volume be mounted over procfs files (AppArmor and other
/// /proc-based protections bypassed). CVE-2023-27561 is the same flaw,
/// reintroduced in runc 1.0.0-rc95. The checks apply where the destination
/// really is, not to the string in config.json.
#[test]
fn cve_2019_19921_mount_destination_symlink_into_proc_is_refused() {
    for (link_at, dest) in [
        ("evil", "/evil"),                 // /evil -> /proc: a volume over /proc
        ("evil", "/evil/sys/kernel"),      // into /proc/sys through the link
        ("mnt", "/mnt/self/attr/current"), // an intermediate component
    ] {
        let mut b = Bundle::new();
        let vol = b.path().join("volume");
        fs::create_dir_all(&vol).expect("mkdir");
        let _ = fs::remove_dir_all(b.rootfs().join(link_at));
        symlink("/proc", b.rootfs().join(link_at)).expect("symlink");
        b.add_mount(
            json!({"destination": dest, "type": "bind", "source": vol, "options": ["rbind"]}),
        );
        let before = snapshot_tree(&vol);
        let out = run(&mut b, None);
        assert_refused(&out, "/proc");
        assert_host_unchanged(&vol, &before);
    }
}

/// CVE-2023-27561 (the 19921 regression) for a direct destination: only
/// procfs may be mounted at /proc, nothing else inside /proc but the files
/// lxcfs emulates (runc's allowlist).
#[test]
fn cve_2023_27561_only_proc_at_proc_and_lxcfs_allowlist_inside() {
    let mut b = Bundle::new();
    let fake = b.path().join("fake-cpuinfo");
    fs::write(&fake, "fake cpuinfo\n").expect("write");
    b.add_mount(
        json!({"destination": "/proc/cpuinfo", "type": "bind", "source": fake, "options": ["bind"]}),
    );
    let out = run(&mut b, Some("/probe read /proc/cpuinfo"));
    out.assert_code(0);
    assert_eq!(probe_report(&out.stdout)["content"], "fake cpuinfo\n");

    for (i, m) in [
        json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}),
        json!({"destination": "/proc/sys/kernel", "type": "bind", "source": b.path(), "options": ["bind"]}),
        json!({"destination": "/proc/self", "type": "tmpfs", "source": "tmpfs"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = Bundle::new();
        if i == 0 {
            b.config_mut()["mounts"]
                .as_array_mut()
                .expect("mounts")
                .retain(|m| m["destination"] != "/proc");
        }
        b.add_mount(m.clone());
        let out = run(&mut b, None);
        assert_refused(&out, "/proc");
    }
}

// ---------------------------------------------------------------------------
// Mount destinations that are symlinks out of the rootfs
// ---------------------------------------------------------------------------

/// The general rule behind CVE-2019-19921 and runc's move to securejoin /
/// libpathrs: a mount destination the image made a symlink to a host path
/// (absolute, or `../../..`) is resolved inside the rootfs: the mount lands
/// there, and the host file and directory are untouched.
#[test]
fn mount_destination_symlinks_out_of_the_rootfs_land_inside() {
    let host = HostDir::new("dest");
    fs::write(host.0.join("hostfile"), "host content\n").expect("write");
    fs::create_dir_all(host.0.join("hostdir")).expect("mkdir");
    let before = snapshot_tree(&host.0);
    let mut b = Bundle::new();
    let payload = b.path().join("payload");
    fs::write(&payload, "payload\n").expect("write");
    let payload_dir = b.path().join("payload-dir");
    fs::create_dir_all(&payload_dir).expect("mkdir");
    fs::write(payload_dir.join("p"), "p\n").expect("write");
    let etc = b.rootfs().join("etc");
    symlink(host.0.join("hostfile"), etc.join("x")).expect("symlink");
    symlink(
        format!("../../../../../../../../..{}/hostdir", host.0.display()),
        etc.join("y"),
    )
    .expect("symlink");
    b.add_mount(
        json!({"destination": "/etc/x", "type": "bind", "source": payload, "options": ["bind", "ro"]}),
    );
    b.add_mount(
        json!({"destination": "/etc/y", "type": "bind", "source": payload_dir, "options": ["bind"]}),
    );
    b.add_mount(json!({"destination": "/etc/y/t", "type": "tmpfs", "source": "tmpfs"}));
    let out = run(
        &mut b,
        Some("/probe read /etc/x; /probe read /etc/y/p; /probe write /etc/y/t/new x"),
    );
    assert_host_unchanged(&host.0, &before);
    if runtime_is_runc() && !out.success() {
        return;
    }
    out.assert_code(0);
    let l = probe_lines(&out.stdout);
    assert_eq!(l[0]["content"], "payload\n", "{}", l[0]);
    assert_eq!(l[1]["content"], "p\n", "{}", l[1]);
    assert_eq!(l[2]["ok"], true, "{}", l[2]);
    let inside = b.rootfs().join(host.0.strip_prefix("/").expect("absolute"));
    assert!(
        inside.join("hostfile").is_file(),
        "the file mount point should have been made inside the rootfs"
    );
}

// ---------------------------------------------------------------------------
// Masked paths and a fake /dev/null
// ---------------------------------------------------------------------------

/// CVE-2025-31133: runc masked files by bind-mounting the container's
/// /dev/null over them without checking it; an image whose /dev/null was a
/// symlink (to /proc/sys/kernel/core_pattern, say) got that file bound
/// writable instead, and a race could swap it in after the check. husk opens
/// /dev/null once with O_NOFOLLOW, checks that this descriptor is the
/// character device 1:3, and mounts from that same descriptor.
#[test]
fn cve_2025_31133_fake_dev_null_never_masks() {
    let core_pattern = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    for fake in ["symlink", "file", "zero-device"] {
        let mut b = Bundle::new();
        without_dev_mounts(&mut b);
        // The image brings its own /dev, bind-mounted as is.
        let dev = b.path().join("image-dev");
        fs::create_dir_all(&dev).expect("mkdir");
        match fake {
            "symlink" => {
                symlink("/proc/sys/kernel/core_pattern", dev.join("null")).expect("symlink")
            }
            "file" => fs::write(dev.join("null"), "not a device\n").expect("write"),
            _ => {
                let p = std::ffi::CString::new(dev.join("null").to_string_lossy().as_bytes())
                    .expect("path");
                // SAFETY: plain mknod(2) of a char device node with a valid path.
                let r =
                    unsafe { libc::mknod(p.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 5)) };
                assert_eq!(r, 0, "mknod: {}", std::io::Error::last_os_error());
            }
        }
        b.add_mount(
            json!({"destination": "/dev", "type": "bind", "source": dev, "options": ["rbind"]}),
        );
        b.config_mut()["linux"]["maskedPaths"] = json!(["/proc/timer_list", "/proc/keys"]);
        let before = snapshot_tree(&dev);
        let out = run(&mut b, Some("/probe read /proc/timer_list"));
        if runtime_is_runc() {
            eprintln!("NOTE: runc 1.1.5 predates the CVE-2025-31133 fix; only the host is checked");
        } else {
            assert_refused(&out, "/dev/null");
        }
        assert_host_unchanged(&dev, &before);
        assert_eq!(
            fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default(),
            core_pattern,
            "core_pattern changed ({fake})"
        );
    }
}

// ---------------------------------------------------------------------------
// Mount targets swapped during set-up
// ---------------------------------------------------------------------------

/// runc CVE-2024-45310: runc made the missing parts of a bind mount's target
/// with os.MkdirAll on a host path; a second container sharing a volume
/// could swap a component for a symlink to a host directory between the
/// check and the creation, and runc created empty directories and files
/// there. Here a second container swaps `/shared/sw` between a directory and
/// a symlink to a host directory (absolute, and `../..` climbing) while
/// containers whose mounts go through `/shared/sw` are created over and
/// over (a bounded, best-effort race): the host directory must stay empty.
#[test]
fn cve_2024_45310_mount_target_swapped_by_a_second_container() {
    let host = HostDir::new("45310");
    let before = snapshot_tree(&host.0);
    let vol = HostDir::new("45310-vol");
    let volume = json!({"destination": "/shared", "type": "bind", "source": vol.0, "options": ["rbind", "rw"]});
    let rt = Runtime::new();

    let mut attacker = Bundle::new();
    attacker.add_mount(volume.clone());
    let (abs, climb) = (
        host.0.display().to_string(),
        format!("../../../../../../../..{}", host.0.display()),
    );
    let swap = format!(
        "cd /shared; while :; do rm -rf sw; mkdir sw; rm -rf sw; ln -s {abs} sw; \
         rm -f sw; mkdir sw; rm -rf sw; ln -s {climb} sw; rm -f sw; done"
    );
    attacker.set_args(&["/bin/sh", "-c", &swap]);
    let aid = unique_id("sec-45310-a");
    let a = rt.create_ok(&aid, &attacker);
    a.start().assert_success();

    let mut victim = Bundle::new();
    let src_dir = victim.path().join("src-dir");
    fs::create_dir(&src_dir).expect("mkdir");
    let src_file = victim.path().join("src-file");
    fs::write(&src_file, "x").expect("write");
    victim.add_mount(volume);
    for (dest, m) in [
        (
            "/shared/sw/d/deeper",
            json!({"type": "bind", "source": src_dir, "options": ["bind"]}),
        ),
        (
            "/shared/sw/f",
            json!({"type": "bind", "source": src_file, "options": ["bind"]}),
        ),
        ("/shared/sw/t", json!({"type": "tmpfs", "source": "tmpfs"})),
    ] {
        let mut m = m;
        m["destination"] = json!(dest);
        victim.add_mount(m);
    }
    victim.set_args(&["/bin/true"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (mut runs, mut ok) = (0, 0);
    while runs < 60 && std::time::Instant::now() < deadline {
        let id = unique_id("sec-45310-v");
        let before_run = leftovers(&rt, &id, &victim);
        let out = rt.run(&id, &victim);
        ok += usize::from(out.success());
        let left: Vec<String> = leftovers(&rt, &id, &victim)
            .into_iter()
            .filter(|l| !before_run.contains(l))
            .collect();
        assert!(left.is_empty(), "run {runs} left behind: {left:#?}");
        assert_host_unchanged(&host.0, &before);
        runs += 1;
    }
    eprintln!("{runs} runs, {ok} set up completely, the others lost the race");
    assert!(runs >= 5, "only {runs} runs in the time allowed");
    drop(a);
    assert_host_unchanged(&host.0, &before);
}

// ---------------------------------------------------------------------------
// The runtime's own procfs writes
// ---------------------------------------------------------------------------

/// CVE-2025-52881: runc's writes to /proc (the AppArmor attr files,
/// sysctls) could be redirected by a mount placed over the target while
/// the container was being set up, so that runc wrote its value into
/// another file (a host file, or /proc/sys/kernel/core_pattern). husk
/// refuses mounts into /proc from the config, and makes its own writes
/// through a private procfs instance that nothing mounted in the container
/// reaches. Here a bind mount over /proc/sys/net/ipv4/ip_forward, from the
/// config and (as the race would leave it) from a createContainer hook,
/// points at a host file; `linux.sysctl` sets ip_forward. The host file and
/// the host's own sysctl must not change.
#[test]
fn cve_2025_52881_procfs_writes_are_not_redirected() {
    let sysctl = "/proc/sys/net/ipv4/ip_forward";
    let host_value = fs::read_to_string(sysctl).expect("read host sysctl");
    let want = if host_value.trim() == "1" { "0" } else { "1" };
    let host = HostDir::new("52881");
    let decoy = host.0.join("decoy");
    fs::write(&decoy, "decoy\n").expect("write");
    let before = snapshot_tree(&host.0);

    // From the config: refused (a mount inside /proc).
    let mut b = Bundle::new();
    b.config_mut()["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want});
    b.add_mount(
        json!({"destination": sysctl, "type": "bind", "source": decoy, "options": ["bind"]}),
    );
    let out = run(&mut b, None);
    assert_refused(&out, "/proc");
    assert_host_unchanged(&host.0, &before);

    // From a hook, after husk's own mount checks: the write must still land
    // in the container's network namespace, not in the file over it.
    let mut b = Bundle::new();
    b.config_mut()["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want});
    let target = format!("{}{sysctl}", b.rootfs().display());
    b.config_mut()["hooks"] = json!({"createContainer": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("mount --bind {} {target}", decoy.display())],
    }]});
    let out = run(
        &mut b,
        Some(
            "/probe read /proc/sys/net/ipv4/conf/all/forwarding; /probe read /proc/sys/net/ipv4/ip_forward",
        ),
    );
    assert_host_unchanged(&host.0, &before);
    assert_eq!(
        fs::read_to_string(sysctl).expect("read"),
        host_value,
        "the host's sysctl changed"
    );
    if runtime_is_runc() && !out.success() {
        return;
    }
    out.assert_code(0);
    let l = probe_lines(&out.stdout);
    // The container's own setting took the value; its /proc shows the hook's file there.
    assert_eq!(
        l[0]["content"].as_str().map(str::trim),
        Some(want),
        "{}",
        l[0]
    );
    assert_eq!(l[1]["content"], "decoy\n", "{}", l[1]);
}

// ---------------------------------------------------------------------------
// The image's own /dev
// ---------------------------------------------------------------------------

/// With no mount at /dev the image's /dev directory is used as it is, and
/// its device files may be symlinks to host paths: /dev/null (which masks
/// paths, and which runc's CVE-2025-31133 fix checks), /dev/console (bound
/// to the pty, CVE-2025-52565), /dev/tty, /dev/zero, /dev/ptmx. Making the
/// default devices, masking /proc/timer_list and binding the console must
/// replace them inside the rootfs and never follow them out: the host files
/// they point at, absolute or by `../..`, stay as they were, and no mount
/// appears on the host.
#[test]
fn dev_null_and_console_symlinks_without_a_dev_mount() {
    for relative in [false, true] {
        let host = decoy_dev(if relative { "devrel" } else { "devabs" });
        for f in ["console", "tty", "zero", "full", "random", "urandom"] {
            fs::write(host.0.join(f), "host file, must survive\n").expect("write decoy");
        }
        let before = snapshot_tree(&host.0);
        let mut b = Bundle::new();
        b.config_mut()["mounts"]
            .as_array_mut()
            .expect("mounts")
            .retain(|m| m["destination"] != "/dev");
        b.config_mut()["process"]["terminal"] = json!(true);
        b.config_mut()["process"]["consoleSize"] = json!({"height": 24, "width": 80});
        let dev = b.rootfs().join("dev");
        for d in ["pts", "shm", "mqueue"] {
            fs::create_dir_all(dev.join(d)).expect("mkdir");
        }
        for f in [
            "null", "console", "tty", "zero", "full", "random", "urandom", "ptmx",
        ] {
            let to = if relative {
                format!("../../../../../../..{}/{f}", host.0.display())
            } else {
                format!("{}/{f}", host.0.display())
            };
            symlink(to, dev.join(f)).expect("symlink");
        }
        b.set_args(&[
            "/bin/sh",
            "-c",
            "/probe stat /dev/null /dev/console; /probe read /proc/timer_list; echo DONE",
        ]);
        let rt = Runtime::new();
        let id = unique_id("sec-dev");
        let sock = ConsoleSocket::new();
        let host_mounts = host_mount_table();
        let out = {
            let c = rt.create_with(&id, &b, &["--console-socket", sock.path_str()]);
            if c.create_output.success() {
                let master = sock
                    .recv_master(Duration::from_secs(20))
                    .expect("pty master");
                c.start().assert_success();
                let out = master.read_until(|o| o.contains("DONE"), Duration::from_secs(20));
                let _ = c.wait_status("stopped", Duration::from_secs(20));
                Some(out.expect("container output"))
            } else {
                c.create_output.assert_error();
                None
            }
        };
        assert_host_unchanged(&host.0, &before);
        let bundle = b.path().to_string_lossy().into_owned();
        let new: Vec<String> = new_host_mounts(&host_mounts, &host_mount_table())
            .into_iter()
            .filter(|m| m.contains(&bundle) || m.contains(&*host.0.to_string_lossy()))
            .collect();
        assert!(new.is_empty(), "host mounts appeared: {new:#?}");
        let left = leftovers(&rt, &id, &b);
        assert!(left.is_empty(), "left behind: {left:#?}");
        eprintln!(
            "relative={relative}: {}",
            if out.is_some() { "ran" } else { "refused" }
        );
        if let Some(out) = out {
            let st = out
                .lines()
                .find_map(|l| {
                    l.find('[')
                        .and_then(|i| serde_json::from_str::<serde_json::Value>(&l[i..]).ok())
                })
                .unwrap_or_else(|| panic!("no stat in {out:?}"));
            assert_eq!(st[0]["type"], "char", "/dev/null: {}", st[0]);
            assert_eq!(
                (st[0]["rdev_major"].as_u64(), st[0]["rdev_minor"].as_u64()),
                (Some(1), Some(3))
            );
            assert_eq!(st[1]["type"], "char", "/dev/console: {}", st[1]);
            let masked = pty_json(&out).unwrap_or_else(|| panic!("no read in {out:?}"));
            assert_eq!(
                masked["content"], "",
                "/proc/timer_list not masked: {masked}"
            );
        }
    }
}

/// A host process holding a mount namespace in which `/proc` is a tmpfs
/// made by `setup` (a shell snippet): the namespace a hostile container
/// would offer to a config that joins it. Killed on drop.
struct HostileMountNs(std::process::Child);

impl HostileMountNs {
    fn new(setup: &str) -> HostileMountNs {
        let script =
            format!("mount -t tmpfs none /proc && {setup} && echo ready && exec sleep 300");
        let mut child = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("unshare");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("read");
        assert_eq!(line.trim(), "ready", "the hostile namespace was not set up");
        HostileMountNs(child)
    }

    fn ns_path(&self) -> String {
        format!("/proc/{}/ns/mnt", self.0.id())
    }
}

impl Drop for HostileMountNs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CVE-2025-52881 through a joined mount namespace: with a mount namespace
/// joined by path, /proc is whatever that namespace has. The time offsets
/// were written to /proc/self/timens_offsets there, so a symlink in a fake
/// /proc sent the runtime's write (as host root) to any host file, or to
/// /proc/sysrq-trigger ("boottime ..." starts with 'b': reboot). They go
/// through a private procfs opened before joining: the host file the
/// symlink names stays as it was.
#[test]
fn cve_2025_52881_time_offsets_not_written_through_a_joined_mount_namespace() {
    if !Path::new("/proc/self/ns/time").exists() {
        common::skip!("this kernel has no time namespaces");
    }
    let host = HostDir::new("52881-timens");
    let decoy = host.0.join("decoy");
    fs::write(&decoy, "decoy\n").expect("write");
    let before = snapshot_tree(&host.0);
    let hostile = HostileMountNs::new(&format!(
        "mkdir /proc/self && ln -s {} /proc/self/timens_offsets",
        decoy.display()
    ));
    let mut b = Bundle::new();
    let nss = b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces");
    nss.retain(|n| n["type"] != "mount");
    nss.push(json!({"type": "mount", "path": hostile.ns_path()}));
    nss.push(json!({"type": "time"}));
    b.config_mut()["linux"]["timeOffsets"] = json!({
        "boottime": {"secs": 1, "nanosecs": 0},
        "monotonic": {"secs": 1, "nanosecs": 0},
    });
    // Whether the rest of the set-up works in that namespace does not matter here.
    let _ = run(&mut b, None);
    drop(hostile);
    assert_host_unchanged(&host.0, &before);
}
