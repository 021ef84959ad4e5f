"""The update kernels and optimizers on torch tensors, DLPack objects and buffers (issue 11).

What is checked:

* no copy: every kernel updates a CPU tensor / array.array / memoryview / DLPack object in
  place (same data pointer) and gives bit for bit the result of the numpy path, which
  tests/test_optim.py checks against the numpy twins in tests/reference/;
* autograd: an updated tensor's version counter is bumped like by a torch in-place
  operation (a backward through a graph that saved the old values raises), also through
  a numpy view made by ``Tensor.numpy()``; skipped steps bump nothing;
* refusals (other devices, layouts, dtypes, shared storage, non-leaf tensors that require
  grad, read-only buffers) name the argument and modify nothing, versions included;
* the optimizers on ``model.parameters()`` with gradients from autograd agree with
  ``torch.optim`` step for step over 50 steps of a real model (1e-11 in float64);
* the optimizers follow a parameter whose ``.data`` was replaced, refuse one whose dtype
  changed, and find shared memory among many arrays (sorted sweep) like pairwise tests.

torch is optional for lrcore: the tests that need it skip without it.
"""
import array
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import lrcore
from lrcore import optim
from lrcore._core import float_view, overlapping_pair

torch = pytest.importorskip("torch", reason="the tensor path needs torch")

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
DTYPES = [np.float64, np.float32]


def _arrays(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).astype(dtype)
    g = rng.normal(size=n).astype(dtype)
    m = rng.normal(size=n).astype(dtype) * 0.1
    v = np.abs(rng.normal(size=n)).astype(dtype) * 0.01
    w = np.abs(rng.normal(size=n)).astype(dtype) * 0.02
    return x, g, m, v, w


# kernel name -> (call(x, g, bufs), its buffers from (m, v, w): signed, >= 0, >= 0);
# every buffer is written
KERNELS = {
    "sgd": (lambda x, g, b: optim.sgd_step(x, g, 0.1, weight_decay=0.01),
            lambda m, v, w: []),
    "momentum": (lambda x, g, b: optim.momentum_step(x, g, b[0], 0.1, 0.9, nesterov=True),
                 lambda m, v, w: [m]),
    "adam": (lambda x, g, b: optim.adam_step(x, g, b[0], b[1], 3, 1e-2, weight_decay=0.1),
             lambda m, v, w: [m, v]),
    "adamw_amsgrad": (lambda x, g, b: optim.adam_step(x, g, b[0], b[1], 2, 1e-2, decoupled=True,
                                                      weight_decay=0.1, amsgrad=True,
                                                      vmax=b[2]),
                      lambda m, v, w: [m, v, np.maximum(v, w)]),
    "rmsprop": (lambda x, g, b: optim.rmsprop_step(x, g, b[0], 1e-2, centered=True,
                                                   grad_avg=b[1], momentum=0.5, buf=b[2]),
                lambda m, v, w: [v + m * m, m, w]),
    "adagrad": (lambda x, g, b: optim.adagrad_step(x, g, b[0], 4, 0.1, lr_decay=0.01),
                lambda m, v, w: [v]),
}


def _buffers(name, m, v, w):
    return KERNELS[name][1](m, v, w)


def _numpy_reference(name, x, g, bufs):
    call = KERNELS[name][0]
    x, bufs = x.copy(), [b.copy() for b in bufs]
    assert call(x, g, bufs) is True
    return x, bufs


def _case(name, n, dtype):
    """``(call, x, g, buffers, x after the call, buffers after the call)`` for kernel
    ``name`` on fresh arrays of length ``n``; the "after" pair from numpy copies."""
    x, g, m, v, w = _arrays(n, dtype)
    bufs = _buffers(name, m, v, w)
    return (KERNELS[name][0], x, g, bufs, *_numpy_reference(name, x, g, bufs))


def _tensor(a, **kw):
    return torch.tensor(a, **kw)


