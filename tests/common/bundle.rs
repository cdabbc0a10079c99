//! Temp dirs, safe clean-up, default configs and the [`Bundle`] builder.

use super::*;
use serde_json::{Value, json};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Temp dirs and cleanup
// ---------------------------------------------------------------------------

/// mkdtemp(3) with the given prefix, e.g. "/tmp/husk-test-".
pub fn mkdtemp(prefix: &str) -> PathBuf {
    let tmpl = CString::new(format!("{prefix}XXXXXX")).unwrap_or_else(|e| panic!("{e}"));
    let mut buf = tmpl.into_bytes_with_nul();
    // SAFETY: buf is a writable NUL-terminated template.
    let r = unsafe { libc::mkdtemp(buf.as_mut_ptr().cast()) };
    if r.is_null() {
        panic!("mkdtemp {prefix}: {}", std::io::Error::last_os_error());
    }
    buf.pop();
    PathBuf::from(std::ffi::OsStr::from_bytes(&buf))
}

/// Mount points (from this process's mountinfo) at or below `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mountinfo()
        .into_iter()
        .map(|m| PathBuf::from(m.mount_point))
        .filter(|mp| mp.starts_with(dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v
}

/// Remove `dir` recursively without following symlinks. Mounts left below it
/// are lazily unmounted first; if that fails the dir is kept (and reported),
/// because recursing into a stray bind mount could delete host files.
pub fn remove_tree(dir: &Path) {
    if !dir.exists() {
        return;
    }
    let mut stuck = Vec::new();
    for mp in mounts_under(dir) {
        let c = match CString::new(mp.as_os_str().as_bytes()) {
            Ok(c) => c,
            Err(_) => continue,
        };
        // SAFETY: valid C string.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) } != 0 {
            stuck.push(mp);
        }
    }
    let still = mounts_under(dir);
    if !still.is_empty() {
        eprintln!(
            "WARNING: leaving {} in place, mounts below it: {:?} (failed to unmount: {:?})",
            dir.display(),
            still,
            stuck
        );
        return;
    }
    if let Err(e) = fs::remove_dir_all(dir) {
        eprintln!("WARNING: cannot remove {}: {e}", dir.display());
    }
}

/// A unique container id: `<prefix>-<pid>-<n>`.
pub fn unique_id(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The equivalent of upstream `runc spec` (without a terminal, without a
/// cgroup namespace, hostname "husk-test", args `/probe report`).
pub fn default_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/probe", "report"],
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
            },
            "rlimits": [
                { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }
            ],
            "noNewPrivileges": true,
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "husk-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
            },
            {
                "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
        ],
        "linux": {
            "resources": {
                "devices": [ { "allow": false, "access": "rwm" } ]
            },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
            ],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
                "/sys/devices/virtual/tpm",
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    })
}

/// A bare-bones config for early tests: root user, no capabilities/rlimits/
/// masked paths, only /proc, a /dev tmpfs and /sys; same namespaces as
/// [`default_config`].
pub fn minimal_config() -> Value {
    json!({
        "ociVersion": "1.2.0",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["/probe", "report"],
            "env": [DEFAULT_PATH, "TERM=xterm"],
            "cwd": "/",
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "husk-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
        ],
        "linux": {
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" },
            ],
        },
    })
}

// ---------------------------------------------------------------------------
// Bundle
// ---------------------------------------------------------------------------

/// A temporary OCI bundle: `/tmp/husk-test-XXXXXX/{config.json,rootfs/}`.
/// Removed (without following symlinks) on drop.
pub struct Bundle {
    dir: PathBuf,
    config: Value,
    /// false after set_raw_config/remove_config: config.json is then left alone.
    managed: bool,
}

impl Bundle {
    /// A bundle with [`default_config`].
    pub fn new() -> Bundle {
        Bundle::with_config(default_config())
    }

    /// A bundle with [`default_config`] whose process sleeps until it is
    /// killed (`/probe sleep inf`).
    pub fn sleeper() -> Bundle {
        let mut b = Bundle::new();
        b.set_args(&["/probe", "sleep", "inf"]);
        b
    }

    /// A bundle with [`minimal_config`].
    pub fn minimal() -> Bundle {
        Bundle::with_config(minimal_config())
    }

    pub fn with_config(config: Value) -> Bundle {
        let template = rootfs_template();
        let b = Bundle::empty(config);
        let mut cp = Command::new("cp");
        cp.arg("-a").arg(&template).arg(b.rootfs());
        run_command(cp, Duration::from_secs(120)).assert_success();
        b.write_config()
            .unwrap_or_else(|e| panic!("write config.json: {e}"));
        b
    }

