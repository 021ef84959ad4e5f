"""The command line, through subprocess and through the entry function."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import scipy.sparse as sp
from subprocess_helpers import lrcore_env

from lrcore import cli
from lrcore.datasets import load_breast_cancer, load_diabetes
from lrcore.problems import LeastSquares, Logistic


def run(*args):
    # from a neutral directory: `python -m` puts the working directory first on sys.path,
    # and a source checkout there would shadow the installed package
    # and the lrcore under test (installed, or an in-place build) stays importable
    return subprocess.run([sys.executable, "-m", "lrcore", *args], capture_output=True,
                          text=True, cwd=tempfile.gettempdir(), env=lrcore_env(), timeout=300)


def write_csv(path, X, y, names, target="target"):
    with open(path, "w") as f:
        f.write(",".join(list(names) + [target]) + "\n")
        for row, t in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{float(t)!r}\n")
    return str(path)


def test_demo_subprocess_prints_the_key_numbers():
    r = run("demo")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for key in ("diabetes", "breast cancer", "curvature   L =", "max stable", "recommended",
                "just past the edge", "empirical boundary", "range test", "schedule"):
        assert key in out, key
    X, y, _ = load_diabetes(standardize=True)
    L = LeastSquares(np.hstack([X, np.ones((len(y), 1))]), y).smoothness()
    assert f"L = {L:.5g}" in out
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "needs PyTorch: pip install 'lrcore[torch]'" in r.stderr
    else:                                  # the third part: an MLP on the shipped digits
        for key in ("digits: MLP 64-32-10", "sharpness   L =", "SGD momentum", "Adam beta1",
                    "training", "the edge"):
            assert key in out, key


def test_demo_without_torch_says_how_to_get_that_part(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lrcore.torch.demo", None)     # import fails
    assert cli.main(["demo", "--json"]) == 0
    cap = capsys.readouterr()
    assert "torch" not in json.loads(cap.out)
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and "pip install 'lrcore[torch]'" in err[0]


def test_demo_json_carries_the_torch_part(capsys):
    pytest.importorskip("torch")
    assert cli.main(["demo", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["torch"]["model"]["layers"] == [64, 32, 10] and len(rep["reports"]) == 2
    assert rep["torch"]["sharpness"]["L"] > 0


@pytest.mark.parametrize("dataset", ["diabetes", "breast_cancer"])
def test_analyze_csv_gives_the_python_api_numbers(tmp_path, capsys, dataset):
    if dataset == "diabetes":
        X, y, names = load_diabetes()
        model, cls = "least-squares", LeastSquares
    else:
        X, y, names = load_breast_cancer()
        model, cls = "logistic", Logistic
    path = write_csv(tmp_path / "data.csv", X, y, names)
    code = cli.main(["analyze", path, "--target", "target", "--model", model,
                     "--standardize", "--json"])
    assert code == 0
    rep = json.loads(capsys.readouterr().out)
    from lrcore.datasets import standardize_columns
    p = cls(standardize_columns(X), y)
    assert rep["curvature"]["L"] == pytest.approx(p.smoothness(), rel=1e-9)
    assert rep["problem"]["n_samples"] == X.shape[0]
    assert rep["problem"]["n_features"] == X.shape[1]
    for key in ("problem", "curvature", "rates", "stability", "range_test", "schedule"):
        assert key in rep
    for key in ("L", "L_upper", "mu", "condition_number", "n_matvec", "residual"):
        assert key in rep["curvature"]
    assert rep["rates"]["max_stable"] == pytest.approx(2 / rep["curvature"]["L_upper"])
    assert rep["stability"]["recommended"]["status"] == "converged"
    assert set(rep["range_test"]["suggestions"]) >= {"steepest", "valley", "minimum",
                                                     "curvature"}
    if dataset == "diabetes":
        assert rep["stability"]["past_edge"]["status"] == "diverged"
        assert rep["stability"]["boundary"]["ratio"] == pytest.approx(1.0, abs=0.01)


def test_analyze_npy_and_npz(tmp_path, capsys):
    X, y, names = load_diabetes()
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    assert cli.main(["analyze", str(tmp_path / "d.npy"), "--target", "-1", "--model",
                     "least-squares", "--standardize", "--json"]) == 0
    a = json.loads(capsys.readouterr().out)
    np.savez(tmp_path / "d.npz", X=X, y=y, feature_names=np.array(names))
    assert cli.main(["analyze", str(tmp_path / "d.npz"), "--target", "y", "--model",
                     "least-squares", "--standardize", "--json"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["curvature"]["L"] == pytest.approx(b["curvature"]["L"], rel=1e-12)
    assert b["problem"]["features"] == list(names)


def test_user_made_csv_with_momentum_method(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 10.0, 0.1]
    y = X @ [1.0, -2.0, 3.0] + rng.normal(size=200)
    path = write_csv(tmp_path / "mine.csv", X, y, ["a", "b", "c"], target="y")
    r = run("analyze", path, "--target", "y", "--model", "least-squares",
            "--method", "heavy_ball", "--momentum", "0.9")
    assert r.returncode == 0, r.stderr
    assert "method heavy_ball (momentum 0.9)" in r.stdout


BAD = [
    ("missing file", None, ["nope.csv"], "no such file"),
    ("empty file", "", [], "the file is empty"),
    ("header only", "a,b,target\n", [], "no data rows"),
    ("unknown column", "a,b,y\n1,2,3\n4,5,6\n", [], "no column named 'target'"),
    ("non-numeric", "a,b,target\n1,2,3\n4,x7,6\n", [], "non-numeric value 'x7' in column 'b', row 3"),
    ("missing value", "a,b,target\n1,2,3\n4,,6\n", [], "missing value in column 'b', row 3"),
    ("ragged row", "a,b,target\n1,2,3\n4,5\n", [], "row 3 has 2 fields"),
    ("constant column", "a,b,target\n1,2,3\n1,5,6\n1,7,8\n", ["--standardize"], "column 0 ('a') is constant"),
    ("not 0/1", "a,b,target\n1,2,0\n4,5,1\n3,3,2\n", ["--model", "logistic"],
     "must hold 0/1 labels for --model logistic; row 4 has 2"),
    ("binary junk", b"\x89PNG\x00\xff\xfe garbage", [], "not a text CSV file"),
]


@pytest.mark.parametrize("desc,content,extra,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_input_one_line_nonzero_exit(tmp_path, capsys, desc, content, extra, msg):
    if content is None:
        path = str(tmp_path / extra[0])
        extra = []
    else:
        path = str(tmp_path / "bad.csv")
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content)
    args = ["analyze", path, "--target", "target"]
    if "--model" not in extra:
        args += ["--model", "least-squares"]
    code = cli.main(args + extra)
    err = capsys.readouterr().err
    assert code == 2
    assert msg in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_input_through_subprocess_has_no_traceback(tmp_path):
    r = run("analyze", str(tmp_path / "missing.csv"), "--target", "y", "--model", "logistic")
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = run("analyze", "x.csv", "--target", "y", "--model", "ridge")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_schedule_command(capsys):
    assert cli.main(["schedule", "warmup_cosine", "--peak", "0.1", "--warmup_steps", "10",
                     "--total_steps", "100", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    from lrcore import schedules
    s = schedules.from_dict(doc["schedule"])
    assert doc["values"] == [s(t) for t in doc["steps"]]
    assert cli.main(["schedule", "cosine", "--lr", "0.1", "--steps", "50"]) == 0
    out = capsys.readouterr().out
    assert '"name": "cosine"' in out and "cosine" in out.splitlines()[0]
    assert cli.main(["schedule", "cosine", "--lr", "0.1"]) == 2
    assert "steps" in capsys.readouterr().err
    assert cli.main(["schedule", "cosine", "--lr", "0.1", "--steps", "10", "--bogus", "1"]) == 2
    assert "has no parameter 'bogus'" in capsys.readouterr().err
    assert cli.main(["schedule", "nosuch"]) == 2


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (in the test extra)")
    X, y, names = load_diabetes()
    path = write_csv(tmp_path / "d.csv", X, y, names)
    out = tmp_path / "report.png"
    assert cli.main(["analyze", path, "--target", "target", "--model", "least-squares",
                     "--standardize", "--plot", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert cli.main(["schedule", "onecycle", "--max_lr", "0.1", "--total_steps", "100",
                     "--plot", str(tmp_path / "s.png")]) == 0
    assert os.path.getsize(tmp_path / "s.png") > 5_000


# ----------------------------------------------------------------------------------------
# sparse data, --model auto and softmax, advice sentences
# ----------------------------------------------------------------------------------------

def analyze_json(capsys, *args):
    code = cli.main(["analyze", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def write_svmlight(path, X, y):
    X = sp.csr_array(X)
    with open(path, "w") as f:
        for i in range(X.shape[0]):
            a, b = X.indptr[i], X.indptr[i + 1]
            pairs = " ".join(f"{j + 1}:{float(v)!r}" for j, v in zip(X.indices[a:b], X.data[a:b]))
            f.write(f"{y[i]:g} {pairs}\n")
    return str(path)


def sparse_classes(n=300, d=40, K=2, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, d), density=0.15, format="csr", rng=rng,
                        data_sampler=lambda size: rng.random(size) + 0.1)
    W = rng.normal(size=(d, K))
    Z = X @ W + noise * rng.normal(size=(n, K))
    return X, Z.argmax(axis=1)


def test_analyze_svmlight_stays_sparse_and_matches_the_api(tmp_path, capsys):
    from lrcore.problems import Logistic
    X, y = sparse_classes(n=400, d=60, K=2, noise=3.0)
    path = write_svmlight(tmp_path / "d.svm", X, 2 * y - 1)          # labels -1 / +1
    rep = analyze_json(capsys, path)                                  # no --target, auto
    p = rep["problem"]
    assert p["model"] == "logistic" and p["sparse"] and p["nnz"] == X.nnz
    assert "two values (-1, 1)" in p["model_choice"] and "-1 -> 0 and 1 -> 1" in p["model_choice"]
    L = Logistic(X, y.astype(float)).smoothness()
    assert rep["curvature"]["L"] == pytest.approx(L, rel=1e-9)
    assert rep["design"]["density"] == pytest.approx(X.nnz / (X.shape[0] * X.shape[1]))
    r = run("analyze", path)
    assert r.returncode == 0, r.stderr
    assert f"(sparse: {X.nnz} stored entries" in r.stdout and "advice      - steps:" in r.stdout


def test_analyze_sparse_npz_softmax_standardized_without_centering(tmp_path, capsys):
    from lrcore._tabular import scale_sparse
    from lrcore.problems import Softmax
    X, y = sparse_classes(n=300, d=30, K=4, seed=1)
    path = tmp_path / "d.npz"
    sp.save_npz(path, sp.hstack([X, sp.csr_array(y[:, None].astype(float))], format="csr"))
    rep = analyze_json(capsys, str(path), "--target", "-1", "--standardize", "--l2", "1e-3")
    p = rep["problem"]
    assert p["model"] == "softmax" and p["n_classes"] == 4 and p["sparse"]
    assert p["n_parameters"] == 30 * 4
    assert "without centering" in p["standardization"]
    Xs, _, _ = scale_sparse(X)
    assert rep["curvature"]["L"] == pytest.approx(Softmax(Xs, y, l2=1e-3).smoothness(),
                                                  rel=1e-9)
    assert "Bohning" in rep["curvature"]["what"]
    assert rep["stability"]["recommended"]["status"] == "converged"
    r = run("analyze", str(path), "--target", "-1", "--standardize", "--model", "softmax")
    assert r.returncode == 0, r.stderr
    assert "scaling     scaled to unit variance without centering" in r.stdout
    assert "softmax ==" in r.stdout


@pytest.mark.parametrize("target,model,phrase", [
    ("float", "least-squares", "non-integer values: least squares"),
    ("binary", "logistic", "two values (0, 1): logistic regression"),
    ("classes", "softmax", "3 integer classes (2, 5, 9): softmax"),
    ("counts", "least-squares", "distinct integer values (more than"),
])
def test_model_auto_says_what_it_chose(tmp_path, capsys, target, model, phrase):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 3))
    y = {"float": X @ [1.0, 2.0, -1.0] + rng.normal(size=120),
         "binary": (X[:, 0] + rng.normal(size=120) > 0).astype(float),
         "classes": np.array([2, 5, 9])[rng.integers(0, 3, size=120)].astype(float),
         "counts": np.arange(120.0)}[target]
    path = write_csv(tmp_path / "d.csv", X, y, ["a", "b", "c"], target="y")
    rep = analyze_json(capsys, path, "--target", "y")
    assert rep["problem"]["model"] == model
    assert phrase in rep["problem"]["model_choice"]
    if target == "classes":
        assert "renumbered 0..2" in rep["problem"]["model_choice"]
    # explicit --model: no choice sentence
    if model != "softmax":
        rep = analyze_json(capsys, path, "--target", "y", "--model", model)
        assert rep["problem"]["model_choice"] is None


def advice(rep, kind):
    found = [a for a in rep["advice"] if a["kind"] == kind]
    return found[0] if found else None


def test_advice_ill_conditioned_design_and_steps(tmp_path, capsys):
    rng = np.random.default_rng(3)
    n = 200
    X = np.column_stack([rng.normal(size=n), 1000 * rng.normal(size=n) + 5000,
                         0.01 * rng.normal(size=n)])
    y = X @ [1.0, 0.001, 100.0] + rng.normal(size=n)
    path = write_csv(tmp_path / "raw.csv", X, y, ["a", "b", "c"], target="y")
    rep = analyze_json(capsys, path, "--target", "y", "--intercept")
    a = advice(rep, "conditioning")
    G = np.column_stack([X, np.ones(n)])
    ev = np.linalg.eigvalsh(G.T @ G / n)
    assert a["condition_number"] == pytest.approx(ev[-1] / ev[0], rel=1e-6)
    from lrcore.datasets import standardize_columns
    S = np.column_stack([standardize_columns(X), np.ones(n)])
    es = np.linalg.eigvalsh(S.T @ S / n)
    assert a["condition_number_standardized"] == pytest.approx(es[-1] / es[0], rel=1e-6)
    assert f"condition number {cli._sci(a['condition_number'])}" in a["text"]
    assert f"with --standardize it would be {cli._sci(es[-1] / es[0])}" in a["text"]
    s = advice(rep, "steps")
    kappa = rep["rates"]["L_upper"] / rep["curvature"]["mu"]
    assert s["kappa"] == pytest.approx(max(kappa, rep["rates"]["L"] / rep["curvature"]["mu"]))
    assert s["theory_steps"] == pytest.approx(s["kappa"] * np.log(1e6))
    assert "kappa ln(1/eps)" in s["text"] and cli._sci(s["theory_steps"]) in s["text"]
    # the run at the recommended rate does not get there in its steps: extrapolated
    assert not s["reached"] and s["run_steps"] == rep["stability"]["recommended"]["steps"]
    assert 0 < s["measured_rate"] < 1 and s["measured_steps"] > s["run_steps"]
    assert f"extrapolates to about {cli._sci(s['measured_steps'])} steps" in s["text"]
    assert rep["stability"]["recommended"]["status"] == "stalled"
    assert "the 'stalled' verdict above means converging" in s["text"]
    # standardized: no conditioning sentence, and far fewer steps -- measured directly
    rep2 = analyze_json(capsys, path, "--target", "y", "--intercept", "--standardize")
    assert advice(rep2, "conditioning") is None
    s2 = advice(rep2, "steps")
    assert s2["theory_steps"] < s["theory_steps"] / 1e3
    assert s2["reached"] and 0 < s2["measured_steps"] <= s2["theory_steps"]
    assert f"after {s2['measured_steps']} steps" in s2["text"]
    # the text report carries the same sentences
    r = run("analyze", path, "--target", "y", "--intercept")
    assert "advice      - ill-conditioned design: condition number" in r.stdout
    assert "advice      - steps: gradient descent at the recommended rate" in r.stdout


def test_advice_steps_for_momentum_at_its_optimal_pair(tmp_path, capsys):
    X, y, names = load_diabetes(standardize=True)
    path = write_csv(tmp_path / "d.csv", X, y, names)
    rep = analyze_json(capsys, path, "--target", "target", "--method", "heavy_ball",
                       "--momentum", "0.5", "--model", "least-squares")
    s = advice(rep, "steps")
    L = max(rep["rates"]["L"], rep["rates"]["L_upper"])
    mu = rep["curvature"]["mu"]
    assert s["theory_steps"] == pytest.approx(np.sqrt(L / mu) * np.log(1e6))
    assert s["optimal_lr"] == pytest.approx(4 / (np.sqrt(L) + np.sqrt(mu)) ** 2)
    assert s["optimal_momentum"] == pytest.approx(
        ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))) ** 2)
    assert "heavy_ball at its optimal pair" in s["text"] and "sqrt(kappa)" in s["text"]
    assert "with momentum 0.5" in s["text"]


def test_advice_separable_classes(tmp_path, capsys):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(float)         # separable through the origin
    path = write_csv(tmp_path / "sep.csv", X, y, ["a", "b"], target="y")
    rep = analyze_json(capsys, path, "--target", "y")
    a = advice(rep, "separable")
    assert a is not None and a["n_classes"] == 2 and rep["design"]["separable"] is True
    assert "--l2" in a["text"] and "no minimizer" in a["text"]
    rep = analyze_json(capsys, path, "--target", "y", "--l2", "1e-3")
    assert advice(rep, "separable") is None
    # overlapping classes: not separable, no sentence (decided by the linear program)
    y2 = y.copy()
    y2[:10] = 1 - y2[:10]
    path2 = write_csv(tmp_path / "mix.csv", X, y2, ["a", "b"], target="y")
    rep = analyze_json(capsys, path2, "--target", "y")
    assert advice(rep, "separable") is None and rep["design"]["separable"] is False
    # three classes, separable: softmax
    y3 = np.digitize(X[:, 0], [-0.5, 0.5]).astype(float)
    path3 = write_csv(tmp_path / "sep3.csv", X, y3, ["a", "b"], target="y")
    rep = analyze_json(capsys, path3, "--target", "y", "--intercept")
    assert rep["problem"]["model"] == "softmax"
    assert advice(rep, "separable")["n_classes"] == 3


def test_advice_constant_and_duplicate_columns(tmp_path, capsys):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    Xc = np.column_stack([X, np.zeros(60), X[:, 0], np.full(60, 3.0)])
    y = X @ [1.0, -1.0] + rng.normal(size=60)
    path = write_csv(tmp_path / "d.csv", Xc, y, ["a", "b", "zero", "a_copy", "three"],
                     target="y")
    rep = analyze_json(capsys, path, "--target", "y", "--l2", "0.01")
    c = advice(rep, "constant_columns")
    assert c["count"] == 2 and c["columns"] == ["zero", "three"]
    assert "zero = 0" in c["text"] and "three = 3" in c["text"]
    d = advice(rep, "duplicate_columns")
    assert d["count"] == 1 and d["pairs"] == [["a", "a_copy"]]
    assert "a = a_copy" in d["text"]
    # the same in sparse form (svmlight): an all-zero column and a duplicate
    Xs = np.column_stack([np.abs(X), np.zeros(60), np.abs(X[:, 1])])
    svm = write_svmlight(tmp_path / "d.svm", Xs, (y > 0).astype(float))
    rep = analyze_json(capsys, svm, "--l2", "0.01")
    assert advice(rep, "constant_columns")["columns"] == ["x3"]
    assert advice(rep, "duplicate_columns")["pairs"] == [["x2", "x4"]]


def test_json_carries_the_numbers_of_every_sentence(tmp_path, capsys):
    X, y, names = load_breast_cancer()
    path = write_csv(tmp_path / "bc.csv", X, y, names)
    rep = analyze_json(capsys, path, "--target", "target", "--intercept")
    kinds = {a["kind"] for a in rep["advice"]}
    assert {"conditioning", "steps", "separable"} <= kinds
    for a in rep["advice"]:
        assert a["text"].endswith(".")
        numbers = [v for k, v in a.items() if k not in ("kind", "text", "how")]
        assert numbers, a["kind"]
    for key in ("condition_number", "condition_number_standardized", "gram_lambda_max",
                "gram_lambda_min", "constant_columns", "duplicate_columns", "separable"):
        assert key in rep["design"]


SOFTMAX_BAD = [
    ("negative label", "a,target\n1,0\n2,1\n3,-1\n", ["--model", "softmax"],
     "must hold class labels 0, 1, ..., K-1 for --model softmax; row 4 has -1"),
    ("fractional label", "a,target\n1,0\n2,1.5\n3,1\n", ["--model", "softmax"],
     "for --model softmax; row 3 has 1.5"),
    ("empty class", "a,target\n1,0\n2,1\n3,3\n4,3\n", ["--model", "softmax"],
     "class 2 has no samples (labels run 0..3"),
    ("one class", "a,target\n1,0\n2,0\n", ["--model", "softmax"], "holds only class 0"),
    ("constant target", "a,target\n1,4\n2,4\n", ["--model", "auto"],
     "has the same value (4) in every row"),
    ("logistic labels", "a,target\n1,0\n2,1\n3,2\n", ["--model", "logistic"],
     "must hold 0/1 labels for --model logistic; row 4 has 2"),
]


@pytest.mark.parametrize("desc,content,extra,msg", SOFTMAX_BAD, ids=[b[0] for b in SOFTMAX_BAD])
def test_bad_labels_one_line_exit_2(tmp_path, capsys, desc, content, extra, msg):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = cli.main(["analyze", str(path), "--target", "target", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert msg in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_target_is_required_except_for_svmlight(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", np.ones((3, 1)), np.arange(3.0), ["a"])
    assert cli.main(["analyze", path]) == 2
    assert "--target is required" in capsys.readouterr().err


# ---- review findings -------------------------------------------------------------------

def test_label_errors_name_the_files_row(tmp_path, capsys):
    c = tmp_path / "r1.csv"
    c.write_text("a,b,y\n\n\n1,2,0\n3,5,1\n4,1,2\n2,2,1\n")
    t = tmp_path / "r2.tsv"
    t.write_text(c.read_text().replace(",", "\t"))
    for p in (c, t):
        assert cli.main(["analyze", str(p), "--target", "y", "--model", "logistic"]) == 2
        assert "row 6 has 2" in capsys.readouterr().err
    n = tmp_path / "r.npy"
    np.save(n, np.array([[1, 0], [2, 1], [3, 2], [4, 1.0]]))
    assert cli.main(["analyze", str(n), "--target", "-1", "--model", "logistic"]) == 2
    assert "row 2 (0-based) has 2" in capsys.readouterr().err


def test_singular_design_reports_mu_zero_not_noise():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4)) * [1, 1000, 1, 1]
    X[:, 3] = 5.0
    X = np.column_stack([X, X[:, 0]])                  # a duplicate column: X'X singular
    y = rng.standard_normal(200)
    assert LeastSquares(X, y).strong_convexity() == 0.0
    assert LeastSquares(X, y, l2=0.25).strong_convexity() == 0.25
    Xr = rng.standard_normal((200, 4))
    lo = np.linalg.eigvalsh(Xr.T @ Xr / 200)[0]
    assert LeastSquares(Xr, y).strong_convexity() == pytest.approx(lo, rel=1e-12)


def test_constant_column_keeps_the_conditioning_advice(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 200
    X = np.column_stack([np.ones(n), rng.standard_normal(n) * 1000, rng.standard_normal(n)])
    y = X @ [2, 1e-3, -1] + 0.1 * rng.standard_normal(n)
    p = write_csv(tmp_path / "bias.csv", X, y, ["bias", "b", "c"], target="y")
    assert cli.main(["analyze", p, "--target", "y", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    adv = [a for a in rep["advice"] if a["kind"] == "conditioning"]
    assert adv and "after dropping the constant column(s) 'bias'" in adv[0]["text"]
    # the same data standardized without the constant column, plus a column of ones
    Z = (X[:, 1:] - X[:, 1:].mean(0)) / X[:, 1:].std(0)
    Z = np.column_stack([Z, np.ones(n)])
    ev = np.linalg.eigvalsh(Z.T @ Z / n)
    assert adv[0]["condition_number_standardized"] == pytest.approx(ev[-1] / ev[0], rel=1e-9)


def test_exact_f_star_for_dense_least_squares():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 4)), rng.standard_normal(50)
    for l2 in (0.0, 0.3):
        p = LeastSquares(X, y, l2=l2)
        w = np.linalg.solve(X.T @ X / 50 + l2 * np.eye(4), X.T @ y / 50)
        assert cli._exact_fstar(p) == pytest.approx(p.value(w), rel=1e-12)
    assert cli._exact_fstar(Logistic(X, (y > 0).astype(float))) is None
    assert cli._exact_fstar(LeastSquares(sp.csr_array(X), y)) is None


def test_schedule_command_names_and_huge_plots(tmp_path, capsys):
    assert cli.main(["schedule", "MAX_DEPTH"]) == 2
    err = capsys.readouterr().err
    assert "unknown schedule 'MAX_DEPTH'" in err and "MAX_DEPTH," not in err
    pytest.importorskip("matplotlib")
    png = tmp_path / "x.png"
    assert cli.main(["schedule", "cosine", "--lr", "0.1", "--steps", "10000000000000",
                     "--plot", str(png)]) == 0
    assert png.stat().st_size > 5000
