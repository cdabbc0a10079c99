//! Mount option parsing: `husk::init::mountopts::parse` on an arbitrary
//! string split at commas (as the options of one mount in config.json).
//!
//! Checked besides "never panics": no flag is both set and cleared, no
//! recursive attribute is both set and cleared (outside the atime field,
//! which mount_setattr(2) clears as a whole), and the options reported by
//! `features` (`KNOWN`) are exactly those that do not become filesystem data.
#![no_main]

use husk::init::mountopts::{self, MOUNT_ATTR__ATIME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts: Vec<String> = text.split(',').map(str::to_string).collect();
    let o = mountopts::parse(&opts);
    let _ = o.is_bind();
    let joined = o.data_string();

    assert!(
        (o.flags & o.cleared).is_empty(),
        "flags {:?} both set and cleared",
        o.flags & o.cleared
    );
    let both = o.rec_attr.set & o.rec_attr.clear & !MOUNT_ATTR__ATIME;
    assert_eq!(
        both, 0,
        "recursive attributes {both:#x} both set and cleared"
    );

    for opt in &opts {
        let known = mountopts::KNOWN.contains(&opt.as_str());
        let in_data = o.data.iter().any(|d| d == opt);
        assert!(
            known != in_data,
            "{opt:?}: in KNOWN: {known}, passed as data: {in_data}"
        );
    }
    if !o.data.is_empty() {
        assert_eq!(joined.split(',').count(), o.data.len());
    }
});
