"""The tour's report: `report.md` and a static `index.html` (no JavaScript, no network).

Figures are referenced by relative paths (`NAME/figure.png`), never embedded, so the
folder can be browsed or zipped as it is.
"""
import html
import time

from .io import atomic_write_text
from .provenance import provenance


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _md_table(columns, rows):
    out = ["| " + " | ".join(map(str, columns)) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _html_table(columns, rows):
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cite_section():
    """The `refimpl cite` table (paper, label, file:line, function) as an HTML section."""
    from . import cite

    cites, problems = cite.scan()
    rows = [(c.key, c.label, c.where, c.function)
            for c in sorted(cites, key=lambda c: (c.key, cite._label_sort(c.label), c.path, c.line))]
    note = f"{len(cites)} citations in the code" + (f", {len(problems)} malformed" if problems else "")
    return (f'<h2 id="cite">The reader\'s map (<code>refimpl cite</code>)</h2><p>{note}; '
            "the form is documented in refimpl/citations/README.md.</p>"
            + _html_table(["paper", "label", "file:line", "function"], rows))


def write_report(outcomes, out, quick, elapsed):
    """outcomes: [(name, results dict or None, error text or None)]. Returns (md path, html path)."""
    prov = provenance()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    n_fail = sum(r is None for _, r, _ in outcomes)
    md = [f"# refimpl tour{' (--quick)' if quick else ''}", "",
          f"{stamp}; {len(outcomes)} experiments, {n_fail} failed, {elapsed:.0f} s in all.", "",
          "Provenance: " + ", ".join(f"{k} {v}" for k, v in prov.items() if v), ""]
    h = [f"<h1>refimpl tour{' (--quick)' if quick else ''}</h1>",
         f"<p>{html.escape(stamp)}; {len(outcomes)} experiments, {n_fail} failed, {elapsed:.0f} s in all.</p>",
         "<p class=prov>" + html.escape(", ".join(f"{k} {v}" for k, v in prov.items() if v)) + "</p>",
         "<ul>" + "".join(f'<li><a href="#{html.escape(n)}">{html.escape(n)}</a>'
                          f'{" — FAILED" if r is None else ""}</li>' for n, r, _ in outcomes)
         + '<li><a href="#cite">the reader\'s map: paper → label → code</a></li></ul>']
    for name, res, err in outcomes:
        md.append(f"## {name}")
        h.append(f'<h2 id="{html.escape(name)}">{html.escape(name)}</h2>')
        if res is None:
            md += ["**FAILED**", "", "```", err.strip(), "```", ""]
            h.append(f"<p><b>FAILED</b></p><pre>{html.escape(err)}</pre>")
            continue
        line = (f"{res['paper']} — {res['artefact']}. seed {res['seed']}, "
                f"{'quick' if res['quick'] else 'full'} run, {res['elapsed_s']:.1f} s, "
                f"commit {res['provenance'].get('git_commit') or 'n/a'}.")
        md += [line, ""]
        h.append(f"<p>{html.escape(line)}</p>")
        if res.get("notes"):
            md += [res["notes"], ""]
            h.append(f"<p>{html.escape(res['notes'])}</p>")
        for t in res["tables"]:
            md += [f"**{t['name']}**", "", _md_table(t["columns"], t["rows"]), ""]
            h.append(f"<h3>{html.escape(t['name'])}</h3>" + _html_table(t["columns"], t["rows"]))
        if res["metrics"]:
            rows = list(res["metrics"].items())
            md += ["<details><summary>metrics</summary>", "", _md_table(["metric", "value"], rows), "",
                   "</details>", ""]
            h.append("<details><summary>metrics</summary>" + _html_table(["metric", "value"], rows)
                     + "</details>")
        for f in res["figures"]:
            md += [f"![{name}: {f}]({name}/{f})", ""]
            h.append(f'<figure><img src="{html.escape(name)}/{html.escape(f)}" alt="{html.escape(f)}">'
                     f"<figcaption>{html.escape(f)}</figcaption></figure>")
    h.append(_cite_section())
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
             "font-size:90%}img{max-width:100%}.prov{color:#666;font-size:85%}")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>refimpl tour</title>"
            f"<style>{style}</style></head><body>{''.join(h)}</body></html>\n")
    md_path, html_path = out / "report.md", out / "index.html"
    atomic_write_text(md_path, "\n".join(md) + "\n")
    atomic_write_text(html_path, page)
    return md_path, html_path
