"""Importing lrcore.torch without PyTorch: one clear ImportError line (no torch needed)."""
from __future__ import annotations

import os
import subprocess
import sys

import lrcore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(lrcore.__file__)))


def test_import_without_torch_gives_one_clear_line():
    code = ("import sys; sys.modules['torch'] = None\n"     # what 'not installed' looks like
            "import lrcore\n"
            "assert 'lrcore.torch' not in sys.modules   # lrcore never imports it itself\n"
            "import lrcore.torch\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=ROOT)
    assert p.returncode == 1
    err = p.stderr.strip().splitlines()
    errors = [line for line in err if "Error" in line and not line.startswith(" ")]
    assert errors == [err[-1]], p.stderr                  # one exception, no chained ones
    assert err[-1].startswith("ImportError: lrcore.torch needs PyTorch")
    assert "pip install torch" in err[-1] and "lrcore[torch]" in err[-1]
    assert "During handling" not in p.stderr