# ---------------------------------------------------------------------------------------
# no copy, same numbers: tensors, buffers, DLPack objects, mixed
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
def test_tensors_updated_in_place_bit_for_bit(name, dtype):
    call, x, g, bufs, want_x, want_bufs = _case(name, 1000, dtype)
    X = torch.nn.Parameter(_tensor(x))          # a leaf that requires grad
    G = _tensor(g)
    B = [_tensor(b) for b in bufs]
    ptrs = [t.data_ptr() for t in [X, G] + B]
    vers = [t._version for t in [X, G] + B]
    assert call(X, G, B) is True
    assert [t.data_ptr() for t in [X, G] + B] == ptrs          # no copy
    assert_array_equal(X.detach().numpy(), want_x)               # bit for bit
    for b, want in zip(B, want_bufs):
        assert_array_equal(b.numpy(), want)
    assert not np.array_equal(X.detach().numpy(), x)             # it did change
    assert_array_equal(G.numpy(), g)                             # the gradient did not
    # the written tensors' versions moved, the gradient's did not
    assert X._version > vers[0] and G._version == vers[1]
    assert all(b._version > v0 for b, v0 in zip(B, vers[2:]))
    assert X.requires_grad and X.is_leaf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
def test_buffers_and_dlpack_and_mixtures(name, dtype):
    call, x, g, bufs, want_x, want_bufs = _case(name, 64, dtype)
    code = "d" if dtype == np.float64 else "f"
    X = array.array(code, x.tobytes())                           # buffer protocol
    G = DLPackOnly(g.copy())                                     # DLPack, read only
    B = []
    for i, b in enumerate(bufs):                                 # one of each kind
        B.append([lambda a: _tensor(a), lambda a: memoryview(bytearray(a.tobytes())).cast(code),
                  lambda a: DLPackOnly(a.copy())][i % 3](b))
    assert call(X, G, B) is True
    assert_array_equal(np.frombuffer(X, dtype), want_x)
    for b, want in zip(B, want_bufs):
        got = b.numpy() if isinstance(b, torch.Tensor) else (
            np.asarray(b) if isinstance(b, memoryview) else b.a)
        assert_array_equal(got, want)


