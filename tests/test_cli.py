"""The command line, through subprocess and through the entry function."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import lrcore
from lrcore import cli
from lrcore.datasets import load_breast_cancer, load_diabetes
from lrcore.problems import LeastSquares, Logistic


def run(*args):
    # from a neutral directory: `python -m` puts the working directory first on sys.path,
    # and a source checkout there would shadow the installed package
    # and the lrcore under test (installed, or an in-place build) stays importable
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(lrcore.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "lrcore", *args], capture_output=True,
                          text=True, cwd=tempfile.gettempdir(), env=env, timeout=300)


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
