//! Load `config.json`, name the JSON path of any parse error, refuse what
//! husk does not implement yet (never ignore a field silently), and check
//! what must hold before any process is started.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use serde_json::Value;

use crate::error::{Error, Result, io_err};

/// A loaded, validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// Absolute rootfs path (not a symlink).
    pub rootfs: PathBuf,
    pub spec: Spec,
}

/// Read `config.json` from the bundle and validate it.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = std::path::absolute(bundle).map_err(|e| io_err("abs", bundle, e))?;
    let path = dir.join("config.json");
    let data = fs::read(&path).map_err(|e| io_err("open", &path, e))?;
    let spec = parse(&data).map_err(|e| e.context(path.display()))?;
    let rootfs = rootfs_path(&dir, &spec)?;
    validate(&spec)?;
    Ok(Bundle { dir, rootfs, spec })
}

/// Parse the JSON text of a config: errors name the JSON path of the bad value.
pub fn parse(data: &[u8]) -> Result<Spec> {
    let mut value: Value =
        serde_json::from_slice(data).map_err(|e| Error::Msg(format!("invalid JSON: {e}")))?;
    drop_unknown_capabilities(&mut value);
    normalize_extras(&mut value, "/process");
    // The strict parse runs on the text (the same deserialiser the state
    // files and the init's bootstrap use, so create and run page in one copy
    // of it); only a config that fails it is parsed again, slowly, for the
    // JSON path of the bad value.
    let text = serde_json::to_vec(&value).map_err(|e| Error::Msg(format!("invalid JSON: {e}")))?;
    if let Ok(spec) = serde_json::from_slice::<Spec>(&text) {
        return Ok(spec);
    }
    serde_path_to_error::deserialize::<_, Spec>(value).map_err(|e| {
        let p = e.path().to_string();
        Error::config(p, e.into_inner().to_string())
    })
}

/// Parse the JSON text of a process (`exec --process`): unknown capability
/// names are dropped with a warning as in a config, errors name the
/// `process.` path of the bad value.
pub fn parse_process(data: &[u8]) -> Result<oci_spec::runtime::Process> {
    let mut value: Value =
        serde_json::from_slice(data).map_err(|e| Error::Msg(format!("invalid JSON: {e}")))?;
    drop_unknown_capabilities_at(&mut value, "/capabilities");
    normalize_extras(&mut value, "");
    serde_path_to_error::deserialize::<_, oci_spec::runtime::Process>(value).map_err(|e| {
        let p = e.path().to_string();
        Error::config(format!("process.{p}"), e.into_inner().to_string())
    })
}

/// runc warns about and ignores capability names it does not know, so a
/// config written for a newer kernel still runs: do the same before the strict parse.
fn drop_unknown_capabilities(v: &mut Value) {
    drop_unknown_capabilities_at(v, "/process/capabilities");
}

fn drop_unknown_capabilities_at(v: &mut Value, pointer: &str) {
    let Some(caps) = v.pointer_mut(pointer).and_then(Value::as_object_mut) else {
        return;
    };
    for (set, list) in caps.iter_mut() {
        if let Some(arr) = list.as_array_mut() {
            arr.retain(|c| {
                let known = c
                    .as_str()
                    .is_some_and(|s| s.starts_with("CAP_") && crate::capabilities::known(s));
                if !known {
                    log::warn!("ignoring unknown or unavailable capability {c} in process.capabilities.{set}");
                }
                known
            });
        }
    }
}

/// Before the strict parse: oci-spec (0.10) spells two scheduler flags
/// differently from the runtime spec (`SCHED_FLAG_RESET_ON_FORK`,
/// `SCHED_FLAG_DL_OVERRUN`), so the spec's names are rewritten to its; and
/// an empty `linux.memoryPolicy` object means none, as runc reads it.
fn normalize_extras(v: &mut Value, process: &str) {
    if let Some(flags) = v
        .pointer_mut(&format!("{process}/scheduler/flags"))
        .and_then(Value::as_array_mut)
    {
        for f in flags {
            let alias = f.as_str().and_then(|s| {
                crate::init::taskattr::SCHED_FLAG_ALIASES
                    .iter()
                    .find(|(spec, _)| *spec == s)
            });
            if let Some((_, theirs)) = alias {
                *f = Value::String((*theirs).to_string());
            }
        }
    }
    if let Some(linux) = v.pointer_mut("/linux").and_then(Value::as_object_mut)
        && linux
            .get("memoryPolicy")
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty())
    {
        linux.remove("memoryPolicy");
    }
}