class DLPackOnly:
    """An object that is nothing but the DLPack protocol (versioned, as numpy 2 speaks it),
    like an array of a library lrcore does not know."""

    def __init__(self, a, device=(1, 0), legacy=False):
        self.a, self.device, self.legacy = a, device, legacy

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if self.legacy:
            return self.a.__dlpack__()
        return self.a.__dlpack__(max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return self.device


def test_dlpack_object_updated_in_place():
    x, g = np.ones(5), np.full(5, 2.0)
    X = DLPackOnly(x)
    assert optim.sgd_step(X, DLPackOnly(g), 0.5) is True
    assert_array_equal(x, np.zeros(5))                  # the producer's memory changed


def test_numpy_views_of_tensors_and_tensors_of_numpy():
    """torch.from_numpy and Tensor.numpy() share memory both ways: either may be passed."""
    x = np.ones(4)
    t = torch.from_numpy(x)
    assert optim.sgd_step(t, np.ones(4), 0.5)
    assert_array_equal(x, 0.5)
    p = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    assert optim.sgd_step(p.detach().numpy(), np.ones(4), 0.25)
    assert_array_equal(p.detach().numpy(), 0.75)


def test_zero_size_and_scalar_tensors():
    assert optim.sgd_step(torch.zeros(0), torch.zeros(0), 0.1) is True
    x = torch.tensor(1.0, dtype=torch.float64)
    assert optim.adam_step(x, torch.tensor(2.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64),
                           torch.tensor(0.0, dtype=torch.float64), 1, 0.1) is True
    assert float(x) == pytest.approx(0.9)


def test_tensor_on_other_slices_of_one_storage():
    """Disjoint slices of one storage are fine; overlapping ones are refused."""
    base = torch.zeros(20, dtype=torch.float64)
    assert optim.sgd_step(base[:10], base[10:] + 1.0, 0.1)
    g = base[10:]
    g += 1.0
    assert optim.sgd_step(base[:10], g, 0.1)
    assert_allclose(base[:10].numpy(), -0.2)
    snap = base.clone()
    with pytest.raises(ValueError, match="x and g share memory"):
        optim.sgd_step(base[:10], base[5:15], 0.1)
    assert torch.equal(base, snap)


def test_all_finite_takes_everything():
    t = torch.tensor([[1.0, 2.0], [3.0, float("inf")]], dtype=torch.float64)
    assert optim.all_finite(t) is False
    assert optim.all_finite(t[:1]) is True
    assert optim.all_finite(t.t()[:, :1]) is True         # non-contiguous: scanned via a copy
    assert optim.all_finite(t.t()) is False
    assert optim.all_finite(array.array("f", [1.0, 2.0])) is True
    assert optim.all_finite(memoryview(np.array([np.nan]))) is False
    assert optim.all_finite(DLPackOnly(np.array([1.0, np.inf], np.float32))) is False
    leaf = torch.nn.Parameter(torch.ones(3))
    assert optim.all_finite(leaf * 2) is True               # reading needs no leaf
    with pytest.raises(TypeError, match="a must have dtype float32 or float64"):
        optim.all_finite(torch.ones(3, dtype=torch.int32))


def test_float_view():
    t = torch.arange(4.0, dtype=torch.float64)
    v = float_view(t, "t", writable=True)
    assert isinstance(v, np.ndarray) and v.ctypes.data == t.data_ptr()
    assert float_view(v) is v
    ro = np.zeros(3)
    ro.flags.writeable = False
    assert float_view(memoryview(ro)).flags.writeable is False
    with pytest.raises(ValueError, match="w is read-only"):
        float_view(memoryview(ro), "w", writable=True)
    with pytest.raises(TypeError, match="name must be a str"):
        float_view(t, 3)


# ---------------------------------------------------------------------------------------
# autograd: versions, saved tensors, non-leaf tensors
# ---------------------------------------------------------------------------------------

def _saved_graph(p):
    """A loss whose backward needs p's current values (mul saves its inputs)."""
    return (p * p).sum()


def test_backward_after_update_raises_like_torch():
    """lrcore's write is seen by autograd exactly as torch's own in-place step is."""
    theirs = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    loss = _saved_graph(theirs)
    with torch.no_grad():
        theirs.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()

    ours = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    loss = _saved_graph(ours)
    optim.sgd_step(ours, torch.ones(3, dtype=torch.float64), 0.1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()

    # through a numpy view made by Tensor.numpy() as well (lrcore finds the tensor
    # behind it), and through an optimizer (which keeps such views)
    for step in (lambda p: optim.sgd_step(p.detach().numpy(), np.ones(3), 0.1),
                 lambda p: optim.Adam([p], lr=0.1).step([np.ones(3)])):
        p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        loss = _saved_graph(p)
        v0 = p._version
        step(p)
        assert p._version > v0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()

    # a graph built after the step is fine
    p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    optim.sgd_step(p, torch.ones(3, dtype=torch.float64), 0.5)
    _saved_graph(p).backward()
    assert_array_equal(p.grad.numpy(), 1.0)


def test_skipped_step_bumps_nothing():
    p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    buf = torch.zeros(3, dtype=torch.float64)
    v0, b0 = p._version, buf._version
    g = torch.tensor([1.0, float("nan"), 0.0], dtype=torch.float64)
    assert optim.momentum_step(p, g, buf, 0.1, 0.9, nonfinite="skip") is False
    with pytest.raises(lrcore.NonFiniteError):
        optim.momentum_step(p, g, buf, 0.1, 0.9)
    assert (p._version, buf._version) == (v0, b0)
    assert_array_equal(p.detach().numpy(), 1.0)


def test_views_made_without_grad_are_leaves():
    """A view of a parameter taken under no_grad is a leaf sharing the parameter's
    version counter: updating it updates (and bumps) the parameter."""
    p = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
    with torch.no_grad():
        row = p[1]
    v0 = p._version
    assert optim.sgd_step(row, torch.ones(3, dtype=torch.float64), 0.5)
    assert_array_equal(p.detach().numpy(), [[1, 1, 1], [0.5, 0.5, 0.5]])
    assert p._version > v0


def test_gradient_may_require_grad():
    """create_graph=True gradients require grad; reading them is harmless."""
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    (g,) = torch.autograd.grad((p ** 3).sum(), p, create_graph=True)
    assert g.requires_grad and not g.is_leaf
    assert optim.sgd_step(p, g, 0.1)
    assert_allclose(p.detach().numpy(), [1 - 0.3, 2 - 1.2])


def test_inference_tensors():
    with torch.inference_mode():
        x = torch.ones(3, dtype=torch.float64)
    assert optim.sgd_step(x, torch.ones(3, dtype=torch.float64), 0.5)
    assert_array_equal(x.numpy(), 0.5)


# ---------------------------------------------------------------------------------------
# refusals: clear error naming the argument, nothing modified (values and versions)
# ---------------------------------------------------------------------------------------

def _adam_args(dtype=torch.float64):
    x, g, m, v, _ = (torch.tensor(a, dtype=dtype) for a in _arrays(8, np.float64, seed=5))
    return {"x": torch.nn.Parameter(x), "g": g, "m": m, "v": v.abs()}


def _set(key, make):
    def mutate(a, k):
        a[key] = make(a)
    return mutate


def _kw(**kw):
    def mutate(a, k):
        k.update({key: (val(a) if callable(val) else val) for key, val in kw.items()})
    return mutate


F64 = dict(dtype=torch.float64)
BAD = [
    # (description, mutate(args, kwargs), exception, message fragment)
    ("x on another device", _set("x", lambda a: torch.zeros(8, device="meta", **F64)),
     ValueError, "x is a torch tensor on meta; lrcore's kernels run on the CPU"),
    ("g on another device", _set("g", lambda a: torch.zeros(8, device="meta", **F64)),
     ValueError, r"g is a torch tensor on meta.*\.cpu\(\).*fused"),
    ("x non-contiguous", _set("x", lambda a: torch.zeros(16, **F64)[::2]),
     ValueError, "x must be a contiguous tensor"),
    ("g non-contiguous", _set("g", lambda a: torch.zeros(16, **F64)[::2]),
     ValueError, r"g must be a contiguous tensor .*g\.contiguous\(\)"),
    ("m transposed", _set("m", lambda a: torch.zeros(4, 2, **F64).t()),
     ValueError, "m must be a contiguous tensor"),
    ("g float32", _set("g", lambda a: a["g"].float()), TypeError, "g has dtype float32"),
    ("x int", _set("x", lambda a: torch.zeros(8, dtype=torch.int64)),
     TypeError, "x must have dtype float32 or float64, got torch.int64"),
    ("v float16", _set("v", lambda a: torch.zeros(8, dtype=torch.float16)),
     TypeError, "v must have dtype float32 or float64, got torch.float16"),
    ("m bfloat16", _set("m", lambda a: torch.zeros(8, dtype=torch.bfloat16)),
     TypeError, "got torch.bfloat16"),
    ("g sparse", _set("g", lambda a: a["g"].to_sparse()), TypeError, "g is a torch.sparse_coo tensor"),
    ("x shape", _set("x", lambda a: torch.zeros(2, 4, **F64)), ValueError, "g has shape"),
    ("x non-leaf requiring grad", _set("x", lambda a: a["x"] * 1.0),
     ValueError, "x is a tensor that requires grad but is not a leaf .*MulBackward0"),
    ("x view of a parameter", _set("x", lambda a: torch.nn.Parameter(torch.zeros(2, 8, **F64))[0]),
     ValueError, "x is a tensor that requires grad but is not a leaf"),
    ("v non-leaf requiring grad", _set("v", lambda a: torch.nn.Parameter(torch.zeros(8, **F64)) + 0),
     ValueError, "v is a tensor that requires grad but is not a leaf"),
    ("x negative bit", _set("x", lambda a: torch.zeros(8, **F64)._neg_view()),
     ValueError, "x: torch cannot share this tensor's memory with numpy"),
    ("g is x", _set("g", lambda a: a["x"]), ValueError, "x and g share memory"),
    ("m is x's numpy view", _set("m", lambda a: a["x"].detach().numpy()),
     ValueError, "x and m share memory"),
    ("v overlaps m (one storage)", _kw(), None, None),   # replaced below
    ("vmax is v", _kw(amsgrad=True, vmax=lambda a: a["v"]), ValueError, "v and vmax share memory"),
    ("vmax on another device", _kw(amsgrad=True, vmax=lambda a: torch.zeros(8, device="meta", **F64)),
     ValueError, "vmax is a torch tensor on meta"),
    ("x a list", _set("x", lambda a: a["x"].tolist()), TypeError,
     ("x must be a numpy.ndarray, a CPU torch.Tensor, or an object with __dlpack__ or the "
      "buffer protocol")),
    ("x read-only buffer", _set("x", lambda a: memoryview(bytes(64)).cast("d")),
     ValueError, "x is read-only"),
    ("m array of ints", _set("m", lambda a: array.array("q", range(8))),
     TypeError, "m has dtype int64"),
    ("x on a DLPack GPU", _set("x", lambda a: DLPackOnly(np.zeros(8), device=(2, 0))),
     ValueError, "x lives on DLPack device CUDA:0; lrcore's kernels run on the CPU"),
    ("g on an unknown DLPack device", _set("g", lambda a: DLPackOnly(np.zeros(8), device=(99, 1))),
     ValueError, "g lives on DLPack device type 99:1"),
    ("x legacy DLPack", _set("x", lambda a: DLPackOnly(np.zeros(8), legacy=True)),
     ValueError, "x is read-only through DLPack"),
    ("m DLPack without device", _set("m", lambda a: type("D", (), {"__dlpack__": lambda s: None})()),
     TypeError, "m has __dlpack__ but no __dlpack_device__"),
    ("late scalar error", _kw(beta1=1.0), ValueError, "beta1"),
]


def _overlapping_state(a, k):
    base = torch.zeros(12, **F64)
    a["m"], a["v"] = base[:8], base[4:]


BAD[[b[0] for b in BAD].index("v overlaps m (one storage)")] = (
    "v overlaps m (one storage)", _overlapping_state, ValueError, "m and v share memory")


@pytest.mark.parametrize("desc,mutate,exc,msg", BAD, ids=[b[0] for b in BAD])
def test_adam_refusals_modify_nothing(desc, mutate, exc, msg):
    args, kwargs = _adam_args(), {}
    mutate(args, kwargs)
    objs = list(args.values()) + [kwargs.get("vmax")]
    tensors = [t for t in objs if isinstance(t, torch.Tensor)
               and t.device.type == "cpu" and t.layout == torch.strided]
    snap = [t.detach().clone() for t in tensors]
    vers = [t._version for t in tensors]
    with pytest.raises(exc, match=msg):
        optim.adam_step(args["x"], args["g"], args["m"], args["v"], 1, 1e-2, **kwargs)
    for t, s, v0 in zip(tensors, snap, vers):
        assert torch.equal(t.detach(), s) and t._version == v0, desc


def test_legacy_dlpack_is_fine_for_reading():
    x = np.ones(3)
    assert optim.sgd_step(x, DLPackOnly(np.ones(3), legacy=True), 0.5)
    assert_array_equal(x, 0.5)


def test_every_kernel_names_its_tensor_arguments():
    def x():
        return torch.zeros(4, **F64)
    meta = torch.zeros(4, device="meta", **F64)
    calls = {
        "buf": lambda: optim.momentum_step(x(), x(), meta, 0.1, 0.9),
        "square_avg": lambda: optim.rmsprop_step(x(), x(), meta, 0.1),
        "grad_avg": lambda: optim.rmsprop_step(x(), x(), x(), 0.1, centered=True, grad_avg=meta),
        "sum_sq": lambda: optim.adagrad_step(x(), x(), meta, 1, 0.1),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=f"^{name} is a torch tensor on meta"):
            call()
    with pytest.raises(ValueError, match="^buf is a torch tensor on meta"):
        optim.rmsprop_step(x(), x(), x(), 0.1, momentum=0.9, buf=meta)


# ---------------------------------------------------------------------------------------
# the optimizers on a torch model: parity with torch.optim, step for step
# ---------------------------------------------------------------------------------------

STEPS = 50
TOL = {torch.float64: dict(rtol=1e-11, atol=1e-13), torch.float32: dict(rtol=5e-5, atol=5e-6)}

PARITY = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.05)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    ("RMSprop", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.9, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1)),
]


