"""Run many leak-suite plans and report everything they left behind, as JSON.

Standard library only, so the same file runs on the host and inside the action image (one
container runs a whole table instead of one ``docker run`` per case). A plan says what to run
(argv), with which environment, after creating which files, directories and symbolic links,
and which directories to collect afterwards. Bytes travel as base64; ``@ROOT@`` in any argument,
variable or link target stands for the plan's own fresh directory.

    python driver.py PLANS.json RESULTS.json [WORKDIR]
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT_MARK = b"@ROOT@"
SCRUBBED_PREFIXES = ("QSJWT_", "INPUT_", "GITHUB_", "RUNNER_", "QLIK_JWT_")
SCRUBBED = ("CI", "GITLAB_CI", "CI_PROJECT_DIR")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _rooted(data: bytes, root: Path) -> bytes:
    return data.replace(ROOT_MARK, os.fsencode(root))


def base_environment() -> dict[bytes, bytes]:
    """This process's environment without anything a plan sets (or a CI system leaked in)."""
    return {
        name: value
        for name, value in os.environb.items()
        if not name.decode(errors="replace").startswith(SCRUBBED_PREFIXES)
        and name.decode(errors="replace") not in SCRUBBED
    }


def prepare(plan: Mapping[str, Any], root: Path) -> None:
    for rel in plan.get("dirs", []):
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, data in plan.get("files", {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_rooted(unb64(data), root))
    for rel, target in plan.get("symlinks", {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target.replace("@ROOT@", str(root)))


def collect(root: Path, rels: list[str]) -> dict[str, Any]:
    """Every entry under each directory: kind, mode, and the content of regular files."""
    found: dict[str, Any] = {}
    for rel in rels:
        base = root / rel
        if not base.exists():
            continue
        for path in sorted(base.rglob("*")):
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(path).replace(str(root), "@ROOT@")
                found[key] = {"kind": "link", "target": target}
            elif stat.S_ISDIR(info.st_mode):
                found[key] = {"kind": "dir", "mode": stat.S_IMODE(info.st_mode)}
            else:
                found[key] = {
                    "kind": "file",
                    "mode": stat.S_IMODE(info.st_mode),
                    "data": b64(path.read_bytes()),
                }
    return found


def run_plan(plan: Mapping[str, Any], workdir: Path) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="plan-", dir=workdir))
    prepare(plan, root)
    env = base_environment()
    for name, value in plan.get("env", {}).items():
        env[name.encode()] = _rooted(unb64(value), root)
    argv = [_rooted(unb64(arg), root) for arg in plan["argv"]]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            env=env,
            cwd=root / plan.get("cwd", "."),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=plan.get("timeout", 120),
            check=False,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except OSError as error:  # E2BIG and friends: the plan could not even start
        code, out, err = -1, b"", f"driver: cannot start: {error}".encode()
    result = {
        "id": plan["id"],
        "code": code,
        "stdout": b64(out),
        "stderr": b64(err),
        "seconds": round(time.monotonic() - started, 3),
        "entries": collect(root, plan.get("collect", ["."])),
        "root": str(root),
    }
    if plan.get("cleanup", True):
        shutil.rmtree(root, ignore_errors=True)
    return result


def run_all(
    plans: Sequence[Mapping[str, Any]], workdir: Path, workers: int = 0
) -> list[dict[str, Any]]:
    workdir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=workers or (os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda plan: run_plan(plan, workdir), plans))


def main(argv: list[str]) -> int:
    plans_path, results_path = Path(argv[1]), Path(argv[2])
    workdir = Path(argv[3]) if len(argv) > 3 else Path(tempfile.mkdtemp(prefix="leaks-"))
    plans = json.loads(plans_path.read_text(encoding="utf-8"))
    started = time.monotonic()
    results = run_all(plans, workdir)
    results_path.write_text(json.dumps(results), encoding="utf-8")
    sys.stderr.write(
        f"driver: {len(results)} plans in {time.monotonic() - started:.1f} s "
        f"with {os.cpu_count()} CPUs\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
