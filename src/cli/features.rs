//! `husk features`: only what this husk really supports (runtime-spec features.md).

use serde_json::{Value, json};

use crate::init::mountopts;

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
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            "io.github.husk.version": env!("CARGO_PKG_VERSION"),
            "io.github.husk.commit": option_env!("HUSK_COMMIT").unwrap_or("unknown")
        }
    })
}
