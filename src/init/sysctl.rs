//! `linux.sysctl`: only keys that belong to a namespace the container has
//! its own of may be set, so that a config can never change the host (runc's rules).

use oci_spec::runtime::LinuxNamespaceType as Ns;

/// Check one key against the namespaces the container gets; `Err` says why not.
pub fn check(key: &str, namespaces: &[Ns]) -> Result<(), String> {
    if key.contains("..") || key.starts_with('/') || key.starts_with('.') {
        return Err("invalid sysctl name".into());
    }
    let key = key.replace('/', ".");
    let need = |ns: Ns, what: &str| {
        if namespaces.contains(&ns) {
            Ok(())
        } else {
            Err(format!(
                "sysctl {key:?} is not allowed as it conflicts with the OCI {what} namespace settings"
            ))
        }
    };
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
        return need(Ns::Ipc, "ipc");
    }
    if key.starts_with("net.") {
        return need(Ns::Network, "network");
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        return need(Ns::Uts, "uts");
    }
    Err(format!(
        "sysctl {key:?} is not in a separate kernel namespace"
    ))
}

/// Write every sysctl (after /proc is mounted in the container).
pub fn apply(sysctl: &std::collections::HashMap<String, String>) -> crate::error::Result<()> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for k in keys {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, &sysctl[k]).map_err(|e| {
            crate::error::io_err("write", &path, e).context(format!("linux.sysctl.{k}"))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_keys_only() {
        let all = [Ns::Ipc, Ns::Network, Ns::Uts];
        assert!(check("net.ipv4.ip_forward", &all).is_ok());
        assert!(check("net.ipv4.ip_forward", &[Ns::Ipc]).is_err());
        assert!(check("kernel.shmmax", &all).is_ok());
        assert!(check("fs.mqueue.msg_max", &[Ns::Network]).is_err());
        assert!(check("kernel.domainname", &[Ns::Uts]).is_ok());
        assert!(check("vm.swappiness", &all).is_err());
        assert!(check("kernel/../../x", &all).is_err());
    }
}