def _model(dtype, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 3)).to(dtype)


def _data(dtype, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(STEPS, 24, 6, generator=g, dtype=dtype),
            torch.randint(0, 3, (STEPS, 24), generator=g))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name,kw", PARITY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(PARITY)])
def test_model_training_matches_torch_optim(name, kw, dtype):
    """Gradients from autograd, parameters as tensors, 50 steps: lrcore's optimizer and
    torch's (foreach=False) give the same parameters after every step."""
    ours_model, ref_model = _model(dtype), _model(dtype)
    ours = getattr(optim, name)(ours_model.parameters(), **kw)
    theirs = getattr(torch.optim, name)(ref_model.parameters(), foreach=False, **kw)
    ptrs = [p.data_ptr() for p in ours_model.parameters()]
    X, Y = _data(dtype)
    loss_fn = torch.nn.CrossEntropyLoss()
    for t in range(STEPS):
        for model in (ours_model, ref_model):
            model.zero_grad()
            loss_fn(model(X[t]), Y[t]).backward()
        assert ours.step([p.grad for p in ours_model.parameters()]) is True
        theirs.step()
        for (pn, p), q in zip(ours_model.named_parameters(), ref_model.parameters()):
            assert_allclose(p.detach().numpy(), q.detach().numpy(), **TOL[dtype],
                            err_msg=f"{pn} after step {t + 1}")
    assert [p.data_ptr() for p in ours_model.parameters()] == ptrs
    assert ours.t == STEPS
    assert all(isinstance(b, np.ndarray) and b.dtype == np.dtype(str(dtype).split(".")[1])
               for st in ours.state for b in st.values())
    assert all(a is b for a, b in zip(ours.params, ours_model.parameters()))


