"""lrcore.datasets.load_digits (the data of the lrcore.torch demo; needs no torch).

References: the UCI record of the optical digits test set (1797 images, class counts
178/182/177/183/181/182/181/179/174/180, integers 0..16), the first image as published in
``optdigits.tes``, and scikit-learn's ``load_digits`` when it is installed.
"""
from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest

from lrcore.datasets import load_digits


def test_shape_types_and_names():
    X, y, names = load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == y.dtype == np.float64 and X.flags.c_contiguous
    assert names == tuple(f"pixel_{i}_{j}" for i in range(8) for j in range(8))
    assert np.all(X == np.round(X)) and X.min() == 0 and X.max() == 16
    assert np.bincount(y.astype(int)).tolist() == [178, 182, 177, 183, 181, 182, 181, 179,
                                                     174, 180]
    assert X[0].astype(int).tolist() == [
        0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0,
        0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0,
        0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0]
    assert y[:10].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    X2, _, _ = load_digits()
    assert X2 is not X and np.array_equal(X, X2)


def test_standardize_leaves_blank_pixels_at_zero():
    X, _, names = load_digits()
    Z, y, _ = load_digits(standardize=True)
    blank = [names.index(n) for n in ("pixel_0_0", "pixel_4_0", "pixel_4_7")]
    assert np.all(X[:, blank] == 0) and np.all(Z[:, blank] == 0)
    keep = [j for j in range(64) if j not in blank]
    assert np.allclose(Z[:, keep].mean(0), 0, atol=1e-12)
    assert np.allclose(Z[:, keep].std(0), 1, atol=1e-12)
    ref = (X[:, keep] - X[:, keep].mean(0)) / X[:, keep].std(0)
    assert np.allclose(Z[:, keep], ref, rtol=1e-12, atol=1e-12)


def test_file_is_the_documented_one():
    raw = resources.files("lrcore.datasets").joinpath("digits.csv.gz").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == (
        "b6ce6e38dc5438f106778c12b17f0d53813b688da30c388275f202398676741e")
    text = gzip.decompress(raw).decode("ascii")
    assert text.splitlines()[0].endswith(",pixel_7_7,target")
    readme = resources.files("lrcore.datasets").joinpath("README.md").read_text()
    assert "digits.csv.gz" in readme and "CC BY 4.0" in readme and "Alpaydin" in readme


def test_equals_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    X, y, names = load_digits()
    assert np.array_equal(X, d.data) and np.array_equal(y, d.target)
    assert list(names) == list(d.feature_names)
