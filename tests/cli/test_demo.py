"""``make demo``'s script runs on the runtime dependencies alone and prints no warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_demo_passes_without_a_warning(tmp_path: Path) -> None:
    shim = tmp_path / "bin" / "qs-jwt"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m qsjwt "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSJWT_")}
    env["PATH"] = f"{shim.parent}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        ["sh", str(ROOT / "scripts" / "demo.sh")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "warning:" not in done.stdout + done.stderr
    assert "every token verifies" in done.stdout


def test_make_demo_installs_only_the_runtime_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(DEMO_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "requirements/runtime.txt" in recipe
    assert "dev.txt" not in recipe and "ci-tools" not in recipe
    assert "demo: $(DEMO_STAMP)" in makefile
