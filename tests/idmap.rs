//! Idmapped bind mounts (a mount's uidMappings/gidMappings, the `idmap` and
//! `ridmap` options), with and without a user namespace, as runc maps them:
//! file owners seen through the mount from inside against the owners on
//! disk seen from the host.
//!
//! Run: `cargo test --test idmap` (as root, on a kernel and filesystem with
//! idmapped mounts: Linux 5.12+, ext4/xfs/btrfs/tmpfs(6.3+)).

mod common;

use common::*;
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `size` ids from `host` for container ids from `ctr`.
fn map(ctr: u32, host: u32, size: u32) -> Value {
    json!([{"containerID": ctr, "hostID": host, "size": size}])
}

/// A directory of the bundle (outside the rootfs) with files of the given
/// owners, made on the host.
fn source(b: &Bundle, name: &str, files: &[(&str, u32, u32)]) -> PathBuf {
    let dir = b.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, uid, gid) in files {
        let p = dir.join(f);
        std::fs::write(&p, "x").unwrap();
        std::os::unix::fs::lchown(&p, Some(*uid), Some(*gid)).unwrap();
    }
    dir
}

fn bind(src: &Path, dest: &str, options: &[&str]) -> Value {
    json!({"source": src, "destination": dest, "type": "bind", "options": options})
}

fn idmapped(src: &Path, dest: &str, options: &[&str], uids: Value, gids: Value) -> Value {
    let mut m = bind(src, dest, options);
    m["uidMappings"] = uids;
    m["gidMappings"] = gids;
    m
}

fn with_userns(b: &mut Bundle) {
    b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.config_mut()["linux"]["uidMappings"] = map(0, 100000, 65536);
    b.config_mut()["linux"]["gidMappings"] = map(0, 100000, 65536);
}

/// `(uid, gid)` of each path of a `/probe stat` result line.
fn owners(stat: &Value) -> Vec<(u64, u64)> {
    stat.as_array()
        .unwrap_or_else(|| panic!("not a stat result: {stat}"))
        .iter()
        .map(|e| {
            assert!(e.get("errno").is_none(), "{e}");
            (e["uid"].as_u64().unwrap(), e["gid"].as_u64().unwrap())
        })
        .collect()
}

fn host_owner(p: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid())
}

#[test]
fn without_a_user_namespace_owners_show_shifted() {
    let mut b = Bundle::new();
    let src = source(&b, "src-1", &[("foo.txt", 0, 0)]);
    b.add_mount(idmapped(
        &src,
        "/tmp/mount-1",
        &["bind"],
        map(0, 100000, 65536),
        map(0, 100000, 65536),
    ));
    b.add_mount(bind(&src, "/tmp/bind-1", &["bind"]));
    let lines = run_probe_script(
        &mut b,
        "/probe stat /tmp/mount-1/foo.txt /tmp/bind-1/foo.txt; \
         /probe write /tmp/mount-1/new.txt x; true",
        &[],
    );
    // Inside: the id-mapped view shifts root's file to 100000; the plain bind does not.
    assert_eq!(owners(&lines[0]), vec![(100000, 100000), (0, 0)]);
    // Outside, on disk: untouched.
    assert_eq!(host_owner(&src.join("foo.txt")), (0, 0));
    // Root (unmapped in the mount's mapping) cannot create files through it.
    assert_write_fails(&lines[1], "EOVERFLOW");
    assert!(!src.join("new.txt").exists());
}

#[test]
fn several_mappings_and_mounts_without_a_user_namespace() {
    let mut b = Bundle::new();
    let multi = source(
        &b,
        "multi1",
        &[
            ("foo.txt", 100, 211),
            ("bar.txt", 101, 222),
            ("baz.txt", 102, 233),
        ],
    );
    b.add_mount(idmapped(
        &multi,
        "/tmp/mount-multi1",
        &["bind"],
        json!([
            {"containerID": 100, "hostID": 1000, "size": 1},
            {"containerID": 101, "hostID": 2000, "size": 1},
            {"containerID": 102, "hostID": 3000, "size": 1}
        ]),
        json!([
            {"containerID": 210, "hostID": 1100, "size": 10},
            {"containerID": 220, "hostID": 2200, "size": 10},
            {"containerID": 230, "hostID": 3300, "size": 10}
        ]),
    ));
    // The same directory again, with different mappings for uids and gids.
    b.add_mount(idmapped(
        &multi,
        "/tmp/mount-multi1-alt",
        &["bind"],
        map(100, 101000, 100),
        map(200, 102000, 100),
    ));
    let lines = run_probe_script(
        &mut b,
        "/probe stat /tmp/mount-multi1/foo.txt /tmp/mount-multi1/bar.txt /tmp/mount-multi1/baz.txt \
                     /tmp/mount-multi1-alt/foo.txt /tmp/mount-multi1-alt/bar.txt /tmp/mount-multi1-alt/baz.txt",
        &[],
    );
    assert_eq!(
        owners(&lines[0]),
        vec![
            (1000, 1101),
            (2000, 2202),
            (3000, 3303),
            (101000, 102011),
            (101001, 102022),
            (101002, 102033)
        ]
    );
    assert_eq!(host_owner(&multi.join("bar.txt")), (101, 222));
}

