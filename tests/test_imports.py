"""The import order of lrcore's modules, read from the source with ``ast`` (nothing is imported).

``LAYERS`` below is the single source of truth for the order.  Lower layers never import
higher ones; a module may import one of its own layer as long as no circle forms; the data
layer is fenced off (it may import only layers 0 and 1 besides itself).  The package
``lrcore`` (``lrcore/__init__.py``) sits on top and may import anything, and nothing may
import it: ``import lrcore`` or ``from lrcore import NAME`` (NAME not a submodule) inside a
submodule imports the package, which imports that submodule again -- a circle.  ``from
lrcore import x`` where ``x`` is a submodule counts as importing ``lrcore.x``.

Rules:

(a) no import circles among lrcore's modules;
(b) every import follows the layer order;
(c) no private name crosses a module: ``from lrcore.x import _name``, or ``x._name`` /
    ``lrcore.x._name`` on a module bound by ``import lrcore.x [as x]`` or ``from lrcore
    import x``, where ``lrcore.x`` is another module.  Private *modules* (``_core``,
    ``_validation``, ...) may be imported -- that is what they are for -- but not their
    private names, and that holds for the binding module ``lrcore._core`` too (checked
    strictly, in its own test);
(d) every module under ``lrcore/`` has a layer (a new module fails until it is added).

Every import counts: at module level, inside functions (the lazy imports that hide a circle
from the interpreter but not from the design), under ``if TYPE_CHECKING:``.  Imports by
string (``importlib.import_module``) are not seen.  A name bound by an import anywhere in a
file is taken to be that module everywhere in the file (no scoping).  Of a Cython module
(``.pyx`` and the ``.pxi`` files it includes) only the Python ``import`` statements are read
(``cimport`` is compile-time).  Entries of LAYERS for modules that do not exist (yet) are
simply unused.  The checker itself is tested on small made-up trees at the end.

    python tests/test_imports.py            # print the layers, the import graph and every
                                            # violation (exit status 1 when there are any)
"""
from __future__ import annotations

import ast
import fnmatch
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# ----------------------------------------------------------------------------------------
# the layer table: the single source of truth (lowest first)
# ----------------------------------------------------------------------------------------

#: (layer, module patterns, what lives there); ``pkg.*`` matches every submodule of pkg
LAYERS = [
    (0, ("lrcore._core",), "the binding module (Cython over csrc/)"),
    (1, ("lrcore._validation", "lrcore._plotting"),
     "argument checks and the methods table; the matplotlib entry point"),
    (2, ("lrcore.curvature", "lrcore.optim", "lrcore.schedules", "lrcore.schedules.*"),
     "operators and eigenvalues; update kernels; schedules"),
    (3, ("lrcore.problems",), "objectives"),
    (4, ("lrcore.rates",), "formulas and safe_lr"),
    (5, ("lrcore.adaptive",), "step-size rules that adapt during a run"),
    (6, ("lrcore.stability",), "descend, check_stability, stability_boundary, sweep"),
    (7, ("lrcore.search",), "trials, grid/random/halving, range_test"),
    # the data layer: today lrcore.datasets imports no lrcore module and lrcore._tabular
    # only lrcore.datasets; they load data and know nothing of curvature or training
    (8, ("lrcore.datasets", "lrcore.datasets.*", "lrcore._tabular"),
     "data: shipped data sets, file loading (fenced: imports layers 0-1 only)"),
    (9, ("lrcore.torch", "lrcore.torch.*"), "adapters (PyTorch)"),
    (10, ("lrcore.cli", "lrcore.__main__"), "the command line"),
]

#: the package itself: imports anything, imported by nothing
TOP = "lrcore"

#: layers fenced off from the others: they may import only these layers besides their own
ONLY_FROM = {8: frozenset({0, 1})}

#: the binding module, whose private names rule (c) checks in a test of their own
CORE = "lrcore._core"

SRC = Path(__file__).resolve().parent.parent / "lrcore"


# ----------------------------------------------------------------------------------------
# reading the source
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    """``source`` imports ``target`` at ``path:line`` (``lazy``: inside a function)."""

    source: str
    target: str
    path: str
    line: int
    lazy: bool

    def where(self) -> str:
        return f"{self.path}:{self.line}{' (inside a function)' if self.lazy else ''}"


