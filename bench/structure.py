"""The shape of ``bot/`` in figures: what the structure issue (#20) measured before and after.

    python bench/structure.py

Prints: package pairs that import each other; file-level import circles; imports of ``bot`` modules
made inside functions; files outside a network's package that name it in code; the longest
functions; the lines of ``bot/devtools``; module names repeated in different packages.

Why a script and not a test: the layers and the "no network outside bot/networks" rule are held by
``lint-imports`` (pyproject.toml); these figures are for reading the trend, and some of them (a
function's length) have no right value.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import _repo

BOT = _repo.ROOT / "bot"
NETWORKS = ("x", "bluesky", "mastodon", "webhook", "replay")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = list(path.relative_to(_repo.ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines under ``if TYPE_CHECKING:`` (imports for types only: never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int | None]]:
    """(imported bot module, the line of the statement if it is inside a function) for each runtime
    import of a ``bot`` module."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    inside.add(child.lineno)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.append(full if full in known else base)
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target.startswith("bot") and target != name:
                yield target, node.lineno if node.lineno in inside else None


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                lines.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
        # attribute docstrings: a bare string after an assignment
        if isinstance(body, list):
            for stmt in body[1:]:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def names_network(path: Path, network: str) -> bool:
    """Whether code (not comments, not docstrings) names a network: an identifier with it as a word
    (``x_brand_handle``, ``REPLY_BLUESKY``, ``MastodonTransport``) or a string that is, or has as a
    word, its name (``"x"``, ``"reply_x"``). A bare ``x`` variable does not count."""
    source = path.read_text()
    doc = _docstring_lines(ast.parse(source))
    word = re.compile(rf"(^|[_\W]){network}($|[_\W])", re.IGNORECASE)
    camel = re.compile(rf"{network.capitalize()}[A-Z]") if network != "x" else re.compile(r"^X[A-Z][a-z]")
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.start[0] in doc:
            continue
        if (
            tok.type == tokenize.NAME
            and tok.string != network
            and (word.search(tok.string) or camel.search(tok.string))
        ):
            return True
        if tok.type == tokenize.STRING:
            text = tok.string.strip("rbfuRBFU").strip("'\"")
            if text == network or (network != "x" and word.search(text)) or re.search(rf"(^|_){network}$", text):
                return True
    return False


def functions() -> list[tuple[int, str]]:
    found = []
    for name, path in modules().items():
        if ".migrations." in name:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(((node.end_lineno or node.lineno) - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(found, reverse=True)


def main() -> None:
    known = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    top_graph: dict[str, set[str]] = defaultdict(set)
    statements: dict[str, set[int]] = defaultdict(set)
    for name, path in known.items():
        for target, inside in imports(name, path, known):
            if inside is not None:
                statements[name].add(inside)
            else:
                top_graph[name].add(target)
            graph[name].add(target)
    in_function = Counter({name: len(lines) for name, lines in statements.items()})

    def pairs(g: dict[str, set[str]]) -> list[tuple[str, str]]:
        packages: dict[str, set[str]] = defaultdict(set)
        for source, targets in g.items():
            for target in targets:
                a, b = package_of(source), package_of(target)
                if a != b:
                    packages[a].add(b)
        return sorted({tuple(sorted((a, b))) for a in packages for b in packages[a] if a in packages.get(b, ())})

    print("package pairs importing each other (any import):", len(pairs(graph)), pairs(graph))
    print("  at module level only:", len(pairs(top_graph)), pairs(top_graph))
    found = circles(top_graph)
    print("file circles (module-level imports):", len(found), found)
    print(
        "import statements of bot modules inside functions:",
        sum(in_function.values()),
        "in",
        len(in_function),
        "files:",
        dict(in_function.most_common()),
    )
    for network in NETWORKS:
        own = BOT / "networks" / network
        files = [
            str(p.relative_to(BOT))
            for p in sorted(BOT.rglob("*.py"))
            if own not in p.parents and names_network(p, network)
        ]
        print(f"files outside bot/networks/{network}/ naming {network} in code: {len(files)} {files}")
    print("five longest functions:", functions()[:5])
    devtools = sum(len(p.read_text().splitlines()) for p in (BOT / "devtools").rglob("*.py"))
    print("bot/devtools lines (python):", devtools)
    names: dict[str, list[str]] = defaultdict(list)
    for name, path in known.items():
        if path.name != "__init__.py" and ".migrations." not in name:
            names[path.stem].append(name.rpartition(".")[0])
    repeated = {
        stem: where
        for stem, where in sorted(names.items())
        if len({package_of(w + ".m") for w in where if not w.startswith("bot.networks.")}) > 1
    }
    print("module names repeated in different packages (outside the networks' parallel files):", repeated)


if __name__ == "__main__":
    main()
