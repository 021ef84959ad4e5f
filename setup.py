"""Build the single extension module ``lrcore._core`` (all metadata is in pyproject.toml).

Environment switches (all opt-in):

``LRCORE_NATIVE=1``
    add ``-march=native`` (binaries then only run on this CPU family).
``LRCORE_SANITIZE=address,undefined``
    build with ``-fsanitize=...`` (see README, "Development", for how to run it).
``LRCORE_DEBUG=1``
    ``-O0 -g`` and Cython bounds checking.
``LRCORE_OPENMP=0``
    build without OpenMP (kernels then run on one thread).
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _env(name, default=""):
    return os.environ.get(name, default).strip()


def _compiler_accepts(compiler, flags):
    """True if the C compiler builds and links a trivial OpenMP program with ``flags``."""
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n")
        exe = os.path.join(tmp, "t")
        cmd = list(compiler) + flags + [src, "-o", exe]
        return subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def build_extensions(self):
        ctype = self.compiler.compiler_type
        for ext in self.extensions:
            cflags, ldflags, macros = [], [], []
            if ctype == "unix":
                debug = _env("LRCORE_DEBUG") not in ("", "0")
                cflags += ["-std=c11", "-fno-math-errno", "-Wall", "-Wno-unused-function"]
                cflags += ["-O0", "-g"] if debug else ["-O3"]
                if _env("LRCORE_NATIVE") not in ("", "0"):
                    cflags.append("-march=native")
                    macros.append(("LRC_NATIVE", "1"))
                san = _env("LRCORE_SANITIZE")
                if san:
                    cflags += [f"-fsanitize={san}", "-fno-omit-frame-pointer", "-g",
                               "-fno-sanitize-recover=all"]
                    ldflags += [f"-fsanitize={san}"]
                    # the AVX2 and baseline clones of the hot loops are built (and the one
                    # the CPU picks is run) under the sanitizers too
                if _env("LRCORE_OPENMP", "1") not in ("0", ""):
                    cc = self.compiler.compiler_so[:1]
                    if _compiler_accepts(cc, ["-fopenmp"]):
                        cflags.append("-fopenmp")
                        ldflags.append("-fopenmp")
                    else:
                        print("lrcore: the C compiler has no OpenMP; kernels run on one thread",
                              file=sys.stderr)
            elif ctype == "msvc":
                cflags += ["/O2", "/std:c11", "/openmp"]
            ext.extra_compile_args = cflags + ext.extra_compile_args
            ext.extra_link_args = ldflags + ext.extra_link_args
            ext.define_macros = ext.define_macros + macros
        super().build_extensions()


HERE = os.path.dirname(os.path.abspath(__file__))
csrc = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.c")))
depends = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.[hi]*")))
depends += sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "lrcore", "*.p[xy]i")))
depends += sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "lrcore", "*.pxd")))
# the public header lives in the package (installed with it: lrcore.get_include());
# csrc/internal.h is private and never installed
depends += sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "lrcore", "include", "*.h")))

ext = Extension(
    "lrcore._core",
    sources=["lrcore/_core.pyx"] + csrc,
    include_dirs=[numpy.get_include(), os.path.join("lrcore", "include"), "csrc"],
    depends=depends,
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
)

debug = _env("LRCORE_DEBUG") not in ("", "0")
setup(
    ext_modules=cythonize(
        [ext],
        language_level=3,
        compiler_directives={
            "boundscheck": debug,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": debug,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_ext": BuildExt},
)
