"""oci-conformance: runtime-spec conformance cases against any runtime binary.

Usually started through ../run, which builds the probe and the rootfs first:

    python3 oci-conformance/suite --runtime PATH --probe PROBE --rootfs DIR
        [--filter PATTERN] [--expect FILE] [--json FILE] [--list]

Prints TAP; the last line is exactly `N passed, N failed, N skipped`.
Exit status 0 when nothing failed.
"""

import argparse
import fnmatch
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import CASES, Fail, Skip  # noqa: E402

# importing a module registers its cases, in this order
for _m in ("cases_runtime", "cases_config", "cases_hooks", "cases_linux", "cases_cgroups", "cases_features"):
    __import__(_m)


class Suite:
    def __init__(self, runtime, probe, rootfs, tmp, keep=False):
        self.keep = keep
        self.runtime = runtime
        self.probe = probe
        self.rootfs = rootfs
        self.tmp = tmp
        self.cg_parent = f"/oci-conformance-{os.getpid()}"


def load_expect(path):
    """`case-id  # step N: why` lines → {case-id: note}."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            body, _, note = line.partition("#")
            body = body.strip()
            if not body:
                continue
            if not note.strip():
                sys.exit(f"{path}:{n}: {body}: every expected failure names the step that fixes it (# step N)")
            out[body] = note.strip()
    return out


def select_cases(pattern):
    if not pattern:
        return list(CASES)
    pats = [p for p in pattern.split(",") if p]

    def hit(c):
        return any(fnmatch.fnmatch(c.id, p) or p in c.id for p in pats)

    return [c for c in CASES if hit(c)]


def one_line(s, n=400):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 3] + "..."


def cleanup_cgroups(parent):
    """Remove the per-run cgroup parent (and any leaf a runtime left) everywhere."""
    _, v1, unified = harness.cgroup_layout()
    for mp in set(v1.values()) | ({unified} if unified else set()):
        top = mp + parent
        if not os.path.isdir(top):
            continue
        for d, subdirs, _ in sorted(os.walk(top), key=lambda x: -len(x[0])):
            try:
                os.rmdir(d)
            except OSError:
                pass


def run_case(suite, i, c):
    """Run one case in its own world; returns (outcome, detail, seconds)."""
    t = harness.T(suite, i, c)
    t0 = time.monotonic()
    outcome, detail = "pass", ""
    try:
        c.fn(t)
    except Skip as e:
        outcome, detail = "skip", str(e)
    except Fail as e:
        outcome, detail = "fail", str(e)
    except Exception as e:  # noqa: BLE001 - a bug in a case is a failure, loudly
        outcome, detail = "fail", f"suite error: {e!r}\n{traceback.format_exc()}"
    finally:
        try:
            t.cleanup()
        except Exception as e:  # noqa: BLE001
            print(f"# cleanup of {c.id} failed: {e!r}")
    return outcome, detail, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(prog="oci-conformance/run", description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", help="runtime binary (runc-compatible CLI)")
    ap.add_argument("--probe", help="static probe binary (tests/probe)")
    ap.add_argument("--rootfs", help="busybox rootfs template")
    ap.add_argument("--filter", default="", help="comma-separated glob or substring of case ids")
    ap.add_argument("--expect", help="expected-failures file: listed failures become TODO, listed passes fail")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories (bundles, logs) for a look")
    a = ap.parse_args()

    cases = select_cases(a.filter)
    if a.list:
        for c in cases:
            print(c.title())
        return 0
    if not (a.runtime and a.probe and a.rootfs):
        ap.error("--runtime, --probe and --rootfs are required (oci-conformance/run passes the last two)")
    if os.geteuid() != 0:
        sys.exit("oci-conformance: run as root (cases start real containers)")

    expect = load_expect(a.expect) if a.expect else {}
    unknown = sorted(set(expect) - {c.id for c in CASES})

    runtime = harness.Runtime(os.path.abspath(a.runtime))
    tmp = tempfile.mkdtemp(prefix="oci-conformance-")
    os.chmod(tmp, 0o755)
    rootfs = os.path.join(tmp, "rootfs-template")
    shutil.copytree(a.rootfs, rootfs, symlinks=True)
    shutil.copy2(a.probe, os.path.join(rootfs, "probe"))
    suite = Suite(runtime, a.probe, rootfs, tmp, a.keep)

    print("TAP version 13")
    print(f"# runtime: {runtime.path} ({runtime.version})")
    print(f"# kernel {os.uname().release}, cgroup layout {harness.cgroup_layout()[0]}")
    print(f"1..{len(cases) + (1 if unknown else 0)}")
    sys.stdout.flush()

    passed = failed = skipped = todo = 0
    results = []
    t_all = time.monotonic()
    try:
        for i, c in enumerate(cases, 1):
            outcome, detail, secs = run_case(suite, i, c)
            note = expect.get(c.id)
            line = c.title()
            if outcome == "skip":
                skipped += 1
                print(f"ok {i} - {line} # SKIP {one_line(detail)}")
            elif outcome == "pass" and note is None:
                passed += 1
                print(f"ok {i} - {line}")
            elif outcome == "pass":
                failed += 1
                print(f"not ok {i} - {line}")
                print(f"  # unexpectedly passed: remove it from {a.expect} ({note})")
            elif note is not None:
                passed += 1
                todo += 1
                print(f"not ok {i} - {line} # TODO {one_line(note, 120)}")
                print(f"  # {one_line(detail)}")
            else:
                failed += 1
                print(f"not ok {i} - {line}")
                for ln in detail.strip().splitlines()[:20]:
                    print(f"  # {ln}")
            sys.stdout.flush()
            results.append({"id": c.id, "level": c.level, "clause": c.clause, "outcome": outcome, "detail": one_line(detail, 1000), "secs": round(secs, 3)})
        if unknown:
            failed += 1
            print(f"not ok {len(cases) + 1} - {a.expect} lists cases that do not exist: {', '.join(unknown)}")
    finally:
        cleanup_cgroups(suite.cg_parent)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"# kept {tmp}")

    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {
                    "runtime": runtime.name,
                    "path": runtime.path,
                    "version": runtime.version,
                    "kernel": os.uname().release,
                    "cgroup": harness.cgroup_layout()[0],
                    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    "seconds": round(time.monotonic() - t_all, 1),
                    "summary": {"passed": passed, "failed": failed, "skipped": skipped, "todo": todo},
                    "cases": results,
                },
                f,
                indent=1,
            )
    if todo:
        print(f"# {todo} of the passes are expected failures (TODO) listed in {a.expect}")
    print(f"# {time.monotonic() - t_all:.1f}s")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
