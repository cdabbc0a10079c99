"""Turn textprof's first-touch offsets into a symbol ordering file.

Usage: order.py HUSK PROFILE...   (HUSK with its symbol table; each PROFILE
lists hex offsets in the order first executed). Prints the names of the
functions containing them, each once, in the order of the first profile that
touched them.
"""

import bisect
import subprocess
import sys


def text_symbols(binary):
    out = subprocess.run(
        ["nm", "-n", "-S", "--defined-only", binary], capture_output=True, text=True, check=True
    ).stdout
    starts, ends, names = [], [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 4 or parts[2] not in ("t", "T", "W", "w", "i"):
            continue
        addr, size, name = int(parts[0], 16), int(parts[1], 16), parts[3]
        starts.append(addr)
        ends.append(addr + max(size, 1))
        names.append(name)
    return starts, ends, names


def main():
    starts, ends, names = text_symbols(sys.argv[1])
    seen = set()
    for path in sys.argv[2:]:
        try:
            offsets = [int(line, 16) for line in open(path) if line.strip()]
        except FileNotFoundError:
            continue
        for off in offsets:
            i = bisect.bisect_right(starts, off) - 1
            if i < 0 or off >= ends[i]:
                continue
            name = names[i]
            if name not in seen:
                seen.add(name)
                print(name)


if __name__ == "__main__":
    main()
