//! Statistics of a container's cgroup in the JSON shape of runc's `events`
//! (`{"type":"stats","id":...,"data":{...}}`), read from the v1 files (and
//! the cgroup2 tree of a hybrid host for hugetlb).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Hierarchy, dir_in, hierarchies};

fn read(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok()
}

fn num(p: &Path) -> u64 {
    read(p)
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// "key value" lines as a map.
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn dir(hier: &[Hierarchy], path: &str, controller: &str) -> Option<PathBuf> {
    hier.iter()
        .find(|h| !h.v2 && h.controllers.iter().any(|c| c == controller))
        .map(|h| dir_in(h, path))
}

/// The `data` object of a stats event for the cgroup at `path`.
pub fn stats(path: &str) -> Value {
    let hier = hierarchies().unwrap_or_default();
    if super::is_pure_v2(&hier) {
        return stats_v2(&dir_in(&hier[0], path));
    }
    let mut data = json!({});
    if let Some(d) = dir(&hier, path, "cpuacct") {
        let percpu: Vec<u64> = read(&d.join("cpuacct.usage_percpu"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // cpuacct.stat is in clock ticks; runc reports nanoseconds.
        let tick = 1_000_000_000 / clock_ticks();
        let st = flat_keyed(&read(&d.join("cpuacct.stat")).unwrap_or_default());
        data["cpu"] = json!({
            "usage": {
                "total": num(&d.join("cpuacct.usage")),
                "percpu": percpu,
                "kernel": st.get("system").copied().unwrap_or(0) * tick,
                "user": st.get("user").copied().unwrap_or(0) * tick,
            },
            "throttling": {},
        });
    }
    if let Some(d) = dir(&hier, path, "cpu") {
        let st = flat_keyed(&read(&d.join("cpu.stat")).unwrap_or_default());
        let t = json!({
            "periods": st.get("nr_periods").copied().unwrap_or(0),
            "throttled_periods": st.get("nr_throttled").copied().unwrap_or(0),
            "throttled_time": st.get("throttled_time").copied().unwrap_or(0),
        });
        if data.get("cpu").is_none() {
            data["cpu"] = json!({"usage": {}});
        }
        data["cpu"]["throttling"] = t;
    }
    if let Some(d) = dir(&hier, path, "memory") {
        let usage = |prefix: &str| {
            json!({
                "limit": num(&d.join(format!("{prefix}limit_in_bytes"))),
                "usage": num(&d.join(format!("{prefix}usage_in_bytes"))),
                "max": num(&d.join(format!("{prefix}max_usage_in_bytes"))),
                "failcnt": num(&d.join(format!("{prefix}failcnt"))),
            })
        };
        let raw = flat_keyed(&read(&d.join("memory.stat")).unwrap_or_default());
        data["memory"] = json!({
            "cache": raw.get("total_cache").or(raw.get("cache")).copied().unwrap_or(0),
            "usage": usage("memory."),
            "swap_usage": usage("memory.memsw."),
            "kernel_usage": usage("memory.kmem."),
            "kernel_tcp_usage": usage("memory.kmem.tcp."),
            "use_hierarchy": num(&d.join("memory.use_hierarchy")) == 1,
            "raw": raw,
        });
    }
    if let Some(d) = dir(&hier, path, "pids") {
        let limit = read(&d.join("pids.max"))
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        data["pids"] = json!({"current": num(&d.join("pids.current")), "limit": limit});
    }
    if let Some(d) = dir(&hier, path, "blkio") {
        let entries = |file: &str| -> Vec<Value> {
            read(&d.join(file))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    let (mm, op, v) = match f.as_slice() {
                        [mm, op, v] => (*mm, *op, *v),
                        _ => return None,
                    };
                    let (ma, mi) = mm.split_once(':')?;
                    Some(json!({"major": ma.parse::<u64>().ok()?, "minor": mi.parse::<u64>().ok()?, "op": op, "value": v.parse::<u64>().ok()?}))
                })
                .collect()
        };
        data["blkio"] = json!({
            "ioServiceBytesRecursive": entries("blkio.throttle.io_service_bytes_recursive"),
            "ioServicedRecursive": entries("blkio.throttle.io_serviced_recursive"),
        });
    }
    let mut huge = serde_json::Map::new();
    if let Some(u) = hier.iter().find(|h| h.v2) {
        let d = dir_in(u, path);
        for size in read(&d.join("hugetlb.2MB.max"))
            .map(|_| "2MB")
            .into_iter()
            .chain(read(&d.join("hugetlb.1GB.max")).map(|_| "1GB"))
        {
            let max = read(&d.join(format!("hugetlb.{size}.max")))
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            let events =
                flat_keyed(&read(&d.join(format!("hugetlb.{size}.events"))).unwrap_or_default());
            huge.insert(
                size.into(),
                json!({
                    "usage": num(&d.join(format!("hugetlb.{size}.current"))),
                    "max": max,
                    "failcnt": events.get("max").copied().unwrap_or(0),
                }),
            );
        }
    }
    data["hugetlb"] = Value::Object(huge);
    data
}

/// Statistics from a cgroup v2 directory, in the same shape.
fn stats_v2(d: &Path) -> Value {
    let cpu = flat_keyed(&read(&d.join("cpu.stat")).unwrap_or_default());
    let mem = flat_keyed(&read(&d.join("memory.stat")).unwrap_or_default());
    let max = |f: &str| {
        read(&d.join(f))
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut huge = serde_json::Map::new();
    for size in ["2MB", "1GB"] {
        if let Some(m) = read(&d.join(format!("hugetlb.{size}.max"))) {
            let events =
                flat_keyed(&read(&d.join(format!("hugetlb.{size}.events"))).unwrap_or_default());
            huge.insert(
                size.into(),
                json!({
                    "usage": num(&d.join(format!("hugetlb.{size}.current"))),
                    "max": m.trim().parse::<u64>().unwrap_or(0),
                    "failcnt": events.get("max").copied().unwrap_or(0),
                }),
            );
        }
    }
    let events = flat_keyed(&read(&d.join("memory.events")).unwrap_or_default());
    json!({
        "cpu": {
            "usage": {
                "total": cpu.get("usage_usec").copied().unwrap_or(0) * 1000,
                "kernel": cpu.get("system_usec").copied().unwrap_or(0) * 1000,
                "user": cpu.get("user_usec").copied().unwrap_or(0) * 1000,
            },
            "throttling": {
                "periods": cpu.get("nr_periods").copied().unwrap_or(0),
                "throttled_periods": cpu.get("nr_throttled").copied().unwrap_or(0),
                "throttled_time": cpu.get("throttled_usec").copied().unwrap_or(0) * 1000,
            },
        },
        "memory": {
            "cache": mem.get("file").copied().unwrap_or(0),
            "usage": {"limit": max("memory.max"), "usage": num(&d.join("memory.current")), "max": num(&d.join("memory.peak")), "failcnt": events.get("max").copied().unwrap_or(0)},
            "swap_usage": {"limit": max("memory.swap.max"), "usage": num(&d.join("memory.swap.current"))},
            "raw": mem,
        },
        "pids": {"current": num(&d.join("pids.current")), "limit": max("pids.max")},
        "hugetlb": huge,
    })
}

/// The number of OOM kills recorded for the container's memory cgroup.
pub fn oom_kills(path: &str) -> u64 {
    let hier = hierarchies().unwrap_or_default();
    if super::is_pure_v2(&hier) {
        let f = dir_in(&hier[0], path).join("memory.events");
        return read(&f)
            .map(|t| flat_keyed(&t).get("oom_kill").copied().unwrap_or(0))
            .unwrap_or(0);
    }
    dir(&hier, path, "memory")
        .and_then(|d| read(&d.join("memory.oom_control")))
        .map(|t| flat_keyed(&t).get("oom_kill").copied().unwrap_or(0))
        .unwrap_or(0)
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|v| *v > 0)
        .map(|v| v as u64)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_parses() {
        let m = flat_keyed("user 10\nsystem 20\nbad\n");
        assert_eq!(m.get("user"), Some(&10));
        assert_eq!(m.get("system"), Some(&20));
        assert_eq!(m.len(), 2);
    }
}
