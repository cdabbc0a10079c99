//! The one path resolver for everything inside the container's rootfs.
//!
//! Every path is resolved relative to a descriptor of the root, never as a
//! string on the host, so `..` and symlinks (absolute or relative) can never
//! lead out of it:
//!
//! * [`open`] uses openat2(2) with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`
//!   where the kernel has it (Linux 5.6), and otherwise [`walk`]: a
//!   component-by-component walk that opens one name at a time with
//!   `O_NOFOLLOW` relative to the directory before it, expands symlinks itself
//!   (an absolute target restarts at the root, `..` pops the walk's own stack
//!   and stops at the root), and refuses procfs magic links.
//! * [`ensure_dir`] and [`ensure_file`] create what is missing, one component
//!   at a time relative to the descriptor of its parent, after expanding
//!   symlinks inside the root, so a dangling symlink such as
//!   `/etc/x -> /tmp/hostfile` or `../../..` makes the object inside the root.
//!   They return the descriptor and the path it was found at, with no symlink
//!   left in it: the checks that care where a mount lands (only procfs on
//!   /proc) look at that path, not at the string in config.json.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::sys;

const RESOLVE: u64 = sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS;

/// Symlinks expanded in one resolution before ELOOP, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// openat2 availability: unknown, yes, no (ENOSYS, or filtered by an outer seccomp profile).
static OPENAT2: AtomicU8 = AtomicU8::new(0);
const OPENAT2_YES: u8 = 1;
const OPENAT2_NO: u8 = 2;

#[cfg(test)]
thread_local! {
    /// Unit tests force the walk to test it against openat2 on the same tree.
    static FORCE_WALK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn use_openat2() -> bool {
    #[cfg(test)]
    if FORCE_WALK.with(|f| f.get()) {
        return false;
    }
    OPENAT2.load(Ordering::Relaxed) != OPENAT2_NO
}

/// A resolved object inside the root: an `O_PATH` descriptor and the path it
/// was found at (absolute inside the root, no `.`, `..` or symlink in it).
#[derive(Debug)]
pub struct Resolved {
    pub fd: OwnedFd,
    pub path: PathBuf,
}

/// The normal components and `..` of a path inside the root (`/` and `.` dropped).
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

/// Open `path` inside the root (following symlinks only within it). `flags`
/// are open(2) flags; `O_CREAT` is not supported.
pub fn open(root: BorrowedFd<'_>, path: &Path, flags: i32) -> std::result::Result<OwnedFd, Errno> {
    if use_openat2() {
        let rel: PathBuf = components(path).into_iter().collect();
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel
        };
        match sys::openat2(root, &rel, flags, 0, RESOLVE) {
            Err(Errno::ENOSYS) | Err(Errno::EPERM)
                if OPENAT2.load(Ordering::Relaxed) != OPENAT2_YES =>
            {
                OPENAT2.store(OPENAT2_NO, Ordering::Relaxed);
            }
            r => {
                if r.is_ok() {
                    OPENAT2.store(OPENAT2_YES, Ordering::Relaxed);
                }
                return r;
            }
        }
    }
    open_walk(root, path, flags)
}

/// Open `path` inside the root without following a symlink in its last component.
pub fn open_nofollow(root: BorrowedFd<'_>, path: &Path) -> std::result::Result<OwnedFd, Errno> {
    open(root, path, libc::O_PATH | libc::O_NOFOLLOW)
}

/// [`open`] without openat2: the walk, then the final open relative to the parent.
fn open_walk(root: BorrowedFd<'_>, path: &Path, flags: i32) -> std::result::Result<OwnedFd, Errno> {
    let follow = flags & libc::O_NOFOLLOW == 0;
    let mut w = walk(root, path, follow)?;
    if w.gap {
        return Err(Errno::ENOENT);
    }
    let st = nix::sys::stat::fstat(w.last())?;
    let kind = st.st_mode & libc::S_IFMT;
    if flags & libc::O_DIRECTORY != 0 && kind != libc::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    if flags & libc::O_PATH != 0 {
        return w.stack.pop().map(|(fd, _)| fd).ok_or(Errno::ENOENT);
    }
    if kind == libc::S_IFLNK {
        return Err(Errno::ELOOP);
    }
    let oflags = OFlag::from_bits_retain(flags | libc::O_CLOEXEC | libc::O_NOFOLLOW);
    let fd = if kind == libc::S_IFDIR {
        nix::fcntl::openat(w.last(), ".", oflags, Mode::empty())?
    } else {
        let (_, name) = w.stack.last().ok_or(Errno::ENOENT)?;
        let name = name.clone();
        let parent = w.parent().ok_or(Errno::EISDIR)?;
        nix::fcntl::openat(parent, name.as_os_str(), oflags, Mode::empty())?
    };
    // The name could have been swapped between the walk and the open.
    let now = nix::sys::stat::fstat(&fd)?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err(Errno::EAGAIN);
    }
    Ok(fd)
}

