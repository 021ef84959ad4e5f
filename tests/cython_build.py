"""Building and running a Cython consumer of the public cimport API
(``lrcore.cython_api``) in a temporary directory, for ``test_cimport.py`` and
``test_adaptive_cimport.py`` (``tests/`` is on ``sys.path``)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest
from subprocess_helpers import lrcore_env


def c_compiler():
    """The path of the C compiler Python was built with, or None when there is none."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc)


#: marks a test that needs a C compiler to build a consumer
needs_c_compiler = pytest.mark.skipif(c_compiler() is None,
                                      reason="no C compiler to build a Cython consumer")

SETUP = textwrap.dedent('''
    import numpy, lrcore
    from setuptools import setup, Extension
    from Cython.Build import cythonize
    ext = Extension("consumer", ["consumer.pyx"],
                    include_dirs=[lrcore.get_include(), numpy.get_include()])
    setup(ext_modules=cythonize([ext], quiet=True))
''')


def build_and_check(tmp_path, consumer, check):
    """Build ``consumer`` (the source of ``consumer.pyx``) in ``tmp_path`` with
    ``lrcore.get_include()`` and numpy's include, then run ``check`` (a script that imports
    it and prints ``OK`` when every assertion held) there; both against the lrcore under
    test.  Skips when Cython is missing; fails on a build error or a failed check."""
    pytest.importorskip("Cython", reason="building the consumer needs Cython")
    (tmp_path / "consumer.pyx").write_text(consumer)
    (tmp_path / "setup.py").write_text(SETUP)
    (tmp_path / "check.py").write_text(check)
    env = lrcore_env()
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    run = subprocess.run([sys.executable, "check.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "OK", run.stdout + run.stderr
