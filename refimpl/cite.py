"""The reader's map: paper → label → code, generated from the code's own citations.

A citation is one bracket in a comment or docstring, one line above the code it names
(the form is documented in `refimpl/citations/README.md`):

    # [FFJORD eq. 7] Hutchinson: Tr(A) = E[εᵀ A ε]
    [KEY eq. N]  [KEY eqs. N–M]  [KEY Alg. N]  [KEY Alg. N l. M]  [KEY Alg. N l. M–K]
    [KEY Sec. N.M]  [KEY Table N]  [KEY Fig. N]  [KEY Prop. N(.M)]  [KEY Thm. N(.M)]  [KEY App. A.2]

`scan()` walks the .py files under refimpl/ and examples/ and returns every citation with its
file, line and enclosing function; `check()` reports unknown paper keys, malformed labels,
labels missing from the paper's data file `refimpl/citations/<KEY>.json`, and key labels no
code cites. `refimpl cite [PAPER [LABEL]] [--check]` prints them.
"""
import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
DATA = PACKAGE / "citations"
SCAN_DIRS = ("refimpl", "examples")
PAPER_KEYS = ("NeuralODE", "FFJORD", "NoisyNG", "EvidenceChains", "STL",
              "Suboptimality", "TCVAE", "SVAE", "SCE", "DNA")

_KINDS = r"eqs?|Alg|Sec|Table|Fig|Prop|Thm|App"
# A candidate: "[Word kind..." — anything shaped like a citation, valid or not.
CANDIDATE = re.compile(r"\[([A-Z][A-Za-z]*) ((?:%s)\b[^\]\n]*)\]" % _KINDS)
_N = r"\d+"
_RANGE = rf"{_N}(?:[–-]{_N})?"
LABEL = re.compile("|".join([
    rf"eq\. {_N}", rf"eqs\. {_N}[–-]{_N}", rf"Alg\. {_N}(?: l\. {_RANGE})?",
    r"Sec\. \d+(?:\.\d+)*", rf"Table {_N}", rf"Fig\. {_N}[a-z]?", rf"Prop\. {_N}(?:\.{_N})?",
    rf"Thm\. {_N}(?:\.{_N})?", r"App\. [A-Z](?:\.\d+)*"]))


@dataclass(frozen=True)
class Citation:
    key: str       # paper key, e.g. "FFJORD"
    label: str     # normalised label, e.g. "eqs. 7–8" (hyphen ranges become en dashes)
    path: str      # relative to the repository root
    line: int      # 1-based
    function: str  # enclosing qualified name, or "<module>"

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def normalise(label):
    """The label with a hyphen range written as an en dash ("eqs. 7-8" -> "eqs. 7–8")."""
    return re.sub(r"(\d)-(\d)", r"\1–\2", label.strip())


def is_label(label):
    return LABEL.fullmatch(label) is not None


def expand(label):
    """A range as its members: "eqs. 7–9" -> ["eq. 7", "eq. 8", "eq. 9"],
    "Alg. 1 l. 8–9" -> ["Alg. 1 l. 8", "Alg. 1 l. 9"]; any other label -> [label]."""
    m = re.fullmatch(r"eqs\. (\d+)–(\d+)", label)
    if m:
        return [f"eq. {i}" for i in range(int(m.group(1)), int(m.group(2)) + 1)]
    m = re.fullmatch(r"(Alg\. \d+ l\. )(\d+)–(\d+)", label)
    if m:
        return [f"{m.group(1)}{i}" for i in range(int(m.group(2)), int(m.group(3)) + 1)]
    return [label]


def _functions(tree):
    """[(first line, last line, qualified name)] of every def/class, outer before inner."""
    out = []

    def visit(node, prefix):
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{ch.name}"
                first = min([ch.lineno] + [d.lineno for d in ch.decorator_list])
                out.append((first, ch.end_lineno, name))
                visit(ch, name + ".")
            else:
                visit(ch, prefix)
    visit(tree, "")
    return out


def _enclosing(funcs, line):
    best = "<module>"
    for a, b, name in funcs:            # the innermost wins: it is listed after its parents
        if a <= line <= b:
            best = name
    return best


def scan_file(path, root=ROOT):
    """(citations, problems) of one .py file; problems are (where, message) pairs."""
    text = Path(path).read_text(encoding="utf-8")
    rel = Path(path).resolve().relative_to(root).as_posix()
    funcs = _functions(ast.parse(text))
    cites, problems = [], []
    for i, line in enumerate(text.splitlines(), 1):
        for m in CANDIDATE.finditer(line):
            key, label = m.group(1), normalise(m.group(2))
            if key not in PAPER_KEYS:
                problems.append((f"{rel}:{i}", f"unknown paper key {key!r} in {m.group(0)!r}; "
                                               f"expected one of {', '.join(PAPER_KEYS)}"))
            elif not is_label(label):
                problems.append((f"{rel}:{i}", f"malformed label {m.group(2)!r} in {m.group(0)!r}; "
                                               "expected e.g. 'eq. 4', 'eqs. 7–8', 'Alg. 2 l. 7'"))
            else:
                cites.append(Citation(key, label, rel, i, _enclosing(funcs, i)))
    return cites, problems


