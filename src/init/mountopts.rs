//! Mount option strings of config.json turned into plain data: flags for
//! mount(2), propagation changes, recursive attributes for mount_setattr(2),
//! husk extensions, and the data string the filesystem gets. Pure, unit-tested.

use nix::mount::MsFlags;

/// Attributes for mount_setattr(2) with AT_RECURSIVE (`rro`, `rnosuid`, ...).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecAttr {
    pub set: u64,
    pub clear: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x200000;

/// The parsed options of one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Flags the options cleared (`rw`, `suid`, ...): kept to know what a remount must not set.
    pub cleared: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    pub rec_attr: RecAttr,
    pub tmpcopyup: bool,
    /// `idmap` (`Some(false)`) or `ridmap` (`Some(true)`): an id-mapped
    /// bind mount, see `init::idmap`.
    pub idmap: Option<bool>,
    /// Options passed to the filesystem (comma-joined).
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            rec_attr: RecAttr::default(),
            tmpcopyup: false,
            idmap: None,
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

/// MS_NOSYMFOLLOW (Linux 5.10), not in every libc binding.
pub const MS_NOSYMFOLLOW: u64 = 256;

/// Parse a mount's options as runc does: known flags become flags, the rest data.
pub fn parse(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    for opt in options {
        let set = |o: &mut MountOptions, f: MsFlags| {
            o.flags.insert(f);
            o.cleared.remove(f);
        };
        let clear = |o: &mut MountOptions, f: MsFlags| {
            o.flags.remove(f);
            o.cleared.insert(f);
        };
        // Later options win; the atime mode is a field, cleared as a whole (MOUNT_ATTR__ATIME).
        let rec = |o: &mut MountOptions, s: u64, c: u64| {
            o.rec_attr.set &= !c;
            o.rec_attr.set |= s;
            o.rec_attr.clear &= !(s & !MOUNT_ATTR__ATIME);
            o.rec_attr.clear |= c;
        };
        match opt.as_str() {
            "defaults" => {}
            "ro" => set(&mut o, MsFlags::MS_RDONLY),
            "rw" => clear(&mut o, MsFlags::MS_RDONLY),
            "suid" => clear(&mut o, MsFlags::MS_NOSUID),
            "nosuid" => set(&mut o, MsFlags::MS_NOSUID),
            "dev" => clear(&mut o, MsFlags::MS_NODEV),
            "nodev" => set(&mut o, MsFlags::MS_NODEV),
            "exec" => clear(&mut o, MsFlags::MS_NOEXEC),
            "noexec" => set(&mut o, MsFlags::MS_NOEXEC),
            "sync" => set(&mut o, MsFlags::MS_SYNCHRONOUS),
            "async" => clear(&mut o, MsFlags::MS_SYNCHRONOUS),
            "dirsync" => set(&mut o, MsFlags::MS_DIRSYNC),
            "remount" => set(&mut o, MsFlags::MS_REMOUNT),
            "mand" => set(&mut o, MsFlags::MS_MANDLOCK),
            "nomand" => clear(&mut o, MsFlags::MS_MANDLOCK),
            "atime" => clear(&mut o, MsFlags::MS_NOATIME),
            "noatime" => set(&mut o, MsFlags::MS_NOATIME),
            "diratime" => clear(&mut o, MsFlags::MS_NODIRATIME),
            "nodiratime" => set(&mut o, MsFlags::MS_NODIRATIME),
            "relatime" => set(&mut o, MsFlags::MS_RELATIME),
            "norelatime" => clear(&mut o, MsFlags::MS_RELATIME),
            "strictatime" => set(&mut o, MsFlags::MS_STRICTATIME),
            "nostrictatime" => clear(&mut o, MsFlags::MS_STRICTATIME),
            "lazytime" => set(&mut o, MsFlags::MS_LAZYTIME),
            "nolazytime" => clear(&mut o, MsFlags::MS_LAZYTIME),
            "iversion" => set(&mut o, MsFlags::MS_I_VERSION),
            "noiversion" => clear(&mut o, MsFlags::MS_I_VERSION),
            "acl" => set(&mut o, MsFlags::MS_POSIXACL),
            "noacl" => clear(&mut o, MsFlags::MS_POSIXACL),
            "silent" => set(&mut o, MsFlags::MS_SILENT),
            "loud" => clear(&mut o, MsFlags::MS_SILENT),
            "nosymfollow" => set(&mut o, MsFlags::from_bits_retain(MS_NOSYMFOLLOW)),
            "symfollow" => clear(&mut o, MsFlags::from_bits_retain(MS_NOSYMFOLLOW)),
            "bind" => set(&mut o, MsFlags::MS_BIND),
            "rbind" => set(&mut o, MsFlags::MS_BIND | MsFlags::MS_REC),
            "private" => o.propagation.push(MsFlags::MS_PRIVATE),
            "rprivate" => o.propagation.push(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
            "shared" => o.propagation.push(MsFlags::MS_SHARED),
            "rshared" => o.propagation.push(MsFlags::MS_SHARED | MsFlags::MS_REC),
            "slave" => o.propagation.push(MsFlags::MS_SLAVE),
            "rslave" => o.propagation.push(MsFlags::MS_SLAVE | MsFlags::MS_REC),
            "unbindable" => o.propagation.push(MsFlags::MS_UNBINDABLE),
            "runbindable" => o.propagation.push(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
            "rro" => rec(&mut o, MOUNT_ATTR_RDONLY, 0),
            "rrw" => rec(&mut o, 0, MOUNT_ATTR_RDONLY),
            "rnosuid" => rec(&mut o, MOUNT_ATTR_NOSUID, 0),
            "rsuid" => rec(&mut o, 0, MOUNT_ATTR_NOSUID),
            "rnodev" => rec(&mut o, MOUNT_ATTR_NODEV, 0),
            "rdev" => rec(&mut o, 0, MOUNT_ATTR_NODEV),
            "rnoexec" => rec(&mut o, MOUNT_ATTR_NOEXEC, 0),
            "rexec" => rec(&mut o, 0, MOUNT_ATTR_NOEXEC),
            "rnodiratime" => rec(&mut o, MOUNT_ATTR_NODIRATIME, 0),
            "rdiratime" => rec(&mut o, 0, MOUNT_ATTR_NODIRATIME),
            "rnosymfollow" => rec(&mut o, MOUNT_ATTR_NOSYMFOLLOW, 0),
            "rsymfollow" => rec(&mut o, 0, MOUNT_ATTR_NOSYMFOLLOW),
            "rrelatime" => rec(&mut o, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME),
            "rnorelatime" => rec(&mut o, 0, MOUNT_ATTR__ATIME),
            "rnoatime" => rec(&mut o, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME),
            "ratime" => rec(&mut o, 0, MOUNT_ATTR__ATIME),
            "rstrictatime" => rec(&mut o, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME),
            "rnostrictatime" => rec(&mut o, 0, MOUNT_ATTR__ATIME),
            "tmpcopyup" => o.tmpcopyup = true,
            "idmap" => o.idmap = Some(false),
            "ridmap" => o.idmap = Some(true),
            other => o.data.push(other.to_string()),
        }
    }
    o
}

/// The option names `features` reports.
pub const KNOWN: &[&str] = &[
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_data() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data_string(), "mode=755,size=65536k");
        let o = p(&["ro", "rw"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn bind_propagation_and_recursive() {
        let o = p(&["rbind", "rprivate", "rro", "rnosuid"]);
        assert!(o.is_bind() && o.flags.contains(MsFlags::MS_REC));
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.rec_attr.set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
        let o = p(&["rnoatime"]);
        assert_eq!(o.rec_attr.set, MOUNT_ATTR_NOATIME);
        assert_eq!(o.rec_attr.clear, MOUNT_ATTR__ATIME);
        assert!(p(&["tmpcopyup"]).tmpcopyup);
    }

    #[test]
    fn known_list_is_sorted_and_parses() {
        let mut s = KNOWN.to_vec();
        s.sort();
        assert_eq!(s, KNOWN);
        for k in KNOWN {
            assert!(p(&[k]).data.is_empty(), "{k} fell through to data");
        }
    }
}
