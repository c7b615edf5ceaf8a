"""Per-request instructions by function, from a row's two callgrind runs.

    perreq.py DIR ROW [N1 N2] [--exclusive] [--top K] [--against OTHER_ROW]

Runs callgrind_annotate on DIR/ROW.N1.callgrind and DIR/ROW.N2.callgrind and prints, for
each function, (Ir in the N2 run - Ir in the N1 run) / (N2 - N1): start-up cancels out as it
does for the row's total. Inclusive by default (a function with everything it calls).
With --against, prints ROW's figure minus OTHER_ROW's: where ROW's extra instructions go.
"""

import re
import subprocess
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
exclusive = "--exclusive" in sys.argv
top = 40
if "--top" in sys.argv:
    top = int(sys.argv[sys.argv.index("--top") + 1])
    args = [a for a in args if a != str(top)]
against = None
if "--against" in sys.argv:
    against = sys.argv[sys.argv.index("--against") + 1]
    args = [a for a in args if a != against]
directory, row = args[0], args[1]
n1, n2 = (int(args[2]), int(args[3])) if len(args) > 3 else (300, 1300)

LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.*?)(?: \[.*\])?$")


def costs(n, row):
    out = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'no' if exclusive else 'yes'}", "--threshold=100",
         f"{directory}/{row}.{n}.callgrind"],
        capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m and "PROGRAM TOTALS" not in line:
            table[m.group(2)] = table.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return table


def per_request(row):
    a, b = costs(n1, row), costs(n2, row)
    return {name: (b.get(name, 0) - a.get(name, 0)) / (n2 - n1) for name in set(a) | set(b)}


per = per_request(row)
if against:
    other = per_request(against)
    per = {name: per.get(name, 0) - other.get(name, 0) for name in set(per) | set(other)}
for name, ir in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
    print(f"{ir:9.0f}  {name[:160]}")
