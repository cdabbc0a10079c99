//! What the v1 and v2 planners share: the [`Plan`] of writes they return,
//! and the translations that are the same on both (a hugepage limit's page
//! size, the rdma lines). Pure and unit-tested.

use std::collections::HashMap;

use oci_spec::runtime::LinuxRdma;

use crate::error::{Error, Result};

/// One write to a cgroup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// The v1 controller, or "unified" for a file of the cgroup2 tree of a hybrid host.
    pub controller: &'static str,
    pub file: String,
    pub value: String,
}

/// A [`Write`] of `value` to `file` of `controller`.
pub fn w(controller: &'static str, file: &str, value: impl ToString) -> Write {
    Write {
        controller,
        file: file.to_string(),
        value: value.to_string(),
    }
}

/// The plan for a set of resources: writes, and warnings for what runc also ignores.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub writes: Vec<Write>,
    pub warnings: Vec<String>,
}

/// The page size of `hugepageLimits[i]` (as in `hugetlb.<size>.max`), or an
/// error naming the field when it is not one.
pub fn hugepage_size(i: usize, size: &str) -> Result<&str> {
    if size.is_empty() || !size.ends_with('B') {
        return Err(Error::config(
            format!("linux.resources.hugepageLimits[{i}].pageSize"),
            format!("{size:?} is not a page size like \"2MB\""),
        ));
    }
    Ok(size)
}

/// The `rdma.max` lines for `linux.resources.rdma`, one a device, sorted by
/// device: `mlx5_1 hca_handle=3 hca_object=10000`.
pub fn rdma_lines(rdma: &HashMap<String, LinuxRdma>) -> Vec<String> {
    let mut devs: Vec<_> = rdma.iter().collect();
    devs.sort_by(|a, b| a.0.cmp(b.0));
    devs.into_iter()
        .map(|(dev, l)| {
            let mut parts = vec![dev.clone()];
            if let Some(h) = l.hca_handles() {
                parts.push(format!("hca_handle={h}"));
            }
            if let Some(o) = l.hca_objects() {
                parts.push(format!("hca_object={o}"));
            }
            parts.join(" ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugepage_sizes() {
        assert_eq!(hugepage_size(0, "2MB").unwrap(), "2MB");
        assert_eq!(hugepage_size(0, "1GB").unwrap(), "1GB");
        for bad in ["", "2M", "2048"] {
            let e = hugepage_size(3, bad).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("linux.resources.hugepageLimits[3].pageSize"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn rdma_lines_are_sorted_and_skip_what_is_unset() {
        let rdma: HashMap<String, LinuxRdma> = serde_json::from_value(serde_json::json!({
            "mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000},
            "mlx4_0": {"hcaObjects": 7},
            "hfi1": {}
        }))
        .unwrap();
        assert_eq!(
            rdma_lines(&rdma),
            vec![
                "hfi1",
                "mlx4_0 hca_object=7",
                "mlx5_1 hca_handle=3 hca_object=10000"
            ]
        );
    }
}
