#!/usr/bin/env python3
"""Two profiles of bench/profile.sh compared: ns a request per DSO and per symbol, B against A, largest changes first.

    bench/profile-diff.py A B [ROWS] [DSO]     ROWS: how many symbols each way (40); DSO: only symbols of DSOs containing it ("JIT")

Samples are at 1999 Hz on the gateway's core, so a symbol's ns a request is samples / 1999 / requests in the window.
A single profile's symbols move by 20-30 ns between runs; compare sums over many symbols, or repeat."""
import collections
import re
import sys


def load(prefix):
    requests, seconds, window = map(int, open(prefix + ".req").read().split())
    per_window = requests * window / seconds
    samples = collections.Counter()
    for line in open(prefix + ".txt"):
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S.*?)\s+\[(.)\]\s+(.*)$", line)
        if m:
            # The same method at another tier is the same method.
            symbol = re.sub(r"\[(Optimized|OptimizedTier1|Tier0|Tier1|QuickJitted|Instrumented|PreJIT|OptimizedTier1OSR)[^\]]*\]", "", m.group(4)).strip()
            samples[(m.group(2).split()[0], symbol)] += int(m.group(1))
    return {k: v / 1999 / per_window * 1e9 for k, v in samples.items()}


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: bench/profile-diff.py A B [ROWS] [DSO]")
    a, b = load(sys.argv[1]), load(sys.argv[2])
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    only = sys.argv[4] if len(sys.argv) > 4 else None
    total = lambda p, f=lambda k: True: sum(v for k, v in p.items() if f(k))
    print(f"ns a request: A {total(a):.0f}, B {total(b):.0f}, B - A {total(b) - total(a):+.0f}")
    for dso in sorted({k[0] for k in a} | {k[0] for k in b}, key=lambda d: -abs(total(b, lambda k: k[0] == d) - total(a, lambda k: k[0] == d))):
        x, y = total(a, lambda k: k[0] == dso), total(b, lambda k: k[0] == dso)
        if abs(y - x) >= 10 or y >= 100:
            print(f"  {dso:40} A {x:7.0f}  B {y:7.0f}  {y - x:+6.0f}")
    keys = sorted((k for k in set(a) | set(b) if only is None or only in k[0]), key=lambda k: b.get(k, 0) - a.get(k, 0))
    print(f"{'B - A':>7} {'A':>7} {'B':>7}  symbol")
    for k in list(reversed(keys[-rows:])) + [None] + keys[:rows]:
        if k is None:
            print("    ...")
            continue
        print(f"{b.get(k, 0) - a.get(k, 0):+7.1f} {a.get(k, 0):7.1f} {b.get(k, 0):7.1f}  {k[0][:12]:12} {k[1][:140]}")


main()