#[test]
fn in_a_user_namespace_owners_show_as_the_containers() {
    let mut b = Bundle::new();
    with_userns(&mut b);
    let src = source(&b, "src-1", &[("foo.txt", 0, 0), ("one.txt", 1, 1)]);
    b.add_mount(idmapped(
        &src,
        "/tmp/mount-1",
        &["bind"],
        map(0, 100000, 65536),
        map(0, 100000, 65536),
    ));
    b.add_mount(bind(&src, "/tmp/bind-1", &["bind"]));
    let lines = run_probe_script(
        &mut b,
        "/probe stat /tmp/mount-1/foo.txt /tmp/mount-1/one.txt /tmp/bind-1/foo.txt; \
         /probe write /tmp/mount-1/new.txt x; /probe stat /tmp/mount-1/new.txt",
        &[],
    );
    let overflow = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .unwrap()
        .trim()
        .parse::<u64>()
        .unwrap();
    // Inside: through the mount the container's root owns root's files; the
    // plain bind shows host root as the overflow id.
    assert_eq!(
        owners(&lines[0]),
        vec![(0, 0), (1, 1), (overflow, overflow)]
    );
    // A file the container's root writes through the mount is its own inside ...
    assert_ok(&lines[1]);
    assert_eq!(owners(&lines[2]), vec![(0, 0)]);
    // ... and root's on disk, seen from the host (not 100000, the user the
    // container's root is on the host).
    assert_eq!(host_owner(&src.join("new.txt")), (0, 0));
    assert_eq!(host_owner(&src.join("one.txt")), (1, 1));
}

#[test]
fn idmap_option_takes_the_containers_mappings() {
    let mut b = Bundle::new();
    with_userns(&mut b);
    let src = source(&b, "src-1", &[("foo.txt", 0, 0), ("two.txt", 2, 3)]);
    b.add_mount(bind(&src, "/tmp/mount-1", &["bind", "idmap"]));
    let lines = run_probe_script(
        &mut b,
        "/probe stat /tmp/mount-1/foo.txt /tmp/mount-1/two.txt",
        &[],
    );
    assert_eq!(owners(&lines[0]), vec![(0, 0), (2, 3)]);
}

/// A process in a new user namespace with 0 → 100000 (65536), made by the
/// test; killed on drop.
struct Userns {
    child: std::process::Child,
}

impl Userns {
    fn new() -> Userns {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new("/bin/sleep");
        cmd.arg("600");
        // SAFETY: unshare(2) is async-signal-safe; nothing else runs in the child.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        for f in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{f}"), "0 100000 65536\n").unwrap();
        }
        Userns { child }
    }

    fn path(&self) -> String {
        format!("/proc/{}/ns/user", self.child.id())
    }
}

impl Drop for Userns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn idmap_option_in_a_joined_user_namespace_takes_that_namespace() {
    let ns = Userns::new();
    let mut b = Bundle::new();
    b.config_mut()["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user", "path": ns.path()}));
    let src = source(&b, "src-1", &[("foo.txt", 0, 0), ("two.txt", 2, 3)]);
    b.add_mount(bind(&src, "/tmp/mount-1", &["bind", "idmap"]));
    b.add_mount(bind(&src, "/tmp/bind-1", &["bind"]));
    let lines = run_probe_script(
        &mut b,
        "/probe stat /tmp/mount-1/foo.txt /tmp/mount-1/two.txt /tmp/bind-1/two.txt",
        &[],
    );
    let o = owners(&lines[0]);
    assert_eq!(&o[..2], &[(0, 0), (2, 3)]);
    assert_ne!(o[2], (2, 3), "the plain bind is mapped too: {o:?}");
}

#[test]
fn ridmap_maps_the_submounts_idmap_only_the_top() {
    let mut b = Bundle::new();
    with_userns(&mut b);
    let src = source(&b, "src-r", &[("top.txt", 0, 0)]);
    host_tmpfs(&src.join("sub"));
    std::fs::write(src.join("sub/f.txt"), "x").unwrap();
    b.add_mount(bind(&src, "/tmp/a", &["rbind", "idmap"]));
    b.add_mount(bind(&src, "/tmp/b", &["rbind", "ridmap"]));
    let lines = run_probe_script(
        &mut b,
        "/probe stat /tmp/a/top.txt /tmp/a/sub/f.txt /tmp/b/top.txt /tmp/b/sub/f.txt",
        &[],
    );
    let o = owners(&lines[0]);
    assert_eq!(o[0], (0, 0));
    assert_ne!(o[1], (0, 0), "idmap mapped a submount: {o:?}");
    assert_eq!(o[2], (0, 0));
    assert_eq!(o[3], (0, 0), "ridmap did not map the submount: {o:?}");
}

#[test]
fn refusals_name_the_mount() {
    let rt = Runtime::new();
    let refuse = |b: &mut Bundle, needle: &str| {
        let id = unique_id("idmap-bad");
        let out = rt.run(&id, b);
        out.assert_error_contains(needle);
        let left = leftovers(&rt, &id, b);
        assert!(left.is_empty(), "{left:?}");
    };
    let n = default_config()["mounts"].as_array().unwrap().len();
    let mut b = Bundle::new();
    b.add_mount(
        json!({"destination": "/tmp/t", "type": "tmpfs", "source": "tmpfs",
        "options": ["idmap"]}),
    );
    refuse(
        &mut b,
        &format!("mounts[{n}]: id-mapped mounts are only supported for bind mounts"),
    );
    let mut b = Bundle::new();
    let src = source(&b, "s", &[]);
    b.add_mount(bind(&src, "/tmp/m", &["bind", "idmap"]));
    refuse(&mut b, &format!("mounts[{n}].uidMappings"));
    let mut b = Bundle::new();
    let src = source(&b, "s", &[]);
    let mut m = bind(&src, "/tmp/m", &["bind"]);
    m["uidMappings"] = map(0, 1000, 1);
    b.add_mount(m);
    refuse(
        &mut b,
        "id-mapped mounts need both uidMappings and gidMappings",
    );
}
