//! Record the git commit for `husk --version` (runc's `commit:` line).
fn main() {
    // The shipped build links in the order of this file (hack/lib.sh).
    println!("cargo:rerun-if-changed=hack/husk.order");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    if let Ok(out) = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        && out.status.success()
    {
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("cargo:rustc-env=HUSK_COMMIT={v}");
    }
}
