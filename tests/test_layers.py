"""The package's imports follow one one-way dependency graph (docs/architecture.md, "Layers").

Every import of every module counts, function-local ones included: a lower layer never imports a
higher one, modules of one layer import each other only along SIBLINGS, and the whole module
graph has no cycle (so no function-local import can be hiding one).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "eigendsl"

# Bottom to top. A module belongs to the entry naming it or its package (the longest match);
# a module may import modules of its own group, of SIBLINGS, and of any lower layer.
LAYERS = [
    # small shared leaves; they may import each other (the cycle test keeps that one-way)
    {"eigendsl", "eigendsl.errors", "eigendsl.digest", "eigendsl.files", "eigendsl.confine", "eigendsl.arith",
     "eigendsl.types", "eigendsl.builtins", "eigendsl.values"},
    {"eigendsl.syntax"},
    {"eigendsl.ir"},  # the data the checker produces: it needs only the leaves and syntax.spans
    {"eigendsl.semantics"},
    {"eigendsl.compilation", "eigendsl.words"},  # a compile's result and the data checks, shared by driver and runtime
    {"eigendsl.backends", "eigendsl.runtime", "eigendsl.verify"},
    {"eigendsl.compiler"},  # the driver: compile -> analyse -> write, and loading an .eig to run
    {"eigendsl.console"},  # what every command prints through: consoles, `error:` failures, diagnostics
    {"eigendsl.episode", "eigendsl.eval", "eigendsl.interop", "eigendsl.report", "eigendsl.synth", "eigendsl.train",
     "eigendsl.domain_command", "eigendsl.api"},  # compile, check and call: the driver's own commands; the public API
    {"eigendsl.adapters"},  # the doors to other stacks (MCP, Gymnasium, verifiers, TRL): on the public API only
    {"eigendsl.cli"},
    {"eigendsl.__main__"},  # `python -m eigendsl` runs the command
]

# Imports allowed between groups of one layer: (importer, imported) -> the modules it may import
# (None: any module of that group).
SIBLINGS = {
    ("eigendsl.runtime", "eigendsl.backends"): None,  # the environment serves the tool schemas and policy text
    ("eigendsl.verify", "eigendsl.runtime"): {"eigendsl.runtime.environment"},  # its public face, no internals
    ("eigendsl.eval", "eigendsl.episode"): None,
    ("eigendsl.interop", "eigendsl.episode"): None,
    # eval reads tau2 task files and writes tau2 results
    ("eigendsl.eval", "eigendsl.interop"): {"eigendsl.interop.task_source", "eigendsl.interop.tau2_results"},
    ("eigendsl.report", "eigendsl.eval"): None,
    ("eigendsl.synth", "eigendsl.episode"): None,
    ("eigendsl.synth", "eigendsl.interop"): None,
    ("eigendsl.train", "eigendsl.episode"): None,  # rollouts are episodes; the local agent generates
    ("eigendsl.train", "eigendsl.eval"): {"eigendsl.eval.config", "eigendsl.eval.command"},  # one TOML reader; unstartable tasks refused as eval does
    ("eigendsl.api", "eigendsl.episode"): None,  # the API plays episodes
    ("eigendsl.api", "eigendsl.interop"): {"eigendsl.interop.score", "eigendsl.interop.task_source"},  # scores; reads task files
    ("eigendsl.eval", "eigendsl.api"): None,  # one loader of a domain with its tasks, the API's
    ("eigendsl.train", "eigendsl.api"): None,
}


def module_name(path: Path) -> str:
    parts = ("eigendsl",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The package modules `name` imports anywhere in its body."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:
                t = t.rpartition(".")[0]
            if t.startswith("eigendsl") and t in MODULES and t != name:
                found.add(t)
    return found


def group(name: str) -> tuple[int, str]:
    best = None
    for rank, layer in enumerate(LAYERS):
        for g in layer:
            if (name == g or name.startswith(g + ".")) and (best is None or len(g) > len(best[1])):
                best = (rank, g)
    assert best is not None, f"{name} is in no layer: add it to LAYERS"
    return best


def allowed(importer: str, imported: str) -> bool:
    (r1, g1), (r2, g2) = group(importer), group(imported)
    if r2 < r1 or g1 == g2 or r1 == r2 == 0:
        return True
    if r2 > r1:
        return False
    modules = SIBLINGS.get((g1, g2), ())
    return modules is None or imported in modules


def test_every_module_is_in_a_layer():
    for name in MODULES:
        group(name)


def test_no_import_goes_against_the_graph():
    bad = sorted(f"{m} imports {t}" for m in MODULES for t in imports(m) if not allowed(m, t))
    assert not bad, "\n".join(bad)


def test_the_siblings_graph_is_one_way():
    pairs = set(SIBLINGS)
    assert not {(b, a) for a, b in pairs} & pairs


def test_the_module_graph_has_no_cycle():
    graph = {m: imports(m) for m in MODULES}
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_the_checker_sees_a_violation():
    assert not allowed("eigendsl.runtime.environment", "eigendsl.compiler")
    assert not allowed("eigendsl.verify.symbolic", "eigendsl.runtime.store")
    assert not allowed("eigendsl.backends.folder", "eigendsl.verify.analyses")
    assert not allowed("eigendsl.ir", "eigendsl.semantics.check")
    assert not allowed("eigendsl.types", "eigendsl.ir")
    assert "eigendsl.compiler" in imports("eigendsl.domain_command")  # the commands moved out of cli.py
