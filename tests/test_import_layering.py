"""The layering a reader can see: no import cycles inside refimpl, counting the imports hidden in
function bodies (a lazy import is still a dependency), and one home for the shared MLP helpers.

The graph has one node per module of refimpl/ (found by walking the folder, so new packages
are covered) and an edge A -> B when A's source imports B anywhere (module level or inside a
function). `from P import name` points at the submodule P.name when it exists, else at P.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "refimpl"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules():
    return {module_name(p): p for p in sorted(PKG.rglob("*.py")) if "__pycache__" not in p.parts}


def resolve(mod, is_pkg, level, target):
    """The absolute name of a relative import in module mod."""
    if level == 0:
        return target
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports(mod, path, known):
    """The refimpl modules that mod's source imports, anywhere in the file."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in known:
                    out.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(mod, is_pkg, node.level, node.module)
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in known:
                    out.add(sub)
                elif base in known:
                    out.add(base)
    out.discard(mod)
    return out


def graph():
    mods = modules()
    return {m: imports(m, p, mods) for m, p in mods.items()}


def find_cycle(g):
    """One cycle as a list of modules [a, b, ..., a], or None (iterative DFS, sorted order)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in g}
    for start in sorted(g):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(g[start])))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
            elif colour.get(nxt) == GREY:
                return path[path.index(nxt):] + [nxt]
            elif colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                stack.append((nxt, iter(sorted(g[nxt]))))
                path.append(nxt)
    return None


def test_the_cycle_finder_finds_cycles_and_only_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_inside_functions_count(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from refimpl.ode import solve\n")
    assert imports("refimpl.x", src, {"refimpl.ode", "refimpl.ode.solve"}) == {"refimpl.ode.solve"}


def test_refimpl_has_no_import_cycle():
    g = graph()
    assert len(g) > 50
    cycle = find_cycle(g)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("shared", ["init_mlp", "mlp", "activation_fn", "n_params"])
def test_shared_mlp_helpers_live_in_refimpl_nn(shared):
    import refimpl.nn

    assert callable(getattr(refimpl.nn, shared))


# The layers: shared engines <- paper packages <- experiments / CLI. `refimpl.nn` is the floor.
SHARED = ("refimpl.nn", "refimpl.ode", "refimpl.vi", "refimpl.mcmc", "refimpl.datasets")


def _in(mod, pkg):
    return mod == pkg or mod.startswith(pkg + ".")


def test_shared_engines_import_no_paper_package():
    g = graph()
    allowed = SHARED + ("refimpl.testing", "refimpl.experiments", "refimpl.plotting", "refimpl.provenance",
                        "refimpl.io", "refimpl.progress")
    bad = [(m, d) for m, deps in g.items() if any(_in(m, s) for s in SHARED)
           for d in deps if d != "refimpl" and not any(_in(d, a) for a in allowed)]
    assert bad == []


def test_refimpl_nn_is_the_floor():
    g = graph()
    bad = [(m, d) for m, deps in g.items() if _in(m, "refimpl.nn") for d in deps if not _in(d, "refimpl.nn")]
    assert bad == []
