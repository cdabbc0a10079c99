//! Capabilities of the container process: names checked against what this
//! kernel supports, and the five sets applied in runc's order.

use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

/// Whether a `CAP_*` name is known to husk and supported by the running kernel.
pub fn known(name: &str) -> bool {
    Capability::from_str(name).is_ok_and(|c| caps::runtime::thread_all_supported().contains(&c))
}

/// Every capability name the running kernel supports, sorted (for `features`).
pub fn supported_names() -> Vec<String> {
    let mut v: Vec<String> = caps::runtime::thread_all_supported()
        .iter()
        .map(|c| c.to_string())
        .collect();
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

    /// Drop from the bounding set everything not asked for (needs CAP_SETPCAP: before the uid switch).
    pub fn apply_bounding(&self) -> Result<()> {
        for cap in caps::runtime::thread_all_supported() {
            if !self.bounding.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(|e| Error::Msg(format!("drop {cap} from the bounding set: {e}")))?;
            }
        }
        Ok(())
    }

    /// Set effective, permitted, inheritable and ambient (after the uid switch).
    pub fn apply(&self) -> Result<()> {
        let set = |which: CapSet, v: &CapsHashSet, name: &str| {
            caps::set(None, which, v)
                .map_err(|e| Error::Msg(format!("set {name} capabilities: {e}")))
        };
        // The effective set must stay a subset of the permitted one at each step.
        let current_permitted = caps::read(None, CapSet::Permitted).unwrap_or_default();
        let eff_now: CapsHashSet = self
            .effective
            .intersection(&current_permitted)
            .copied()
            .collect();
        set(CapSet::Effective, &eff_now, "effective")?;
        set(CapSet::Permitted, &self.permitted, "permitted")?;
        set(CapSet::Effective, &self.effective, "effective")?;
        set(CapSet::Inheritable, &self.inheritable, "inheritable")?;
        caps::clear(None, CapSet::Ambient)
            .map_err(|e| Error::Msg(format!("clear ambient capabilities: {e}")))?;
        for cap in &self.ambient {
            // As runc: an ambient capability that cannot be raised (not in
            // permitted and inheritable) is warned about, not fatal.
            if let Err(e) = caps::raise(None, CapSet::Ambient, *cap) {
                log::warn!("can't raise ambient capability {cap}: {e}");
            }
        }
        Ok(())
    }
}
