"""lrcore.torch.range_test: lrcore's range test on a model, restoring everything bit for bit.

The state compared before and after: parameters, buffers (BatchNorm statistics), .grad,
the optimizer's state (Adam moments and steps) and param_groups (lr, initial_lr of an
attached scheduler; the same dict objects), every submodule's train/eval flag, and the
torch, numpy, python and DataLoader generator states -- after a normal run, after an
exception raised from loss_fn midway, and after a KeyboardInterrupt.
"""
from __future__ import annotations

import copy
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrcore.search import RangeTest  # noqa: E402
from lrcore.torch import range_test, safe_lr  # noqa: E402

F = torch.nn.functional
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(8, 32)
        self.bn = torch.nn.BatchNorm1d(32)
        self.drop = torch.nn.Dropout(0.2)
        self.l2 = torch.nn.Linear(32, 4)

    def forward(self, x):
        return self.l2(self.drop(torch.relu(self.bn(self.l1(x)))))


def setup():
    torch.manual_seed(0)
    net = Net()
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(200, 8, generator=g), torch.randint(0, 4, (200,), generator=g)
    loader_gen = torch.Generator().manual_seed(11)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32,
                                         shuffle=True, generator=loader_gen)
    opt = torch.optim.Adam([{"params": list(net.l1.parameters()) + list(net.bn.parameters())},
                            {"params": net.l2.parameters(), "lr": 3e-3}], lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)
    for i, (xb, yb) in enumerate(loader):          # some training: state, stats, grads
        opt.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        opt.step()
        sched.step()
        if i == 4:
            break
    net.drop.eval()                                # a mixed-mode model
    torch.manual_seed(123)
    np.random.seed(7)
    random.seed(9)
    return net, opt, sched, loader, loader_gen


def capture(net, opt, loader_gen):
    return {
        "tensors": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "grads": [None if p.grad is None else p.grad.clone() for p in net.parameters()],
        "opt": copy.deepcopy(opt.state_dict()),
        "group_ids": [id(g) for g in opt.param_groups],
        "groups": [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups],
        "modes": [m.training for m in net.modules()],
        "torch_rng": torch.get_rng_state(),
        "np_rng": np.random.get_state(),
        "py_rng": random.getstate(),
        "loader_rng": loader_gen.get_state(),
    }


def assert_same(a, b):
    assert a["tensors"].keys() == b["tensors"].keys()
    for k in a["tensors"]:
        assert torch.equal(a["tensors"][k], b["tensors"][k]), k
    for g1, g2 in zip(a["grads"], b["grads"]):
        assert (g1 is None and g2 is None) or torch.equal(g1, g2)
    s1, s2 = a["opt"], b["opt"]
    assert s1["param_groups"] == s2["param_groups"]
    assert s1["state"].keys() == s2["state"].keys()
    for k in s1["state"]:
        for key, v in s1["state"][k].items():
            w = s2["state"][k][key]
            assert torch.equal(v, w) and v.dtype == w.dtype, (k, key)
    assert a["group_ids"] == b["group_ids"] and a["groups"] == b["groups"]
    assert a["modes"] == b["modes"]
    assert torch.equal(a["torch_rng"], b["torch_rng"])
    assert a["np_rng"][0] == b["np_rng"][0] and np.array_equal(a["np_rng"][1], b["np_rng"][1])
    assert a["np_rng"][2:] == b["np_rng"][2:]
    assert a["py_rng"] == b["py_rng"]
    assert torch.equal(a["loader_rng"], b["loader_rng"])


