//! The state directory of a container under `--root`: `state.json` written
//! atomically, a per-container lock, the init's identity (pid plus start
//! time, so a reused pid is never taken for the container) and its status.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, io_err};

/// Version of the state.json layout written by this husk.
pub const STATE_VERSION: u32 = 1;
/// The start gate: the init blocks opening it for writing until `start` reads it.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = ".lock";

/// The status of a container, as runtime-spec names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }

    /// Whether `start` may run (runc's wording for each refusal).
    pub fn can_start(self) -> Result<()> {
        match self {
            Status::Created => Ok(()),
            Status::Stopped => Err(Error::Msg(
                "cannot start a container that has stopped".into(),
            )),
            Status::Running => Err(Error::Msg(
                "cannot start an already running container".into(),
            )),
            s => Err(Error::Msg(format!(
                "cannot start a container in the {} state",
                s.as_str()
            ))),
        }
    }

    /// Whether a signal may be sent to the init (never to a stopped one: its pid may be reused).
    pub fn can_kill(self) -> Result<()> {
        match self {
            Status::Stopped => Err(Error::NotRunning),
            _ => Ok(()),
        }
    }
}

/// Where the container's cgroups are, per hierarchy mount point.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupState {
    /// The cgroupsPath the container uses (absolute, from the hierarchy root).
    pub path: String,
    /// Directories created or joined, one per mounted hierarchy.
    pub dirs: Vec<PathBuf>,
    /// Whether husk created the leaf (and so removes it at delete).
    pub owned: bool,
}

/// What husk remembers of a container between invocations.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub version: u32,
    pub id: String,
    pub oci_version: String,
    pub init_pid: i32,
    /// Start time of the init in clock ticks since boot (/proc/PID/stat field 22).
    pub init_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub cgroup: CgroupState,
    /// The config the container was created with (what `exec` starts from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Box<oci_spec::runtime::Spec>>,
    /// The resources last applied (what `update` starts from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// The hooks that run after create (poststart, poststop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The caller's NOTIFY_SOCKET, which `start` relays READY=1 to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_socket: Option<PathBuf>,
}

/// A validated container id (runc's rule: `^[\w+\-.]+$`, and not `.` or `..`).
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(format!("{id:?}")))
    }
}

/// The `--root` directory.
#[derive(Clone, Debug)]
pub struct Root {
    pub path: PathBuf,
}

/// An exclusive lock on one container's directory, released on drop.
pub struct Lock {
    _flock: nix::fcntl::Flock<File>,
}

impl Root {
    pub fn new(path: &Path) -> Self {
        Root {
            path: path.to_path_buf(),
        }
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.path.join(id)
    }

    /// Make the container's directory; fails with `Exist` when it is there.
    pub fn create_dir(&self, id: &str) -> Result<PathBuf> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.path)
            .map_err(|e| io_err("mkdir", &self.path, e))?;
        let dir = self.dir(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Exist),
            Err(e) => Err(io_err("mkdir", &dir, e)),
        }
    }

    /// Lock a container's directory (blocking). `NotExist` when it is not there.
    pub fn lock(&self, id: &str) -> Result<Lock> {
        validate_id(id)?;
        let path = self.dir(id).join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NotExist,
                _ => io_err("open", &path, e),
            })?;
        let flock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::sys("flock", &path, e))?;
        // The directory may have been removed while we waited for the lock.
        if !self.dir(id).exists() {
            return Err(Error::NotExist);
        }
        Ok(Lock { _flock: flock })
    }

    /// Load a container's state.
    pub fn load(&self, id: &str) -> Result<State> {
        let st: State = self.read_state(id, |s: &State| s.version)?;
        Ok(st)
    }

    /// Read and parse a container's state.json as `T`, refusing a newer format.
    fn read_state<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        version: impl Fn(&T) -> u32,
    ) -> Result<T> {
        validate_id(id)?;
        let path = self.dir(id).join(STATE_FILE);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotExist),
            Err(e) => return Err(io_err("read", &path, e)),
        };
        let v: T = serde_json::from_slice(&data)
            .map_err(|e| Error::Msg(format!("parse {}: {e}", path.display())))?;
        if version(&v) > STATE_VERSION {
            return Err(Error::Msg(format!(
                "{}: state version {} is newer than this husk understands ({STATE_VERSION})",
                path.display(),
                version(&v)
            )));
        }
        Ok(v)
    }

    /// Load a container's state without its config, resources and hooks
    /// (what `list` needs: the big parts are skipped, not built).
    pub fn load_brief(&self, id: &str) -> Result<State> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Brief {
            version: u32,
            id: String,
            oci_version: String,
            init_pid: i32,
            init_start: u64,
            bundle: PathBuf,
            rootfs: PathBuf,
            created: String,
            owner: String,
            #[serde(default)]
            annotations: BTreeMap<String, String>,
            #[serde(default)]
            cgroup: CgroupState,
        }
        let b: Brief = self.read_state(id, |b: &Brief| b.version)?;
        Ok(State {
            version: b.version,
            id: b.id,
            oci_version: b.oci_version,
            init_pid: b.init_pid,
            init_start: b.init_start,
            bundle: b.bundle,
            rootfs: b.rootfs,
            created: b.created,
            owner: b.owner,
            annotations: b.annotations,
            cgroup: b.cgroup,
            config: None,
            resources: None,
            hooks: None,
            notify_socket: None,
        })
    }

    /// Write a container's state atomically (temporary file, then rename).
    pub fn save(&self, st: &State) -> Result<()> {
        let dir = self.dir(&st.id);
        let tmp = dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
        let path = dir.join(STATE_FILE);
        let data = serde_json::to_vec(st).map_err(|e| Error::Msg(format!("encode state: {e}")))?;
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&tmp)
            .map_err(|e| io_err("open", &tmp, e))?;
        // No fsync: the rename alone is atomic for every reader and survives
        // any crash of husk (the page cache is shared); only a crash of the
        // machine could lose it, and that ends the containers it describes
        // too. A state root on disk paid one or two journal flushes per
        // create for nothing.
        if let Err(e) = f.write_all(&data) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("write", &tmp, e));
        }
        fs::rename(&tmp, &path).map_err(|e| io_err("rename", &path, e))
    }

    /// Ids of every container directory under the root.
    pub fn ids(&self) -> Result<Vec<String>> {
        let rd = match fs::read_dir(&self.path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("readdir", &self.path, e)),
        };
        let mut ids: Vec<String> = rd
            .filter_map(|e| {
                let e = e.ok()?;
                e.file_type().ok()?.is_dir().then_some(())?;
                e.file_name().into_string().ok()
            })
            .filter(|id| validate_id(id).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Remove a container's directory and everything in it.
    pub fn remove(&self, id: &str) -> Result<()> {
        validate_id(id)?;
        let dir = self.dir(id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &dir, e)),
        }
    }
}