def test_adam_single_tensor_and_torch_gradients():
    """A single tensor parameter (not a list), a tensor gradient."""
    p = torch.nn.Parameter(torch.tensor([3.0, -2.0], dtype=torch.float64))
    q = torch.nn.Parameter(p.detach().clone())
    ours, theirs = optim.Adam(p, lr=0.1), torch.optim.Adam([q], lr=0.1, foreach=False)
    for _ in range(20):
        for w in (p, q):
            w.grad = None
            (w ** 2).sum().backward()
        ours.step(p.grad)
        theirs.step()
    assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)
    assert ours.params is p
    with pytest.raises(TypeError, match="grads must be a sequence"):
        optim.Adam([p, q], lr=0.1).step(torch.zeros(2, dtype=torch.float64))


# ---------------------------------------------------------------------------------------
# the optimizers: refusals, moved parameters, the overlap sweep
# ---------------------------------------------------------------------------------------

def test_optimizer_refusals():
    model = _model(torch.float64)
    params = list(model.parameters())
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    snap = [p.detach().clone() for p in params]
    grads = [torch.ones_like(p) for p in params]
    grads[2] = None
    with pytest.raises(TypeError, match=r"grads\[2\] is None .*leave that parameter out"):
        opt.step(grads)
    grads[2] = torch.ones_like(params[2]).float()
    with pytest.raises(ValueError, match=r"grads\[2\] has dtype float32 .* params\[2\] has "
                                         r"dtype float64"):
        opt.step(grads)
    grads[2] = torch.ones(3, 16, device="meta", dtype=torch.float64)
    with pytest.raises(ValueError, match=r"grads\[2\] is a torch tensor on meta"):
        opt.step(grads)
    grads[2] = torch.ones_like(params[2])
    grads[1] = params[0].detach().reshape(-1)[:16]         # aliases params[0]
    with pytest.raises(ValueError, match=r"grads\[1\] and params\[0\] share memory"):
        opt.step(grads)
    grads[1] = torch.ones_like(params[1])
    grads[3] = torch.full((3,), float("nan"), dtype=torch.float64)
    with pytest.raises(lrcore.NonFiniteError, match=r"grads\[3\]"):
        opt.step(grads)
    assert all(torch.equal(p.detach(), s) for p, s in zip(params, snap))
    assert opt.t == 0 and all(np.all(st["momentum_buffer"] == 0) for st in opt.state)

    with pytest.raises(ValueError, match=r"params\[0\] is a torch tensor on meta"):
        optim.Adam([torch.zeros(3, device="meta")])
    base = torch.zeros(10)
    with pytest.raises(ValueError, match=r"params\[1\] and params\[0\] share memory"):
        optim.Adam([base[:6], base[4:]])
    with pytest.raises(ValueError, match=r"params\[0\] is a tensor that requires grad but is "
                                         r"not a leaf"):
        optim.Adam([params[0] * 2])
    with pytest.raises(ValueError, match="params is read-only"):
        optim.Adam(memoryview(bytes(16)).cast("d"))


