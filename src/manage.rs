//! The verbs that manage a running container's cgroup: pause, resume,
//! update, ps and events.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cgroups;
use crate::error::{Error, Result, io_err};
use crate::state::{Root, Status};

/// `pause ID`: freeze every process of the container.
pub fn pause(root: &Root, id: &str) -> Result<()> {
    let _lock = root.lock(id)?;
    let st = root.load(id)?;
    match st.status(root) {
        Status::Running | Status::Created => cgroups::freeze(&st.cgroup, true),
        _ => Err(Error::NotRunning),
    }
}

/// `resume ID`: thaw a paused container.
pub fn resume(root: &Root, id: &str) -> Result<()> {
    let _lock = root.lock(id)?;
    let st = root.load(id)?;
    match st.status(root) {
        Status::Paused => cgroups::freeze(&st.cgroup, false),
        _ => Err(Error::Msg("container not paused".into())),
    }
}

/// Merge `patch` into `base`: objects recursively, anything else replaced.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    continue;
                }
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// `update ID`: merge new resources into the container's and apply them.
pub fn update(root: &Root, id: &str, patch: &Value) -> Result<()> {
    let _lock = root.lock(id)?;
    let mut st = root.load(id)?;
    if st.status(root) == Status::Stopped {
        return Err(Error::NotRunning);
    }
    // New device rules replace the old ones (a new eBPF program on v2).
    if let Some(d) = patch.get("devices").filter(|d| !d.is_null()) {
        let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
            serde_path_to_error::deserialize(d.clone()).map_err(|e| {
                Error::config(
                    format!("resources.devices{}", e.path()),
                    e.into_inner().to_string(),
                )
            })?;
        cgroups::apply_devices(&st.cgroup, &cgroups::devices::rules(&rules))?;
    }
    let mut current =
        serde_json::to_value(st.resources.clone().unwrap_or_default()).unwrap_or(json!({}));
    if current.is_null() {
        current = json!({});
    }
    let p = patch.clone();
    let mut changes = p.clone();
    merge(&mut current, &p);
    let merged: oci_spec::runtime::LinuxResources = serde_path_to_error::deserialize(current)
        .map_err(|e| {
            Error::config(
                format!("resources.{}", e.path()),
                e.into_inner().to_string(),
            )
        })?;
    // Apply only what was asked for, then remember the merged whole.
    if let Some(o) = changes.as_object_mut() {
        o.remove("devices");
    }
    let only: oci_spec::runtime::LinuxResources = serde_path_to_error::deserialize(changes)
        .map_err(|e| {
            Error::config(
                format!("resources.{}", e.path()),
                e.into_inner().to_string(),
            )
        })?;
    cgroups::apply(&st.cgroup, &only, true)?;
    st.resources = Some(merged);
    root.save(&st)
}

/// Read a resources document from a file or `-` (stdin).
pub fn read_resources(path: &str) -> Result<Value> {
    let mut text = String::new();
    if path == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| io_err("read", "stdin", e))?;
    } else {
        text = std::fs::read_to_string(path).map_err(|e| io_err("read", path, e))?;
    }
    serde_json::from_str(&text).map_err(|e| Error::Msg(format!("parse resources {path}: {e}")))
}

/// Parse a size as runc's flags take it: bytes, or with k/m/g/t (binary) suffixes; -1 for unlimited.
pub fn parse_size(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| Error::Msg(format!("invalid size {s:?}")))?;
    if n < 0.0 {
        return Err(Error::Msg(format!("invalid size {s:?}")));
    }
    Ok((n * mult as f64) as i64)
}

/// `ps ID`: the container's host pids as JSON, or `ps` output filtered to them.
pub fn ps(root: &Root, id: &str, format: &str, ps_args: &[String]) -> Result<()> {
    let st = root.load(id)?;
    let mut pids = cgroups::pids(&st.cgroup);
    pids.sort();
    let mut out = std::io::stdout().lock();
    if format == "json" {
        let _ = writeln!(out, "{}", serde_json::to_string(&pids).unwrap_or_default());
        return Ok(());
    }
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let o = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| io_err("exec", "ps", e))?;
    if !o.status.success() {
        return Err(Error::Msg(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Msg("couldn't find PID field in ps output".into()))?;
    let _ = writeln!(out, "{header}");
    for l in lines {
        let pid: Option<i32> = l.split_whitespace().nth(col).and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            let _ = writeln!(out, "{l}");
        }
    }
    Ok(())
}

/// Parse a Go duration ("5s", "100ms", "1m30s", "1.5h").
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || Error::Msg(format!("invalid duration {s:?}"));
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * unit;
        rest = &rest[u_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// `events ID`: stats once (`--stats`) or every interval, plus OOM events, until the container stops.
pub fn events(root: &Root, id: &str, stats_once: bool, interval: Duration) -> Result<()> {
    let st = root.load(id)?;
    if st.status(root) == Status::Stopped {
        return Err(Error::NotRunning);
    }
    let emit = |v: Value| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    };
    let stats_event =
        || json!({"type": "stats", "id": id, "data": cgroups::stats::stats(&st.cgroup.path)});
    if stats_once {
        emit(stats_event());
        return Ok(());
    }
    let mut ooms = cgroups::stats::oom_kills(&st.cgroup.path);
    let tick = interval
        .min(Duration::from_millis(200))
        .max(Duration::from_millis(10));
    let mut next_stats = std::time::Instant::now();
    loop {
        let now_ooms = cgroups::stats::oom_kills(&st.cgroup.path);
        if now_ooms > ooms {
            ooms = now_ooms;
            emit(json!({"type": "oom", "id": id}));
        }
        if st.status(root) == Status::Stopped || !root.dir(id).exists() {
            return Ok(());
        }
        if !interval.is_zero() && std::time::Instant::now() >= next_stats {
            emit(stats_event());
            next_stats += interval;
        }
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("-1").unwrap(), -1);
        assert!(parse_size("x").is_err());
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
    }

    #[test]
    fn merge_overrides_and_keeps() {
        let mut base = json!({"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 5}});
        merge(
            &mut base,
            &json!({"memory": {"limit": 3}, "cpu": {"shares": 9}}),
        );
        assert_eq!(
            base,
            json!({"memory": {"limit": 3, "swap": 2}, "pids": {"limit": 5}, "cpu": {"shares": 9}})
        );
    }
}
