//! Step 2: the container's filesystem view. Every assertion is on what the
//! probe sees inside the container (its mountinfo, lstat results, attempted
//! reads and writes) or on the host, never on the runtime's own word.
//!
//! Run against husk: `cargo test --test rootfs`
//! Run against runc: `HUSK_RUNTIME=/usr/sbin/runc cargo test --test rootfs`
//! (husk extensions such as `tmpcopyup` on plain runc 1.1 are skipped there).

mod common;

use common::*;
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[track_caller]
fn run_script(b: &mut Bundle, script: &str) -> Vec<Value> {
    run_probe_script(b, script, &[])
}

fn mkdir(p: &Path) {
    fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
}

fn write(p: &Path, s: &str) {
    fs::write(p, s).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

// ---------------------------------------------------------------------------
// The default mounts and the root
// ---------------------------------------------------------------------------

#[test]
fn default_mounts_types_and_flags() {
    let mut b = Bundle::new();
    let l = run_script(&mut b, "/probe report");
    let r = &l[0];
    let proc = mount_at(r, "/proc");
    assert_eq!(proc["fstype"], "proc");
    let dev = mount_at(r, "/dev");
    assert_eq!(dev["fstype"], "tmpfs");
    assert_opt(dev, "nosuid");
    assert_super_opt(dev, "mode=755");
    assert_super_opt(dev, "size=65536k");
    let pts = mount_at(r, "/dev/pts");
    assert_eq!(pts["fstype"], "devpts");
    for o in ["nosuid", "noexec"] {
        assert_opt(pts, o);
    }
    for o in ["gid=5", "mode=620", "ptmxmode=666"] {
        assert_super_opt(pts, o);
    }
    let shm = mount_at(r, "/dev/shm");
    assert_eq!(shm["fstype"], "tmpfs");
    for o in ["nosuid", "nodev", "noexec"] {
        assert_opt(shm, o);
    }

    let mq = mount_at(r, "/dev/mqueue");
    assert_eq!(mq["fstype"], "mqueue");
    for o in ["nosuid", "nodev", "noexec"] {
        assert_opt(mq, o);
    }
    let sys = mount_at(r, "/sys");
    assert_eq!(sys["fstype"], "sysfs");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert_opt(sys, o);
    }
    // root.readonly is true in the default config.
    assert_opt(mount_at(r, "/"), "ro");
}

#[test]
fn root_readonly_blocks_writes_and_rw_root_writes_through() {
    let mut b = Bundle::new();
    let l = run_script(
        &mut b,
        "/probe write /ro-test x; /probe write /tmp/ro-test x",
    );
    assert_write_fails(&l[0], "EROFS");
    assert_write_fails(&l[1], "EROFS");
    assert!(!b.rootfs().join("ro-test").exists());

    b.config_mut()["root"]["readonly"] = json!(false);
    let l = run_script(&mut b, "/probe write /tmp/rw-test hello; /probe report");
    assert_ok(&l[0]);
    assert_no_opt(mount_at(&l[1], "/"), "ro");
    let got = fs::read_to_string(b.rootfs().join("tmp/rw-test")).unwrap_or_default();
    assert_eq!(got, "hello", "the write should land in the bundle's rootfs");
}

#[test]
fn root_path_absolute_works_and_symlink_is_refused() {
    let mut b = Bundle::new();
    let abs = b.rootfs().to_string_lossy().into_owned();
    b.config_mut()["root"]["path"] = json!(abs);
    let l = run_script(&mut b, "/probe stat /probe");
    assert_eq!(l[0][0]["type"], "file");

    let link = b.path().join("rootfs-link");
    symlink(b.rootfs(), &link).expect("symlink");
    b.config_mut()["root"]["path"] = json!("rootfs-link");
    b.set_args(&["/probe", "report"]);
    let rt = Runtime::new();
    let id = unique_id("rootfs-link");
    let out = rt.run(&id, &b);
    assert!(
        !out.success(),
        "a symlinked root.path must be refused: {}",
        out.describe()
    );
    if !runtime_is_runc() {
        out.assert_error_contains("root.path");
    }
}

// ---------------------------------------------------------------------------
// Bind mounts
// ---------------------------------------------------------------------------