def test_optimizer_follows_replaced_data():
    """``p.data = ...`` (same dtype and shape) is followed; a dtype change is refused."""
    p = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    other = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = optim.SGD([p, other], lr=0.5)
    opt.step([torch.ones(4, dtype=torch.float64), torch.ones(3, dtype=torch.float64)])
    assert_array_equal(p.detach().numpy(), 0.5)
    p.data = torch.full((4,), 10.0, dtype=torch.float64)     # new memory
    opt.step([torch.ones(4, dtype=torch.float64), torch.ones(3, dtype=torch.float64)])
    assert_array_equal(p.detach().numpy(), 9.5)              # the update landed there
    model = _model(torch.float32)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model.double()                                           # replaces every .data
    with pytest.raises(ValueError, match=r"params\[0\] now has dtype float64 .* made for "
                                         r"dtype float32"):
        opt.step([torch.zeros_like(q) for q in model.parameters()])


def test_optimizer_refuses_replaced_data_that_aliases():
    a = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    opt = optim.SGD([a, b], lr=0.5)
    a.data = b.data                                          # both now one memory
    with pytest.raises(ValueError, match=r"params\[1\] and params\[0\] share memory"):
        opt.step([np.ones(4), np.ones(4)])
    assert_array_equal(b.detach().numpy(), 1.0)
    a.data = torch.ones(4, dtype=torch.float64)              # fixed: steps again
    assert opt.step([np.ones(4), np.ones(4)])
    assert_array_equal(a.detach().numpy(), 0.5)
    assert_array_equal(b.detach().numpy(), 0.5)


