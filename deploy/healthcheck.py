"""Exit 0 when the healthdash server in this container answers /api/healthz, 1 otherwise (the image's HEALTHCHECK)."""

import os
import sys
import urllib.request

port = os.environ.get("HEALTHDASH_PORT", "8000").strip() or "8000"
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:  # refused, timed out, or an HTTP error status
    print(f"healthz: {exc}", file=sys.stderr)
    sys.exit(1)
