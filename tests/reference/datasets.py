"""Plain-numpy twin of lrcore.datasets.standardize_columns (and of the loaders'
``standardize=True``): the textbook formula, without the library's guards against
overflow, underflow and constant columns."""
import numpy as np


def standardize(X: np.ndarray) -> np.ndarray:
    """Plain-numpy reference: (x - mean) / population std, column by column."""
    X = np.asarray(X, dtype=np.float64)
    return (X - X.mean(axis=0)) / X.std(axis=0, ddof=0)