/// `process.rlimits` (of the config or of an exec'd process): each soft
/// limit at most its hard limit, and each type once. runtime-spec: "If
/// `rlimits` contains duplicated entries with same `type`, the runtime MUST
/// generate an error" (otherwise the last entry would silently win).
pub fn check_rlimits(p: &oci_spec::runtime::Process) -> Result<()> {
    let limits = p.rlimits().as_deref().unwrap_or_default();
    for (i, l) in limits.iter().enumerate() {
        if l.soft() > l.hard() {
            return Err(Error::config(
                format!("process.rlimits[{i}]"),
                format!(
                    "{}: soft limit {} is above the hard limit {}",
                    l.typ(),
                    l.soft(),
                    l.hard()
                ),
            ));
        }
        if let Some(first) = limits[..i].iter().position(|o| o.typ() == l.typ()) {
            return Err(Error::config(
                format!("process.rlimits[{i}].type"),
                format!(
                    "duplicate {} (already set by process.rlimits[{first}])",
                    l.typ()
                ),
            ));
        }
    }
    Ok(())
}

/// execCPUAffinity applies to `exec` only; its CPU lists must parse.
pub fn check_exec_cpu_affinity(p: &oci_spec::runtime::Process) -> Result<()> {
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok(());
    };
    for (k, v) in [("initial", a.initial()), ("final", a.cpu_affinity_final())] {
        if let Some(list) = v.as_deref().filter(|l| !l.is_empty())
            && crate::init::exec::parse_cpus(list).is_none()
        {
            return Err(Error::config(
                format!("process.execCPUAffinity.{k}"),
                format!("invalid CPU list {list:?}"),
            ));
        }
    }
    Ok(())
}

fn rootfs_path(bundle: &Path, spec: &Spec) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config("root", "missing: a bundle needs a root filesystem"))?;
    let p = root.path();
    if p.as_os_str().is_empty() {
        return Err(Error::config("root.path", "must not be empty"));
    }
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        bundle.join(p)
    };
    let md =
        fs::symlink_metadata(&abs).map_err(|e| io_err("stat", &abs, e).context("root.path"))?;
    if md.file_type().is_symlink() {
        return Err(Error::config(
            "root.path",
            format!("{} is a symlink, which husk refuses", abs.display()),
        ));
    }
    if !md.is_dir() {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", abs.display()),
        ));
    }
    Ok(abs)
}

/// Check the parts of the config that `create` needs, refusing what is not implemented.
/// `ociVersion` must be SemVer with a major version husk implements (1).
fn check_oci_version(v: &str) -> Result<()> {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return Err(Error::config(
            "ociVersion",
            format!("{v:?} is not a SemVer version"),
        ));
    }
    if parts[0] != "1" {
        return Err(Error::config(
            "ociVersion",
            format!(
                "{v:?} is not supported: husk implements runtime-spec 1.x (up to {})",
                crate::cli::SPEC_VERSION
            ),
        ));
    }
    Ok(())
}

