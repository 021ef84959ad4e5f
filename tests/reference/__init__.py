"""Slow reference twins of lrcore's kernels: plain numpy (and math/mpmath), one module per
kernel family, in the spirit of bottleneck's ``slow/``.

A twin is written from the textbook formula (the paper, the docstring, the peer library's
documented algorithm), never from lrcore's C code, and never calls lrcore's kernels, so a
test that compares the two compares independent implementations.  Twins favour clarity
over speed and never mutate their inputs.

=============  ==================================================================
module         twins of
=============  ==================================================================
``optim``      the fused update steps (sgd, momentum, adam, rmsprop, adagrad)
``problems``   value, gradient, Hessian and HVP of the built-in problems
``descend``    the optimisation loop of :func:`lrcore.stability.descend`
``adaptive``   the step-size rules of :mod:`lrcore.adaptive` inside that loop
``schedules``  closed forms of the schedules; HF transformers' and optax's formulas
``eigen``      one-triangle and CSR mat-vecs, the symmetric-matrix statistics
``datasets``   column standardization
``matrices``   test-matrix generators (also used by ``benchmarks/``): no lrcore import
=============  ==================================================================

Tests import them as ``from reference import optim as ref`` (pytest puts ``tests/`` on
``sys.path``); benchmark scripts put ``tests/`` on ``sys.path`` themselves.  This package
imports none of its modules eagerly, so ``reference.matrices`` stays importable where
lrcore is not.
"""
