"""lrcore.datasets.load_file: every format (CSV, .npy, .npz dense and sparse, svmlight),
the C number parser, and every error message (one line, naming file, line and column)."""
from __future__ import annotations

import math
import random
import struct
from decimal import Decimal, getcontext

import numpy as np
import pytest
import scipy.sparse as sp

from lrcore import _core
from lrcore._tabular import DataError, load_table
from lrcore.datasets import load_file
from lrcore.datasets._files import FeatureNames, detect_format

OK = _core.PARSE_STATUS["OK"]


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def one_line_error(path, match, **kw):
    with pytest.raises(DataError) as info:
        load_file(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    assert match in msg, msg
    return msg


# ----------------------------------------------------------------------------------------
# the number parser (csrc/parse.c): correctly rounded, strict decimal grammar
# ----------------------------------------------------------------------------------------

def _check_number(s):
    status, v = _core.parse_number(s.encode())
    ref = float(s)
    if math.isinf(ref):
        assert status == _core.PARSE_STATUS["ERANGE"], s
    else:
        assert status == OK, s
        assert struct.pack("<d", v) == struct.pack("<d", ref), (s, v, ref)


def test_number_parser_matches_python_float_bit_for_bit():
    rng = random.Random(12)
    getcontext().prec = 1200
    for _ in range(3000):
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if not math.isfinite(x):
            continue
        for s in (repr(x), "%.17g" % x, "%.25e" % x, "%.3g" % x, "%.16e" % x):
            _check_number(s)
        nxt = math.nextafter(x, math.inf)
        if math.isfinite(nxt):
            mid = (Decimal(x) + Decimal(nxt)) / 2   # an exact tie: round half to even
            _check_number(format(mid, "e"))
            _check_number(format(mid, "e").replace("e", "000001e", 1)
                          if "." in format(mid, "e") else format(mid, "e"))
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        e = rng.randint(-345, 320)
        _check_number(f"{digits}e{e}")
        _check_number(f"-0.{digits}E+{abs(e)}")
        _check_number(f"{digits[:3]}.{digits[3:]}e{e}")


@pytest.mark.parametrize("s", [
    "0", "-0", "+0.0", "1", "-1.5", ".5", "5.", "1e5", "1E-5", "1e+5", "123e30",
    "9007199254740993", "2.2250738585072014e-308", "2.2250738585072011e-308",
    "4.9e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1.7976931348623157e308",
    "1.7976931348623158e308", "1.7976931348623159e308", "1e309", "-1e400", "1e-400",
    "0." + "0" * 500 + "1", "1" * 900, "1" * 900 + "e-900", "0." + "9" * 1000,
    "1e99999999999999999999", "1e-99999999999999999999",
])
def test_number_parser_edge_cases(s):
    _check_number(s)


@pytest.mark.parametrize("s", ["", " 1", "1 ", ".", "e5", "1e", "1e+", "--1", "+-1", "0x10",
                               "inf", "nan", "Infinity", "1_000", "1.5.2", "1,5", "١"])
def test_number_parser_rejects(s):
    assert _core.parse_number(s.encode())[0] == _core.PARSE_STATUS["ENUMBER"]


def test_count_lines():
    assert _core.parse_count_lines(b"") == 0
    assert _core.parse_count_lines(b"a\nb\r\nc\rd") == 3
    assert _core.parse_count_lines(b"a\n\n\r\r\n", 1) == 4
    with pytest.raises(ValueError):
        _core.parse_count_lines(b"abc", 4)


# ----------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------

def test_csv_basic(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,y,c\n1,2.5,0,-3\n3,-4e-1,1,1E3\n")
    X, y, names = load_file(path, target="y")
    assert X.dtype == np.float64 and X.flags.c_contiguous and X.shape == (2, 3)
    assert X.tolist() == [[1.0, 2.5, -3.0], [3.0, -0.4, 1000.0]]
    assert y.dtype == np.float64 and y.tolist() == [0.0, 1.0]
    assert names == ("a", "b", "c") and isinstance(names, tuple)
    X2, y2, names2 = load_file(path, target=2)       # a column index works too
    assert np.array_equal(X2, X) and np.array_equal(y2, y) and names2 == names
    X3, y3, _ = load_file(path, target=-1)
    assert y3.tolist() == [-3.0, 1000.0]


def test_csv_values_are_correctly_rounded(tmp_path):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(500, 4)) * 10.0 ** rng.integers(-300, 300, size=(500, 4))
    A[0, 0], A[1, 1], A[2, 2] = 5e-324, -0.0, 1.7976931348623157e308
    rows = ["p,q,r,s"] + [",".join(repr(float(v)) for v in row) for row in A]
    rows += [",".join("%.20e" % v for v in row) for row in A[:50]]
    X, y, _ = load_file(write(tmp_path, "r.csv", "\n".join(rows)), target="s")
    full = np.vstack([A, A[:50]])
    ref = np.array([[float("%.20e" % v) for v in row] for row in A[:50]])
    assert np.array_equal(bits(X[:500]), bits(full[:500, :3]))
    assert np.array_equal(bits(y[:500]), bits(full[:500, 3]))
    assert np.array_equal(bits(X[500:]), bits(ref[:, :3]))


def test_csv_quotes_crlf_bom_blank_lines(tmp_path):
    content = ('\ufeff"a", "b c" ,y\r\n'
               '"1.5", 2 ,3\r\n'
               '\r\n'
               '   \t \r\n'
               '4,"  5e-1 ","-6"\r\n'
               '" 7\n",8,9')                    # no final newline; a quoted line break
    X, y, names = load_file(write(tmp_path, "q.csv", content.encode("utf-8")), target="y")
    assert names == ("a", "b c")
    assert X.tolist() == [[1.5, 2.0], [4.0, 0.5], [7.0, 8.0]]
    assert y.tolist() == [3.0, -6.0, 9.0]


@pytest.mark.parametrize("sep,eol", [(";", "\n"), ("\t", "\n"), (",", "\r"), (";", "\r\n")])
def test_csv_delimiters_and_line_ends(tmp_path, sep, eol):
    text = eol.join(sep.join(r) for r in [["a", "b", "t"], ["1", "2", "3"], ["4", "5", "6"]])
    X, y, names = load_file(write(tmp_path, "d.txt", text + eol), target="t")
    assert names == ("a", "b") and X.tolist() == [[1, 2], [4, 5]] and y.tolist() == [3, 6]


def test_csv_semicolon_with_decimal_comma_is_named(tmp_path):
    path = write(tmp_path, "eu.csv", "a;b;y\n1,5;2;3\n")
    one_line_error(path, "non-numeric value '1,5' in column 'a', row 2", target="y")


def test_csv_header_with_many_columns_beyond_the_first_chunk(tmp_path):
    d = 12000                                        # header line longer than 64 KiB
    header = ",".join(f"feature_{j:05d}" for j in range(d))
    row = ",".join(str(j % 7) for j in range(d))
    X, y, names = load_file(write(tmp_path, "w.csv", f"{header}\n{row}\n{row}\n"),
                            target="feature_00003")
    assert X.shape == (2, d - 1) and len(names) == d - 1 and y.tolist() == [3.0, 3.0]
    assert X[1, :5].tolist() == [0, 1, 2, 4, 5]


MISSING = ["", "NA", "na", "nan", "NaN", "?", "N/A", "null", "None", '""', " "]


@pytest.mark.parametrize("cell", MISSING)
def test_csv_missing_values_name_row_and_column(tmp_path, cell):
    path = write(tmp_path, "m.csv", f"a,b,target\n1,2,3\n4,{cell},6\n")
    one_line_error(path, "missing value in column 'b', row 3", target="target")


CSV_ERRORS = [
    ("non-numeric", "a,b,t\n1,2,3\n4,x7,6\n", "non-numeric value 'x7' in column 'b', row 3"),
    ("inf", "a,b,t\n1,inf,3\n", "non-numeric value 'inf' in column 'b', row 2"),
    ("hex", "a,b,t\n1,2,0x1p3\n", "non-numeric value '0x1p3' in column 't', row 2"),
    ("overflow", "a,b,t\n1,2,3\n1e999,5,6\n",
     "value '1e999' in column 'a', row 3 is beyond the float64 range"),
    ("escaped quote", 'a,b,t\n1,"2""",3\n', "non-numeric value '2\"\"' in column 'b', row 2"),
    ("short row", "a,b,t\n1,2,3\n4,5\n", "row 3 has 2 fields, the header has 3"),
    ("long row", "a,b,t\n1,2,3\n4,5,6,7\n", "row 3 has 4 fields, the header has 3"),
    ("trailing comma", "a,b,t\n1,2,3,\n", "row 2 has 4 fields, the header has 3"),
    ("unterminated quote", 'a,b,t\n1,2,3\n4,"5,6\n',
     "row 3: unterminated quoted field in column 'b'"),
    ("text after quote", 'a,b,t\n1,"2"x,3\n',
     "row 2: text 'x' after the closing quote in column 'b'"),
    ("blank lines count", "a,b,t\n\n1,2,3\n\n\n4,?,6\n", "missing value in column 'b', row 6"),
    ("quoted line breaks count", 'a,b,t\n1,"2\n\n",3\n4,5,z\n',
     "non-numeric value 'z' in column 't', row 5"),
    ("header after blank lines", "\n \na,b,t\n1,2,x\n", "non-numeric value 'x' in column 't', row 4"),
    ("crlf line numbers", "a,b,t\r\n1,2,3\r\n4,5,q\r\n", "non-numeric value 'q' in column 't', row 3"),
    ("long token shortened", "a,b,t\n1,2," + "z" * 100 + "\n", "'" + "z" * 37 + "...'"),
    ("empty", "", "the file is empty"),
    ("blank", " \n\t\n", "the file is empty"),
    ("header only", "a,b,t\n", "the file has a header but no data rows"),
    ("header and blanks", "a,b,t\n\n  \n", "the file has a header but no data rows"),
    ("one column", "t\n1\n", "need a header row with at least two columns"),
    ("duplicates", "a,b,a,t\n1,2,3,4\n", "duplicate column name(s) in the header: a"),
    ("numeric header", "1,2,3\n4,5,6\n", "the first row looks like data"),
    ("unknown target", "a,b,y\n1,2,3\n", "no column named 't'; columns are: a, b, y"),
    ("binary", b"\x89PNG\r\n\x1a\n\xff\xfe garbage", "not a text CSV file"),
    ("nul bytes", b"a,b,t\n1,2,3\n\x00\x00\n", "not a text CSV file (it contains NUL bytes)"),
]


@pytest.mark.parametrize("desc,content,msg", CSV_ERRORS, ids=[c[0] for c in CSV_ERRORS])
def test_csv_errors(tmp_path, desc, content, msg):
    path = write(tmp_path, "bad.csv", content)
    full = one_line_error(path, msg, target="t")
    assert full.startswith(path + ":")


def test_csv_target_required_and_index_checked(tmp_path):
    path = write(tmp_path, "d.csv", "a,b\n1,2\n")
    one_line_error(path, "a CSV file needs target= the name of the target column; "
                         "columns are: a, b")
    one_line_error(path, "target 5 is out of range for 2 columns", target=5)


def test_csv_large_file_matches_loadtxt(tmp_path):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(100_000, 3))
    path = tmp_path / "big.csv"
    np.savetxt(path, A, fmt="%.17g", delimiter=",", header="a,b,target", comments="")
    X, y, names = load_file(path, target="target")
    assert names == ("a", "b")
    assert np.array_equal(bits(X), bits(A[:, :2])) and np.array_equal(bits(y), bits(A[:, 2]))
    assert X.flags.c_contiguous and X.flags.owndata


