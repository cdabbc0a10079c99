//! `linux.resources` for cgroup v1 as plain data: which file of which
//! controller gets which value, in which order. The apply loop in
//! `cgroups::apply` writes them; everything here is pure and unit-tested.

use oci_spec::runtime::LinuxResources;

use super::plan::{Plan, Write, hugepage_size, rdma_lines, w};
use crate::error::{Error, Result};

/// Translate resources into v1 writes (device rules are handled by `devices`).
pub fn plan(r: &LinuxResources) -> Result<Plan> {
    let mut p = Plan::default();
    if let Some(m) = r.memory() {
        if m.kernel().is_some() {
            p.warnings
                .push("linux.resources.memory.kernel is deprecated and ignored".into());
        }
        if m.kernel_tcp().is_some() {
            p.warnings
                .push("linux.resources.memory.kernelTCP is deprecated and ignored".into());
        }
        if let Some(v) = m.limit() {
            p.writes.push(w("memory", "memory.limit_in_bytes", v));
        }
        if let Some(v) = m.swap() {
            if v != -1 && m.limit().is_some_and(|l| l != -1 && v < l) {
                return Err(Error::config(
                    "linux.resources.memory.swap",
                    format!("memory+swap limit ({v}) must be at least the memory limit"),
                ));
            }
            p.writes.push(w("memory", "memory.memsw.limit_in_bytes", v));
        }
        if let Some(v) = m.reservation() {
            p.writes.push(w("memory", "memory.soft_limit_in_bytes", v));
        }
        if let Some(v) = m.swappiness() {
            if v > 100 {
                return Err(Error::config(
                    "linux.resources.memory.swappiness",
                    format!("invalid value {v}, valid memory swappiness range is 0-100"),
                ));
            }
            p.writes.push(w("memory", "memory.swappiness", v));
        }
        if m.disable_oom_killer() == Some(true) {
            p.writes.push(w("memory", "memory.oom_control", 1));
        }
        if m.use_hierarchy() == Some(true) {
            p.writes.push(w("memory", "memory.use_hierarchy", 1));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(v) = c.shares().filter(|v| *v != 0) {
            p.writes.push(w("cpu", "cpu.shares", v));
        }
        if let Some(v) = c.period().filter(|v| *v != 0) {
            p.writes.push(w("cpu", "cpu.cfs_period_us", v));
        }
        if let Some(v) = c.quota().filter(|v| *v != 0) {
            p.writes.push(w("cpu", "cpu.cfs_quota_us", v));
        }
        if let Some(v) = c.burst() {
            p.writes.push(w("cpu", "cpu.cfs_burst_us", v));
        }
        if let Some(v) = c.realtime_period().filter(|v| *v != 0) {
            p.writes.push(w("cpu", "cpu.rt_period_us", v));
        }
        if let Some(v) = c.realtime_runtime().filter(|v| *v != 0) {
            p.writes.push(w("cpu", "cpu.rt_runtime_us", v));
        }
        if let Some(v) = c.idle() {
            p.writes.push(w("cpu", "cpu.idle", v));
        }
        if let Some(v) = c.cpus().as_ref().filter(|v| !v.is_empty()) {
            p.writes.push(w("cpuset", "cpuset.cpus", v));
        }
        if let Some(v) = c.mems().as_ref().filter(|v| !v.is_empty()) {
            p.writes.push(w("cpuset", "cpuset.mems", v));
        }
    }
    if let Some(pids) = r.pids() {
        let l = pids.limit();
        if l != 0 {
            p.writes.push(w(
                "pids",
                "pids.max",
                if l > 0 { l.to_string() } else { "max".into() },
            ));
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(v) = b.weight() {
            p.writes.push(w("blkio", "blkio.weight", v));
        }
        if let Some(v) = b.leaf_weight() {
            p.writes.push(w("blkio", "blkio.leaf_weight", v));
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(v) = d.weight() {
                p.writes.push(w(
                    "blkio",
                    "blkio.weight_device",
                    format!("{}:{} {v}", d.major(), d.minor()),
                ));
            }
            if let Some(v) = d.leaf_weight() {
                p.writes.push(w(
                    "blkio",
                    "blkio.leaf_weight_device",
                    format!("{}:{} {v}", d.major(), d.minor()),
                ));
            }
        }
        for (list, file) in [
            (
                b.throttle_read_bps_device(),
                "blkio.throttle.read_bps_device",
            ),
            (
                b.throttle_write_bps_device(),
                "blkio.throttle.write_bps_device",
            ),
            (
                b.throttle_read_iops_device(),
                "blkio.throttle.read_iops_device",
            ),
            (
                b.throttle_write_iops_device(),
                "blkio.throttle.write_iops_device",
            ),
        ] {
            for d in list.iter().flatten() {
                p.writes.push(w(
                    "blkio",
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let size = hugepage_size(i, h.page_size())?;
        p.writes.push(w(
            "hugetlb",
            &format!("hugetlb.{size}.limit_in_bytes"),
            h.limit(),
        ));
    }
    if let Some(n) = r.network() {
        if let Some(v) = n.class_id() {
            p.writes.push(w("net_cls", "net_cls.classid", v));
        }
        for prio in n.priorities().iter().flatten() {
            p.writes.push(w(
                "net_prio",
                "net_prio.ifpriomap",
                format!("{} {}", prio.name(), prio.priority()),
            ));
        }
    }
    if let Some(rdma) = r.rdma() {
        for line in rdma_lines(rdma) {
            p.writes.push(w("rdma", "rdma.max", line));
        }
    }
    if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(Error::config(
            "linux.resources.unified",
            "unified resources need cgroup v2; this host's controllers are on cgroup v1",
        ));
    }
    Ok(p)
}

/// Order the memory limit and memory+swap writes so that at no moment the
/// limit exceeds memory+swap (the kernel refuses that): when memsw grows it
/// goes first, when it shrinks the limit goes first.
pub fn order_memory(writes: &mut [Write], current_memsw: Option<i64>) {
    let pos = |f: &str, ws: &[Write]| ws.iter().position(|x| x.file == f);
    let (Some(l), Some(s)) = (
        pos("memory.limit_in_bytes", writes),
        pos("memory.memsw.limit_in_bytes", writes),
    ) else {
        return;
    };
    let new_swap: i64 = writes[s].value.parse().unwrap_or(-1);
    let grows = new_swap == -1 || current_memsw.is_none_or(|c| new_swap > c);
    if (grows && s > l) || (!grows && l > s) {
        writes.swap(l, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn find<'a>(p: &'a Plan, file: &str) -> Option<&'a str> {
        p.writes
            .iter()
            .find(|x| x.file == file)
            .map(|x| x.value.as_str())
    }

    #[test]
    fn memory_cpu_pids() {
        let p = plan(&res(serde_json::json!({
            "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200, "swappiness": 10, "disableOOMKiller": true, "kernel": 1},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0", "burst": 1000},
            "pids": {"limit": 32}
        })))
        .unwrap();
        assert_eq!(find(&p, "memory.limit_in_bytes"), Some("104857600"));
        assert_eq!(find(&p, "memory.memsw.limit_in_bytes"), Some("209715200"));
        assert_eq!(find(&p, "memory.soft_limit_in_bytes"), Some("52428800"));
        assert_eq!(find(&p, "memory.swappiness"), Some("10"));
        assert_eq!(find(&p, "memory.oom_control"), Some("1"));
        assert_eq!(find(&p, "cpu.shares"), Some("512"));
        assert_eq!(find(&p, "cpu.cfs_quota_us"), Some("50000"));
        assert_eq!(find(&p, "cpu.cfs_period_us"), Some("100000"));
        assert_eq!(find(&p, "cpu.cfs_burst_us"), Some("1000"));
        assert_eq!(find(&p, "cpuset.cpus"), Some("0"));
        assert_eq!(find(&p, "pids.max"), Some("32"));
        assert_eq!(p.warnings.len(), 1);
        let p = plan(&res(serde_json::json!({"pids": {"limit": -1}}))).unwrap();
        assert_eq!(find(&p, "pids.max"), Some("max"));
    }

    #[test]
    fn errors_name_the_field() {
        let e = plan(&res(serde_json::json!({"memory": {"swappiness": 101}}))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.memory.swappiness")
        );
        let e = plan(&res(
            serde_json::json!({"memory": {"limit": 100, "swap": 50}}),
        ))
        .unwrap_err();
        assert!(e.to_string().starts_with("linux.resources.memory.swap"));
        let e = plan(&res(serde_json::json!({"unified": {"memory.max": "1"}}))).unwrap_err();
        assert!(e.to_string().starts_with("linux.resources.unified"));
    }

    #[test]
    fn blkio_hugetlb_network_rdma() {
        let p = plan(&res(serde_json::json!({
            "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}
        })))
        .unwrap();
        assert_eq!(find(&p, "blkio.weight"), Some("500"));
        assert_eq!(find(&p, "blkio.weight_device"), Some("8:0 300"));
        assert_eq!(
            find(&p, "blkio.throttle.read_bps_device"),
            Some("8:0 1048576")
        );
        assert_eq!(find(&p, "hugetlb.2MB.limit_in_bytes"), Some("4194304"));
        assert_eq!(find(&p, "net_cls.classid"), Some("1048577"));
        assert_eq!(find(&p, "net_prio.ifpriomap"), Some("eth0 5"));
        assert_eq!(
            find(&p, "rdma.max"),
            Some("mlx5_1 hca_handle=3 hca_object=10000")
        );
    }

    #[test]
    fn memory_order() {
        let mut ws = vec![
            w("memory", "memory.limit_in_bytes", 200),
            w("memory", "memory.memsw.limit_in_bytes", 400),
        ];
        order_memory(&mut ws, Some(300));
        assert_eq!(ws[0].file, "memory.memsw.limit_in_bytes");
        let mut ws = vec![
            w("memory", "memory.limit_in_bytes", 100),
            w("memory", "memory.memsw.limit_in_bytes", 200),
        ];
        order_memory(&mut ws, Some(300));
        assert_eq!(ws[0].file, "memory.limit_in_bytes");
    }
}
