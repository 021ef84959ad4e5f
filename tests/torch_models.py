"""Small torch models, data and exact references shared by the torch tests
(``test_torch_*.py``; ``tests/`` is on ``sys.path``, so they ``import torch_models`` after
their own ``pytest.importorskip("torch")``; the fixture ``one_torch_thread`` they use is in
``conftest.py``).

- :func:`tanh_classifier`: a seeded ``Linear -> Tanh [-> Dropout] -> Linear`` float64 model
  and a seeded random classification batch for it.
- :func:`flat_parameters` / :func:`flat_loss`: the loss as a function of one flat
  parameter vector (``torch.func.functional_call``), the input of the exact references
  ``torch.func.hessian`` and ``torch.func.grad``; independent of lrcore's adapter.
- :func:`full_batch_steps`: k full-batch optimizer steps on the cross-entropy loss.
"""
from __future__ import annotations

import torch

F = torch.nn.functional


def tanh_classifier(n, d, hidden, classes, seed=0, dropout=None):
    """``(model, x, y)``: ``Linear(d, hidden) -> Tanh [-> Dropout(dropout)] ->
    Linear(hidden, classes)`` in float64, initialised under ``torch.manual_seed(seed)``
    (the Dropout layer only when ``dropout`` is given), and ``n`` standard normal rows
    ``x`` with labels ``y`` in ``range(classes)`` drawn from a generator seeded ``seed + 1``."""
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(d, hidden), torch.nn.Tanh()]
    if dropout is not None:
        layers.append(torch.nn.Dropout(dropout))
    m = torch.nn.Sequential(*layers, torch.nn.Linear(hidden, classes)).double()
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return m, x, y


def flat_parameters(model, params=None):
    """``(unflatten, flat)``: the model's parameters (those of ``params`` only, when given)
    concatenated into one detached vector ``flat``, and ``unflatten(v)``, the
    ``{name: tensor}`` dict that puts a vector of that layout back in their shapes."""
    named = list(model.named_parameters())
    if params is not None:
        named = [(n, p) for n, p in named if any(p is q for q in params)]
    names = [n for n, _ in named]
    shapes = [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]

    def unflatten(flat):
        return dict(zip(names, [c.view(s) for c, s in zip(torch.split(flat, sizes), shapes)]))

    return unflatten, torch.cat([p.detach().reshape(-1) for _, p in named])


def flat_loss(model, x, y, loss=F.cross_entropy, params=None):
    """``(f, flat)``: ``f(v) = loss(model(x), y)`` with the parameters (or those of
    ``params``; the others stay the model's) replaced by the flat vector ``v``, and the
    current flat parameter vector."""
    unflatten, flat = flat_parameters(model, params)

    def f(v):
        return loss(torch.func.functional_call(model, unflatten(v), (x,)), y)

    return f, flat


def full_batch_steps(m, opt, x, y, k, monitor=None):
    """``k`` steps of ``opt`` on the full-batch cross-entropy of ``m`` on ``(x, y)``, each
    followed by ``monitor.step(opt)`` when a monitor is given."""
    for _ in range(k):
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
        if monitor is not None:
            monitor.step(opt)
