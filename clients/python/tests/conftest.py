"""Starts a real `verdict serve` for the tests, on a free loopback port with its own data dir.

The binary comes from `VERDICT_BIN` (CI sets it to the build it just made); without it the
tests build and run the server through cargo from the repository root. The sandbox's language
images live in `VERDICT_SANDBOX_DIR` (default: the per-user cache the Rust tests share), so
they are fetched and compiled once, not once per test session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def verdict_url():
    port = _free_port()
    data_dir = tempfile.mkdtemp(prefix="verdict-client-test-")
    binary = os.environ.get("VERDICT_BIN")
    command = [binary] if binary else ["cargo", "run", "--quiet", "--"]
    sandbox_dir = os.environ.get("VERDICT_SANDBOX_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "verdict"
    )
    command += ["serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, "--sandbox-dir", sandbox_dir]
    env = dict(os.environ, VERDICT_DATABASE_URL=f"sqlite://{data_dir}/verdict.db")
    server = subprocess.Popen(command, cwd=REPO_ROOT if not binary else data_dir, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + (600 if not binary else 60)
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"verdict serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("verdict serve did not become healthy")
        time.sleep(0.1)
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
