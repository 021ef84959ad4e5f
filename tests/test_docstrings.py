"""Every example in lrcore's docstrings runs and prints what it says (numpy's refguide idea)."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import lrcore

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(lrcore.__path__, "lrcore.")
    if not m.name.startswith(("lrcore.torch", "lrcore.__main__"))
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with np.printoptions(legacy=False):
        res = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                              verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples failed in {name}"
