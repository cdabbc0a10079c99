//! `husk features`: only what this husk really supports (runtime-spec features.md).
//! The tests below hold every list to the code that implements it.

use serde_json::{Value, json};

use crate::init::{mountopts, taskattr};

pub fn features() -> Value {
    let mount_options: Vec<&str> = mountopts::KNOWN.to_vec();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": super::SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": crate::capabilities::supported_names(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": crate::seccomp::features::ACTIONS,
                "operators": crate::seccomp::features::OPERATORS,
                "archs": crate::seccomp::features::ARCHS,
                "knownFlags": crate::seccomp::features::KNOWN_FLAGS,
                "supportedFlags": crate::seccomp::features::supported_flags(),
            },
            "apparmor": {"enabled": crate::lsm::apparmor_enabled()},
            "selinux": {"enabled": crate::lsm::selinux_enabled()},
            "intelRdt": {"enabled": true, "schemata": true, "monitoring": true},
            "memoryPolicy": {
                "modes": taskattr::MPOL_MODES.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                "flags": taskattr::MPOL_FLAGS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            },
            "mountExtensions": {"idmap": {"enabled": true}},
            "netDevices": {"enabled": true}
        },
        "annotations": {
            "io.github.husk.version": env!("CARGO_PKG_VERSION"),
            "io.github.husk.commit": option_env!("HUSK_COMMIT").unwrap_or("unknown")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    fn config(linux: Value) -> Value {
        let mut v = json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}]}
        });
        for (k, x) in linux.as_object().unwrap() {
            v["linux"][k] = x.clone();
        }
        v
    }

    fn validate(v: &Value) -> crate::error::Result<()> {
        let spec = crate::spec::parse(v.to_string().as_bytes())?;
        crate::spec::validate(&spec)
    }

    #[test]
    fn the_document_is_what_oci_spec_reads() {
        let f: oci_spec::runtime::Features = serde_json::from_value(features()).unwrap();
        assert!(f.linux().is_some());
    }

    #[test]
    fn every_mount_option_listed_is_a_known_option() {
        for o in list(&features()["mountOptions"]) {
            let parsed = mountopts::parse(std::slice::from_ref(&o));
            assert!(
                parsed.data.is_empty(),
                "{o} would go to the filesystem as data"
            );
        }
    }

    #[test]
    fn every_namespace_listed_is_accepted() {
        for ns in list(&features()["linux"]["namespaces"]) {
            let mut nss = vec![json!({"type": "mount"})];
            if ns != "mount" {
                nss.push(json!({"type": ns}));
            }
            let mut l = json!({"namespaces": nss});
            if ns == "user" {
                l["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
                l["gidMappings"] = l["uidMappings"].clone();
            }
            validate(&config(l)).unwrap_or_else(|e| panic!("{ns}: {e}"));
        }
    }

    #[test]
    fn every_hook_listed_is_read_from_the_config() {
        for h in list(&features()["hooks"]) {
            let mut v = config(json!({}));
            v["hooks"] = json!({ h.clone(): [{"path": "/bin/true"}] });
            let spec = crate::spec::parse(v.to_string().as_bytes()).unwrap();
            let back = serde_json::to_value(spec.hooks()).unwrap();
            assert!(back[&h].is_array(), "{h} is not a hook oci-spec reads");
        }
    }

    #[test]
    fn every_capability_listed_is_known() {
        for c in list(&features()["linux"]["capabilities"]) {
            assert!(crate::capabilities::known(&c), "{c}");
        }
    }

    #[test]
    fn every_seccomp_action_operator_and_arch_listed_compiles() {
        let f = features();
        let s = &f["linux"]["seccomp"];
        let compile = |profile: Value| {
            let p: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(profile.clone())
                .unwrap_or_else(|e| panic!("{profile}: {e}"));
            crate::seccomp::compile(&p).unwrap_or_else(|e| panic!("{profile}: {e}"));
        };
        for a in list(&s["actions"]) {
            compile(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
                "syscalls": [{"names": ["getcwd"], "action": a}]}),
            );
        }
        for op in list(&s["operators"]) {
            compile(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getcwd"],
                "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 1, "value": 4, "valueTwo": 4, "op": op}]}]}),
            );
        }
        for arch in list(&s["archs"]) {
            compile(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch],
                "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]}),
            );
        }
        for flag in list(&s["knownFlags"]) {
            compile(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [flag],
                "listenerPath": "/run/agent.sock",
                "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]}));
        }
        for flag in list(&s["supportedFlags"]) {
            assert!(list(&s["knownFlags"]).contains(&flag), "{flag}");
        }
    }

    #[test]
    fn every_memory_policy_mode_and_flag_listed_is_applied() {
        let f = features();
        let mp = &f["linux"]["memoryPolicy"];
        for mode in list(&mp["modes"]) {
            let takes_nodes = !matches!(mode.as_str(), "MPOL_DEFAULT" | "MPOL_LOCAL");
            let mut p = json!({"mode": mode});
            if takes_nodes {
                p["nodes"] = json!("0");
            }
            validate(&config(json!({"memoryPolicy": p}))).unwrap_or_else(|e| panic!("{mode}: {e}"));
        }
        for flag in list(&mp["flags"]) {
            let p = json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [flag]});
            validate(&config(json!({"memoryPolicy": p}))).unwrap_or_else(|e| panic!("{flag}: {e}"));
        }
    }

    #[test]
    fn the_extensions_said_enabled_are_accepted() {
        let f = features();
        assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        let mut v = config(json!({}));
        v["mounts"] = json!([{"destination": "/m", "source": "/tmp", "options": ["rbind", "ridmap"],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]);
        validate(&v).unwrap();
        assert_eq!(f["linux"]["netDevices"]["enabled"], true);
        let l = json!({"namespaces": [{"type": "mount"}, {"type": "network"}],
            "netDevices": {"eth1": {"name": "ctr0"}}});
        validate(&config(l)).unwrap();
        // Intel RDT is built in (whether this host has resctrl is another matter).
        assert_eq!(f["linux"]["intelRdt"]["enabled"], true);
        let rdt: oci_spec::runtime::LinuxIntelRdt = serde_json::from_value(
            json!({"closID": "c", "schemata": ["L3:0=f"], "enableMonitoring": true}),
        )
        .unwrap();
        let p = crate::rdt::plan(&rdt, "id", std::path::Path::new("/r")).unwrap();
        assert!(!p.schemata.is_empty() && p.monitor.is_some());
    }
}
