#!/usr/bin/env python3
"""Guard rails of docs/architecture.md, run by CTest (label lint).

Fails when:
  - a file under services/, gateway/src/ or common/src/ (tests excepted) passes 700 lines;
  - a service includes another service's code;
  - a file in a service's src/domain/ includes gRPC, protobuf, pqxx, librdkafka, hiredis or a heavy kit header;
  - an area includes another area's sql.hpp or handlers;
  - a service lacks the layout (src/main.cpp, src/register.cpp, src/domain/, an area folder, README.md, migrations/);
  - kit plumbing is written again inside a service (idempotency claims, JIT settings, page-token coding, etag checks,
    failpoint exits, lists of field violations, control-character checks).

Usage: layout.py [--root DIR] [--service NAME]   (default: the repository, every service)
"""
import argparse
import os
import re
import sys

MAX_LINES = 700
DOMAIN_ALLOWED_COMMON = {
    "violations", "validate", "text", "civil_date", "pg_array", "timezone", "public_token", "crypto", "resource", "errors",
    "html"
}
DOMAIN_FORBIDDEN = re.compile(r'#include\s*[<"](grpc|grpcpp|google/protobuf|pqxx|librdkafka|hiredis|prometheus)|'
                              r'#include\s*[<"][^>"]*\.pb\.h[>"]')
INCLUDE = re.compile(r'^\s*#include\s*[<"]([^>"]+)[>"]', re.M)
NOT_AREAS = {"domain"}

# Kit plumbing a service must call, not rewrite: (pattern, what to use instead).
PLUMBING = [
    (re.compile(r'INSERT INTO idempotency_keys'), 'common::ClaimRequest (idempotency.hpp)'),
    (re.compile(r'ALTER DATABASE'), 'the common migration crm_0004_database_settings'),
    (re.compile(r'CREATE TABLE\s+(IF NOT EXISTS\s+)?idempotency_keys'), 'the common migration crm_0003'),
    (re.compile(r'\b_Exit\s*\('), 'common::Failpoint (failpoint.hpp)'),
    (re.compile(r'\b(bool|void)\s+CheckEtag\s*\('), 'common::CheckEtag (resource.hpp)'),
    (re.compile(r'\bClaimRequest\s*\([^)]*\)\s*\{'), 'common::ClaimRequest (idempotency.hpp)'),
    (re.compile(r'\busing\s+\w*Violations\s*=\s*std::vector'), 'common::Violations (violations.hpp)'),
    (re.compile(r'\bstruct\s+FieldViolation\b'), 'common::FieldViolation (violations.hpp)'),
    (re.compile(r'\bBase64UrlEncode\s*\(\s*\w*\.dump\(\)'), 'common::EncodePageToken (paging.hpp)'),
    (re.compile(r'\bbool\s+HasControlCharacters\s*\('), 'common::text / common::CheckText'),
    (re.compile(r'\bbool\s+IsValidUtf8\s*\('), 'common::text::IsValidUtf8'),
    (re.compile(r'\b(struct|class)\s+Cursor\s*\{'), 'common::TimeIdKey / DecodeTimeIdToken (paging.hpp)'),
]


def source_files(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in ("build", ".git")]
        for name in filenames:
            if name.endswith((".cpp", ".hpp", ".h", ".cc")):
                yield os.path.join(dirpath, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--service", action="append")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    problems = []
    services_dir = os.path.join(root, "services")
    services = sorted(d for d in os.listdir(services_dir) if os.path.isdir(os.path.join(services_dir, d)))
    selected = args.service or services

    # Size of every non-test C++ file of the services, the gateway and the kit.
    for top in [os.path.join(services_dir, s) for s in selected] + (
            [os.path.join(root, "gateway", "src"), os.path.join(root, "common", "src")] if not args.service else []):
        for path in source_files(top):
            if "/tests/" in path.replace(root, ""):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                n = sum(1 for _ in f)
            if n > MAX_LINES:
                problems.append(f"{os.path.relpath(path, root)}: {n} lines (at most {MAX_LINES})")

    for svc in selected:
        base = os.path.join(services_dir, svc)
        src = os.path.join(base, "src")
        for need in ["src/main.cpp", "src/register.cpp", "src/domain", "README.md", "migrations", "CMakeLists.txt"]:
            if not os.path.exists(os.path.join(base, need)):
                problems.append(f"services/{svc}: missing {need}")
        if os.path.isdir(src):
            areas = [d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)) and d not in NOT_AREAS]
            if not areas:
                problems.append(f"services/{svc}/src: no area folder")
            for legacy in ("storage", "api", "mapping", "support"):
                if legacy in areas:
                    problems.append(f"services/{svc}/src/{legacy}: a folder by technical layer, not by area "
                                    f"(docs/architecture.md)")
        for path in source_files(base):
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            includes = INCLUDE.findall(text)
            for inc in includes:
                m = re.match(r'(?:\.\./)*services/([a-z]+)/', inc)
                if m and m.group(1) != svc:
                    problems.append(f"{rel}: includes another service's code ({inc})")
            in_domain = "/src/domain/" in rel
            if in_domain:
                for line in text.splitlines():
                    if DOMAIN_FORBIDDEN.search(line):
                        problems.append(f"{rel}: domain/ must stay pure: {line.strip()}")
                for inc in includes:
                    m = re.match(r'crm/common/([a-z_]+)\.hpp$', inc)
                    if m and m.group(1) not in DOMAIN_ALLOWED_COMMON:
                        problems.append(f"{rel}: domain/ may not include {inc} (pure kit headers only)")
            elif "/src/" in rel and "/tests/" not in rel:
                area = rel.split("/src/", 1)[1].split("/")[0]
                for inc in includes:
                    m = re.match(r'([a-z_]+)/(sql\.hpp|handlers\.(?:hpp|cpp))$', inc)
                    if m and m.group(1) != area and m.group(1) not in NOT_AREAS:
                        problems.append(f"{rel}: reaches into another area's {inc}")
            if "/tests/" not in rel:
                for pattern, instead in PLUMBING:
                    if pattern.search(text):
                        problems.append(f"{rel}: kit plumbing written again ({pattern.pattern!r}); use {instead}")
        mig = os.path.join(base, "migrations")
        if os.path.isdir(mig):
            for name in sorted(os.listdir(mig)):
                with open(os.path.join(mig, name), encoding="utf-8") as f:
                    sql = f.read()
                for pattern, instead in PLUMBING[:3]:
                    if pattern.search(sql):
                        problems.append(f"services/{svc}/migrations/{name}: {pattern.pattern!r}; use {instead}")

    if problems:
        print("layout check failed (docs/architecture.md):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"layout check passed: {', '.join(selected)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
