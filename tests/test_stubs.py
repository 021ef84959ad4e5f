"""lrcore/_core.pyi matches the compiled module (mypy's stubtest), with no catch-all."""
import os
import subprocess
import sys

import pytest
from subprocess_helpers import lrcore_env

import lrcore

HERE = os.path.dirname(os.path.abspath(__file__))


def test_core_stubs_match_the_runtime_module(tmp_path):
    pytest.importorskip("mypy.stubtest", reason="stubtest needs mypy")
    env = lrcore_env()
    env["MYPY_CACHE_DIR"] = str(tmp_path / "cache")
    cmd = [sys.executable, "-m", "mypy.stubtest", "lrcore._core",
           "--mypy-config-file", os.path.join(HERE, "stubtest_mypy.ini"),
           "--allowlist", os.path.join(HERE, "stubtest_allowlist.txt")]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_stub_has_no_catch_all():
    stub = open(os.path.join(os.path.dirname(lrcore.__file__), "_core.pyi")).read()
    assert "def __getattr__" not in stub
    assert '"unchecked"' in stub
