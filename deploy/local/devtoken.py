#!/usr/bin/env python3
"""Mint a development HS256 JWT for the local CRM gateway (stdlib only).

Usage: devtoken.py [--tenant T] [--role R]... [--user U] [--ttl SECONDS]

The signing key is the UTF-8 bytes of $CRM_JWT_HS256_SECRET exactly as written
(the 64 hex characters are NOT hex-decoded). iss/aud come from $CRM_JWT_ISSUER
(default crm-local) and $CRM_JWT_AUDIENCE (default crm-api). A negative --ttl
gives an already expired token (useful in tests). Prints only the token.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret: str, issuer: str, audience: str, user: str, tenant: str, roles, ttl: int, now=None) -> str:
    iat = int(time.time()) if now is None else int(now)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": user,
        "tenant": tenant,
        "roles": list(roles),
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl,
        "jti": secrets.token_hex(16),
    }
    compact = dict(separators=(",", ":"), sort_keys=False)
    signing_input = b64url(json.dumps(header, **compact).encode()) + "." + b64url(json.dumps(claims, **compact).encode())
    sig = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="stack token", description="Mint a dev HS256 JWT for the local gateway.")
    p.add_argument("--tenant", default="acme")
    p.add_argument("--role", action="append", dest="roles", metavar="ROLE", help="repeatable; default: admin")
    p.add_argument("--user", default="dev-user")
    p.add_argument("--ttl", type=int, default=3600, help="seconds; default 3600")
    args = p.parse_args(argv)
    secret = os.environ.get("CRM_JWT_HS256_SECRET", "")
    if not secret:
        print("devtoken: CRM_JWT_HS256_SECRET is not set (run 'deploy/local/stack up' once)", file=sys.stderr)
        return 2
    print(mint(secret,
               os.environ.get("CRM_JWT_ISSUER", "crm-local"),
               os.environ.get("CRM_JWT_AUDIENCE", "crm-api"),
               args.user, args.tenant, args.roles or ["admin"], args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
