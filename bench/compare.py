"""The before/after table of BENCHMARKS.md from one results.tsv of
`BEFORE_SERVER=… bench/run.sh`: each login-runtime row on both builds, as instructions per
request and as ratios to its reference (actix-identity on the same store; for `/open`, the
same app without `LoginManager`), with the issue's target.
"""

import csv
import sys

ROWS = [
    ("ours-off", "session protection off", "identity", 1.00),
    ("ours-basic", "defaults (basic protection)", "identity", 1.15),
    ("ours-session-hash", "user with `#[auth(session_hash)]`", "identity", 1.25),
    ("ours-remember", "only the remember cookie (restore every request)", "identity", 1.60),
    ("ours-redis", "on `RedisSessionStore`", "identity-redis", 1.10),
    ("open-manager", "unguarded route inside `LoginManager`", "open-no-manager", 1.02),
]

rows = {r["row"]: r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}


def ir(name):
    try:
        return int(rows[name]["ir"])
    except (KeyError, ValueError):
        return None


def k(value):
    return f"{value / 1000:.1f}k" if value is not None else "–"


print("| login-runtime row | reference | reference Ir | before Ir | × ref | after Ir | × ref "
      "| target | met |")
print("|---|---|---:|---:|---:|---:|---:|---:|:---:|")
for name, label, ref, target in ROWS:
    r, b, a = ir(ref), ir("before:" + name), ir(name)
    rb = b / r if b and r else None
    ra = a / r if a and r else None
    met = "yes" if ra is not None and ra <= target + 0.005 else "no"
    print(f"| {label} | `{ref}` | {k(r)} | {k(b)} | {rb:.2f} | {k(a)} | {ra:.2f} "
          f"| ≤ {target:.2f} | {met} |")
