"""Module-level objectives for the search tests (picklable by reference, so process pools
and Dask workers can import them)."""
import math

import numpy as np


def noisy_bowl(lr, budget=None, seed=None):
    """A seeded noisy objective with its minimum near lr = 0.05."""
    rng = np.random.default_rng(seed)
    b = 1 if budget is None else budget
    return (math.log10(lr) - math.log10(0.05)) ** 2 + 0.01 * rng.standard_normal() / b


def explodes_above_one(lr, budget=None, seed=None):
    """NaN above lr = 1, raises above lr = 5: failures the search must record."""
    if lr > 5:
        raise FloatingPointError("loss blew up")
    if lr > 1:
        return float("nan")
    return (lr - 0.3) ** 2


class Descent:
    """Gradient descent on 0.5 * L * w^2 for `budget` steps: a tiny 'training run'."""

    def __init__(self, L=4.0):
        self.L = L

    def __call__(self, lr, budget=None, seed=None):
        w = np.random.default_rng(seed).normal() if seed is not None else 1.0
        for _ in range(budget or 10):
            w -= lr * self.L * w
        return 0.5 * self.L * w * w
