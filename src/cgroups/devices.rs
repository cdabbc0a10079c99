//! Device rules of `linux.resources.devices` (plus the devices every
//! container gets, as runc) translated to cgroup v1 `devices.allow` and
//! `devices.deny` writes: plain data, applied by a thin loop.

use std::fs;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Result, io_err};

/// One write to `devices.allow` (true) or `devices.deny` (false).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub line: String,
}

fn type_char(t: Option<LinuxDeviceType>) -> char {
    match t {
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
        Some(LinuxDeviceType::B) => 'b',
        Some(LinuxDeviceType::P) => 'p',
        Some(LinuxDeviceType::A) | None => 'a',
    }
}

fn num(n: Option<i64>) -> String {
    match n {
        Some(n) if n >= 0 => n.to_string(),
        _ => "*".into(),
    }
}

/// Devices every container may use (runc's list).
const DEFAULT_ALLOWED: &[&str] = &[
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",
    "c 1:8 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:5 rwm",
    "c 1:9 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// The writes for a config, in order: the spec's rules, then runc's defaults.
/// `linux.devices` entries get no implicit rule (as runc): a device the
/// container should use needs its own allow rule.
pub fn rules(spec_rules: &[LinuxDeviceCgroup]) -> Vec<Rule> {
    let mut out = Vec::new();
    for r in spec_rules {
        let t = type_char(r.typ());
        let access = r.access().clone().unwrap_or_else(|| "rwm".into());
        let line = if t == 'a' {
            "a".to_string()
        } else {
            format!("{t} {}:{} {access}", num(r.major()), num(r.minor()))
        };
        out.push(Rule {
            allow: r.allow(),
            line,
        });
    }
    for l in DEFAULT_ALLOWED {
        out.push(Rule {
            allow: true,
            line: (*l).to_string(),
        });
    }
    out
}

/// Apply rules to a v1 devices cgroup directory.
pub fn apply_v1(dir: &Path, rules: &[Rule]) -> Result<()> {
    use std::io::Write;
    // Each file is opened once: the kernel takes every write(2) as one rule,
    // and a create writes ~16 rules (a path walk through cgroupfs apiece).
    let mut open: [Option<fs::File>; 2] = [None, None];
    for r in rules {
        let name = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        let f = dir.join(name);
        let file = match &mut open[usize::from(r.allow)] {
            Some(file) => file,
            slot => slot.insert(
                fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .map_err(|e| io_err("open", &f, e))?,
            ),
        };
        file.write_all(r.line.as_bytes())
            .map_err(|e| io_err("write", &f, e).context(format!("device rule {:?}", r.line)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_then_defaults() {
        let r: Vec<LinuxDeviceCgroup> = serde_json::from_str(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":4,"access":"rw"}]"#,
        )
        .unwrap();
        let out = rules(&r);
        assert_eq!(
            out[0],
            Rule {
                allow: false,
                line: "a".into()
            }
        );
        assert_eq!(
            out[1],
            Rule {
                allow: true,
                line: "c 4:* rw".into()
            }
        );
        assert!(out.iter().any(|r| r.allow && r.line == "c 1:3 rwm"));
    }
}