/// Start time of a process (clock ticks after boot), `None` when it is gone or a zombie.
pub fn process_start_time(pid: i32) -> Option<u64> {
    // One read: procfs reports size 0, so read_to_string would grow its
    // buffer over five reads.
    let mut buf = [0u8; 4096];
    let n = fs::File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut f| std::io::Read::read(&mut f, &mut buf))
        .ok()?;
    let stat = std::str::from_utf8(&buf[..n]).ok()?;
    // The command name may hold spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // Field 22 overall is the 20th after the state (field 3).
    fields.nth(18)?.parse().ok()
}

impl State {
    /// Whether the recorded init is still the same live process.
    pub fn init_alive(&self) -> bool {
        self.init_pid > 0 && process_start_time(self.init_pid) == Some(self.init_start)
    }

    /// The status, derived from the kernel's view, never stored.
    pub fn status(&self, root: &Root) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if crate::cgroups::is_frozen(&self.cgroup) {
            return Status::Paused;
        }
        if root.dir(&self.id).join(EXEC_FIFO).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// A pidfd for the init, checked to still be the same process after opening.
    pub fn init_pidfd(&self) -> Result<std::os::fd::OwnedFd> {
        let fd = crate::sys::pidfd_open(self.init_pid).map_err(|e| match e {
            Errno::ESRCH => Error::NotRunning,
            e => Error::call("pidfd_open", e),
        })?;
        // The pidfd pins the process: if the start time still matches now, it is ours.
        if !self.init_alive() {
            return Err(Error::NotRunning);
        }
        Ok(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc_rules() {
        for ok in ["a", "abc-DEF_1.2+3", "x.y"] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "a\0", "é"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_gates() {
        assert!(Status::Created.can_start().is_ok());
        assert_eq!(
            Status::Stopped.can_start().unwrap_err().to_string(),
            "cannot start a container that has stopped"
        );
        assert_eq!(
            Status::Running.can_start().unwrap_err().to_string(),
            "cannot start an already running container"
        );
        assert_eq!(
            Status::Paused.can_start().unwrap_err().to_string(),
            "cannot start a container in the paused state"
        );
        assert!(Status::Running.can_kill().is_ok());
        assert!(Status::Created.can_kill().is_ok());
        assert_eq!(
            Status::Stopped.can_kill().unwrap_err().to_string(),
            "container not running"
        );
    }

    #[test]
    fn brief_load_matches_the_full_one() {
        let dir = std::env::temp_dir().join(format!("husk-state-{}", std::process::id()));
        let root = Root::new(&dir);
        root.create_dir("c1").unwrap();
        let st = State {
            version: STATE_VERSION,
            id: "c1".into(),
            oci_version: "1.2.0".into(),
            init_pid: 42,
            init_start: 7,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "t".into(),
            owner: String::new(),
            annotations: [("k".to_string(), "v".to_string())].into_iter().collect(),
            cgroup: CgroupState {
                path: "/husk/c1".into(),
                dirs: vec!["/x".into()],
                owned: true,
            },
            config: Some(Box::default()),
            resources: None,
            hooks: None,
            notify_socket: None,
        };
        root.save(&st).unwrap();
        let b = root.load_brief("c1").unwrap();
        let full = root.load("c1").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(b.config.is_none() && full.config.is_some());
        assert_eq!(
            (b.init_pid, b.init_start, b.annotations, b.cgroup),
            (42, 7, st.annotations.clone(), st.cgroup.clone())
        );
    }

    #[test]
    fn own_start_time_is_readable() {
        let me = std::process::id() as i32;
        assert!(process_start_time(me).is_some());
        assert!(process_start_time(i32::MAX).is_none());
    }
}