# ----------------------------------------------------------------------------------------
# .npy
# ----------------------------------------------------------------------------------------

def test_npy(tmp_path):
    A = np.arange(12, dtype=np.int32).reshape(4, 3)
    path = tmp_path / "a.npy"
    np.save(path, A)
    for t in (-1, 2, "2", "-1", np.int64(2)):
        X, y, names = load_file(path, target=t)
        assert X.dtype == np.float64 and X.flags.c_contiguous
        assert np.array_equal(X, A[:, :2]) and np.array_equal(y, A[:, 2])
        assert names == ("x0", "x1") and isinstance(names, FeatureNames)
    X, y, names = load_file(path, target=1)
    assert np.array_equal(X, A[:, [0, 2]]) and names == ("x0", "x2")


NPY_ERRORS = [
    (np.arange(3.0), 0, "expected a 2-D array with at least two columns, got shape (3,)"),
    (np.ones((3, 1)), 0, "expected a 2-D array with at least two columns"),
    (np.ones((0, 3)), 0, "the array has no rows"),
    (np.ones((2, 3), dtype=complex), 0, "expected a real numeric array, got dtype complex128"),
    (np.array([["a", "b"], ["c", "d"]]), 0, "expected a real numeric array"),
    (np.ones((2, 3)), None, "a .npy file has no column names; pass target= the column index"),
    (np.ones((2, 3)), "y", "target must be a column index (e.g. -1 for the last), got 'y'"),
    (np.ones((2, 3)), 3, "target 3 is out of range for 3 columns"),
    (np.ones((2, 3)), True, "target must be a column index"),
    (np.array([[1.0, np.nan, 2.0]]), 2, "non-finite value in column 'x1', row 0"),
    (np.array([[1.0, 2.0], [1.0, np.inf]]), 1, "non-finite target value at row 1"),
]