/// The result of a [`walk`].
pub struct Walk {
    /// `O_PATH` descriptors from the root (first, with an empty name) down to
    /// the deepest component that exists, each with its name.
    stack: Vec<(OwnedFd, OsString)>,
    /// The components after the first one that does not exist (`..` among
    /// them already applied lexically): nothing of them exists yet.
    pub missing: Vec<OsString>,
    /// Some component did not exist, even if a later `..` took it back
    /// (the kernel's lookup fails there; creating resolves it lexically).
    pub gap: bool,
}

impl Walk {
    /// The deepest existing component (the root when nothing else exists).
    pub fn last(&self) -> BorrowedFd<'_> {
        self.stack[self.stack.len() - 1].0.as_fd()
    }

    fn parent(&self) -> Option<BorrowedFd<'_>> {
        let n = self.stack.len();
        (n >= 2).then(|| self.stack[n - 2].0.as_fd())
    }

    /// Where the deepest existing component is, inside the root.
    pub fn existing_path(&self) -> PathBuf {
        let mut p = PathBuf::from("/");
        for (_, name) in &self.stack[1..] {
            p.push(name);
        }
        p
    }
}

fn open_one(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<OwnedFd, Errno> {
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Whether a symlink on procfs may be followed: `self`, `thread-self`,
/// `mounts`, `net` and friends point to relative paths of plain names;
/// magic links (`fd/N`, `exe`, `cwd`, `root`, `ns/*`) read as absolute paths
/// or as `type:[number]` and are refused (`RESOLVE_NO_MAGICLINKS`).
fn proc_link_ok(target: &Path) -> bool {
    !target.is_absolute() && !target.as_os_str().as_bytes().contains(&b':')
}

/// Walk `path` from `root` one component at a time (see the module docs).
/// A symlink in the last component is followed only when `follow_last`.
/// Stops without error at the first component that does not exist.
pub fn walk(
    root: BorrowedFd<'_>,
    path: &Path,
    follow_last: bool,
) -> std::result::Result<Walk, Errno> {
    let mut stack = vec![(open_one(root, OsStr::new("."))?, OsString::new())];
    let mut missing: Vec<OsString> = Vec::new();
    let mut todo = components(path);
    let mut links = 0;
    let mut gap = false;
    while let Some(name) = todo.pop_front() {
        if !missing.is_empty() {
            if name == ".." {
                missing.pop();
            } else {
                missing.push(name);
            }
            continue;
        }
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let dir = stack[stack.len() - 1].0.as_fd();
        let fd = match open_one(dir, &name) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                missing.push(name);
                gap = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        let st = nix::sys::stat::fstat(&fd)?;
        let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        if !is_link || (todo.is_empty() && !follow_last) {
            stack.push((fd, name));
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(Errno::ELOOP);
        }
        let target = PathBuf::from(nix::fcntl::readlinkat(&fd, "")?);
        let on_proc =
            nix::sys::statfs::fstatfs(&fd)?.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC;
        if on_proc && !proc_link_ok(&target) {
            return Err(Errno::ELOOP);
        }
        if target.is_absolute() {
            stack.truncate(1);
        }
        for c in components(&target).into_iter().rev() {
            todo.push_front(c);
        }
    }
    Ok(Walk {
        stack,
        missing,
        gap,
    })
}

/// Resolve `path` and make every missing directory; fails if an existing
/// component is not a directory.
pub fn ensure_dir(root: BorrowedFd<'_>, path: &Path) -> Result<Resolved> {
    ensure_dir_mode(root, path, 0o755)
}

fn ensure_dir_mode(root: BorrowedFd<'_>, path: &Path, mode: u32) -> Result<Resolved> {
    let mut w = walk(root, path, true).map_err(|e| Error::sys("resolve", path, e))?;
    let mut at = w.existing_path();
    let (mut cur, _) = w
        .stack
        .pop()
        .ok_or_else(|| Error::Msg(format!("{}: empty walk", path.display())))?;
    if w.missing.is_empty() && !is_dir(cur.as_fd())? {
        return Err(Error::sys("mkdir", &at, Errno::ENOTDIR));
    }
    for name in w.missing {
        at.push(&name);
        match nix::sys::stat::mkdirat(&cur, name.as_os_str(), Mode::from_bits_truncate(mode)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Error::sys("mkdir", &at, e)),
        }
        // O_NOFOLLOW|O_DIRECTORY: a symlink swapped in meanwhile is refused.
        cur = nix::fcntl::openat(
            &cur,
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::sys("open", &at, e))?;
    }
    Ok(Resolved { fd: cur, path: at })
}

/// Make every directory of `path` inside the root; returns an `O_PATH` descriptor of the last.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> Result<OwnedFd> {
    ensure_dir_mode(root, path, mode).map(|r| r.fd)
}

/// Split a path into its parent and last component (which must be a normal name).
pub fn split(path: &Path) -> Result<(PathBuf, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Msg(format!("{}: no file name", path.display())))?;
    let parent = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    Ok((parent, name))
}

/// Resolve `path` and make sure something exists there: an existing object
/// (of any type) is returned as it is, otherwise an empty regular file is
/// made (with its parent directories).
pub fn ensure_file(root: BorrowedFd<'_>, path: &Path) -> Result<Resolved> {
    let w = walk(root, path, true).map_err(|e| Error::sys("resolve", path, e))?;
    if w.missing.is_empty() {
        let at = w.existing_path();
        let mut stack = w.stack;
        let (fd, _) = stack
            .pop()
            .ok_or_else(|| Error::Msg(format!("{}: empty walk", path.display())))?;
        return Ok(Resolved { fd, path: at });
    }
    let mut full = w.existing_path();
    full.extend(&w.missing);
    let (parent, name) = split(&full)?;
    let dir = ensure_dir(root, &parent)?;
    match nix::fcntl::openat(
        &dir.fd,
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
        Mode::from_bits_truncate(0o644),
    ) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(Error::sys("create", &full, e)),
    }
    let fd = open_one(dir.fd.as_fd(), name).map_err(|e| Error::sys("open", &full, e))?;
    if file_type(fd.as_fd())? == libc::S_IFLNK {
        return Err(Error::sys("create", &full, Errno::ELOOP));
    }
    Ok(Resolved {
        fd,
        path: dir.path.join(name),
    })
}

/// Whether a descriptor is a directory.
pub fn is_dir(fd: BorrowedFd<'_>) -> Result<bool> {
    Ok(file_type(fd)? == libc::S_IFDIR)
}

/// The file type bits of a descriptor.
pub fn file_type(fd: BorrowedFd<'_>) -> Result<u32> {
    let st = nix::sys::stat::fstat(fd).map_err(|e| Error::call("fstat", e))?;
    Ok(st.st_mode & libc::S_IFMT)
}

