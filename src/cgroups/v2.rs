//! `linux.resources` for cgroup v2 as plain data, with runc's conversions
//! from the v1-shaped runtime-spec values (shares to weight, memory+swap to
//! swap, blkio weights to io weights). Pure and unit-tested; the apply loop
//! is in `cgroups::apply`.

use oci_spec::runtime::LinuxResources;

use super::plan::{Plan, hugepage_size, rdma_lines, w};
use crate::error::{Error, Result};

/// cpu.shares (2..262144) to cpu.weight (1..10000), runc's formula.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

/// blkio.weight (10..1000) to io.weight (1..10000), runc's formula.
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + ((u64::from(w).clamp(10, 1000) - 10) * 9999) / 990
}

/// runtime-spec's memory+swap to v2's swap alone (`memory.swap.max`).
pub fn swap_to_v2(swap: i64, limit: Option<i64>) -> Result<String> {
    if swap == -1 {
        return Ok("max".into());
    }
    match limit {
        None | Some(-1) => Err(Error::config(
            "linux.resources.memory.swap",
            "setting a swap limit needs a memory limit on cgroup v2",
        )),
        Some(l) if swap < l => Err(Error::config(
            "linux.resources.memory.swap",
            format!("memory+swap limit ({swap}) must be at least the memory limit ({l})"),
        )),
        Some(l) => Ok((swap - l).to_string()),
    }
}

fn max_or(v: i64) -> String {
    if v < 0 { "max".into() } else { v.to_string() }
}

/// Translate resources into v2 writes (device rules become an eBPF program).
pub fn plan(r: &LinuxResources) -> Result<Plan> {
    let mut p = Plan::default();
    if let Some(m) = r.memory() {
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            p.warnings.push(
                "linux.resources.memory.kernel and kernelTCP are ignored on cgroup v2".into(),
            );
        }
        if m.swappiness().is_some() {
            p.warnings.push(
                "linux.resources.memory.swappiness has no cgroup v2 equivalent and is ignored"
                    .into(),
            );
        }
        if m.disable_oom_killer() == Some(true) {
            p.warnings.push("linux.resources.memory.disableOOMKiller has no cgroup v2 equivalent and is ignored".into());
        }
        if let Some(s) = m.swap() {
            p.writes
                .push(w("memory", "memory.swap.max", swap_to_v2(s, m.limit())?));
        }
        if let Some(l) = m.limit() {
            p.writes.push(w("memory", "memory.max", max_or(l)));
        }
        if let Some(v) = m.reservation() {
            p.writes.push(w("memory", "memory.low", max_or(v)));
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_runtime().is_some_and(|v| v != 0)
            || c.realtime_period().is_some_and(|v| v != 0)
        {
            return Err(Error::config(
                "linux.resources.cpu.realtimeRuntime",
                "realtime scheduling limits are not supported on cgroup v2",
            ));
        }
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            p.writes.push(w("cpu", "cpu.weight", shares_to_weight(s)));
        }
        if c.quota().is_some() || c.period().is_some() {
            let quota = match c.quota() {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".into(),
            };
            let line = match c.period().filter(|p| *p != 0) {
                Some(per) => format!("{quota} {per}"),
                None => quota,
            };
            p.writes.push(w("cpu", "cpu.max", line));
        }
        if let Some(b) = c.burst() {
            p.writes.push(w("cpu", "cpu.max.burst", b));
        }
        if let Some(i) = c.idle() {
            p.writes.push(w("cpu", "cpu.idle", i));
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
            p.writes.push(w("pids", "pids.max", max_or(l)));
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(v) = b.weight() {
            p.writes.push(w(
                "io",
                "io.weight",
                format!("default {}", blkio_to_io_weight(v)),
            ));
        }
        if b.leaf_weight().is_some() {
            p.warnings.push(
                "linux.resources.blockIO.leafWeight has no cgroup v2 equivalent and is ignored"
                    .into(),
            );
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(v) = d.weight() {
                p.writes.push(w(
                    "io",
                    "io.weight",
                    format!("{}:{} {}", d.major(), d.minor(), blkio_to_io_weight(v)),
                ));
            }
        }
        for (list, key) in [
            (b.throttle_read_bps_device(), "rbps"),
            (b.throttle_write_bps_device(), "wbps"),
            (b.throttle_read_iops_device(), "riops"),
            (b.throttle_write_iops_device(), "wiops"),
        ] {
            for d in list.iter().flatten() {
                let rate = if d.rate() == 0 {
                    "max".to_string()
                } else {
                    d.rate().to_string()
                };
                p.writes.push(w(
                    "io",
                    "io.max",
                    format!("{}:{} {key}={rate}", d.major(), d.minor()),
                ));
            }
        }
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let size = hugepage_size(i, h.page_size())?;
        p.writes.push(w(
            "hugetlb",
            &format!("hugetlb.{size}.max"),
            max_or(h.limit()),
        ));
    }
    if r.network().is_some() {
        p.warnings
            .push("linux.resources.network has no cgroup v2 controller and is ignored".into());
    }
    if let Some(rdma) = r.rdma() {
        for line in rdma_lines(rdma) {
            p.writes.push(w("rdma", "rdma.max", line));
        }
    }
    if let Some(u) = r.unified() {
        let mut keys: Vec<_> = u.iter().collect();
        keys.sort();
        for (k, v) in keys {
            if k.contains('/') || k.starts_with('.') || k.is_empty() {
                return Err(Error::config(
                    format!("linux.resources.unified.{k}"),
                    "not a cgroup file name",
                ));
            }
            let controller: &'static str = match k.split_once('.').map(|(c, _)| c) {
                Some("cgroup") => "cgroup",
                Some("memory") => "memory",
                Some("cpu") => "cpu",
                Some("cpuset") => "cpuset",
                Some("io") => "io",
                Some("pids") => "pids",
                Some("hugetlb") => "hugetlb",
                Some("rdma") => "rdma",
                Some("misc") => "misc",
                _ => {
                    return Err(Error::config(
                        format!("linux.resources.unified.{k}"),
                        "unknown cgroup v2 controller",
                    ));
                }
            };
            p.writes.push(w(controller, k, v));
        }
    }
    Ok(p)
}