@pytest.mark.parametrize("A,target,msg", NPY_ERRORS)
def test_npy_errors(tmp_path, A, target, msg):
    path = tmp_path / "a.npy"
    np.save(path, A)
    one_line_error(path, msg, target=target)


def test_npy_damaged(tmp_path):
    path = write(tmp_path, "a.npy", b"\x93NUMPY garbage")
    one_line_error(path, "unreadable .npy file")


# ----------------------------------------------------------------------------------------
# .npz: dense X and y, or scipy.sparse.save_npz with the target as a column
# ----------------------------------------------------------------------------------------

def test_npz_dense(tmp_path):
    rng = np.random.default_rng(1)
    X0, y0 = rng.normal(size=(5, 3)), rng.normal(size=5)
    path = tmp_path / "d.npz"
    np.savez(path, X=X0, y=y0, other=np.arange(5.0))
    X, y, names = load_file(path)
    assert np.array_equal(X, X0) and np.array_equal(y, y0) and names == ("x0", "x1", "x2")
    _, y2, _ = load_file(path, target="other")
    assert y2.tolist() == [0, 1, 2, 3, 4]
    np.savez(path, X=X0.astype(np.float32), y=y0, feature_names=np.array(["p", "q", "r"]))
    X, _, names = load_file(path)
    assert X.dtype == np.float64 and names == ("p", "q", "r") and isinstance(names, tuple)