@dataclass(frozen=True)
class PrivateUse:
    """``source`` uses the private name ``name`` of module ``owner`` at ``path:line``."""

    source: str
    owner: str
    name: str
    path: str
    line: int


@dataclass
class Module:
    name: str
    path: str                       # relative to the folder holding the package
    is_package: bool
    cython: bool                    # an extension module: only its import statements are read
    imports: list = field(default_factory=list)
    private: list = field(default_factory=list)


def discover(src: Path = SRC) -> dict:
    """{module name: Module} for every .py and Cython .pyx file under ``src``."""
    modules = {}
    base = src.parent
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".py", ".pyx") or "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(base).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        if name in modules and not is_package:
            continue                # a package shadows a module of the same name
        modules[name] = Module(name, path.relative_to(base).as_posix(), is_package,
                               path.suffix == ".pyx")
    for mod in modules.values():
        files = _cython_files(base, mod.path) if mod.cython else [mod.path]
        for rel in files:
            text = (base / rel).read_text(encoding="utf-8")
            _read(mod, rel, _cython_imports(text) if mod.cython else text, modules)
    return modules


_CY_IMPORT = re.compile(r"\s*(from\s+[\w.]+\s+import\s|import\s+[\w.]+)")
_CY_INCLUDE = re.compile(r'\s*include\s+["\']([^"\']+)["\']')


def _cython_files(base: Path, rel: str) -> list:
    """A .pyx file and the .pxi files it includes (recursively), relative to ``base``."""
    out, todo = [], [rel]
    while todo:
        cur = todo.pop(0)
        if cur in out or not (base / cur).is_file():
            continue
        out.append(cur)
        folder = Path(cur).parent
        for line in (base / cur).read_text(encoding="utf-8").splitlines():
            m = _CY_INCLUDE.match(line)
            if m:
                todo.append((folder / m.group(1)).as_posix())
    return out


def _cython_imports(text: str) -> str:
    """The Python ``import`` statements of Cython source, as Python source with the same
    line numbers (every other line blank; ``cimport``s are compile-time, not imports)."""
    lines = text.splitlines()
    out = [""] * len(lines)
    i = 0
    while i < len(lines):
        if _CY_IMPORT.match(lines[i]):
            stmt, j = lines[i].strip(), i
            while j + 1 < len(lines) and (stmt.count("(") > stmt.count(")")
                                          or stmt.endswith("\\")):
                j += 1
                stmt = stmt.rstrip("\\") + " " + lines[j].strip()
            try:
                ast.parse(stmt)
                out[i] = stmt
            except SyntaxError:     # prose that looks like an import (in a docstring)
                pass
            i = j
        i += 1
    return "\n".join(out)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _read(mod: Module, path: str, text: str, modules: dict) -> None:
    tree = ast.parse(text, filename=path)
    package = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    bound = {}                      # local name -> lrcore module it refers to

    def add(target, node):
        imp = Import(mod.name, target, path, node.lineno, id(node) in in_function)
        if imp not in mod.imports:              # once per statement, not per name
            mod.imports.append(imp)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name != TOP and not alias.name.startswith(TOP + "."):
                    continue
                add(alias.name, node)
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[TOP] = TOP
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                keep = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(keep + ([base] if base else []))
            if base != TOP and not base.startswith(TOP + "."):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if alias.name != "*" and sub in modules:
                    add(sub, node)                       # a submodule, not a name
                    bound[alias.asname or alias.name] = sub
                else:
                    add(base, node)
                    if _private(alias.name) and base != mod.name:
                        mod.private.append(PrivateUse(mod.name, base, alias.name, path,
                                                      node.lineno))
    # x._name on names bound to lrcore modules: follow each attribute chain from its root
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        chain = []
        cur = node
        while isinstance(cur, ast.Attribute):
            chain.append(cur.attr)
            cur = cur.value
        if not isinstance(cur, ast.Name) or cur.id not in bound:
            continue
        owner = bound[cur.id]
        for attr in reversed(chain):
            if f"{owner}.{attr}" in modules:
                owner = f"{owner}.{attr}"
                continue
            if _private(attr) and owner != mod.name:
                mod.private.append(PrivateUse(mod.name, owner, attr, path, node.lineno))
            break


# ----------------------------------------------------------------------------------------
# the rules
# ----------------------------------------------------------------------------------------