/// The controllers a plan needs enabled in the parents' `cgroup.subtree_control`.
pub fn controllers(plan: &Plan) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = plan
        .writes
        .iter()
        .map(|w| w.controller)
        .filter(|c| *c != "cgroup")
        .collect();
    v.sort();
    v.dedup();
    v
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
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(swap_to_v2(-1, Some(100)).unwrap(), "max");
        assert_eq!(swap_to_v2(300, Some(100)).unwrap(), "200");
        assert!(swap_to_v2(50, Some(100)).is_err());
    }

    #[test]
    fn plan_v2() {
        let p = plan(&res(serde_json::json!({
            "memory": {"limit": 104857600, "swap": 209715200, "reservation": 1024},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": -1},
            "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "unified": {"memory.high": "90000000"}
        })))
        .unwrap();
        assert_eq!(find(&p, "memory.max"), Some("104857600"));
        assert_eq!(find(&p, "memory.swap.max"), Some("104857600"));
        assert_eq!(find(&p, "memory.low"), Some("1024"));
        assert_eq!(find(&p, "cpu.weight"), Some("39"));
        assert_eq!(find(&p, "cpu.max"), Some("50000 100000"));
        assert_eq!(find(&p, "cpuset.cpus"), Some("0"));
        assert_eq!(find(&p, "pids.max"), Some("max"));
        assert_eq!(find(&p, "io.weight"), Some("default 4950"));
        assert_eq!(find(&p, "io.max"), Some("8:0 rbps=1048576"));
        assert_eq!(find(&p, "hugetlb.2MB.max"), Some("4194304"));
        assert_eq!(find(&p, "memory.high"), Some("90000000"));
        assert_eq!(
            controllers(&p),
            vec!["cpu", "cpuset", "hugetlb", "io", "memory", "pids"]
        );
    }

    #[test]
    fn refusals() {
        assert!(plan(&res(serde_json::json!({"cpu": {"realtimeRuntime": 5}}))).is_err());
        assert!(plan(&res(serde_json::json!({"unified": {"../x": "1"}}))).is_err());
        assert!(plan(&res(serde_json::json!({"unified": {"foo.bar": "1"}}))).is_err());
        let e = plan(&res(
            serde_json::json!({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("hugepageLimits[0].pageSize"), "{e}");
        let p = plan(&res(
            serde_json::json!({"cpu": {"quota": -1, "period": 100000}}),
        ))
        .unwrap();
        assert_eq!(find(&p, "cpu.max"), Some("max 100000"));
    }
}