#[test]
fn bind_dir_and_file_rw_and_ro() {
    let mut b = Bundle::new();
    let d = b.path().join("src-dir");
    mkdir(&d);
    write(&d.join("hello"), "from the host\n");
    let f = b.path().join("src-file");
    write(&f, "a file\n");
    b.add_mount(
        json!({"destination": "/mnt/rw", "type": "bind", "source": "src-dir", "options": ["bind"]}),
    );
    b.add_mount(
        json!({"destination": "/mnt/ro", "type": "bind", "source": d, "options": ["rbind", "ro"]}),
    );
    b.add_mount(
        json!({"destination": "/etc/bound-file", "type": "none", "source": f, "options": ["bind", "ro"]}),
    );
    let l = run_script(
        &mut b,
        "/probe report; /probe read /mnt/rw/hello; /probe write /mnt/rw/new written; \
         /probe write /mnt/ro/new2 x; /probe read /etc/bound-file; /probe write /etc/bound-file x; \
         /probe stat /etc/bound-file",
    );
    let r = &l[0];
    assert_no_opt(mount_at(r, "/mnt/rw"), "ro");
    assert_opt(mount_at(r, "/mnt/ro"), "ro");
    assert_opt(mount_at(r, "/etc/bound-file"), "ro");
    assert_eq!(l[1]["content"], "from the host\n");
    assert_ok(&l[2]);
    assert_eq!(
        fs::read_to_string(d.join("new")).unwrap_or_default(),
        "written"
    );
    assert_write_fails(&l[3], "EROFS");
    assert!(!d.join("new2").exists());
    assert_eq!(l[4]["content"], "a file\n");
    assert_write_fails(&l[5], "EROFS");
    assert_eq!(l[6][0]["type"], "file");
    assert_eq!(fs::read_to_string(&f).unwrap_or_default(), "a file\n");
}

/// A host dir with a tmpfs mounted at `sub` holding `sub/inner`.
fn dir_with_submount(b: &Bundle, name: &str) -> std::path::PathBuf {
    let d = b.path().join(name);
    mkdir(&d);
    write(&d.join("top"), "top\n");
    host_tmpfs(&d.join("sub"));
    write(&d.join("sub/inner"), "inner\n");
    d
}

#[test]
fn bind_omits_submounts_and_rbind_keeps_them() {
    let mut b = Bundle::new();
    let d = dir_with_submount(&b, "tree");
    b.add_mount(
        json!({"destination": "/mnt/bind", "type": "bind", "source": d, "options": ["bind"]}),
    );
    b.add_mount(
        json!({"destination": "/mnt/rbind", "type": "bind", "source": d, "options": ["rbind"]}),
    );
    let l = run_script(
        &mut b,
        "/probe report; /probe stat /mnt/bind/top /mnt/bind/sub/inner /mnt/rbind/sub/inner",
    );
    assert!(!is_mounted(&l[0], "/mnt/bind/sub"));
    assert_eq!(mount_at(&l[0], "/mnt/rbind/sub")["fstype"], "tmpfs");
    assert_eq!(l[1][0]["type"], "file");
    assert_eq!(l[1][1]["error"].as_str().map(|s| &s[..6]), Some("ENOENT"));
    assert_eq!(l[1][2]["type"], "file");
}

#[test]
fn recursive_attributes_reach_submounts() {
    let mut b = Bundle::new();
    let d = dir_with_submount(&b, "tree");
    b.add_mount(
        json!({"destination": "/mnt/rro", "type": "bind", "source": d, "options": ["rbind", "rro", "rnosuid", "rnodev", "rnoexec"]}),
    );
    b.add_mount(
        json!({"destination": "/mnt/ro", "type": "bind", "source": d, "options": ["rbind", "ro"]}),
    );
    let l = run_script(
        &mut b,
        "/probe report; /probe write /mnt/rro/sub/x x; /probe write /mnt/ro/sub/y y; /probe write /mnt/ro/z z",
    );
    let r = &l[0];
    for mp in ["/mnt/rro", "/mnt/rro/sub"] {
        for o in ["ro", "nosuid", "nodev", "noexec"] {
            assert_opt(mount_at(r, mp), o);
        }
    }
    // Plain `ro` is for the top mount only (as in runc).
    assert_opt(mount_at(r, "/mnt/ro"), "ro");
    assert_no_opt(mount_at(r, "/mnt/ro/sub"), "ro");
    assert_write_fails(&l[1], "EROFS");
    assert_ok(&l[2]);
    assert_write_fails(&l[3], "EROFS");
}

