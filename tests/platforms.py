"""Skip markers for what a test needs from the system, each with its reason.

The unit tests run on Linux, macOS and Windows (.github/workflows/ci.yml). A test that needs a
POSIX-only facility says which one, so a skip on another system is never a surprise; what the
product does without those facilities is tested everywhere by tests/io/test_files_portable.py.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import pytest

WINDOWS = sys.platform == "win32"

POSIX_MODES = pytest.mark.skipif(
    WINDOWS, reason="Windows keeps only the read-only flag of a file mode (see SECURITY.md)"
)
SYMLINKS = pytest.mark.skipif(
    WINDOWS, reason="creating symbolic links on Windows needs a privilege or developer mode"
)
POSIX_SIGNALS = pytest.mark.skipif(
    WINDOWS or not hasattr(signal, "SIGHUP"),
    reason="os.kill on Windows ends the process instead of raising a signal; no SIGHUP/SIGPIPE",
)
FIFOS = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs (os.mkfifo) on Windows")
UNIX_SOCKETS = pytest.mark.skipif(
    not hasattr(socket, "AF_UNIX") or WINDOWS, reason="no AF_UNIX socket files here"
)
DEV_NULL_PATH = pytest.mark.skipif(
    not Path("/dev/null").exists(), reason="no /dev/null path (Windows has NUL)"
)
DEV_FULL = pytest.mark.skipif(
    not Path("/dev/full").exists(), reason="/dev/full exists on Linux only (not macOS, Windows)"
)
PROCFS = pytest.mark.skipif(
    not Path("/proc/sys").is_dir(), reason="/proc exists on Linux only (not macOS, Windows)"
)
UNNAMED_FILES = pytest.mark.skipif(
    not hasattr(os, "O_TMPFILE") or not Path("/proc/self/fd").is_dir(),
    reason="O_TMPFILE and /proc/self/fd are Linux only",
)
PREEXEC = pytest.mark.skipif(
    WINDOWS, reason="subprocess preexec_fn (closing a child's stdout before exec) is POSIX only"
)
POSIX_SHELL = pytest.mark.skipif(
    WINDOWS, reason="runs job scripts with sh and checks POSIX paths and modes"
)
LINUX_ONLY_PLACES = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="the leak table writes to Linux-only places (/dev/full, /proc/sys) and runs sh",
)