def layer_of(name: str, layers=LAYERS):
    """The layer of module ``name`` (infinity for the package itself), None if none."""
    if name == TOP:
        return float("inf")
    for number, patterns, _ in layers:
        if any(name == p or (p.endswith(".*") and fnmatch.fnmatchcase(name, p))
               for p in patterns):
            return number
    return None


def unassigned(modules, layers=LAYERS) -> list:
    """(d): messages for the modules without a layer."""
    return [f"{m.name} ({m.path}) has no layer: add it to LAYERS at the top of "
            f"tests/test_imports.py, in the lowest layer above everything it imports"
            for m in modules.values() if m.name != TOP and layer_of(m.name, layers) is None]


def edges(modules) -> dict:
    """{module: {imported lrcore module: [Import, ...]}}, self-imports left out."""
    graph = {name: {} for name in modules}
    for mod in modules.values():
        for imp in mod.imports:
            if imp.target != mod.name and imp.target in modules:
                graph[mod.name].setdefault(imp.target, []).append(imp)
    return graph


def circles(modules) -> list:
    """(a): messages for the strongly connected components of the import graph with more
    than one module (Tarjan), each with the imports that close it."""
    graph = edges(modules)
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in sorted(comps):
        lines = [f"import circle: {' <-> '.join(comp)}"]
        for a in comp:
            for b in sorted(graph[a]):
                if b in comp:
                    lines += [f"    {a} -> {b} at {imp.where()}" for imp in graph[a][b]]
        out.append("\n".join(lines))
    return out


def layer_violations(modules, layers=LAYERS) -> list:
    """(b): messages for the imports against the layer order."""
    out = []
    for mod in modules.values():
        src = layer_of(mod.name, layers)
        if mod.name == TOP or src is None:
            continue                # the top imports anything; (d) reports the unassigned
        for imp in mod.imports:
            dst = layer_of(imp.target, layers)
            where = imp.where()
            if imp.target == mod.name:
                continue
            if imp.target == TOP:
                out.append(f"{mod.name} imports the package {TOP} itself at {where}: the "
                           f"package imports its submodules (a circle through {TOP}/__init__.py"
                           f"); import the submodule that defines the name")
            elif imp.target not in modules:
                out.append(f"{mod.name} imports {imp.target} at {where}, which is not a "
                           f"module under {TOP}/")
            elif dst is None:
                pass                # reported by (d)
            elif dst > src:
                out.append(f"{mod.name} (layer {src}) imports {imp.target} (layer {dst}) at "
                           f"{where}: upward")
            elif src in ONLY_FROM and dst != src and dst not in ONLY_FROM[src]:
                out.append(f"{mod.name} (layer {src}) imports {imp.target} (layer {dst}) at "
                           f"{where}: layer {src} may import only layers "
                           f"{sorted(ONLY_FROM[src])} besides its own")
    return out


def private_uses(modules, *, core: bool) -> list:
    """(c): messages for the private names that cross modules; ``core`` selects those of
    the binding module lrcore._core (True) or of every other module (False)."""
    uses = sorted((u for mod in modules.values() for u in mod.private
                   if (u.owner == CORE) == core), key=lambda u: (u.path, u.line, u.name))
    return [f"{u.source} uses {u.owner}.{u.name} at {u.path}:{u.line}" for u in uses]


# ----------------------------------------------------------------------------------------
# the tests
# ----------------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def modules():
    if not (SRC / "__init__.py").is_file():
        pytest.skip(f"no lrcore source tree at {SRC}")
    return discover(SRC)


def _report(messages):
    return "\n" + "\n".join(messages)


def test_layer_table_is_well_formed():
    numbers = [n for n, _, _ in LAYERS]
    assert numbers == sorted(set(numbers)), "LAYERS must list each layer once, lowest first"
    patterns = [p for _, ps, _ in LAYERS for p in ps]
    assert len(patterns) == len(set(patterns)), "a module pattern stands in two layers"
    assert all(p == TOP or p.startswith(TOP + ".") for p in patterns)
    assert all(set(allowed) < set(numbers) and n in numbers for n, allowed in ONLY_FROM.items())


def test_every_module_has_a_layer(modules):
    assert TOP in modules and CORE in modules
    assert not unassigned(modules), _report(unassigned(modules))


def test_no_import_circles(modules):
    assert not circles(modules), _report(circles(modules))