// ---------------------------------------------------------------------------
// Other filesystems and their options
// ---------------------------------------------------------------------------

#[test]
fn tmpfs_data_and_flag_options() {
    let mut b = Bundle::new();
    b.add_mount(
        json!({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=0710", "uid=1000", "gid=1001"]}),
    );
    b.add_mount(
        json!({"destination": "/mnt/x", "type": "tmpfs", "source": "tmpfs", "options": ["noexec"]}),
    );
    let l = run_script(
        &mut b,
        "/probe report; /probe stat /mnt/t; cp /probe /mnt/x/p && /mnt/x/p exit 0; echo '{\"exec_status\":'$?'}'",
    );
    let t = mount_at(&l[0], "/mnt/t");
    assert_eq!(t["fstype"], "tmpfs");
    for o in ["nosuid", "nodev", "noexec"] {
        assert_opt(t, o);
    }
    for o in ["size=1024k", "mode=710", "uid=1000", "gid=1001"] {
        assert_super_opt(t, o);
    }
    let st = &l[1][0];
    assert_eq!(
        (st["mode"].as_str(), st["uid"].as_u64(), st["gid"].as_u64()),
        (Some("0710"), Some(1000), Some(1001)),
        "{st}"
    );
    assert_eq!(
        l[2]["exec_status"], 126,
        "noexec must stop execution: {l:?}"
    );
}

#[test]
fn atime_flags() {
    let mut b = Bundle::new();
    for (dir, o) in [
        ("noatime", "noatime"),
        ("relatime", "relatime"),
        ("strictatime", "strictatime"),
        ("nodiratime", "nodiratime"),
    ] {
        b.add_mount(
            json!({"destination": format!("/mnt/{dir}"), "type": "tmpfs", "source": "tmpfs", "options": [o]}),
        );
    }
    let d = b.path().join("src");
    mkdir(&d);
    b.add_mount(
        json!({"destination": "/mnt/bind-noatime", "type": "bind", "source": d, "options": ["bind", "noatime"]}),
    );
    let l = run_script(&mut b, "/probe report");
    let r = &l[0];
    assert_opt(mount_at(r, "/mnt/noatime"), "noatime");
    assert_opt(mount_at(r, "/mnt/relatime"), "relatime");
    let s = mount_at(r, "/mnt/strictatime");
    assert_no_opt(s, "relatime");
    assert_no_opt(s, "noatime");
    assert_opt(mount_at(r, "/mnt/nodiratime"), "nodiratime");
    assert_opt(mount_at(r, "/mnt/bind-noatime"), "noatime");
}

#[test]
fn nosymfollow_refuses_symlinks() {
    let mut b = Bundle::new();
    b.add_mount(
        json!({"destination": "/mnt/nsf", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow"]}),
    );
    b.add_mount(json!({"destination": "/mnt/sf", "type": "tmpfs", "source": "tmpfs"}));
    let l = run_script(
        &mut b,
        "/probe report; ln -s /etc/hostname /mnt/nsf/l; ln -s /etc/hostname /mnt/sf/l; \
         /probe read /mnt/nsf/l; /probe read /mnt/sf/l",
    );
    assert_opt(mount_at(&l[0], "/mnt/nsf"), "nosymfollow");
    assert_eq!(l[1]["error"], "ELOOP", "{}", l[1]);
    assert_eq!(l[2]["content"], "husk-test\n");
}

#[test]
fn overlay_mount() {
    let mut b = Bundle::new();
    let ov = b.path().join("ov");
    for d in ["lower", "upper", "work"] {
        mkdir(&ov.join(d));
    }
    write(&ov.join("lower/l"), "lower\n");
    let opt = |d: &str| format!("{d}dir={}", ov.join(d).display());
    b.add_mount(
        json!({"destination": "/mnt/ov", "type": "overlay", "source": "overlay", "options": [opt("lower"), opt("upper"), opt("work")]}),
    );
    let l = run_script(
        &mut b,
        "/probe report; /probe read /mnt/ov/l; /probe write /mnt/ov/new upper",
    );
    assert_eq!(mount_at(&l[0], "/mnt/ov")["fstype"], "overlay");
    assert_eq!(l[1]["content"], "lower\n");
    assert_ok(&l[2]);
    assert_eq!(
        fs::read_to_string(ov.join("upper/new")).unwrap_or_default(),
        "upper"
    );
    assert!(!ov.join("lower/new").exists());
}

#[test]
fn cgroup_v1_is_a_tmpfs_with_the_containers_own_cgroups() {
    let mut b = Bundle::new();
    let l = run_script(
        &mut b,
        "/probe report; /probe write /sys/fs/cgroup/memory/x x",
    );
    let r = &l[0];
    let top = mount_at(r, "/sys/fs/cgroup");
    if top["fstype"] == "cgroup2" {
        skip!("pure cgroup v2 host; this test is for v1/hybrid");
    }
    assert_eq!(top["fstype"], "tmpfs");
    // runc 1.1 leaves the tmpfs itself writable (nothing can be created in it
    // without CAP_SYS_ADMIN anyway); husk makes it read-only too.
    if !runtime_is_runc() {
        assert_opt(top, "ro");
    }
    let lines: Vec<&str> = r["cgroup"]
        .as_array()
        .expect("cgroup lines")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut seen = 0;
    for line in lines {
        let mut it = line.splitn(3, ':');
        let (_, ctrl, path) = (it.next(), it.next().unwrap_or(""), it.next().unwrap_or(""));
        let name = match ctrl {
            "" => "unified",
            c => c.strip_prefix("name=").unwrap_or(c),
        };
        let mp = format!("/sys/fs/cgroup/{name}");
        if !is_mounted(r, &mp) {
            continue;
        }
        let m = mount_at(r, &mp);
        assert!(m["fstype"] == "cgroup" || m["fstype"] == "cgroup2", "{m}");
        assert_eq!(m["root"], path, "{mp} must show the container's own cgroup");
        assert_ne!(
            path, "/",
            "{mp}: the container must not see the host's root cgroup"
        );
        assert_opt(m, "ro");
        seen += 1;
    }
    assert!(
        seen >= 3,
        "expected a bind per controller: {:#}",
        r["mounts"]
    );
    assert_write_fails(&l[1], "EROFS");
}

#[test]
fn tmpcopyup_copies_contents_modes_and_owners() {
    if runtime_is_runc() {
        skip!("tmpcopyup is a crun/podman extension");
    }
    let mut b = Bundle::new();
    let data = b.rootfs().join("data");
    mkdir(&data.join("sub"));
    write(&data.join("f"), "image file\n");
    write(&data.join("sub/g"), "nested\n");
    fs::set_permissions(data.join("f"), fs::Permissions::from_mode(0o604)).expect("chmod");
    fs::set_permissions(data.join("sub"), fs::Permissions::from_mode(0o751)).expect("chmod");
    std::os::unix::fs::lchown(data.join("sub"), Some(1000), Some(1001)).expect("chown");
    std::os::unix::fs::lchown(data.join("f"), Some(1000), Some(1000)).expect("chown");
    symlink("f", data.join("link")).expect("symlink");
    b.add_mount(
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid", "mode=755"]}),
    );
    let l = run_script(
        &mut b,
        "/probe report; /probe read /data/f; /probe read /data/sub/g; \
         /probe stat /data /data/f /data/sub /data/link; /probe write /data/new x",
    );
    assert_eq!(mount_at(&l[0], "/data")["fstype"], "tmpfs");
    assert_eq!(l[1]["content"], "image file\n");
    assert_eq!(l[2]["content"], "nested\n");
    let st = &l[3];
    assert_eq!(st[0]["mode"], "0755");
    assert_eq!(
        (st[1]["mode"].as_str(), st[1]["uid"].as_u64()),
        (Some("0604"), Some(1000))
    );
    assert_eq!(
        (
            st[2]["mode"].as_str(),
            st[2]["uid"].as_u64(),
            st[2]["gid"].as_u64()
        ),
        (Some("0751"), Some(1000), Some(1001))
    );
    assert_eq!(
        (st[3]["type"].as_str(), st[3]["target"].as_str()),
        (Some("symlink"), Some("f"))
    );
    assert_ok(&l[4]);
    assert!(
        !data.join("new").exists(),
        "writes must go to the tmpfs, not the image"
    );
}

// ---------------------------------------------------------------------------
// Propagation
// ---------------------------------------------------------------------------

#[test]
fn bind_propagation_from_the_host_after_start() {
    let mut b = Bundle::new();
    let src = b.path().join("prop");
    host_make_shared_mountpoint(&src);
    mkdir(&src.join("sub"));
    let ctl = b.path().join("ctl");
    mkdir(&ctl);
    b.add_mount(json!({"destination": "/ctl", "type": "bind", "source": ctl, "options": ["bind"]}));
    for p in [
        "rshared", "rslave", "private", "shared", "slave", "rprivate",
    ] {
        b.add_mount(
            json!({"destination": format!("/p-{p}"), "type": "bind", "source": src, "options": ["rbind", p]}),
        );
    }
    b.set_args(&[
        "/bin/sh",
        "-c",
        "while [ ! -e /ctl/go ]; do /probe sleep 0.02; done; /probe report; \
         /probe stat /p-rshared/sub/marker /p-rslave/sub/marker /p-private/sub/marker",
    ]);
    let rt = Runtime::new();
    let c = rt.create_ok(&unique_id("rootfs-prop"), &b);
    c.start().assert_success();
    host_tmpfs(&src.join("sub"));
    write(&src.join("sub/marker"), "m");
    write(&ctl.join("go"), "");
    let out = b
        .wait_create_stdout(|s| s.lines().count() >= 2, WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let l = probe_lines(&out);
    let r = &l[0];
    for p in ["rshared", "rslave", "shared", "slave"] {
        assert_eq!(
            mount_at(r, &format!("/p-{p}/sub"))["fstype"],
            "tmpfs",
            "{p} bind must receive host mounts"
        );
    }
    for p in ["private", "rprivate"] {
        assert!(
            !is_mounted(r, &format!("/p-{p}/sub")),
            "{p} bind must not receive host mounts"
        );
    }
    let shared = mount_at(r, "/p-rshared");
    assert!(
        shared["optional"].as_array().is_some_and(|v| v
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.starts_with("shared:")))),
        "{shared}"
    );
    let slave = mount_at(r, "/p-rslave");
    assert!(
        slave["optional"].as_array().is_some_and(|v| v
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.starts_with("master:")))),
        "{slave}"
    );
    assert_eq!(l[1][0]["type"], "file");
    assert_eq!(l[1][1]["type"], "file");
    assert!(l[1][2]["error"].is_string(), "{}", l[1][2]);
    c.wait_status("stopped", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn rootfs_propagation() {
    let tags = |prop: Option<&str>| -> Vec<String> {
        let mut b = Bundle::new();
        if let Some(p) = prop {
            b.config_mut()["linux"]["rootfsPropagation"] = json!(p);
        }
        let l = run_script(&mut b, "/probe report");
        mount_at(&l[0], "/")["optional"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    if runtime_is_runc() {
        skip!("runc 1.1 applies rootfsPropagation before pivot_root only");
    }
    let shared = tags(Some("rshared"));
    assert!(
        shared.iter().any(|t| t.starts_with("shared:")),
        "{shared:?}"
    );
    let private = tags(Some("private"));
    assert!(private.is_empty(), "{private:?}");
}

// ---------------------------------------------------------------------------
// /dev
// ---------------------------------------------------------------------------

#[test]
fn dev_default_devices_and_links() {
    let mut b = Bundle::new();
    let l = run_script(
        &mut b,
        "/probe stat /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; \
         /probe stat /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx /dev/pts/ptmx; \
         /probe write /dev/null x; /probe write /dev/full x",
    );
    for (st, (name, maj, min)) in l[0].as_array().expect("stat array").iter().zip([
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]) {
        assert_eq!(st["type"], "char", "/dev/{name}: {st}");
        assert_eq!(
            (st["rdev_major"].as_u64(), st["rdev_minor"].as_u64()),
            (Some(maj), Some(min)),
            "/dev/{name}: {st}"
        );
        assert_eq!(st["mode"], "0666", "/dev/{name}: {st}");
        assert_eq!(
            (st["uid"].as_u64(), st["gid"].as_u64()),
            (Some(0), Some(0)),
            "/dev/{name}"
        );
    }
    let links = l[1].as_array().expect("stat array");
    for (st, target) in links.iter().zip([
        "/proc/self/fd",
        "/proc/self/fd/0",
        "/proc/self/fd/1",
        "/proc/self/fd/2",
        "pts/ptmx",
    ]) {
        assert_eq!(
            (st["type"].as_str(), st["target"].as_str()),
            (Some("symlink"), Some(target)),
            "{st}"
        );
    }
    assert_eq!(links[5]["type"], "char");
    assert_eq!(
        (
            links[5]["rdev_major"].as_u64(),
            links[5]["rdev_minor"].as_u64()
        ),
        (Some(5), Some(2))
    );
    assert_ok(&l[2]);
    assert_write_fails(&l[3], "ENOSPC");
}

#[test]
fn linux_devices_type_numbers_mode_owner() {
    let mut b = Bundle::new();
    b.config_mut()["linux"]["devices"] = json!([
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640, "uid": 1000, "gid": 1001},
        {"path": "/dev/deep/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 6},
        {"path": "/dev/myfifo", "type": "p", "major": 0, "minor": 0, "fileMode": 0o620, "uid": 2, "gid": 3},
        {"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 0o600},
        {"path": "/dev/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666},
    ]);
    let l = run_script(
        &mut b,
        "/probe stat /dev/mydev /dev/deep/myblk /dev/myfifo /dev/full; /probe read /dev/myzero",
    );
    let st = l[0].as_array().expect("stat array");
    let want = [
        ("char", 1, 5, "0640", 1000, 1001),
        ("block", 7, 200, "0600", 0, 6),
        ("fifo", 0, 0, "0620", 2, 3),
        // A default device given again takes the config's mode.
        ("char", 1, 7, "0600", 0, 0),
    ];
    for (s, (t, ma, mi, mode, uid, gid)) in st.iter().zip(want) {
        assert_eq!(s["type"], t, "{s}");
        if t != "fifo" {
            assert_eq!(
                (s["rdev_major"].as_u64(), s["rdev_minor"].as_u64()),
                (Some(ma), Some(mi)),
                "{s}"
            );
        }
        assert_eq!(s["mode"], mode, "{s}");
        assert_eq!(
            (s["uid"].as_u64(), s["gid"].as_u64()),
            (Some(uid), Some(gid)),
            "{s}"
        );
    }
    assert_ok(&l[1]);
}

// ---------------------------------------------------------------------------
// Masked and read-only paths
// ---------------------------------------------------------------------------

#[test]
fn masked_paths_hide_files_and_dirs() {
    let mut b = Bundle::new();
    b.config_mut()["linux"]["maskedPaths"]
        .as_array_mut()
        .expect("maskedPaths")
        .extend([json!("/proc/does-not-exist"), json!("/etc/hostname")]);
    let l = run_script(
        &mut b,
        "/probe read /proc/keys; /probe read /proc/timer_list; /probe read /etc/hostname; \
         /probe stat /proc/keys /etc/hostname; \
         echo '{\"entries\":'$(ls -A /sys/firmware | wc -l)'}'; /probe write /sys/firmware/x x; \
         /probe write /etc/hostname x; /probe report",
    );
    for v in &l[..3] {
        assert_eq!(
            (v["ok"].as_bool(), v["content"].as_str()),
            (Some(true), Some("")),
            "{v}"
        );
    }
    for st in l[3].as_array().expect("stat array") {
        assert_eq!(st["type"], "char", "a masked file is the null device: {st}");
        assert_eq!(
            (st["rdev_major"].as_u64(), st["rdev_minor"].as_u64()),
            (Some(1), Some(3)),
            "{st}"
        );
    }
    assert_eq!(l[4]["entries"], 0, "a masked dir is empty");
    assert_write_fails(&l[5], "EROFS");
    // A write to a masked file goes to the null device, not to the file.
    assert_ok(&l[6]);
    assert_eq!(
        fs::read_to_string(b.rootfs().join("etc/hostname")).unwrap_or_default(),
        "husk-test\n"
    );
    let fw = mount_at(&l[7], "/sys/firmware");
    assert_eq!(fw["fstype"], "tmpfs");
    assert_opt(fw, "ro");
}

#[test]
fn readonly_paths_refuse_writes_even_in_submounts() {
    let mut b = Bundle::new();
    b.add_mount(json!({"destination": "/mnt/tree", "type": "tmpfs", "source": "tmpfs"}));
    b.add_mount(json!({"destination": "/mnt/tree/sub", "type": "tmpfs", "source": "tmpfs"}));
    b.config_mut()["linux"]["readonlyPaths"]
        .as_array_mut()
        .expect("readonlyPaths")
        .extend([json!("/mnt/tree"), json!("/no/such/path")]);
    let l = run_script(
        &mut b,
        "/probe write /proc/sys/kernel/hostname x; \
         /probe write /mnt/tree/a x; /probe write /mnt/tree/sub/b x; /probe report",
    );
    assert_write_fails(&l[0], "EROFS");
    assert_write_fails(&l[1], "EROFS");
    for mp in [
        "/proc/sys",
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/mnt/tree",
    ] {
        assert_opt(mount_at(&l[3], mp), "ro");
    }
    // husk makes the mounts below a read-only path read-only too (runc 1.1
    // remounts only the top one).
    if !runtime_is_runc() {
        assert_write_fails(&l[2], "EROFS");
        assert_opt(mount_at(&l[3], "/mnt/tree/sub"), "ro");
    }
}

// ---------------------------------------------------------------------------
// --no-pivot
// ---------------------------------------------------------------------------

#[test]
fn no_pivot_runs_in_the_rootfs() {
    let mut b = Bundle::new();
    let bundle_path = b.path().display().to_string();
    let l = run_probe_script(
        &mut b,
        &format!("/probe report; /probe stat /probe {bundle_path}; /probe write /ro x"),
        &["--no-pivot"],
    );
    assert_eq!(mount_at(&l[0], "/proc")["fstype"], "proc");
    assert_eq!(l[1][0]["type"], "file");
    assert!(
        l[1][1]["error"].is_string(),
        "the host must not be visible: {}",
        l[1][1]
    );
    assert_write_fails(&l[2], "EROFS");
}

// ---------------------------------------------------------------------------
// User namespace
// ---------------------------------------------------------------------------

#[test]
fn user_namespace_gets_the_hosts_device_nodes_bound() {
    let mut b = Bundle::new();
    let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let linux = &mut b.config_mut()["linux"];
    linux["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "user"}));
    linux["uidMappings"] = map.clone();
    linux["gidMappings"] = map;
    let l = run_script(
        &mut b,
        "/probe stat /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; \
         /probe write /dev/null x; /probe report",
    );
    for st in l[0].as_array().expect("stat array") {
        assert_eq!(st["type"], "char", "{st}");
    }
    assert_eq!(
        (
            l[0][0]["rdev_major"].as_u64(),
            l[0][0]["rdev_minor"].as_u64()
        ),
        (Some(1), Some(3))
    );
    assert_ok(&l[1]);
    assert!(is_mounted(&l[2], "/dev/null"), "bound from the host");
}

#[test]
fn bind_options_clear_flags_the_source_has() {
    let mut b = Bundle::new();
    let d = b.path().join("nosuid-src");
    fs::create_dir_all(&d).expect("mkdir");
    host_mount(
        Some(Path::new("tmpfs")),
        &d,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("size=1m"),
    );
    b.add_mount(
        json!({"destination": "/mnt/kept", "type": "bind", "source": d, "options": ["bind", "ro"]}),
    );
    b.add_mount(json!({"destination": "/mnt/cleared", "type": "bind", "source": d, "options": ["bind", "ro", "suid", "exec"]}));
    let l = run_script(&mut b, "/probe report");
    let kept = mount_at(&l[0], "/mnt/kept");
    for o in ["ro", "nosuid", "noexec"] {
        assert_opt(kept, o);
    }
    let cleared = mount_at(&l[0], "/mnt/cleared");
    assert_opt(cleared, "ro");
    assert_no_opt(cleared, "nosuid");
    assert_no_opt(cleared, "noexec");
}
