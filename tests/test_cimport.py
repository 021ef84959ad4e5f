"""Other Cython projects can `cimport` lrcore's kernels from the installed _core.pxd."""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import lrcore


def _have_compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None


CONSUMER = textwrap.dedent('''
    # cython: language_level=3
    from lrcore._core cimport adam_f64, sgd_f32, all_finite_f64, STATUS_OK, STATUS_NONFINITE

    def run(double[::1] x, const double[::1] g, double[::1] m, double[::1] v, long step):
        cdef int st
        with nogil:
            st = adam_f64(&x[0], &g[0], &m[0], &v[0], NULL, x.shape[0], step, 0.01,
                          0.9, 0.999, 1e-8, 0.0, 0, 0, 0, 1, 1)
        return st

    def run_sgd32(float[::1] x, const float[::1] g, double lr):
        cdef int st
        with nogil:
            st = sgd_f32(&x[0], &g[0], x.shape[0], lr, 0.0, 0, 1, 1)
        return st

    def finite(const double[::1] a):
        return all_finite_f64(&a[0], a.shape[0], 1) == STATUS_OK

    CODES = (STATUS_OK, STATUS_NONFINITE)
''')

SETUP = textwrap.dedent('''
    from setuptools import setup, Extension
    from Cython.Build import cythonize
    setup(ext_modules=cythonize([Extension("consumer", ["consumer.pyx"])], quiet=True))
''')

CHECK = textwrap.dedent('''
    import numpy as np, consumer
    import lrcore.optim as optim
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=33), rng.normal(size=33)
    m, v = np.zeros(33), np.zeros(33)
    x2, m2, v2 = x.copy(), m.copy(), v.copy()
    assert consumer.run(x, g, m, v, 1) == 0
    optim.adam_step(x2, g, m2, v2, 1, 0.01)
    assert np.array_equal(x, x2) and np.array_equal(m, m2) and np.array_equal(v, v2)
    g[5] = np.nan
    before = x.copy()
    assert consumer.run(x, g, m, v, 2) == consumer.CODES[1]
    assert np.array_equal(x, before)
    assert not consumer.finite(g) and consumer.finite(x)
    xf, gf = np.ones(4, np.float32), np.ones(4, np.float32)
    assert consumer.run_sgd32(xf, gf, 0.5) == 0 and np.all(xf == 0.5)
    print("OK")
''')


@pytest.mark.skipif(not _have_compiler(), reason="no C compiler to build a Cython consumer")
def test_cimport_from_another_cython_module(tmp_path):
    pytest.importorskip("Cython", reason="building the consumer needs Cython")
    (tmp_path / "consumer.pyx").write_text(CONSUMER)
    (tmp_path / "setup.py").write_text(SETUP)
    (tmp_path / "check.py").write_text(CHECK)
    env = dict(os.environ)
    # make the lrcore under test (installed or in-place build) visible to the subprocess
    pkg_parent = os.path.dirname(os.path.dirname(lrcore.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent, env.get("PYTHONPATH", "")])
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    run = subprocess.run([sys.executable, "check.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "OK"
