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


CLAIM_COLUMNS = ["experiment", "claim", "paper's number", "ours", "reproduced"]


def _claims_by_paper(outcomes):
    """{paper: [row]} for the opening table, papers in order of first appearance."""
    groups = {}
    for name, res, _ in outcomes:
        if res is None:
            continue
        for c in res.get("claims", []):
            groups.setdefault(res["paper"], []).append(
                [name, c["claim"], c["paper_value"], c["ours"], c["reproduced"]])
    return groups


def _anchor(text):
    return "p-" + "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def _claims_sections(outcomes):
    """(markdown lines, html fragments) of the claims table, grouped by paper."""
    groups = _claims_by_paper(outcomes)
    if not groups:
        return [], []
    counts = {v: sum(r[-1] == v for rows in groups.values() for r in rows)
              for v in ("yes", "partly", "no")}
    summary = (f"{sum(counts.values())} claims: {counts['yes']} reproduced, "
               f"{counts['partly']} partly, {counts['no']} not (at this run's scale).")
    md = ["## The papers' claims", "", summary, ""]
    h = ["<h2 id=claims>The papers' claims</h2>", f"<p>{html.escape(summary)}</p>"]
    for paper, rows in groups.items():
        md += [f"### {paper}", "", _md_table(CLAIM_COLUMNS, rows), ""]
        body = "".join(
            f"<tr class={html.escape(r[-1])}><td><a href='#{html.escape(r[0])}'>"
            f"{html.escape(r[0])}</a></td>" + "".join(f"<td>{html.escape(str(c))}</td>"
                                                      for c in r[1:]) + "</tr>" for r in rows)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in CLAIM_COLUMNS)
        h.append(f"<h3 id='{_anchor(paper)}'>{html.escape(paper)}</h3>"
                 f"<table class=claims><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return md, h


def _nav(outcomes):
    papers = list(_claims_by_paper(outcomes))
    links = ["<a href='#claims'>claims</a>"] + [
        f"<a href='#{_anchor(p)}'>{html.escape(p.split('(')[0].strip())}</a>" for p in papers]
    return "<nav>" + " · ".join(links) + "</nav>"


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
    claims_md, claims_h = _claims_sections(outcomes)
    md += claims_md
    h = [_nav(outcomes), f"<h1>refimpl tour{' (--quick)' if quick else ''}</h1>",
         f"<p>{html.escape(stamp)}; {len(outcomes)} experiments, {n_fail} failed, {elapsed:.0f} s in all.</p>",
         "<p class=prov>" + html.escape(", ".join(f"{k} {v}" for k, v in prov.items() if v)) + "</p>",
         *claims_h, "<h2>Experiments</h2>",
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
             "font-size:90%}img{max-width:100%}.prov{color:#666;font-size:85%}"
             "nav{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #ccc}"
             "tr.yes td:last-child{background:#d7f5d7}tr.no td:last-child{background:#f8d4d4}"
             "tr.partly td:last-child{background:#fbecc4}")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>refimpl tour</title>"
            f"<style>{style}</style></head><body>{''.join(h)}</body></html>\n")
    md_path, html_path = out / "report.md", out / "index.html"
    atomic_write_text(md_path, "\n".join(md) + "\n")
    atomic_write_text(html_path, page)
    return md_path, html_path