def test_imports_follow_the_layer_order(modules):
    assert not layer_violations(modules), _report(layer_violations(modules))


def test_no_private_name_crosses_modules(modules):
    assert not private_uses(modules, core=False), _report(private_uses(modules, core=False))


def test_no_private_name_of_the_binding_module_crosses_modules(modules):
    assert not private_uses(modules, core=True), _report(private_uses(modules, core=True))


# -- the checker itself, on small made-up trees (so that the rules above check something) --

def make_tree(tmp_path, files):
    root = tmp_path / TOP
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return discover(root)


CLEAN = {
    "__init__.py": "from lrcore import curvature, problems\nfrom lrcore.rates import safe_lr\n",
    "_core.pyx": 'from libc.math cimport isfinite\nimport numpy as np\ninclude "_k.pxi"\n',
    "_k.pxi": "from lrcore._core cimport thing\n",
    "_validation.py": "",
    "curvature.py": "from lrcore import _core\nfrom lrcore._core import top\nx = _core.matvec\n",
    "problems.py": "from . import curvature\ndef f():\n    from .curvature import top_eigenvalue\n",
    "rates.py": "import lrcore.problems\nfrom lrcore._validation import check\n",
    "schedules/__init__.py": "from .base import Schedule\nfrom lrcore.schedules import compat\n",
    "schedules/base.py": "from lrcore import _core\n",
    "schedules/compat.py": "from lrcore.schedules.base import Schedule\n",
    "datasets/__init__.py": "import gzip\n",
    "_tabular.py": "def load():\n    from lrcore.datasets import load_diabetes\n",
    "cli.py": "from lrcore import stability, _tabular\nimport lrcore.rates as r\n",
    "stability.py": "from lrcore.rates import safe_lr\nfrom lrcore import problems as P\n",
    "search.py": "import lrcore.stability\nlrcore.stability.descend\n",
    "adaptive.py": "from lrcore import rates, _validation\n",
    "torch/__init__.py": "from .hessian import hessian\n",
    "torch/hessian.py": "import torch\nfrom lrcore.curvature import top_eigenvalue\n",
}


def test_checker_passes_a_clean_tree(tmp_path):
    mods = make_tree(tmp_path, CLEAN)
    assert set(mods) == {TOP, CORE, "lrcore._validation", "lrcore.curvature", "lrcore.problems",
                         "lrcore.rates", "lrcore.schedules", "lrcore.schedules.base",
                         "lrcore.schedules.compat", "lrcore.datasets", "lrcore._tabular",
                         "lrcore.cli", "lrcore.stability", "lrcore.search", "lrcore.adaptive",
                         "lrcore.torch", "lrcore.torch.hessian"}
    assert mods[CORE].cython and mods["lrcore.schedules"].is_package
    assert [i.target for i in mods[CORE].imports] == []
    assert layer_of("lrcore.schedules.compat") == 2 and layer_of("lrcore.torch.hessian") == 9
    assert {i.target for i in mods["lrcore.problems"].imports} == {"lrcore.curvature"}
    assert [i.lazy for i in mods["lrcore.problems"].imports] == [False, True]
    assert {i.target for i in mods["lrcore.cli"].imports} == {
        "lrcore.stability", "lrcore._tabular", "lrcore.rates"}
    assert (unassigned(mods), circles(mods), layer_violations(mods)) == ([], [], [])
    assert private_uses(mods, core=False) == private_uses(mods, core=True) == []


