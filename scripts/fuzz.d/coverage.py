"""Which operations of the contract the fuzzer never saw answered with a 2xx.

Reads the answers the hooks recorded (scripts/fuzz.d/hooks.py writes one line per answer
schemathesis received: method, path template, status) and every operation the contract
lists; prints a tally of statuses per operation to the tally file, then the count of
operations without any 2xx, each of them with the statuses it did get. Exits 1 when that
count is above 0.

    python3 coverage.py CONTRACT ANSWERS TALLY
"""

import collections
import json
import sys

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def operations(contract):
    for path, item in contract["paths"].items():
        for method in item:
            if method in METHODS:
                yield f"{method.upper()} {path}"


def main(contract_path, answers_path, tally_path):
    with open(contract_path) as f:
        contract = json.load(f)
    seen = collections.defaultdict(collections.Counter)
    try:
        with open(answers_path) as f:
            for line in f:
                method, path, status = line.split()
                seen[f"{method} {path}"][int(status)] += 1
    except FileNotFoundError:
        pass
    all_ops = list(operations(contract))
    with open(tally_path, "w") as f:
        for op in all_ops:
            counts = ", ".join(f"{s}×{n}" for s, n in sorted(seen[op].items())) or "never called"
            f.write(f"{op}: {counts}\n")
    without = [op for op in all_ops if not any(200 <= s < 300 for s in seen[op])]
    print(f"== operations without a 2xx: {len(without)} of {len(all_ops)}")
    for op in without:
        counts = ", ".join(f"{s}×{n}" for s, n in sorted(seen[op].items())) or "never called"
        print(f"   {op}  ({counts})")
    return 1 if without else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
