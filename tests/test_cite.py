"""`refimpl cite`: the citation form is parsed, checked against the papers' data files, and
every citation in refimpl/ and examples/ is well formed and known."""
import json

import pytest

from refimpl import cite
from refimpl.cli import main


def _write(tmp_path, text, name="mod.py"):
    p = tmp_path / "refimpl" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_every_citation_in_the_repo_is_well_formed_and_in_its_data_file():
    cites, problems = cite.scan()
    errors, uncited = cite.check(cites, problems, cite.load_papers())
    assert len(cites) > 50
    assert errors == []
    assert uncited == {}


def test_a_citation_gets_its_file_line_and_enclosing_function(tmp_path):
    _write(tmp_path, 'def f(x):\n    """Doc."""\n    # [FFJORD eq. 7] Hutchinson\n    return x\n\n'
                     'class C:\n    def g(self):\n        return 1  # [NoisyNG Alg. 2 l. 7]\n')
    cites, problems = cite.scan(tmp_path)
    assert problems == []
    assert [(c.key, c.label, c.where, c.function) for c in cites] == [
        ("FFJORD", "eq. 7", "refimpl/mod.py:3", "f"), ("NoisyNG", "Alg. 2 l. 7", "refimpl/mod.py:8", "C.g")]


@pytest.mark.parametrize("bad, message", [
    ("# [FFJRD eq. 7]", "unknown paper key"),
    ("# [FFJORD eq. (7)]", "malformed label"),
    ("# [FFJORD eqn 7]", None),                      # not citation-shaped: ignored, see below
    ("# [NoisyNG Alg. 2 line 7]", "malformed label"),
    ("# [STL Sec. four]", "malformed label"),
    ("# [SVAE Prop. 4.1.2]", "malformed label"),     # one dotted part only (Prop. 4.1)
])
def test_unknown_key_or_malformed_label_is_reported(tmp_path, bad, message):
    _write(tmp_path, f"x = 1\n{bad}\n")
    cites, problems = cite.scan(tmp_path)
    if message is None:
        assert cites == [] and problems == []
    else:
        assert len(problems) == 1 and message in problems[0][1] and problems[0][0] == "refimpl/mod.py:2"


def test_a_label_missing_from_the_data_file_is_an_error_and_ranges_expand(tmp_path):
    papers = {"FFJORD": {"labels": {"eq. 7": "", "eq. 8": ""}, "unconfirmed": {}, "key_labels": ["eq. 7"]}}
    ok = [cite.Citation("FFJORD", "eqs. 7–8", "a.py", 1, "f")]
    assert cite.check(ok, [], papers) == ([], {})
    bad = [cite.Citation("FFJORD", "eqs. 7–9", "a.py", 1, "f")]
    errors, _ = cite.check(bad, [], papers)
    assert len(errors) == 1 and "eq. 9" in errors[0][1]
    none = [cite.Citation("FFJORD", "eq. 8", "a.py", 1, "f")]
    assert cite.check(none, [], papers)[1] == {"FFJORD": ["eq. 7"]}
    other = [cite.Citation("TCVAE", "eq. 2", "a.py", 1, "f")]
    assert "no data file" in cite.check(other, [], papers)[0][0][1]


def test_hyphen_ranges_are_normalised_to_en_dashes():
    assert cite.normalise("eqs. 7-8") == "eqs. 7–8"
    assert cite.expand("Alg. 1 l. 8–9") == ["Alg. 1 l. 8", "Alg. 1 l. 9"]
    assert cite.is_label("App. A.2") and cite.is_label("Sec. 3.1") and not cite.is_label("eq. (4)")


def test_data_files_follow_the_schema():
    papers = cite.load_papers()
    assert {"NeuralODE", "FFJORD", "NoisyNG", "EvidenceChains", "STL"} <= set(papers)
    for key, d in papers.items():
        assert d["version"].startswith("arXiv:"), key
        for lab in d["key_labels"]:
            assert all(x in d["labels"] or x in d["unconfirmed"] for x in cite.expand(lab)), (key, lab)


def test_load_papers_rejects_a_key_that_is_not_the_file_name(tmp_path):
    (tmp_path / "FFJORD.json").write_text(json.dumps({"key": "STL", "title": "t", "version": "v",
                                                      "labels": {}}))
    with pytest.raises(ValueError, match="expected key 'FFJORD'"):
        cite.load_papers(tmp_path)


def test_cli_lists_prints_code_and_checks(capsys):
    assert main(["cite", "NoisyNG"]) == 0
    out = capsys.readouterr().out
    assert "refimpl/nng/noisy_kfac.py" in out and "Alg. 2 l. 7" in out and "FFJORD" not in out
    assert main(["cite", "NoisyNG", "Alg. 2 l. 7"]) == 0
    out = capsys.readouterr().out
    assert "kfac.ema_update(self.A" in out and "kfac.ema_update(self.S" in out
    assert "self._refresh()" not in out                  # stops at the next citation
    assert main(["cite", "--check"]) == 0
    assert main(["cite", "Nope"]) == 2


def test_the_tour_page_carries_the_citation_table():
    from refimpl.report import _cite_section

    page = _cite_section()
    assert 'id="cite"' in page and "refimpl/nng/noisy_kfac.py:" in page and "Alg. 2 l. 13" in page


def test_dotted_proposition_and_theorem_numbers_are_labels():
    # papers number propositions by section ("Prop. 4.1"); both forms are labels
    for label in ("Prop. 4.1", "Prop. 2", "Thm. 3.2"):
        assert cite.LABEL.fullmatch(label), label