def source_files(root=ROOT):
    for d in SCAN_DIRS:
        yield from sorted(p for p in (Path(root) / d).rglob("*.py")
                          if "__pycache__" not in p.parts and p.name != "cite.py")


def scan(root=ROOT):
    """(citations, problems) over refimpl/ and examples/."""
    cites, problems = [], []
    for p in source_files(root):
        c, q = scan_file(p, root)
        cites += c
        problems += q
    return cites, problems


def load_papers(data_dir=DATA):
    """{key: data} from every citations/<KEY>.json (schema in citations/README.md)."""
    papers = {}
    for p in sorted(Path(data_dir).glob("*.json")):
        d = json.loads(p.read_text(encoding="utf-8"))
        for field in ("key", "title", "version", "labels"):
            if field not in d:
                raise ValueError(f"{p.name}: expected a {field!r} field, got fields {sorted(d)}")
        if d["key"] != p.stem:
            raise ValueError(f"{p.name}: expected key {p.stem!r}, got {d['key']!r}")
        d["labels"] = {normalise(k): v for k, v in d["labels"].items()}
        d["unconfirmed"] = {normalise(k): v for k, v in d.get("unconfirmed", {}).items()}
        d["key_labels"] = [normalise(k) for k in d.get("key_labels", [])]
        for lab in list(d["labels"]) + list(d["unconfirmed"]) + d["key_labels"]:
            if not is_label(lab):
                raise ValueError(f"{p.name}: malformed label {lab!r}")
        papers[d["key"]] = d
    return papers


def check(cites, problems, papers):
    """Problems with the citations against the data files, and key labels nobody cites.

    Returns (errors, uncited): errors are (where, message); uncited maps a paper key to the
    key labels of its data file that no citation names."""
    errors = list(problems)
    for c in cites:
        d = papers.get(c.key)
        if d is None:
            errors.append((c.where, f"[{c.key} {c.label}]: no data file citations/{c.key}.json"))
        else:
            known = set(d["labels"]) | set(d["unconfirmed"])
            missing = [lab for lab in expand(c.label) if lab not in known]
            if missing:
                errors.append((c.where, f"[{c.key} {c.label}]: {', '.join(missing)} not in "
                                        f"citations/{c.key}.json"))
    cited = {(c.key, lab) for c in cites for lab in expand(c.label)}

    def is_cited(key, lab):          # "Alg. 1" is cited by "Alg. 1 l. 3"; a range by all members
        return all((key, x) in cited or any(k == key and y.startswith(x + " ") for k, y in cited)
                   for x in expand(lab))
    uncited = {}
    for key, d in papers.items():
        missing = [lab for lab in d["key_labels"] if not is_cited(key, lab)]
        if missing:
            uncited[key] = missing
    return errors, uncited


def _label_sort(label):
    kind, _, rest = label.partition(" ")
    nums = [int(x) if x.isdigit() else 0 for x in re.split(r"[^0-9A-Z]+", rest) if x]
    return (kind.rstrip("s."), nums, label)


def table(cites, paper=None):
    """Lines 'PAPER LABEL file:line function', sorted by paper, label, file."""
    rows = [c for c in cites if paper is None or c.key == paper]
    rows.sort(key=lambda c: (c.key, _label_sort(c.label), c.path, c.line))
    if not rows:
        return []
    wk = max(len(c.key) for c in rows)
    wl = max(len(c.label) for c in rows)
    ww = max(len(c.where) for c in rows)
    return [f"{c.key:<{wk}}  {c.label:<{wl}}  {c.where:<{ww}}  {c.function}" for c in rows]


def code_under(c, root=ROOT, max_lines=40):
    """The source a citation names: the statement(s) after a comment citation (up to a blank
    line, the next comment or a dedent), the statement a trailing comment is on, or the
    function/class whose docstring holds it (at most max_lines lines)."""
    lines = (Path(root) / c.path).read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    here = lines[c.line - 1].lstrip()
    first, last = c.line, c.line
    if not here.startswith("#") and "#" in here:          # trailing comment: that statement
        first = last = c.line
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt) and node.lineno == c.line:
                last = max(last, node.end_lineno)
    elif here.startswith("#"):            # comment above: the next statement, and the lines
        nxt = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.lineno > c.line]
        if nxt:                           # after it up to a blank line, comment or dedent
            n = min(nxt, key=lambda n: (n.lineno, -n.end_lineno))
            last = n.end_lineno
            indent = len(lines[c.line - 1]) - len(here)
            while last < len(lines):
                ln = lines[last]
                if not ln.strip() or ln.lstrip().startswith("#") or len(ln) - len(ln.lstrip()) < indent:
                    break
                last += 1
    else:                                                   # docstring: its def/class or module
        for a, b, _ in _functions(tree):
            if a <= c.line <= b:
                first, last = a, b
        if c.function == "<module>":
            first, last = c.line, c.line
    last = min(last, first + max_lines - 1)
    return [f"{i:>5}  {lines[i - 1]}" for i in range(first, last + 1)]
