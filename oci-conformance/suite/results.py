"""Render RESULTS.md from the --json files of several runs (one per runtime).

    python3 oci-conformance/suite/results.py COMMAND-LINE A.json B.json ... > RESULTS.md
"""

import json
import sys

MARK = {"pass": "pass", "fail": "**FAIL**", "skip": "skip", None: "-"}


def esc(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def main():
    command, files = sys.argv[1], sys.argv[2:]
    runs = [json.load(open(f)) for f in files]
    out = []
    w = out.append
    w("# oci-conformance results")
    w("")
    w(f"Generated {runs[0]['date']} on Linux {runs[0]['kernel']} (cgroup layout seen by the runtimes: {runs[0]['cgroup']}) by")
    w("")
    w(f"    {command}")
    w("")
    w("Every runtime ran the same way: inside a private mount namespace with `/sys/fs/cgroup/unified` unmounted")
    w("(Debian's crun refuses this machine's hybrid cgroup layout otherwise), each case with its own `--root`.")
    w("A case checks what the kernel shows, not what the runtime says; `skip` means the host cannot show the")
    w("clause (the reason is in the TAP output and below). Case ids name the spec file and clause; see README.md.")
    w("")
    w("| runtime | version | passed | failed | skipped | seconds |")
    w("|---|---|---:|---:|---:|---:|")
    for r in runs:
        s = r["summary"]
        w(f"| {r['runtime']} | {esc(r['version'])} | {s['passed']} | {s['failed']} | {s['skipped']} | {r['seconds']} |")
    w("")
    ids = []
    for r in runs:
        for c in r["cases"]:
            if c["id"] not in ids:
                ids.append(c["id"])
    by = [{c["id"]: c for c in r["cases"]} for r in runs]
    level = {}
    clause = {}
    for r in runs:
        for c in r["cases"]:
            level[c["id"]] = c["level"]
            clause[c["id"]] = c["clause"]
    w("| case | level | " + " | ".join(r["runtime"] for r in runs) + " |")
    w("|---|---|" + "---|" * len(runs))
    for cid in ids:
        cells = [MARK[b.get(cid, {}).get("outcome")] for b in by]
        w(f"| `{cid}` | {level[cid]} | " + " | ".join(cells) + " |")
    w("")
    w("## Why each failure failed")
    w("")
    for r, b in zip(runs, by):
        fails = [c for c in r["cases"] if c["outcome"] == "fail"]
        w(f"### {r['runtime']} ({len(fails)})")
        w("")
        for c in fails:
            d = c["detail"]
            w(f"- `{c['id']}`: {esc(d[:300] + ('...' if len(d) > 300 else ''))}")
        w("")
    w("## Skips")
    w("")
    seen = {}
    for r in runs:
        for c in r["cases"]:
            if c["outcome"] == "skip":
                seen.setdefault(c["id"], set()).add(c["detail"])
    for cid, why in seen.items():
        w(f"- `{cid}`: {esc('; '.join(sorted(why)))}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