FINDS = [
    ("circle", {"problems.py": "def f():\n    from lrcore.stability import descend\n",
                "stability.py": "from lrcore import rates\n",
                "rates.py": "from lrcore.problems import Problem\n"},
     "import circle: lrcore.problems <-> lrcore.rates <-> lrcore.stability"),
    ("circle", {"schedules/__init__.py": "from . import compat\n",
                "schedules/compat.py": "from lrcore.schedules import cosine\n"},
     "import circle: lrcore.schedules <-> lrcore.schedules.compat"),
    ("circle", {"__init__.py": "from lrcore import optim\n", "optim.py": "import lrcore\n"},
     "import circle: lrcore <-> lrcore.optim"),
    ("layer", {"problems.py": "def f():\n    from lrcore.stability import descend\n"},
     "lrcore.problems (layer 3) imports lrcore.stability (layer 6)"),
    ("layer", {"cli.py": "from lrcore import NonFiniteError\n"},
     "lrcore.cli imports the package lrcore itself"),
    ("layer", {"cli.py": "import lrcore\n"}, "lrcore.cli imports the package lrcore itself"),
    ("layer", {"datasets/__init__.py": "from lrcore.problems import LeastSquares\n"},
     "layer 8 may import only layers [0, 1] besides its own"),
    ("layer", {"rates.py": "from lrcore.nowhere import x\n"},
     "imports lrcore.nowhere at lrcore/rates.py:1, which is not a module"),
    ("unassigned", {"helpers.py": ""}, "lrcore.helpers (lrcore/helpers.py) has no layer"),
    ("private", {"stability.py": "from lrcore.search import _real_number\n"},
     "lrcore.stability uses lrcore.search._real_number"),
    ("private", {"stability.py": "import lrcore.search\nlrcore.search._Monitor()\n"},
     "lrcore.stability uses lrcore.search._Monitor"),
    ("private", {"stability.py": "def f():\n    from lrcore import search as s\n    s._x\n"},
     "lrcore.stability uses lrcore.search._x"),
    ("private", {"schedules/compat.py": "from ..schedules import _rate\n"},
     "lrcore.schedules.compat uses lrcore.schedules._rate"),
    ("layer", {"_core.pyx": 'from lrcore.problems cimport X\ninclude "_k.pxi"\n',
               "_k.pxi": '"""docs\n    from ``x`` import y\n"""\nfrom lrcore._validation import (\n'
                         '    check,\n    other)\n'},
     "lrcore._core (layer 0) imports lrcore._validation (layer 1) at lrcore/_k.pxi:4: upward"),
    ("core", {"problems.py": "from lrcore._core import _CProblem\n"},
     "lrcore.problems uses lrcore._core._CProblem"),
    ("core", {"curvature.py": "from lrcore import _core\n_core._symv(1)\n"},
     "lrcore.curvature uses lrcore._core._symv"),
]


@pytest.mark.parametrize("rule, files, expected", FINDS,
                         ids=[f"{rule}-{i}" for i, (rule, _, _) in enumerate(FINDS)])
def test_checker_finds(tmp_path, rule, files, expected):
    mods = make_tree(tmp_path, {**CLEAN, **files})
    found = {"circle": circles, "layer": layer_violations, "unassigned": unassigned,
             "private": lambda m: private_uses(m, core=False),
             "core": lambda m: private_uses(m, core=True)}[rule](mods)
    assert any(expected in msg for msg in found), found


# ----------------------------------------------------------------------------------------
# python tests/test_imports.py
# ----------------------------------------------------------------------------------------

def graph_text(modules, layers=LAYERS) -> str:
    """The layer table with each module's lrcore imports (``*``: inside a function only),
    then every violation."""
    lines = [f"{'layer':>5}  {'module':<28} imports (lrcore modules; * inside a function only)"]
    graph = edges(modules)
    rows = [(number, p, note) for number, ps, note in layers for p in ps]
    for number, pattern, _ in rows + [(float("inf"), TOP, "")]:
        names = sorted(n for n in modules if n == pattern or (
            pattern.endswith(".*") and fnmatch.fnmatchcase(n, pattern)))
        if not names and not pattern.endswith(".*"):
            lines.append(f"{number:>5}  {pattern:<28} (no such module yet)")
        for name in names:
            deps = ", ".join(t + ("*" if all(i.lazy for i in imps) else "")
                             for t, imps in sorted(graph[name].items()))
            tag = "top" if number == float("inf") else number
            lines.append(f"{tag:>5}  {name:<28} {deps or '-'}"
                         + ("  (Cython)" if modules[name].cython else ""))
    for name in sorted(modules):
        if name != TOP and layer_of(name, layers) is None:
            lines.append(f"{'?':>5}  {name:<28} (no layer)")
    problems = (unassigned(modules, layers) + circles(modules) + layer_violations(modules, layers)
                + private_uses(modules, core=False) + private_uses(modules, core=True))
    lines.append("")
    lines += ["violations:"] + [f"  {p}" for p in problems] if problems else ["no violations"]
    return "\n".join(lines)


if __name__ == "__main__":
    text = graph_text(discover(SRC))
    print(text)
    sys.exit(1 if "\nviolations:" in text else 0)
