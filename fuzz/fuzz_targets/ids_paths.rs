//! Id and path validation on arbitrary strings. The input is split at its
//! first newline into a container id and a `linux.cgroupsPath`; both go
//! through `husk::state::validate_id`, `husk::cgroups::check_path` and
//! `husk::cgroups::container_path`. Also the other small string checks of
//! a config: sysctl names, CPU lists and the split of a path into parent
//! and name.
//!
//! Checked besides "never panics": an id that validates names exactly one
//! directory entry under the state root, and a cgroup path built from an
//! accepted cgroupsPath (or a valid id) is absolute, clean and has no `..`.
#![no_main]

use std::path::{Component, Path};

use husk::cgroups::{check_path, container_path};
use husk::state::{Root, validate_id};
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxNamespaceType as Ns;

fn check_cgroup(path: &str, from: &str) {
    assert!(path.starts_with('/'), "{from:?} -> {path:?}: not absolute");
    assert!(
        path == "/" || !path.ends_with('/'),
        "{from:?} -> {path:?}: trailing slash"
    );
    for c in path.split('/').skip(1) {
        assert!(
            path == "/" || (!c.is_empty() && c != "." && c != ".."),
            "{from:?} -> {path:?}: component {c:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (id, cg) = text.split_once('\n').unwrap_or((&text, ""));

    for s in [id, cg] {
        if validate_id(s).is_ok() {
            let root = Root::new(Path::new("/run/husk"));
            let dir = root.dir(s);
            assert_eq!(
                dir.parent(),
                Some(Path::new("/run/husk")),
                "id {s:?} -> {dir:?}"
            );
            assert!(
                matches!(dir.components().next_back(), Some(Component::Normal(_))),
                "id {s:?} -> {dir:?}"
            );
            check_cgroup(&container_path(None, s), s);
            check_cgroup(&container_path(Some(""), s), s);
        } else {
            let _ = container_path(None, s);
        }
        let p = container_path(Some(s), id);
        if check_path(s).is_ok() && (!s.is_empty() || validate_id(id).is_ok()) {
            check_cgroup(&p, s);
        }

        let _ = husk::init::sysctl::check(s, &[Ns::Ipc, Ns::Uts, Ns::Network]);
        let _ = husk::init::sysctl::check(s, &[]);
        let _ = husk::init::exec::parse_cpus(s);
        if let Ok((parent, name)) = husk::init::fs::split(Path::new(s)) {
            assert!(!name.is_empty(), "{s:?}: empty name");
            let _ = parent;
        }
    }
});
