//! Assertions on what the probe saw inside a container: its mountinfo
//! entries (`/probe report`'s `mounts`) and the results of `/probe write`
//! and `/probe read`.

use serde_json::Value;

/// The topmost mount at `mp` in a probe report.
#[track_caller]
pub fn mount_at<'a>(report: &'a Value, mp: &str) -> &'a Value {
    report["mounts"]
        .as_array()
        .unwrap_or_else(|| panic!("no mounts in report: {report}"))
        .iter()
        .rev()
        .find(|m| m["mount_point"] == mp)
        .unwrap_or_else(|| panic!("nothing mounted at {mp}: {:#}", report["mounts"]))
}

/// Whether anything is mounted at `mp` in a probe report.
pub fn is_mounted(report: &Value, mp: &str) -> bool {
    report["mounts"]
        .as_array()
        .is_some_and(|v| v.iter().any(|m| m["mount_point"] == mp))
}

/// The comma-separated entries of a mountinfo field (`options` or `super_options`).
pub fn mount_options(m: &Value, key: &str) -> Vec<String> {
    m[key]
        .as_str()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The mount has the per-mount option `opt` (`ro`, `nosuid`, `noatime`, ...).
#[track_caller]
pub fn assert_opt(m: &Value, opt: &str) {
    assert!(
        mount_options(m, "options").iter().any(|o| o == opt),
        "{} should have {opt}: {m}",
        m["mount_point"]
    );
}

/// The mount lacks the per-mount option `opt`.
#[track_caller]
pub fn assert_no_opt(m: &Value, opt: &str) {
    assert!(
        !mount_options(m, "options").iter().any(|o| o == opt),
        "{} should not have {opt}: {m}",
        m["mount_point"]
    );
}

/// The filesystem has the option `opt` (`size=1024k`, `mode=755`, ...).
#[track_caller]
pub fn assert_super_opt(m: &Value, opt: &str) {
    assert!(
        mount_options(m, "super_options").iter().any(|o| o == opt),
        "{} should have fs option {opt}: {m}",
        m["mount_point"]
    );
}

/// A `/probe write` (or `read`) result failed with `errno` ("EROFS", ...).
#[track_caller]
pub fn assert_write_fails(v: &Value, errno: &str) {
    assert_eq!(v["ok"], false, "write should fail: {v}");
    assert_eq!(v["error"], errno, "{v}");
}

/// A `/probe write` or `read` result succeeded.
#[track_caller]
pub fn assert_ok(v: &Value) {
    assert_eq!(v["ok"], true, "should succeed: {v}");
}