def _brute_clash(grads, written):
    for gi, g in enumerate(grads):
        for wi, w in enumerate(written):
            if np.shares_memory(g, w):
                return gi, wi
    return None


clashes = []


@pytest.mark.parametrize("seed", range(40))
def test_overlap_sweep_agrees_with_pairwise(seed):
    """Many arrays: the optimizers' sorted sweep (overlapping_pair) finds shared memory
    between a gradient and a written array exactly when some pair shares memory, and
    names a pair that does; gradients sharing memory with each other are fine."""
    rng = np.random.default_rng(seed)
    pool = np.zeros(150)
    n = int(rng.integers(6, 14))
    # parameters: disjoint consecutive slices of the pool, lengths 3..9
    cuts = np.cumsum(rng.integers(3, 10, size=n))
    starts = np.concatenate([[0], cuts[:-1]])
    params = [pool[s:e] for s, e in zip(starts, cuts)]
    other = np.zeros(400)
    grads = []
    for p in params:
        k = p.size
        if rng.random() < 0.1:                # now and then a gradient in the pool too
            s = int(rng.integers(0, 150 - k))
            grads.append(pool[s:s + k])
        else:
            s = int(rng.integers(0, 400 - k))  # other gradients may overlap each other
            grads.append(other[s:s + k])
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    written = list(params) + [st["momentum_buffer"] for st in opt.state]
    want = _brute_clash(grads, written)
    snap = pool.copy()
    clashes.append(want is not None)
    if want is None:
        assert opt.step(grads)
    else:
        with pytest.raises(ValueError, match="share memory") as err:
            opt.step(grads)
        gi, wi = (int(s) for s in re.search(r"grads\[(\d+)\] and params\[(\d+)\]",
                                              str(err.value)).groups())
        assert np.shares_memory(grads[gi], params[wi])
        assert_array_equal(pool, snap)