    /// A bundle without a rootfs of its own: its config (`config` with
    /// `root` replaced) uses `rootfs`, an absolute path such as another
    /// bundle's [`rootfs`](Self::rootfs), read-only. For tests that need many
    /// containers but not many copies of the template (a copy is hundreds of
    /// file creations, slow when other work loads the disk). Its own
    /// [`rootfs`](Self::rootfs) does not exist.
    pub fn sharing_rootfs(mut config: Value, rootfs: &Path) -> Bundle {
        assert!(rootfs.is_absolute(), "{}", rootfs.display());
        config["root"] = json!({ "path": rootfs, "readonly": true });
        let b = Bundle::empty(config);
        b.write_config()
            .unwrap_or_else(|e| panic!("write config.json: {e}"));
        b
    }

    /// A fresh bundle directory with nothing in it yet.
    fn empty(config: Value) -> Bundle {
        let b = Bundle {
            dir: mkdtemp("/tmp/husk-test-"),
            config,
            managed: true,
        };
        // mkdtemp makes 0700; let non-root container users traverse it.
        fs::set_permissions(&b.dir, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", b.dir.display()));
        b
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Mutable access to the config; it is written to config.json by
    /// [`Runtime::create`]/[`Runtime::run`] (or an explicit [`write_config`](Self::write_config)).
    pub fn config_mut(&mut self) -> &mut Value {
        self.managed = true;
        &mut self.config
    }

    /// Append one entry to the config's `mounts`.
    pub fn add_mount(&mut self, mount: Value) {
        match self.config_mut()["mounts"].as_array_mut() {
            Some(v) => v.push(mount),
            None => self.config["mounts"] = Value::Array(vec![mount]),
        }
    }

    /// Set `process.args`.
    pub fn set_args(&mut self, args: &[&str]) {
        self.config_mut()["process"]["args"] = json!(args);
    }

    /// Add a namespace of type `typ` (created, no path) to `linux.namespaces`.
    pub fn add_namespace(&mut self, typ: &str) {
        self.namespaces_mut().push(json!({ "type": typ }));
    }

    /// Drop the namespace of type `typ` from `linux.namespaces` (the
    /// container then shares the host's).
    pub fn remove_namespace(&mut self, typ: &str) {
        self.namespaces_mut().retain(|n| n["type"] != typ);
    }

    fn namespaces_mut(&mut self) -> &mut Vec<Value> {
        self.config_mut()["linux"]["namespaces"]
            .as_array_mut()
            .unwrap_or_else(|| panic!("no linux.namespaces in the config"))
    }

    /// Write the config to config.json now.
    pub fn write_config(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.config).map_err(std::io::Error::other)?;
        fs::write(self.config_path(), text)
    }

    /// Write config.json if the bundle manages it (called before create/run).
    pub fn sync_config(&self) {
        if self.managed {
            self.write_config()
                .unwrap_or_else(|e| panic!("write config.json: {e}"));
        }
    }

    /// Replace config.json with arbitrary text (e.g. malformed JSON); the
    /// in-memory config is no longer written until `config_mut` is called.
    pub fn set_raw_config(&mut self, text: &str) {
        self.managed = false;
        fs::write(self.config_path(), text).unwrap_or_else(|e| panic!("write config.json: {e}"));
    }

    /// Delete config.json and stop managing it.
    pub fn remove_config(&mut self) {
        self.managed = false;
        let _ = fs::remove_file(self.config_path());
    }

    /// Everything the container wrote to stdout so far, for containers
    /// started with [`Runtime::create`] (whose stdio goes to files here).
    pub fn create_stdout(&self) -> String {
        read_from(&self.dir.join("create.stdout"), 0)
    }

    /// Poll (every 10 ms) until `pred` holds for [`create_stdout`](Self::create_stdout);
    /// returns the output, or `Err` with the last output seen on timeout.
    pub fn wait_create_stdout(
        &self,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.create_stdout();
            if pred(&out) {
                return Ok(out);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "condition not met within {timeout:?}; create.stdout: {out:?}; create.stderr: {:?}",
                    self.create_stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Like [`create_stdout`](Self::create_stdout), for stderr (the runtime's
    /// own `create` errors are in there too).
    pub fn create_stderr(&self) -> String {
        read_from(&self.dir.join("create.stderr"), 0)
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        remove_tree(&self.dir);
    }
}