NPZ_ERRORS = [
    ({"A": np.ones((2, 2)), "y": np.ones(2)}, None, "a .npz file needs an array 'X'"),
    ({"X": np.ones((2, 2)), "z": np.ones(2)}, None, "no array named 'y' for the target; "
                                                    "arrays are: X, z"),
    ({"X": np.ones((2, 2)), "y": np.ones(2)}, 0, "no array named 0 for the target"),
    ({"X": np.ones(2), "y": np.ones(2)}, None, "'X' must be a non-empty 2-D array"),
    ({"X": np.ones((2, 2)), "y": np.ones(3)}, None, "'y' must be 1-D with one value per row"),
    ({"X": np.ones((2, 2), dtype=complex), "y": np.ones(2)}, None, "'X' must be real numeric"),
    ({"X": np.array([[1.0, np.inf]]), "y": np.ones(1)}, None,
     "non-finite value in column 'x1', row 0"),
]


@pytest.mark.parametrize("arrays,target,msg", NPZ_ERRORS)
def test_npz_dense_errors(tmp_path, arrays, target, msg):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    one_line_error(path, msg, target=target)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia"])
@pytest.mark.parametrize("kind", [sp.csr_matrix, sp.csr_array])
def test_npz_sparse(tmp_path, fmt, kind):
    M = kind(sp.random(40, 7, density=0.3, random_state=4, format="csr"))
    M[3, 2] = -1.5                                   # target column has entries
    path = tmp_path / "s.npz"
    sp.save_npz(path, M.asformat(fmt))
    D = M.toarray()
    for t in (2, "2", -5):
        X, y, names = load_file(path, target=t)
        assert isinstance(X, sp.csr_array) and X.shape == (40, 6)
        assert X.has_canonical_format
        assert X.indices.dtype == np.int32 and X.indptr.dtype == np.int32
        assert X.data.dtype == np.float64
        assert np.array_equal(X.toarray(), np.delete(D, 2, axis=1))
        assert np.array_equal(y, D[:, 2]) and y.dtype == np.float64
        assert names == ("x0", "x1", "x3", "x4", "x5", "x6")


def test_npz_sparse_duplicates_are_summed(tmp_path):
    M = sp.coo_array((np.array([1.0, 2.0, 4.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))),
                     shape=(2, 3))
    path = tmp_path / "s.npz"
    sp.save_npz(path, M)
    X, y, _ = load_file(path, target=0)
    assert X.toarray().tolist() == [[3.0, 0.0], [0.0, 0.0]] and y.tolist() == [0.0, 4.0]


def test_npz_sparse_errors(tmp_path):
    path = tmp_path / "s.npz"
    sp.save_npz(path, sp.csr_array(np.eye(3)))
    one_line_error(path, "a sparse .npz file has no column names; pass target= the column")
    one_line_error(path, "target 3 is out of range for 3 columns", target=3)
    one_line_error(path, "target must be a column index", target="y")
    bad = sp.csr_array(np.array([[1.0, 0.0, 2.0], [0.0, np.nan, 1.0]]))
    sp.save_npz(path, bad)
    one_line_error(path, "non-finite value in column 'x1', row 1", target=2)
    one_line_error(path, "non-finite target value row 1", target=1)
    sp.save_npz(path, sp.csr_array(np.ones((3, 1))))
    one_line_error(path, "at least two columns", target=0)
    sp.save_npz(path, sp.csr_array(np.ones((2, 2), dtype=complex)))
    one_line_error(path, "expected a real numeric matrix", target=0)


def test_npy_and_npz_mixed_up(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((2, 2)))
    one_line_error(tmp_path / "a.npy", "not a .npz archive", format="npz")
    np.savez(tmp_path / "b.npz", X=np.ones((2, 2)), y=np.ones(2))
    one_line_error(tmp_path / "b.npz", "not a .npy file", format="npy", target=0)


def test_npz_damaged(tmp_path):
    path = write(tmp_path, "z.npz", b"PK\x03\x04 not really a zip")
    one_line_error(path, "unreadable .npz file")


# ----------------------------------------------------------------------------------------
# svmlight / libsvm
# ----------------------------------------------------------------------------------------

SVM_ALL = (
    "\ufeff# a file using every feature of the format\n"
    "1 qid:3 1:0.5 3:-2e-3 # trailing comment\n"
    "\n"
    "   \t\n"
    "# comment-only line\n"
    "-1\n"                                           # an empty row
    "+2 2:1 \t 4:1E2   \r\n"                         # tabs, trailing blanks, CRLF
    "3.5e0 1:0 2:-0 6:.25#no space before the comment\n"   # explicit zeros kept
    "7 qid:-1\n"                                     # a qid and nothing else
    "-4 5:1e-320 6:-12345678901234567890"             # subnormal, long digits, no final EOL
)
SVM_DENSE = [
    [0.5, 0.0, -2e-3, 0.0, 0.0, 0.0],
    [0.0] * 6,
    [0.0, 1.0, 0.0, 100.0, 0.0, 0.0],
    [0.0, -0.0, 0.0, 0.0, 0.0, 0.25],
    [0.0] * 6,
    [0.0, 0.0, 0.0, 0.0, 1e-320, -12345678901234567890.0],
]


def test_svmlight_every_feature(tmp_path):
    path = write(tmp_path, "all.svm", SVM_ALL.encode("utf-8"))
    X, y, names = load_file(path)
    assert isinstance(X, sp.csr_array) and X.shape == (6, 6) and X.has_canonical_format
    assert X.indices.dtype == np.int32 and X.indptr.dtype == np.int32
    assert np.array_equal(X.toarray(), np.array(SVM_DENSE))
    assert y.tolist() == [1.0, -1.0, 2.0, 3.5, 7.0, -4.0]
    assert X.indptr.tolist() == [0, 2, 2, 4, 7, 7, 9]
    assert X.nnz == 9                                # explicit zeros are stored entries
    assert np.signbit(X.data[5]) and X.data[4] == 0
    assert list(names) == ["x1", "x2", "x3", "x4", "x5", "x6"]


def test_svmlight_zero_based(tmp_path):
    path = write(tmp_path, "z.svm", "0 0:1 2:3\n1 1:2\n2 4:1\n")
    X, y, names = load_file(path)                    # auto: an index 0 => 0-based
    assert X.shape == (3, 5) and names[0] == "x0" and X[0, 0] == 1 and X[2, 4] == 1
    assert y.tolist() == [0.0, 1.0, 2.0]             # multi-class labels
    one_line_error(path, "z.svm line 1: feature index 0 in '0:1', but the file is read as "
                         "1-based (zero_based=False)", zero_based=False)
    path = write(tmp_path, "o.svm", "1 1:1 3:3\n")
    assert load_file(path)[0].shape == (1, 3)        # auto: 1-based
    X, _, names = load_file(path, zero_based=True)
    assert X.shape == (1, 4) and X[0, 0] == 0 and X[0, 1] == 1 and list(names)[-1] == "x3"
    X, _, _ = load_file(path, zero_based=False)
    assert X.toarray().tolist() == [[1.0, 0.0, 3.0]]


def test_svmlight_n_features(tmp_path):
    path = write(tmp_path, "n.svm", "1 1:1 3:3\n0\n")
    X, _, names = load_file(path, n_features=10)
    assert X.shape == (2, 10) and len(names) == 10 and names[-1] == "x10"
    one_line_error(path, "n_features=2 is too small: the file has feature index 3 (1-based), "
                         "so it needs 3 columns", n_features=2)
    with pytest.raises(ValueError, match="n_features must be an integer >= 0"):
        load_file(path, n_features=-1)
    with pytest.raises(ValueError, match="n_features must be an integer >= 0"):
        load_file(path, n_features=2.5)
    with pytest.raises(ValueError, match="zero_based must be True, False or 'auto'"):
        load_file(path, zero_based="yes")


def test_svmlight_label_only_file_and_large_indices(tmp_path):
    X, y, names = load_file(write(tmp_path, "l.svm", "1\n2\n"))
    assert X.shape == (2, 0) and X.nnz == 0 and y.tolist() == [1, 2] and len(names) == 0
    # an index beyond int32: int64 indices, names made on demand
    X, y, names = load_file(write(tmp_path, "h.svm", "1 5:1 3000000000:2.5\n"))
    assert X.shape == (1, 3_000_000_000)
    assert X.indices.dtype == np.int64 and X.indptr.dtype == np.int64
    assert X.indices.tolist() == [4, 2_999_999_999] and X.data.tolist() == [1.0, 2.5]
    assert len(names) == 3_000_000_000 and names[-1] == "x3000000000"
    assert names.index("x5") == 4


def test_svmlight_target_convention(tmp_path):
    path = write(tmp_path, "t.svm", "1 1:1\n")
    assert load_file(path, target="label")[1].tolist() == [1.0]
    one_line_error(path, "the target is the label that starts each line; leave "
                         "target=None (got 'y')", target="y")


SVM_ERRORS = [
    ("label", "1 1:1\nabc 2:1\n", "line 2: the label 'abc' is not a number"),
    ("no label", "1 1:1\n1:2 3:4\n", "line 2: a line must start with a label (a number), "
                                     "found '1:2'"),
    ("multi-label", "1,2 1:1\n", "line 1: the label '1,2' is not a number (multi-label files "
                                 "are not supported)"),
    ("nan label", "nan 1:1\n", "line 1: the label 'nan' is not a number"),
    ("value", "1 1:1\n\n1 2:abc\n", "line 3: the value in '2:abc' is not a number"),
    ("nan value", "1 1:nan\n", "line 1: the value in '1:nan' is not a number"),
    ("empty value", "1 1:\n", "line 1: the value in '1:' is not a number"),
    ("spaced pair", "1 1 : 2\n", "line 1: '1' is not an index:value pair"),
    ("not a pair", "1 1:1\n# c\n1 foo\n", "line 3: 'foo' is not an index:value pair"),
    ("decreasing", "1 1:1\n1 3:1 2:1\n", "line 2: feature indices must be strictly increasing:"
                                         " 2 follows 3 ('2:1')"),
    ("duplicate", "1 3:1 3:1\n", "line 1: feature index 3 appears twice ('3:1')"),
    ("negative index", "1 -1:2\n", "line 1: bad feature index in '-1:2'"),
    ("float index", "1 1.5:2\n", "line 1: bad feature index in '1.5:2'"),
    ("empty index", "1 :2\n", "line 1: bad feature index in ':2'"),
    ("huge index", "1 99999999999999999999:1\n", "line 1: bad feature index in "
                                                 "'99999999999999999999:1'"),
    ("late qid", "1 1:2 qid:3\n", "line 1: qid must come right after the label ('qid:3')"),
    ("bad qid", "1 qid:x 1:2\n", "line 1: bad qid 'qid:x' (an integer is needed)"),
    ("value overflow", "1 1:1\r\n1 1:1e999\r\n", "line 2: the value in '1:1e999' is beyond "
                                                 "the float64 range"),
    ("label overflow", "1 1:1\n-1e999 1:1\n", "line 2: the label '-1e999' is beyond the "
                                              "float64 range"),
    ("cr line ends", "1 1:1\r1 1:1\r1 x\r", "line 3: 'x' is not an index:value pair"),
    ("empty", "", "the file has no data lines"),
    ("comments only", "# nothing\n\n", "the file has no data lines"),
]


@pytest.mark.parametrize("desc,content,msg", SVM_ERRORS, ids=[c[0] for c in SVM_ERRORS])
def test_svmlight_errors(tmp_path, desc, content, msg):
    path = write(tmp_path, "bad.svm", content)
    full = one_line_error(path, msg)
    assert full.startswith(path)


def _random_svmlight(rng, n, d, density, zero_based, style):
    lines, rows = [], []
    for i in range(n):
        k = rng.binomial(d, density)
        idx = np.sort(rng.choice(d, size=k, replace=False))
        val = rng.normal(size=k) * 10.0 ** rng.integers(-30, 30, size=k)
        label = int(rng.integers(-3, 4)) if i % 2 else float(rng.normal())
        fmt = {"repr": repr, "g17": lambda v: "%.17g" % v, "e25": lambda v: "%.25e" % v,
               "short": lambda v: "%.4g" % v}[style]
        toks = [str(label) if isinstance(label, int) else fmt(label)]
        if i % 5 == 0:
            toks.append(f"qid:{i}")
        toks += [f"{j + (0 if zero_based else 1)}:{fmt(float(v))}" for j, v in zip(idx, val)]
        line = " ".join(toks)
        if i % 7 == 0:
            line += "  # comment " + str(i)
        lines.append(line)
        rows.append((label, idx, val))
    return "\n".join(lines) + "\n", rows


@pytest.mark.parametrize("seed,zero_based,style", [(0, False, "repr"), (1, True, "g17"),
                                                   (2, False, "e25"), (3, True, "short")])
def test_svmlight_matches_sklearn_bit_for_bit(tmp_path, seed, zero_based, style):
    skd = pytest.importorskip("sklearn.datasets")
    rng = np.random.default_rng(seed)
    text, _ = _random_svmlight(rng, 300, 50, 0.2, zero_based, style)
    path = write(tmp_path, "r.svm", text)
    X, y, _ = load_file(path)
    Xs, ys = skd.load_svmlight_file(path)
    assert X.shape == Xs.shape
    assert np.array_equal(X.indptr, Xs.indptr) and np.array_equal(X.indices, Xs.indices)
    assert np.array_equal(bits(X.data), bits(Xs.data))       # 0 ulp: both correctly rounded
    assert np.array_equal(bits(y), bits(ys))


def test_svmlight_matches_sklearn_on_its_own_files_and_the_feature_file(tmp_path):
    skd = pytest.importorskip("sklearn.datasets")
    rng = np.random.default_rng(5)
    M = sp.random(200, 30, density=0.1, random_state=5, format="csr")
    M.data = rng.normal(size=M.nnz) * 1e3
    y0 = rng.integers(0, 4, size=200).astype(float)
    path = str(tmp_path / "sk.svm")
    skd.dump_svmlight_file(M, y0, path, comment="written by scikit-learn")
    for zb in ("auto", True):                       # the file has an index 0
        X, y, _ = load_file(path, zero_based=zb)
        Xs, ys = skd.load_svmlight_file(path, zero_based=zb)
        assert X.shape == Xs.shape and np.array_equal(bits(y), bits(ys))
        assert np.array_equal(X.indices, Xs.indices) and np.array_equal(bits(X.data), bits(Xs.data))
    with pytest.raises(ValueError, match="index 0"):
        skd.load_svmlight_file(path, zero_based=False)
    one_line_error(path, "feature index 0 in", zero_based=False)
    path = write(tmp_path, "all.svm", SVM_ALL.replace("#no space", " #no space")
                 .replace("\ufeff", "").replace("qid:-1", "qid:1"))
    X, y, _ = load_file(path)
    Xs, ys = skd.load_svmlight_file(path)
    assert np.array_equal(X.toarray(), Xs.toarray()) and np.array_equal(y, ys)
    assert np.array_equal(bits(X.data), bits(Xs.data)) and X.nnz == Xs.nnz


def test_svmlight_large_smoke(tmp_path):
    rng = np.random.default_rng(7)
    n, d, k = 20_000, 1000, 10                      # k entries per row, one per band of d/k
    indices = (rng.integers(0, d // k, size=(n, k)) + np.arange(k) * (d // k)).ravel()
    data = rng.normal(size=n * k)
    y0 = rng.integers(0, 10, size=n).astype(float)
    ind, val, lab = (indices + 1).tolist(), data.tolist(), y0.tolist()
    rows = [" ".join([repr(lab[i])] + [f"{ind[j]}:{val[j]!r}" for j in range(i * k, i * k + k)])
            for i in range(n)]
    X, y, _ = load_file(write(tmp_path, "big.libsvm", "\n".join(rows)))
    assert X.shape == (n, int(indices.max()) + 1) and np.array_equal(y, y0)
    assert np.array_equal(X.indptr, np.arange(0, n * k + 1, k))
    assert np.array_equal(X.indices, indices) and np.array_equal(bits(X.data), bits(data))


# ----------------------------------------------------------------------------------------
# detection, format=, paths
# ----------------------------------------------------------------------------------------

def test_detect_format(tmp_path):
    assert detect_format(write(tmp_path, "a.csv", "1 1:1\n")) == "csv"      # extension wins
    assert detect_format(write(tmp_path, "a.txt", "1 1:1\n-1 2:3 # c\n")) == "svmlight"
    assert detect_format(write(tmp_path, "b.txt", "a,b\n1,2\n")) == "csv"
    assert detect_format(write(tmp_path, "c.txt", "1\n2\n")) == "csv"       # no pair seen
    assert detect_format(write(tmp_path, "d", "# c\n1 qid:1 5:2\n")) == "svmlight"
    np.save(tmp_path / "e.npy", np.ones((2, 2)))
    (tmp_path / "e.npy").rename(tmp_path / "e.bin")
    assert detect_format(tmp_path / "e.bin") == "npy"
    np.savez(tmp_path / "f.npz", X=np.ones((2, 2)), y=np.ones(2))
    (tmp_path / "f.npz").rename(tmp_path / "f.dat")
    assert detect_format(tmp_path / "f.dat") == "npz"
    for ext in ("svm", "svmlight", "libsvm"):
        assert detect_format(write(tmp_path, "g." + ext, "")) == "svmlight"
    X, _, _ = load_file(tmp_path / "e.bin", target=0)
    assert X.shape == (2, 1)
    assert load_file(tmp_path / "f.dat")[1].tolist() == [1.0, 1.0]


def test_format_overrides_detection(tmp_path):
    path = write(tmp_path, "data.csv", "1 1:1 2:2\n0 2:1\n")
    X, y, _ = load_file(path, format="svmlight")
    assert X.toarray().tolist() == [[1, 2], [0, 1]] and y.tolist() == [1, 0]
    one_line_error(path, "need a header row with at least two columns", target="y")
    path = write(tmp_path, "data.svm", "a,b\n1,2\n")
    assert load_file(path, format="csv", target="b")[1].tolist() == [2.0]
    with pytest.raises(ValueError, match="format must be one of csv, npy, npz, svmlight"):
        load_file(path, format="libsvm")
    with pytest.raises(ValueError, match="apply to svmlight files only"):
        load_file(path, format="csv", target="b", zero_based=True)


def test_paths(tmp_path):
    one_line_error(str(tmp_path / "nope.csv"), "nope.csv: no such file", target="y")
    one_line_error(str(tmp_path), "is a directory, not a data file", target="y")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load_file(3)
    assert issubclass(DataError, ValueError)


def test_feature_names():
    names = FeatureNames(4, offset=1)
    assert len(names) == 4 and list(names) == ["x1", "x2", "x3", "x4"]
    assert names[-1] == "x4" and names[1:3] == ("x2", "x3")
    assert names == ("x1", "x2", "x3", "x4") and names == ["x1", "x2", "x3", "x4"]
    assert names != ("x1",) and hash(names) == hash(tuple(names))
    assert "x4" in names and "x0" not in names and "x01" not in names and 3 not in names
    assert names.index("x3") == 2
    with pytest.raises(ValueError):
        names.index("x9")
    with pytest.raises(IndexError):
        names[4]
    skip = FeatureNames(3, skip=1)
    assert list(skip) == ["x0", "x2", "x3"] and "x1" not in skip and skip.index("x3") == 2
    assert repr(skip) == "FeatureNames(['x0', 'x2', 'x3'])"
    assert "1000 names" in repr(FeatureNames(1000))


# ----------------------------------------------------------------------------------------
# the command line's loader and the binding's guards
# ----------------------------------------------------------------------------------------

def test_load_table_uses_load_file(tmp_path, monkeypatch):
    import lrcore._tabular as tab

    t = load_table(write(tmp_path, "d.svm", "1 1:2 3:1\n0 2:1\n"), "label")
    assert isinstance(t.X, np.ndarray) and t.X.tolist() == [[2, 0, 1], [0, 1, 0]]
    assert t.target == "label" and t.feature_names == ("x1", "x2", "x3")
    path = tmp_path / "s.npz"
    sp.save_npz(path, sp.csr_array(np.eye(3)))
    t = load_table(path, "-1")
    assert t.target == "column 2" and t.X.shape == (3, 2)
    monkeypatch.setattr(tab, "MAX_DENSE", 5)
    with pytest.raises(DataError, match="sparse data of shape 3 x 2 is too large"):
        load_table(path, "-1")
    t = load_table(write(tmp_path, "d.csv", "a,b,y\n1,2,3\n"), "y")
    assert t.target == "y" and t.X.tolist() == [[1, 2]]


def test_binding_guards():
    X, y = np.empty((1, 1)), np.empty(1)
    colmap = np.array([0, -1], dtype=np.int64)
    buf = b"1,2\n3,4\n"
    status, rows, err = _core.parse_csv(buf, 0, 1, ",", colmap, X, y)
    assert status == _core.PARSE_STATUS["ESIZE"] and rows == 0 and err[0] == 2
    with pytest.raises(TypeError):
        _core.parse_csv(buf, 0, 1, ",", colmap, X.astype(np.float32), y)
    with pytest.raises(ValueError):
        _core.parse_csv(buf, 0, 1, ",", np.array([0, 5], dtype=np.int64), X, y)
    with pytest.raises(ValueError):
        _core.parse_csv(buf, 0, 1, ",,", colmap, X, y)
    with pytest.raises(ValueError):
        _core.parse_csv(buf, 99, 1, ",", colmap, X, y)
    status, info, _ = _core.parse_svmlight_scan(b"1 1:1 2:2\n", 0, "auto")
    assert status == OK and info == (1, 2, 2, 1, 0)
    with pytest.raises(ValueError):
        _core.parse_svmlight_fill(b"1 1:1 2:2\n", 0, "auto", 1, 2, np.empty(1),
                                  np.empty(1, np.int32), np.empty(2, np.int32), np.empty(2))
    with pytest.raises(TypeError):
        _core.parse_svmlight_fill(b"1 1:1 2:2\n", 0, "auto", 1, 2, np.empty(1),
                                  np.empty(2, np.int16), np.empty(2, np.int16), np.empty(2))
    status, _ = _core.parse_svmlight_fill(b"1 1:1 2:2\n", 0, "auto", 1, 2, np.empty(1),
                                          np.empty(2, np.int64), np.empty(1, np.int64),
                                          np.empty(1))
    assert status == _core.PARSE_STATUS["ESIZE"]


# ---- review findings -------------------------------------------------------------------

def test_tsv_record_of_empty_fields_is_a_missing_value(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("a\tb\ty\n1\t2\t0\n\t\t\n3\t4\t1\n")
    with pytest.raises(DataError, match="missing value in column 'a', row 3"):
        load_file(p, target="y")
    # blank lines (no tabs) are still skipped
    p.write_text("a\tb\ty\n1\t2\t0\n\n  \n3\t4\t1\n")
    X, y, _ = load_file(p, target="y")
    assert X.shape == (2, 2) and list(y) == [0.0, 1.0]


def test_npz_feature_names_of_the_wrong_length_are_refused(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.ones((3, 2)), y=np.arange(3.0), feature_names=np.array(["p", "q", "r"]))
    with pytest.raises(DataError, match="'feature_names' must be 1-D with one name per column"):
        load_file(p)
    np.savez(p, X=np.ones((3, 2)), y=np.arange(3.0), feature_names=np.array(["p", "q"]))
    assert tuple(load_file(p)[2]) == ("p", "q")


def test_data_line_maps_rows_to_lines(tmp_path):
    from lrcore.datasets._files import data_line

    c = tmp_path / "r.csv"
    c.write_text("\n\"a\",b,y\n\n\n1,2,0\n3,5,1\n\n4,1,2\n")
    assert [data_line(c, i) for i in range(4)] == [5, 6, 8, None]
    t = tmp_path / "r.tsv"
    t.write_text("a\tb\ty\n1\t2\t0\n\n3\t4\t1\n")
    assert [data_line(t, i) for i in range(2)] == [2, 4]
    s = tmp_path / "r.svm"
    s.write_text("# header comment\n0 1:1\n\n1 2:1 # trailing\n  # only a comment\n1 1:3\n")
    assert [data_line(s, i) for i in range(3)] == [2, 4, 6]
    assert load_file(s)[0].shape[0] == 3          # the loader agrees on the rows
    n = tmp_path / "r.npy"
    np.save(n, np.ones((3, 2)))
    assert data_line(n, 0) is None
