#!/usr/bin/env python3
"""Mints an HS256 JWT the gateway accepts, for local testing only (never a production issuer).

  CRM_JWT_HS256_SECRET=... gateway/tools/mint_token.py --tenant acme --sub user-1 --roles admin,sales_rep
  grpcurl -plaintext -H "authorization: Bearer $(gateway/tools/mint_token.py ...)" 127.0.0.1:50050 ...

Options allow broken tokens for negative tests: --ttl -60 (expired), --nbf-in 3600, --alg none, --aud other.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import uuid


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--secret", default=os.environ.get("CRM_JWT_HS256_SECRET"), help="default: $CRM_JWT_HS256_SECRET")
    p.add_argument("--iss", default=os.environ.get("CRM_JWT_ISSUER", "crm-local"))
    p.add_argument("--aud", default=os.environ.get("CRM_JWT_AUDIENCE", "crm-api"))
    p.add_argument("--sub", default="user-1")
    p.add_argument("--tenant", default="acme")
    p.add_argument("--roles", default="admin", help="comma-separated; empty for none")
    p.add_argument("--ttl", type=int, default=3600, help="seconds until exp (negative: already expired)")
    p.add_argument("--nbf-in", type=int, default=0, help="seconds until nbf")
    p.add_argument("--alg", default="HS256", help="header alg (anything but HS256 must be refused)")
    args = p.parse_args()
    if not args.secret:
        print("mint_token.py: set CRM_JWT_HS256_SECRET or pass --secret", file=sys.stderr)
        return 2
    now = int(time.time())
    header = {"alg": args.alg, "typ": "JWT"}
    claims = {
        "iss": args.iss,
        "aud": args.aud,
        "sub": args.sub,
        "tenant": args.tenant,
        "roles": [r for r in args.roles.split(",") if r],
        "iat": min(now, now + args.ttl - 1),
        "nbf": now + args.nbf_in,
        "exp": now + args.ttl,
        "jti": str(uuid.uuid4()),
    }
    signing_input = b64(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(args.secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    print(signing_input + "." + b64(signature))
    return 0


if __name__ == "__main__":
    sys.exit(main())
