"""The one place lrcore imports matplotlib (an optional dependency: ``lrcore[plot]``)."""
from __future__ import annotations

from typing import Any


def axes(ax: Any = None, *, what: str = "plotting", figsize: tuple[float, float] = (6, 4)) -> Any:
    """``ax``, or new axes on a new figure; a clear ImportError without matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(f"{what} needs matplotlib: pip install 'lrcore[plot]'") from exc
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax
