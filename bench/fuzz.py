"""The big fuzz run (make fuzz): tests/fuzz under the ``big`` hypothesis profile, in two pytest processes
(the OpenAPI operations; geometry, WFS, tiles and uploads), each with its own test database; prints the
cases each counted as it sent them and the server errors (the target is 0 over at least 10,000 cases)."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = {
    "openapi": ["tests/fuzz/test_openapi_fuzz.py"],
    "inputs": ["tests/fuzz/test_geometry.py", "tests/fuzz/test_wfs_xml.py", "tests/fuzz/test_tiles_uploads.py",
               "tests/fuzz/test_corpus.py"],
}


def main() -> int:
    base = os.environ.get("FIELDSVC_TEST_DB_NAME", "test_fieldsvc_fuzz")
    out = Path(tempfile.mkdtemp(prefix="fieldsvc-fuzz-"))
    started, runs = time.monotonic(), {}
    for name, paths in PARTS.items():
        env = os.environ | {"FIELDSVC_FUZZ_PROFILE": os.environ.get("FIELDSVC_FUZZ_PROFILE", "big"),
                            "FIELDSVC_TEST_DB_NAME": f"{base}_{name}",
                            "FIELDSVC_FUZZ_REPORT": str(out / f"{name}.json")}
        log = open(out / f"{name}.log", "w")  # noqa: SIM115 - closed when the process ends
        runs[name] = (subprocess.Popen([sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"],
                                       cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log)
    failed = False
    cases = errors = 0
    for name, (process, log) in runs.items():
        code = process.wait()
        log.close()
        report = out / f"{name}.json"
        found = json.loads(report.read_text()) if report.exists() else {"cases": 0, "server_errors": 0, "by_kind": {}}
        cases, errors = cases + found["cases"], errors + found["server_errors"]
        print(f"{name:8} cases={found['cases']:>6}  server_errors={found['server_errors']}  "
              f"refused_writes_checked={found.get('refused_writes_checked', 0)}  pytest_exit={code}  "
              f"{found['by_kind']}")
        for error in found.get("errors", []):
            print(f"   {error['status']} {error['request'][:200]}")
        failed |= code != 0
    print(f"total    cases={cases:>6}  server_errors={errors}  in {time.monotonic() - started:.0f} s  (logs: {out})")
    return 1 if failed or errors or cases < 10_000 else 0


if __name__ == "__main__":
    sys.exit(main())