def test_restores_everything_after_a_run():
    net, opt, sched, loader, lg = setup()
    before = capture(net, opt, lg)
    seen = []

    def loss(out, y):
        seen.append([g["lr"] for g in opt.param_groups] + [net.training, net.drop.training])
        return F.cross_entropy(out, y)

    rt = range_test(net, opt, loss, loader, start=1e-5, end=10.0, num=60)
    assert isinstance(rt, RangeTest) and len(rt.lrs) == len(rt.losses) > 10
    assert_same(before, capture(net, opt, lg))
    # groups keep the ratio of their base rates (initial_lr set by the scheduler: 1e-3, 3e-3)
    assert all(abs(s[1] - 3 * s[0]) <= 1e-15 * s[1] for s in seen)
    assert [s[0] for s in seen] == list(rt.lrs)
    assert all(s[2] and s[3] for s in seen)             # train mode during the test
    # restored RNGs: a second test sees the same batches, dropout masks and losses
    rt2 = range_test(net, opt, F.cross_entropy, loader, start=1e-5, end=10.0, num=60)
    assert np.array_equal(rt.losses, rt2.losses)
    assert rt.suggestion("steepest") > 0 and set(rt.suggestions) >= {"steepest", "valley"}
    # the scheduler continues where it was
    lr = opt.param_groups[0]["lr"]
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] in (lr, lr * 0.5)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_restores_everything_when_interrupted(exc):
    net, opt, sched, loader, lg = setup()
    before = capture(net, opt, lg)
    calls = []

    def loss(out, y):
        calls.append(1)
        if len(calls) == 7:
            raise exc("stop")
        return F.cross_entropy(out, y)

    with pytest.raises(exc, match="stop"):
        range_test(net, opt, loss, loader, start=1e-5, end=1.0, num=30)
    assert len(calls) == 7
    assert_same(before, capture(net, opt, lg))


def test_single_batch_plain_sgd_and_curvature_mark():
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 1).double()
    x, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sr = safe_lr(model, F.mse_loss, (x, y), opt, seed=0, certified=False)
    w = [p.detach().clone() for p in model.parameters()]
    rt = range_test(model, opt, F.mse_loss, (x, y), start=1e-3, end=10.0, num=80, safe_rate=sr)
    assert all(torch.equal(a, b) for a, b in zip(w, model.parameters()))
    assert opt.param_groups[0]["lr"] == 0.05 and not opt.state
    assert rt.max_stable_lr == sr.max_stable and rt.suggestion("curvature") == sr.recommended
    # full-batch GD on a quadratic diverges just above 2/L: the test stops past it
    assert rt.stopped_at is not None and rt.lrs[rt.stopped_at] > sr.max_stable
    assert rt.suggestion("steepest") < sr.max_stable


def test_errors():
    net, opt, _, loader, _ = setup()
    with pytest.raises(TypeError, match="model"):
        range_test(None, opt, F.cross_entropy, loader)
    with pytest.raises(TypeError, match="optimizer"):
        range_test(net, None, F.cross_entropy, loader)
    with pytest.raises(TypeError, match="loader"):
        range_test(net, opt, F.cross_entropy, 3)
    with pytest.raises(ValueError, match="start"):
        range_test(net, opt, F.cross_entropy, loader, start=1.0, end=0.1)
    with pytest.raises(ValueError, match="no batches"):
        range_test(net, opt, F.cross_entropy, [])


def test_group_safe_rates_are_checked_first_and_marked_for_the_reference_group():
    from lrcore.torch import GroupSafeRates
    g = torch.Generator().manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    x, y = torch.randn(40, 3, generator=g), torch.randn(40, 1, generator=g)
    F = torch.nn.functional.mse_loss
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.01},
                           {"params": m[2].parameters(), "lr": 0.1}])
    r = safe_lr(m, F, (x, y), opt, seed=0)
    assert isinstance(r, GroupSafeRates)
    before = [p.detach().clone() for p in m.parameters()]
    calls = []

    def counting_loss(out, t):
        calls.append(1)
        return F(out, t)

    with pytest.raises(TypeError, match="safe_rate"):
        range_test(m, opt, counting_loss, (x, y), num=20, safe_rate=0.5)
    assert not calls                                     # refused before any step
    rt = range_test(m, opt, F, (x, y), num=20, end=1.0, safe_rate=r)
    assert rt.max_stable_lr == r[0].max_stable and rt.recommended_lr == r[0].recommended
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