/// Copy the contents of directory `src` into directory `dst` (both readable
/// descriptors): directories, regular files, symlinks (never followed) and
/// device, fifo and socket nodes, with their mode, owner and times. Every
/// name is opened with `O_NOFOLLOW` relative to its parent's descriptor.
/// `at` names `src` in errors.
pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, at: &Path) -> Result<()> {
    use nix::fcntl::AtFlags;
    use nix::sys::stat::{FchmodatFlags, SFlag, UtimensatFlags};
    let dir = nix::dir::Dir::openat(
        src,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open", at, e))?;
    let mut names = Vec::new();
    for entry in dir.into_iter() {
        let entry = entry.map_err(|e| Error::sys("readdir", at, e))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    for name in names {
        let path = at.join(&name);
        let st = nix::sys::stat::fstatat(src, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| Error::sys("stat", &path, e))?;
        let kind = st.st_mode & libc::S_IFMT;
        let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
        let sys_err = |op: &'static str| {
            let path = path.clone();
            move |e: Errno| Error::sys(op, &path, e)
        };
        match kind {
            libc::S_IFDIR => {
                nix::sys::stat::mkdirat(dst, name.as_os_str(), Mode::from_bits_truncate(0o700))
                    .map_err(sys_err("mkdir"))?;
                let flags =
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let from = nix::fcntl::openat(src, name.as_os_str(), flags, Mode::empty())
                    .map_err(sys_err("open"))?;
                let to = nix::fcntl::openat(dst, name.as_os_str(), flags, Mode::empty())
                    .map_err(sys_err("open"))?;
                copy_tree(from.as_fd(), to.as_fd(), &path)?;
            }
            libc::S_IFREG => {
                let from = nix::fcntl::openat(
                    src,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(sys_err("open"))?;
                let to = nix::fcntl::openat(
                    dst,
                    name.as_os_str(),
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(sys_err("create"))?;
                let (mut from, mut to) = (std::fs::File::from(from), std::fs::File::from(to));
                std::io::copy(&mut from, &mut to)
                    .map_err(|e| crate::error::io_err("copy", &path, e))?;
            }
            libc::S_IFLNK => {
                let target =
                    nix::fcntl::readlinkat(src, name.as_os_str()).map_err(sys_err("readlink"))?;
                nix::unistd::symlinkat(target.as_os_str(), dst, name.as_os_str())
                    .map_err(sys_err("symlink"))?;
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK => {
                nix::sys::stat::mknodat(
                    dst,
                    name.as_os_str(),
                    SFlag::from_bits_truncate(kind),
                    perm,
                    st.st_rdev,
                )
                .map_err(sys_err("mknod"))?;
            }
            _ => continue,
        }
        // Owner first: chown clears the set-id bits that the mode then restores.
        nix::unistd::fchownat(
            dst,
            name.as_os_str(),
            Some(st.st_uid.into()),
            Some(st.st_gid.into()),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(sys_err("chown"))?;
        if kind != libc::S_IFLNK {
            nix::sys::stat::fchmodat(dst, name.as_os_str(), perm, FchmodatFlags::NoFollowSymlink)
                .or_else(|e| {
                    // Kernels before 6.6 refuse AT_SYMLINK_NOFOLLOW here; the
                    // entry was just made by us and is not a symlink.
                    if e == Errno::EOPNOTSUPP || e == Errno::ENOTSUP || e == Errno::EINVAL {
                        nix::sys::stat::fchmodat(
                            dst,
                            name.as_os_str(),
                            perm,
                            FchmodatFlags::FollowSymlink,
                        )
                    } else {
                        Err(e)
                    }
                })
                .map_err(sys_err("chmod"))?;
        }
        let atime = nix::sys::time::TimeSpec::new(st.st_atime, st.st_atime_nsec);
        let mtime = nix::sys::time::TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
        nix::sys::stat::utimensat(
            dst,
            name.as_os_str(),
            &atime,
            &mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(sys_err("utimensat"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, symlink};

    /// A temp tree: root/{etc/passwd, dir/sub, abs -> /etc, rel -> ../../etc,
    /// dang -> /nowhere/file, loop -> loop, up -> ..}, plus a file outside the root.
    struct Tree {
        base: PathBuf,
        root: PathBuf,
    }

    impl Tree {
        fn new(tag: &str) -> Tree {
            let base = std::env::temp_dir().join(format!(
                "husk-fs-test-{}-{tag}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&base);
            let root = base.join("root");
            std::fs::create_dir_all(root.join("etc")).unwrap();
            std::fs::create_dir_all(root.join("dir/sub")).unwrap();
            std::fs::create_dir_all(base.join("etc")).unwrap();
            std::fs::write(root.join("etc/passwd"), "inside").unwrap();
            std::fs::write(base.join("etc/passwd"), "OUTSIDE").unwrap();
            symlink("/etc", root.join("abs")).unwrap();
            symlink("../../../../../etc", root.join("dir/rel")).unwrap();
            symlink("/nowhere/file", root.join("dang")).unwrap();
            symlink("loop", root.join("loop")).unwrap();
            symlink("..", root.join("up")).unwrap();
            symlink(base.join("etc"), root.join("hostabs")).unwrap();
            Tree { base, root }
        }

        fn fd(&self) -> OwnedFd {
            nix::fcntl::open(
                &self.root,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .unwrap()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }

    fn read(fd: OwnedFd) -> String {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s).unwrap();
        s
    }

    fn ino(fd: &OwnedFd) -> u64 {
        nix::sys::stat::fstat(fd).unwrap().st_ino
    }

    /// Every case gives the same answer with openat2 and with the walk.
    #[test]
    fn walk_agrees_with_openat2() {
        let t = Tree::new("agree");
        let root = t.fd();
        let cases = [
            "/etc/passwd",
            "abs/passwd",
            "dir/rel/passwd",
            "up/up/../etc/passwd",
            "hostabs/passwd",
            "/../../etc/passwd",
            "dang",
            "loop",
            "etc/passwd/x",
            "dir/sub",
            "/",
            "abs",
            "missing/../etc/passwd",
        ];
        for c in cases {
            for flags in [
                libc::O_PATH,
                libc::O_PATH | libc::O_NOFOLLOW,
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
                libc::O_RDONLY,
                libc::O_RDONLY | libc::O_DIRECTORY,
                libc::O_RDONLY | libc::O_NOFOLLOW,
            ] {
                let fast = open(root.as_fd(), Path::new(c), flags);
                FORCE_WALK.with(|f| f.set(true));
                let slow = open(root.as_fd(), Path::new(c), flags);
                FORCE_WALK.with(|f| f.set(false));
                match (&fast, &slow) {
                    (Ok(a), Ok(b)) => assert_eq!(ino(a), ino(b), "{c} {flags:#x}"),
                    (Err(a), Err(b)) => assert_eq!(a, b, "{c} {flags:#x}"),
                    _ => panic!("{c} {flags:#x}: openat2 {fast:?}, walk {slow:?}"),
                }
            }
        }
        FORCE_WALK.with(|f| f.set(true));
        for c in [
            "abs/passwd",
            "dir/rel/passwd",
            "../etc/passwd",
            "up/etc/passwd",
        ] {
            let fd = open(root.as_fd(), Path::new(c), libc::O_RDONLY).unwrap();
            assert_eq!(read(fd), "inside", "{c} escaped the root");
        }
        FORCE_WALK.with(|f| f.set(false));
    }

    #[test]
    fn create_follows_dangling_links_inside_the_root() {
        let t = Tree::new("create");
        let root = t.fd();
        let r = ensure_file(root.as_fd(), Path::new("/dang")).unwrap();
        assert_eq!(r.path, PathBuf::from("/nowhere/file"));
        assert!(t.root.join("nowhere/file").is_file());
        assert!(!Path::new("/nowhere").exists());
        // A link to a host directory leads to the same path inside the root.
        let r = ensure_dir(root.as_fd(), Path::new("/hostabs/new/dir")).unwrap();
        assert_eq!(r.path, t.base.join("etc/new/dir"));
        let inside = t.root.join(t.base.strip_prefix("/").unwrap());
        assert!(inside.join("etc/new/dir").is_dir());
        assert!(!t.base.join("etc/new").exists());
        let r = ensure_dir(root.as_fd(), Path::new("dir/rel/../x/./y/../z")).unwrap();
        assert_eq!(r.path, PathBuf::from("/x/z"));
        assert_eq!(
            std::fs::metadata(t.root.join("x/z")).unwrap().ino(),
            ino(&r.fd)
        );
        assert!(ensure_dir(root.as_fd(), Path::new("etc/passwd/x")).is_err());
        assert!(ensure_dir(root.as_fd(), Path::new("loop/x")).is_err());
    }

    #[test]
    fn proc_magic_links_are_refused() {
        let root = nix::fcntl::open("/", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).unwrap();
        FORCE_WALK.with(|f| f.set(true));
        assert_eq!(
            open(root.as_fd(), Path::new("/proc/self/root/etc"), libc::O_PATH).err(),
            Some(Errno::ELOOP)
        );
        assert!(open(root.as_fd(), Path::new("/proc/self/status"), libc::O_RDONLY).is_ok());
        FORCE_WALK.with(|f| f.set(false));
        assert_eq!(
            open(root.as_fd(), Path::new("/proc/self/root/etc"), libc::O_PATH).err(),
            Some(Errno::ELOOP)
        );
    }
}
