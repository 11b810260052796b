#!/usr/bin/env python3
"""Runs benchmark variants interleaved: short alternating slices of every variant, several rounds, then medians.

A baseline measured an hour apart from what it is compared with measures the machine's mood, not the code: on a
shared 2-core host PostgreSQL's commit rate changed by 2x between two days. Here every variant runs one short slice
per round, in an order rotated each round, so that all of them see the same machine, the same data size and the
same caches; the report gives per-variant medians over the rounds (and the spread) and the ratios against the
named baselines, computed per round and then the median taken.

Each variant is a shell command that prints one JSON object as its last line with at least
  rps, p50_ms, p99_ms, errors, calls            (crm-bench prints these; pgbench output is converted by pgbench.py)
The plan is a JSON file:
  {"title": "...", "rounds": 5,
   "variants": [{"name": "gateway-http", "cmd": "..."}, ...],
   "ratios": [{"name": "gateway/direct throughput", "num": "gateway-grpc", "den": "direct", "field": "rps"},
              {"name": "gateway added p50 ms", "num": "gateway-grpc", "den": "direct", "field": "p50_ms", "op": "diff"}]}
"num" or "den" may also be a list of variant names: per round, the largest value of the field among them (e.g. the
slowest of several single calls' p99 in that round), so that a variant is compared with the slowest of a set as each
round measured it. "op" is "div" (default), "diff", or "first" (num's value itself, to print such an aggregate).
Every slice's raw line is appended to --raw (committed beside the figures), the summary goes to stdout as text and,
with --json, as one JSON object.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time


def run_slice(cmd):
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    lines = [l for l in proc.stdout.strip().splitlines() if l.strip().startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"slice failed (exit {proc.returncode}): {cmd}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--raw", required=True, help="file the raw slice results are appended to (JSON lines)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    plan = json.load(open(args.plan))
    variants = plan["variants"]
    rounds = int(plan.get("rounds", 5))
    results = {v["name"]: [] for v in variants}
    with open(args.raw, "a") as raw:
        raw.write(json.dumps({"plan": plan.get("title", ""), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime())}) + "\n")
        for r in range(rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                res = run_slice(v["cmd"])
                res["variant"], res["round"] = v["name"], r
                results[v["name"]].append(res)
                raw.write(json.dumps(res) + "\n")
                raw.flush()
                print(f"  round {r + 1}/{rounds} {v['name']:<24} rps {res['rps']:9.1f}  p50 {res['p50_ms']:7.2f} ms  "
                      f"p99 {res['p99_ms']:7.2f} ms  errors {res.get('errors', 0)}", file=sys.stderr)

    def med(name, field):
        return statistics.median(x[field] for x in results[name])

    summary = {"title": plan.get("title", ""), "rounds": rounds, "variants": {}, "ratios": {}}
    print(f"\n{plan.get('title', '')}: {rounds} rounds, medians (min..max)")
    print(f"{'variant':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'calls':>8} {'errors':>6}")
    for v in variants:
        n = v["name"]
        rows = results[n]
        s = {f: med(n, f) for f in ("rps", "p50_ms", "p99_ms")}
        s["calls"] = sum(x.get("calls", 0) for x in rows)
        s["errors"] = sum(x.get("errors", 0) for x in rows)
        s["rps_range"] = [min(x["rps"] for x in rows), max(x["rps"] for x in rows)]
        summary["variants"][n] = s
        print(f"{n:<26} {s['rps']:9.1f} {s['p50_ms']:8.2f} {s['p99_ms']:8.2f} {s['calls']:8d} {s['errors']:6d}"
              f"   ({s['rps_range'][0]:.0f}..{s['rps_range'][1]:.0f} req/s)")
    for ratio in plan.get("ratios", []):
        field, op = ratio.get("field", "rps"), ratio.get("op", "div")
        def per_round_values(names):
            names = names if isinstance(names, list) else [names]
            return [max(results[n][r][field] for n in names) for r in range(rounds)]

        per_round = []
        for a, b in zip(per_round_values(ratio["num"]), per_round_values(ratio["den"])):
            per_round.append(a if op == "first" else a - b if op == "diff" else a / b if b else float("nan"))
        value = statistics.median(per_round)
        summary["ratios"][ratio["name"]] = {"median": value, "per_round": per_round}
        # A difference also as the difference of the two medians: the median of per-round differences and the
        # difference of medians can fall on either side of a goal, and both are worth seeing.
        of_medians = ""
        if op == "diff":
            dm = statistics.median(per_round_values(ratio["num"])) - statistics.median(per_round_values(ratio["den"]))
            summary["ratios"][ratio["name"]]["of_medians"] = dm
            of_medians = f"   of the medians: {dm:.3f}"
        print(f"{ratio['name']:<48} {value:9.3f}   per round: " + " ".join(f"{x:.3f}" for x in per_round) +
              of_medians)
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