def test_overlap_sweep_saw_both_outcomes():
    if len(clashes) == 40:       # the whole parametrized test ran in this process
        assert 8 <= sum(clashes) <= 32


@pytest.mark.parametrize("seed", range(20))
def test_overlapping_pair_agrees_with_may_share_memory(seed):
    """Random strided views (negative strides, 2-D, empty) of two pools: the sweep's
    answer against numpy.may_share_memory on every pair."""
    rng = np.random.default_rng(100 + seed)
    pools = [np.zeros((12, 12)), np.zeros((12, 12))]

    def view():
        p = pools[int(rng.integers(0, 2))]
        r0, c0 = (int(i) for i in rng.integers(0, 12, 2))
        r1, c1 = (int(i) for i in rng.integers(0, 13, 2))
        v = p[r0:r1:int(rng.choice([1, 2, -1])), c0:c1:int(rng.choice([1, 3, -1]))]
        return v.ravel()[:3] if rng.random() < 0.2 and v.flags.c_contiguous else v

    first = [view() for _ in range(int(rng.integers(1, 7)))]
    second = [view() for _ in range(int(rng.integers(1, 7)))]
    got = overlapping_pair(first, second)
    pairs = {(i, j) for i, a in enumerate(first) for j, b in enumerate(second)
             if a.size and b.size and np.may_share_memory(a, b)}
    assert (got is None) == (not pairs) and (got is None or got in pairs)
    got = overlapping_pair(first + second)
    both = first + second
    pairs = {(i, j) for i, a in enumerate(both) for j, b in enumerate(both)
             if i > j and a.size and b.size and np.may_share_memory(a, b)}
    assert (got is None) == (not pairs) and (got is None or got in pairs)


def test_overlapping_pair_input():
    assert overlapping_pair([]) is None and overlapping_pair([np.zeros(2)], []) is None
    with pytest.raises(TypeError, match="lists"):
        overlapping_pair((np.zeros(2),))
    with pytest.raises(TypeError, match=r"second\[1\] must be a numpy.ndarray"):
        overlapping_pair([np.zeros(2)], [np.zeros(2), [1.0]])


def test_overlap_sweep_adjacent_is_not_overlap():
    pool = np.zeros(200)
    params = [pool[i * 10:(i + 1) * 10] for i in range(10)]
    gpool = np.ones(200)
    grads = [gpool[i * 10:(i + 1) * 10] for i in range(10)]
    opt = optim.Adam(params, lr=0.1)
    assert opt.step(grads)
    # a gradient ending exactly where a parameter starts, and starting where one ends
    joined = np.zeros(30)
    params = [joined[10:20]]
    params += [np.zeros(10) for _ in range(20)]
    opt = optim.Adam(params, lr=0.1)
    grads = [joined[:10]] + [joined[20:]] + [np.ones(10) for _ in range(19)]
    assert opt.step(grads)
