//! `linux.sysctl`: only keys that belong to a namespace the container has
//! of its own may be set, so that a config can never change the host (runc's
//! rules and wording). "Of its own" means new, or joined by a path that is
//! not the runtime's own namespace (see `spec::validate`).

use oci_spec::runtime::LinuxNamespaceType as Ns;

/// Keys of the ipc namespace besides `fs.mqueue.*`.
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

/// Check one key against the namespaces the container has of its own; `Err` says why not.
pub fn check(key: &str, own: &[Ns]) -> Result<(), String> {
    if key.is_empty()
        || key.split(['.', '/']).any(|c| c.is_empty() || c == "..")
        || key.contains('\0')
    {
        return Err(format!("invalid sysctl name {key:?}"));
    }
    let dotted = key.replace('/', ".");
    if IPC.contains(&dotted.as_str()) || dotted.starts_with("fs.mqueue.") {
        return if own.contains(&Ns::Ipc) {
            Ok(())
        } else {
            Err(format!(
                "sysctl {key:?} is not allowed in the hosts ipc namespace"
            ))
        };
    }
    if dotted.starts_with("net.") {
        return if own.contains(&Ns::Network) {
            Ok(())
        } else {
            Err(format!(
                "sysctl {key:?} not allowed in host network namespace"
            ))
        };
    }
    if own.contains(&Ns::Uts) {
        match dotted.as_str() {
            "kernel.domainname" => return Ok(()),
            "kernel.hostname" => {
                return Err(format!(
                    "sysctl {key:?} is not allowed as it conflicts with the OCI \"hostname\" field"
                ));
            }
            _ => {}
        }
    }
    Err(format!(
        "sysctl {key:?} is not in a separate kernel namespace"
    ))
}

/// Write every sysctl, through the init's private procfs: nothing mounted
/// over the container's /proc/sys can redirect the write (CVE-2025-52881);
/// the values land in the writer's namespaces, which are the container's.
pub fn apply(
    proc: &crate::init::procfs::ProcFs,
    sysctl: &std::collections::HashMap<String, String>,
) -> crate::error::Result<()> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for k in keys {
        let rel = format!("sys/{}", k.replace('.', "/"));
        proc.write(&rel, &sysctl[k])
            .map_err(|e| e.context(format!("linux.sysctl.{k}")))?;
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
        assert!(check("net/ipv4/ip_forward", &all).is_ok());
        let e = check("net.ipv4.ip_forward", &[Ns::Ipc]).unwrap_err();
        assert_eq!(
            e,
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
        );
        assert!(check("kernel.shmmax", &all).is_ok());
        assert!(check("kernel/shmmax", &[Ns::Network]).is_err());
        let e = check("fs.mqueue.msg_max", &[Ns::Network]).unwrap_err();
        assert!(e.contains("hosts ipc namespace"), "{e}");
        assert!(check("kernel.domainname", &[Ns::Uts]).is_ok());
        assert!(check("kernel.domainname", &[Ns::Ipc]).is_err());
        let e = check("kernel.hostname", &[Ns::Uts]).unwrap_err();
        assert!(
            e.contains("conflicts with the OCI \"hostname\" field"),
            "{e}"
        );
        let e = check("vm.swappiness", &all).unwrap_err();
        assert!(e.contains("not in a separate kernel namespace"), "{e}");
    }

    #[test]
    fn malformed_names() {
        let all = [Ns::Ipc, Ns::Network, Ns::Uts];
        for k in [
            "",
            "kernel/../../x",
            "net..ipv4",
            "/net/ipv4/ip_forward",
            ".net.ipv4",
            "net.ipv4.",
            "net.ipv4/..",
        ] {
            assert!(check(k, &all).is_err(), "{k:?} accepted");
        }
    }
}
