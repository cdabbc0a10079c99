//! Locating the runtime and the probe, and building the cached rootfs template.

use super::*;
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

// ---------------------------------------------------------------------------
// Locations and binaries
// ---------------------------------------------------------------------------

/// The workspace root (the root package's manifest dir).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// cargo's target dir (`CARGO_TARGET_DIR` if set, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// The runtime under test: `$HUSK_RUNTIME`, else the `husk` binary of this package.
pub fn runtime_bin() -> PathBuf {
    match std::env::var_os("HUSK_RUNTIME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_husk")),
    }
}

/// True when `HUSK_RUNTIME` points at runc (used to relax husk-only asserts,
/// e.g. upstream error wording that Debian's runc 1.1.5 predates).
pub fn runtime_is_runc() -> bool {
    std::env::var_os("HUSK_RUNTIME")
        .map(|p| {
            Path::new(&p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("runc"))
        })
        .unwrap_or(false)
}

/// Timeout applied to every runtime command (`HUSK_TEST_TIMEOUT` seconds, default 30).
pub fn command_timeout() -> Duration {
    let secs = std::env::var("HUSK_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// Exclusive flock on `target/husk-test.lock`, shared by all test binaries.
struct BuildLock(File);

impl BuildLock {
    fn acquire() -> BuildLock {
        let dir = target_dir();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let path = dir.join("husk-test.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        loop {
            // SAFETY: valid fd owned by `f`.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                break;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                panic!("flock {}: {e}", path.display());
            }
        }
        BuildLock(f)
    }
}
// The lock is released when the File is closed on drop.

/// The static probe binary (`$HUSK_PROBE`, or built once per process under
/// the cross-process build lock).
pub fn probe_bin() -> PathBuf {
    static PROBE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("HUSK_PROBE").filter(|p| !p.is_empty()) {
                let p = PathBuf::from(p);
                return if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("HUSK_PROBE={} is not a file", p.display()))
                };
            }
            let _lock = BuildLock::acquire();
            build_probe()
        })
        .clone()
        .unwrap_or_else(|e| panic!("cannot build the probe: {e}"))
}

fn build_probe() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let probe_target = target_dir().join("probe");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args([
            "build",
            "-p",
            "husk-probe",
            "--release",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target-dir",
        ])
        .arg(&probe_target)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        // These would take precedence over RUSTFLAGS.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    let out = run_command(cmd, Duration::from_secs(600));
    if !out.success() {
        return Err(format!("{}\n{}", out.cmdline, out.stderr));
    }
    let bin = probe_target.join("x86_64-unknown-linux-gnu/release/probe");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} missing after build", bin.display()))
    }
}

// ---------------------------------------------------------------------------
// Rootfs template
// ---------------------------------------------------------------------------

/// Bump when the template's layout changes, to force a rebuild.
const TEMPLATE_VERSION: u32 = 1;
const BUSYBOX: &str = "/bin/busybox";

fn file_fingerprint(p: &Path) -> String {
    match fs::metadata(p) {
        Ok(md) => {
            use std::os::unix::fs::MetadataExt;
            format!(
                "{} size={} mtime={}.{} ino={}",
                p.display(),
                md.size(),
                md.mtime(),
                md.mtime_nsec(),
                md.ino()
            )
        }
        Err(e) => format!("{}: {e}", p.display()),
    }
}

/// Path of the cached rootfs template (`target/test-rootfs`), (re)built when
/// missing or when the probe/busybox it was made from changed.
pub fn rootfs_template() -> PathBuf {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let probe = probe_bin();
            let _lock = BuildLock::acquire();
            let dir = target_dir().join("test-rootfs");
            let stamp_path = target_dir().join("test-rootfs.stamp");
            let stamp = format!(
                "v{TEMPLATE_VERSION}\n{}\n{}\n",
                file_fingerprint(&probe),
                file_fingerprint(Path::new(BUSYBOX))
            );
            if dir.is_dir() && fs::read_to_string(&stamp_path).ok().as_deref() == Some(&stamp) {
                return Ok(dir);
            }
            let tmp = target_dir().join(format!("test-rootfs.tmp-{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            build_template(&tmp, &probe).inspect_err(|_| {
                let _ = fs::remove_dir_all(&tmp);
            })?;
            let _ = fs::remove_file(&stamp_path);
            if dir.exists() {
                let old = target_dir().join(format!("test-rootfs.old-{}", std::process::id()));
                fs::rename(&dir, &old).map_err(|e| format!("rename old template: {e}"))?;
                let _ = fs::remove_dir_all(&old);
            }
            fs::rename(&tmp, &dir).map_err(|e| format!("rename template: {e}"))?;
            fs::write(&stamp_path, stamp).map_err(|e| format!("write stamp: {e}"))?;
            Ok(dir)
        })
        .clone()
        .unwrap_or_else(|e| panic!("cannot build the rootfs template: {e}"))
}

fn build_template(root: &Path, probe: &Path) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    for (d, mode) in [
        ("", 0o755),
        ("bin", 0o755),
        ("etc", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("tmp", 0o1777),
        ("home", 0o755),
        ("home/user", 0o755),
        ("root", 0o700),
    ] {
        let p = root.join(d);
        fs::create_dir_all(&p).map_err(|e| io(&format!("mkdir {}", p.display()), e))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .map_err(|e| io(&format!("chmod {}", p.display()), e))?;
    }
    chown(&root.join("home/user"), 1000, 1000)?;

    let bb = root.join("bin/busybox");
    fs::copy(BUSYBOX, &bb).map_err(|e| io("copy busybox", e))?;
    let list = run_command(
        {
            let mut c = Command::new(BUSYBOX);
            c.arg("--list");
            c
        },
        Duration::from_secs(30),
    );
    if !list.success() {
        return Err(format!("busybox --list failed: {}", list.stderr));
    }
    for applet in list.stdout.lines().map(str::trim) {
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
            .map_err(|e| io(&format!("symlink {applet}"), e))?;
    }

    let p = root.join("probe");
    fs::copy(probe, &p).map_err(|e| io("copy probe", e))?;
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).map_err(|e| io("chmod probe", e))?;

    let files = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\n\
             user:x:1000:1000:user:/home/user:/bin/sh\n\
             nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        (
            "etc/group",
            "root:x:0:\nuser:x:1000:\nextra:x:1001:user\nnogroup:x:65534:\n",
        ),
        ("etc/hostname", "husk-test\n"),
    ];
    for (name, content) in files {
        fs::write(root.join(name), content).map_err(|e| io(&format!("write {name}"), e))?;
    }
    Ok(())
}

pub(super) fn chown(p: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let c = CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: valid C string.
    if unsafe { libc::lchown(c.as_ptr(), uid, gid) } != 0 {
        return Err(format!(
            "chown {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