pub fn validate(spec: &Spec) -> Result<()> {
    check_oci_version(spec.version())?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing: nothing to run"))?;
    match process.args() {
        Some(a) if !a.is_empty() && !a[0].is_empty() => {}
        _ => return Err(Error::config("process.args", "must name a program to run")),
    }
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    if process.command_line().is_some() {
        return Err(Error::config("process.commandLine", "is for Windows only"));
    }
    if process.user().username().is_some() {
        return Err(Error::config(
            "process.user.username",
            "is for Windows only",
        ));
    }
    crate::lsm::Labels::of(process).check()?;
    check_rlimits(process)?;
    if let Some(adj) = process.oom_score_adj()
        && !(-1000..=1000).contains(&adj)
    {
        return Err(Error::config(
            "process.oomScoreAdj",
            format!("{adj} is outside -1000..1000"),
        ));
    }
    let caps = crate::capabilities::CapSets::new(process.capabilities().as_ref());
    for cap in caps.unraisable_ambient() {
        log::warn!(
            "process.capabilities.ambient: {cap} is not both permitted and inheritable, so it cannot be raised"
        );
    }
    crate::init::taskattr::check_process(process, "process")?;
    check_exec_cpu_affinity(process)?;
    for (kind, list) in spec.hooks().iter().flat_map(|h| {
        [
            ("prestart", h.prestart()),
            ("createRuntime", h.create_runtime()),
            ("createContainer", h.create_container()),
            ("startContainer", h.start_container()),
            ("poststart", h.poststart()),
            ("poststop", h.poststop()),
        ]
    }) {
        for (i, hook) in list.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                return Err(Error::config(
                    format!("hooks.{kind}[{i}].path"),
                    format!("{:?} is not an absolute path", hook.path()),
                ));
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                return Err(Error::config(
                    format!("hooks.{kind}[{i}].timeout"),
                    "must be positive",
                ));
            }
        }
    }
    // runtime-spec 1.2: a relative destination is relative to "/" (as runc).
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(Error::config(
                format!("mounts[{i}].destination"),
                "must not be empty",
            ));
        }
        crate::init::idmap::plan_mount(spec, Path::new("."), i, m)?;
    }
    if spec.solaris().is_some()
        || spec.windows().is_some()
        || spec.vm().is_some()
        || spec.zos().is_some()
    {
        return Err(Error::config(
            "platform",
            "only linux containers are supported",
        ));
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::config("linux", "missing"))?;
    validate_linux(spec, linux)
}

fn validate_linux(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let mut seen = Vec::new();
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        let t = ns.typ();
        if seen.contains(&t) {
            return Err(Error::config(
                format!("linux.namespaces[{i}]"),
                format!("duplicate namespace type {t}"),
            ));
        }
        seen.push(t);
        if let Some(p) = ns.path()
            && !p.is_absolute()
        {
            return Err(Error::config(
                format!("linux.namespaces[{i}].path"),
                format!("{p:?} is not an absolute path"),
            ));
        }
    }
    // Namespaces the container has of its own: new ones, and joined ones
    // that are not husk's own (the host's, as far as the config can tell).
    let own: Vec<LinuxNamespaceType> = linux
        .namespaces()
        .iter()
        .flatten()
        .filter(|n| {
            n.path()
                .as_ref()
                .is_none_or(|p| !is_runtime_namespace(p, n.typ()))
        })
        .map(|n| n.typ())
        .collect();
    let has = |t: LinuxNamespaceType| seen.contains(&t);
    if !has(LinuxNamespaceType::Mount) {
        return Err(Error::config(
            "linux.namespaces",
            "a mount namespace is required to set up the rootfs",
        ));
    }
    // A uts namespace joined by path that is husk's own would rename the host.
    let own_uts = own.contains(&LinuxNamespaceType::Uts);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !own_uts {
        return Err(Error::config(
            "hostname",
            "unable to set hostname without a private UTS namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !own_uts {
        return Err(Error::config(
            "domainname",
            "unable to set domainname without a private UTS namespace",
        ));
    }
    validate_user_ns(spec, linux)?;
    if let Some(sysctl) = linux.sysctl() {
        let mut keys: Vec<&String> = sysctl.keys().collect();
        keys.sort();
        for key in keys {
            crate::init::sysctl::check(key, &own)
                .map_err(|m| Error::config(format!("linux.sysctl.{key}"), m))?;
        }
    }
    if let Some(s) = linux.seccomp() {
        crate::seccomp::compile(s)?;
    }
    if let Some(r) = linux.intel_rdt() {
        crate::rdt::check(r)?;
    }
    crate::init::taskattr::check_linux(linux)?;
    crate::lsm::check_mount_label(linux.mount_label().as_deref())?;
    if linux.time_offsets().as_ref().is_some_and(|o| !o.is_empty()) {
        let new_time = linux
            .namespaces()
            .iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::Time && n.path().is_none());
        if !new_time {
            return Err(Error::config(
                "linux.timeOffsets",
                "time offsets need a new time namespace in linux.namespaces",
            ));
        }
        for k in linux.time_offsets().iter().flatten().map(|(k, _)| k) {
            if k != "monotonic" && k != "boottime" {
                return Err(Error::config(
                    format!("linux.timeOffsets.{k}"),
                    "only monotonic and boottime clocks have offsets",
                ));
            }
        }
    }
    crate::netdev::check(linux, &own)?;
    if let Some(p) = linux.cgroups_path() {
        crate::cgroups::check_path(&p.to_string_lossy())?;
    }
    // runtime-spec: a device "MAY be anywhere in the container filesystem".
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().is_absolute() {
            return Err(Error::config(
                format!("linux.devices[{i}].path"),
                format!("{:?} must be an absolute path", d.path()),
            ));
        }
    }
    Ok(())
}

