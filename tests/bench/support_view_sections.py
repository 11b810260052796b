#!/usr/bin/env python3
"""Profile of GetCustomer360: sequential calls over HTTP through the gateway, the sections' own elapsed_ms as the view
reports them (when each section finished, from the view's start), the slowest section per call, the whole call as the
client saw it, and the call minus its slowest section (the view's own part plus the gateway and HTTP). Not a test.

usage: support_view_sections.py --token T --contact ID [--calls N] [--address HOST:PORT]
       (address: $CRM_TEST_GATEWAY_HTTP by default)
"""
import argparse
import http.client
import json
import os
import time

SECTIONS = ["contact", "sales", "lead", "cases", "marketing"]


def quantile(values, q):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--contact", required=True)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--address", default=os.environ.get("CRM_TEST_GATEWAY_HTTP", "127.0.0.1:8080"))
    args = parser.parse_args()
    host, port = args.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"authorization": "Bearer " + args.token}
    rows = {name: [] for name in SECTIONS + ["slowest", "http_total", "http_total - slowest"]}
    errors = 0
    for _ in range(args.calls):
        start = time.perf_counter()
        conn.request("GET", "/v1/customer360/" + args.contact, headers=headers)
        reply = conn.getresponse()
        body = reply.read()
        total = (time.perf_counter() - start) * 1000
        if reply.status != 200:
            errors += 1
            continue
        view = json.loads(body)
        slowest = 0.0
        for name in SECTIONS:
            elapsed = float(view.get(name + "Section", {}).get("elapsedMs", 0))
            rows[name].append(elapsed)
            slowest = max(slowest, elapsed)
        rows["slowest"].append(slowest)
        rows["http_total"].append(total)
        rows["http_total - slowest"].append(total - slowest)
    print("GetCustomer360 over HTTP, %d sequential calls, one contact; per-section elapsed_ms as the view reports it "
          "(errors: %d)" % (args.calls, errors))
    for name, values in rows.items():
        print("%-22s p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f" %
              (name, quantile(values, 0.5), quantile(values, 0.9), quantile(values, 0.99), max(values or [0])))


if __name__ == "__main__":
    main()
