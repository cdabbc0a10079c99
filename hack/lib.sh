# Shared helpers for hack/ scripts. Source it; never run it.
set -euo pipefail

HUSK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export HUSK_TOP

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Install Debian packages that are missing (apt-get update once, only when needed).
need_pkgs() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Build the static probe (tests/probe) and print its path.
build_probe() {
    (cd "$HUSK_TOP" && RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build -q -p husk-probe --release --target x86_64-unknown-linux-gnu --target-dir target/probe)
    echo "$HUSK_TOP/target/probe/x86_64-unknown-linux-gnu/release/probe"
}

# Build husk as shipped and print its path: a static-pie binary (glibc linked
# in, position independent, so ASLR stays). No dynamic loader, no libc.so to
# map and relocate at each of create's execs: every command starts faster and
# holds less memory. Relative relocations are packed (DT_RELR, glibc >= 2.36,
# binutils >= 2.38): the table the start-up code reads shrinks from ~240 KiB
# to ~4 KiB, which every husk process otherwise paged in.
# PROFILE=release (default) or dev. The --target keeps the static flags off
# build scripts and proc-macros.
# The functions the commands run are laid out together, in the order of
# hack/husk.order (made by hack/link-order): the kernel maps text 64 KiB
# around each fault, so scattered code costs memory and faults.
STATIC_RUSTFLAGS="-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs"
build_static() {
    local profile=${1:-release} dir=release
    [ "$profile" = dev ] && dir=debug
    local order="-C link-arg=-Wl,--symbol-ordering-file=$HUSK_TOP/hack/husk.order -C link-arg=-Wl,--no-warn-symbol-ordering"
    (cd "$HUSK_TOP" && RUSTFLAGS="$STATIC_RUSTFLAGS $order" \
        cargo build -q --bin husk --profile "$profile" --target x86_64-unknown-linux-gnu)
    echo "${CARGO_TARGET_DIR:-$HUSK_TOP/target}/x86_64-unknown-linux-gnu/$dir/husk"
}

# make_rootfs DIR: a busybox-static root filesystem with /etc/passwd and group.
make_rootfs() {
    local r=$1
    mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root,home/user}
    cp /bin/busybox "$r/bin/busybox"
    for a in $("$r/bin/busybox" --list); do
        [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' >"$r/etc/group"
    chmod 1777 "$r/tmp"
}