/// Whether `path` is the namespace of type `t` that husk itself runs in:
/// joining it gives the container nothing of its own (compared by device
/// and inode, as runc does for the network namespace). A path that cannot
/// be read now is not; the init's join reports it.
fn is_runtime_namespace(path: &Path, t: LinuxNamespaceType) -> bool {
    use std::os::unix::fs::MetadataExt;
    let file = match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    };
    match (
        fs::metadata(path),
        fs::metadata(Path::new("/proc/self/ns").join(file)),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Id mappings go with a new user namespace, both of them, and only then;
/// root and the process's user and groups must be mapped in it.
fn validate_user_ns(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let user = linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User);
    let has = |m: &Option<Vec<LinuxIdMapping>>| m.as_ref().is_some_and(|v| !v.is_empty());
    let (uids, gids) = (has(linux.uid_mappings()), has(linux.gid_mappings()));
    let msg = match user {
        None if uids || gids => "id mappings need a user namespace in linux.namespaces",
        Some(u) if u.path().is_none() && !(uids && gids) => {
            "a new user namespace needs both uidMappings and gidMappings"
        }
        Some(u) if u.path().is_some() && (uids || gids) => {
            "id mappings cannot be given when joining an existing user namespace"
        }
        Some(u) if u.path().is_none() => return check_mapped(spec, linux),
        _ => return Ok(()),
    };
    Err(Error::config("linux.uidMappings", msg))
}

fn mapped(maps: &[LinuxIdMapping], id: u32) -> bool {
    maps.iter().any(|m| {
        id >= m.container_id() && u64::from(id) < u64::from(m.container_id()) + u64::from(m.size())
    })
}

