//! Capabilities of the container process: names checked against what this
//! kernel supports, and the five sets applied in runc's order.

use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use nix::errno::Errno;
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

/// The capabilities the running kernel supports, probed once per process
/// (each probe is a prctl per capability).
fn supported() -> &'static CapsHashSet {
    static SUPPORTED: std::sync::OnceLock<CapsHashSet> = std::sync::OnceLock::new();
    SUPPORTED.get_or_init(caps::runtime::thread_all_supported)
}

/// Whether a `CAP_*` name is known to husk and supported by the running kernel.
pub fn known(name: &str) -> bool {
    Capability::from_str(name).is_ok_and(|c| supported().contains(&c))
}

/// Every capability name the running kernel supports, sorted (for `features`).
pub fn supported_names() -> Vec<String> {
    let mut v: Vec<String> = supported().iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

fn convert(set: &Option<Capabilities>) -> CapsHashSet {
    set.iter()
        .flatten()
        .filter_map(|c| {
            let name = serde_json::to_value(c).ok()?;
            Capability::from_str(name.as_str()?).ok()
        })
        .collect()
}

/// The sets to apply, translated once.
pub struct CapSets {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

impl CapSets {
    /// Translate the config; a missing `capabilities` object means none at all.
    pub fn new(c: Option<&LinuxCapabilities>) -> Self {
        match c {
            None => CapSets {
                bounding: CapsHashSet::new(),
                effective: CapsHashSet::new(),
                permitted: CapsHashSet::new(),
                inheritable: CapsHashSet::new(),
                ambient: CapsHashSet::new(),
            },
            Some(c) => CapSets {
                bounding: convert(c.bounding()),
                effective: convert(c.effective()),
                permitted: convert(c.permitted()),
                inheritable: convert(c.inheritable()),
                ambient: convert(c.ambient()),
            },
        }
    }

    /// Leave out, with a warning, every capability this process cannot
    /// grant (not in its own permitted set, e.g. one the host's bounding set
    /// lacks): runtime-spec says a runtime SHOULD NOT fail for those.
    pub fn drop_ungrantable(&mut self) {
        let Ok(have) = caps::read(None, CapSet::Permitted) else {
            return;
        };
        let mut missing: Vec<String> = Vec::new();
        for set in [
            &mut self.bounding,
            &mut self.effective,
            &mut self.permitted,
            &mut self.inheritable,
            &mut self.ambient,
        ] {
            set.retain(|c| {
                let ok = have.contains(c);
                if !ok && !missing.contains(&c.to_string()) {
                    missing.push(c.to_string());
                }
                ok
            });
        }
        for m in missing {
            log::warn!("process.capabilities: {m} is not available to husk here and is left out");
        }
    }

    /// Drop from the bounding set everything not asked for (needs CAP_SETPCAP: before the uid switch).
    pub fn apply_bounding(&self) -> Result<()> {
        for cap in supported().iter().copied() {
            if !self.bounding.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(|e| Error::Msg(format!("drop {cap} from the bounding set: {e}")))?;
            }
        }
        Ok(())
    }

    /// Set effective, permitted and inheritable in one `capset` (as runc
    /// does: the kernel then checks the new inheritable set against the old
    /// permitted one, so inheritable may hold what permitted does not), then
    /// ambient (after the uid switch).
    pub fn apply(&self) -> Result<()> {
        set_epi(
            mask(&self.effective),
            mask(&self.permitted),
            mask(&self.inheritable),
        )
        .map_err(|e| {
            Error::call("capset", e)
                .context("process.capabilities (effective, permitted, inheritable)")
        })?;
        caps::clear(None, CapSet::Ambient)
            .map_err(|e| Error::Msg(format!("clear ambient capabilities: {e}")))?;
        for cap in &self.ambient {
            // As runc: an ambient capability that cannot be raised (not in
            // permitted and inheritable) is not fatal; `spec::validate`
            // warns about it on the host, where the warning can be seen.
            let _ = caps::raise(None, CapSet::Ambient, *cap);
        }
        Ok(())
    }

    /// Ambient capabilities that cannot be raised because they are not in
    /// both the permitted and the inheritable set.
    pub fn unraisable_ambient(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ambient
            .iter()
            .filter(|c| !self.permitted.contains(c) || !self.inheritable.contains(c))
            .map(|c| c.to_string())
            .collect();
        v.sort();
        v
    }
}

fn mask(set: &CapsHashSet) -> u64 {
    set.iter().fold(0, |m, c| m | c.bitmask())
}

/// capset(2) with all three sets at once (version 3: two 32-bit words per set).
fn set_epi(effective: u64, permitted: u64, inheritable: u64) -> std::result::Result<(), Errno> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let hdr = Header {
        version: VERSION_3,
        pid: 0,
    };
    let word = |m: u64, i: u32| (m >> (32 * i)) as u32;
    let data: [Data; 2] = [0, 1].map(|i| Data {
        effective: word(effective, i),
        permitted: word(permitted, i),
        inheritable: word(inheritable, i),
    });
    // SAFETY: `hdr` and `data` are valid, properly laid out (linux/capability.h)
    // and outlive the call; the kernel only reads them.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const Header, data.as_ptr()) };
    if ret == 0 { Ok(()) } else { Err(Errno::last()) }
}