/// In a new user namespace the init becomes root, then the process's user:
/// each id must be in the maps, or the kernel refuses with a bare EINVAL.
fn check_mapped(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let uid_maps = linux.uid_mappings().as_deref().unwrap_or_default();
    let gid_maps = linux.gid_mappings().as_deref().unwrap_or_default();
    if !mapped(uid_maps, 0) {
        return Err(Error::config(
            "linux.uidMappings",
            "container uid 0 is not mapped (the init becomes root in the new user namespace)",
        ));
    }
    if !mapped(gid_maps, 0) {
        return Err(Error::config(
            "linux.gidMappings",
            "container gid 0 is not mapped (the init becomes root in the new user namespace)",
        ));
    }
    let Some(user) = spec.process().as_ref().map(|p| p.user()) else {
        return Ok(());
    };
    if !mapped(uid_maps, user.uid()) {
        return Err(Error::config(
            "process.user.uid",
            format!("{} is not mapped in linux.uidMappings", user.uid()),
        ));
    }
    if !mapped(gid_maps, user.gid()) {
        return Err(Error::config(
            "process.user.gid",
            format!("{} is not mapped in linux.gidMappings", user.gid()),
        ));
    }
    for g in user.additional_gids().iter().flatten() {
        if !mapped(gid_maps, *g) {
            return Err(Error::config(
                "process.user.additionalGids",
                format!("{g} is not mapped in linux.gidMappings"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        serde_json::json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}
        })
    }

    fn check(v: Value) -> Result<()> {
        let spec = parse(v.to_string().as_bytes())?;
        validate(&spec)
    }

    #[test]
    fn minimal_is_valid() {
        check(minimal()).unwrap();
    }

    #[test]
    fn parse_errors_name_the_path() {
        let mut v = minimal();
        v["process"]["user"]["uid"] = Value::String("root".into());
        let e = check(v).unwrap_err().to_string();
        assert!(e.starts_with("process.user.uid: "), "{e}");
        let mut v = minimal();
        v["linux"]["namespaces"][1]["type"] = Value::String("foo".into());
        let e = check(v).unwrap_err().to_string();
        assert!(e.contains("linux.namespaces[1].type"), "{e}");
        let e = parse(b"{not json").unwrap_err().to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }

    #[test]
    fn required_fields() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("process");
        assert!(check(v).unwrap_err().to_string().starts_with("process: "));
        let mut v = minimal();
        v["process"]["args"] = serde_json::json!([]);
        assert!(
            check(v)
                .unwrap_err()
                .to_string()
                .starts_with("process.args: ")
        );
        let mut v = minimal();
        v["process"]["cwd"] = Value::String("rel".into());
        assert!(
            check(v)
                .unwrap_err()
                .to_string()
                .starts_with("process.cwd: ")
        );
        let mut v = minimal();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "pid"}]);
        assert!(
            check(v)
                .unwrap_err()
                .to_string()
                .contains("mount namespace")
        );
    }

    #[test]
    fn refuses_unimplemented_fields() {
        let mut v = minimal();
        v["linux"]["seccomp"] = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_NOPE"]});
        assert!(
            check(v)
                .unwrap_err()
                .to_string()
                .starts_with("linux.seccomp")
        );
        let mut v = minimal();
        v["linux"]["resources"] =
            serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]});
        check(v).unwrap();
    }

    #[test]
    fn user_namespace_rules() {
        let mut v = minimal();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "user"}]);
        assert!(
            check(v.clone())
                .unwrap_err()
                .to_string()
                .contains("both uidMappings")
        );
        v["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
        v["linux"]["gidMappings"] = v["linux"]["uidMappings"].clone();
        check(v.clone()).unwrap();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
        assert!(
            check(v)
                .unwrap_err()
                .to_string()
                .contains("need a user namespace")
        );
        let mut v = minimal();
        v["linux"]["timeOffsets"] = serde_json::json!({"monotonic": {"secs": 1}});
        assert!(
            check(v.clone())
                .unwrap_err()
                .to_string()
                .starts_with("linux.timeOffsets")
        );
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "time"}]);
        check(v).unwrap();
    }

    #[test]
    fn hostname_needs_uts() {
        let mut v = minimal();
        v["hostname"] = Value::String("h".into());
        assert!(check(v.clone()).unwrap_err().to_string().contains("UTS"));
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "uts"}]);
        check(v).unwrap();
    }

    #[test]
    fn the_runtimes_own_namespaces_are_not_the_containers() {
        // Joining the namespace husk runs in gives the container nothing of its own.
        let mut v = minimal();
        v["linux"]["namespaces"] = serde_json::json!([
            {"type": "mount"},
            {"type": "network", "path": "/proc/self/ns/net"},
            {"type": "uts", "path": "/proc/self/ns/uts"},
        ]);
        check(v.clone()).unwrap();
        v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
        let e = check(v.clone()).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.sysctl.net.ipv4.ip_forward: ")
                && e.contains("not allowed in host network namespace"),
            "{e}"
        );
        v["linux"]["sysctl"] = Value::Null;
        v["hostname"] = Value::String("h".into());
        let e = check(v).unwrap_err().to_string();
        assert!(e.starts_with("hostname: "), "{e}");
    }

    #[test]
    fn user_namespace_ids_must_be_mapped() {
        let mut v = minimal();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "user"}]);
        v["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
        v["linux"]["gidMappings"] = v["linux"]["uidMappings"].clone();
        check(v.clone()).unwrap();
        let err = |v: &Value| check(v.clone()).unwrap_err().to_string();
        let mut w = v.clone();
        w["process"]["user"]["uid"] = serde_json::json!(10);
        assert!(
            err(&w).starts_with("process.user.uid: 10 is not mapped"),
            "{}",
            err(&w)
        );
        let mut w = v.clone();
        w["process"]["user"]["gid"] = serde_json::json!(10);
        assert!(err(&w).starts_with("process.user.gid: "), "{}", err(&w));
        let mut w = v.clone();
        w["process"]["user"]["additionalGids"] = serde_json::json!([9, 4000]);
        assert!(
            err(&w).starts_with("process.user.additionalGids: 4000 "),
            "{}",
            err(&w)
        );
        let mut w = v.clone();
        w["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 1, "hostID": 1000, "size": 10}]);
        w["process"]["user"]["uid"] = serde_json::json!(1);
        assert!(
            err(&w).starts_with("linux.uidMappings: container uid 0"),
            "{}",
            err(&w)
        );
    }

    #[test]
    fn process_json_drops_unknown_capabilities_and_names_paths() {
        let p = parse_process(
            br#"{"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                 "capabilities": {"bounding": ["CAP_KILL", "CAP_NOPE"]}}"#,
        )
        .unwrap();
        let b = p
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap();
        assert_eq!(b.len(), 1);
        let e = parse_process(br#"{"args": ["sh"], "cwd": "/", "user": {"uid": "x"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("process.user.uid: "), "{e}");
    }

    #[test]
    fn rlimits_and_oom_score_adj_ranges() {
        let mut v = minimal();
        v["process"]["rlimits"] = serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024},
                               {"type": "RLIMIT_CORE", "soft": 10, "hard": 5}]);
        let e = check(v).unwrap_err().to_string();
        assert!(
            e.starts_with("process.rlimits[1]: RLIMIT_CORE: soft limit 10"),
            "{e}"
        );
        let mut v = minimal();
        v["process"]["rlimits"] = serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024},
                               {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                               {"type": "RLIMIT_NPROC", "soft": 10, "hard": 10},
                               {"type": "RLIMIT_NOFILE", "soft": 64, "hard": 64}]);
        let e = check(v.clone()).unwrap_err().to_string();
        assert_eq!(
            e,
            "process.rlimits[3].type: duplicate RLIMIT_NOFILE (already set by process.rlimits[0])"
        );
        v["process"]["rlimits"][3]["type"] = Value::String("RLIMIT_STACK".into());
        check(v).unwrap();
        // The same check for an exec'd process (`exec --process`).
        let p = parse_process(
            br#"{"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                 "rlimits": [{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                             {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}]}"#,
        )
        .unwrap();
        let e = check_rlimits(&p).unwrap_err().to_string();
        assert!(
            e.starts_with("process.rlimits[1].type: duplicate RLIMIT_CORE"),
            "{e}"
        );
        let mut v = minimal();
        v["process"]["oomScoreAdj"] = serde_json::json!(1001);
        let e = check(v.clone()).unwrap_err().to_string();
        assert!(e.starts_with("process.oomScoreAdj: "), "{e}");
        v["process"]["oomScoreAdj"] = serde_json::json!(-1000);
        check(v).unwrap();
    }

    #[test]
    fn unknown_capabilities_are_dropped() {
        let mut v = minimal();
        v["process"]["capabilities"] = serde_json::json!({"bounding": ["CAP_KILL", "CAP_NOPE"]});
        let spec = parse(v.to_string().as_bytes()).unwrap();
        let b = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap();
        assert_eq!(b.len(), 1);
    }
}
