"""The CSF pattern table and the EANO-ESMO matrix are knowledge data: changing a row changes the
result with no Python change, and a bad row is a load error naming file, record and field."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from leptoguide.engine import assess
from leptoguide.engine.derive import build_facts
from leptoguide.engine.types import CsfProfile, Facts, LmClassification
from leptoguide.errors import KnowledgeError
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge
from leptoguide.policy import load_policy

ROOT = Path(__file__).parents[2]
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
PROBABLE = ROOT / "examples" / "fhir" / "egfr-nsclc-probable-lm.json"
BACTERIAL = ROOT / "examples" / "fhir" / "adult-bacterial-meningitis-sepsis.json"


def _copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the shipped knowledge with one text change in ``tables/<file>``."""
    root = tmp_path / "kb"
    shutil.copytree(default_data_dir(), root)
    path = root / "tables" / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return root


def _load(root: Path) -> KnowledgeBase:
    return load_knowledge(root, check_readability=False)


def _facts(kb: KnowledgeBase, chart: Path) -> Facts:
    return build_facts(read_path(str(chart), kb=kb), kb=kb, policy=load_policy(kb), at=AT)


def _profile(kb: KnowledgeBase) -> CsfProfile:
    got = _facts(kb, BACTERIAL).typed("csf-profile", CsfProfile)
    assert got is not None
    return got


def _problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as err:
        _load(root)
    return [str(p) for p in err.value.problems]


def test_a_changed_matrix_cell_changes_the_classification(tmp_path: Path) -> None:
    shipped = _load(default_data_dir())
    case = read_path(str(PROBABLE), kb=shipped)
    before = assess(case, kb=shipped, policy=load_policy(shipped), at=AT)
    assert (before.classification.certainty, before.classification.type) == ("probable", "IIA")
    root = _copy(
        tmp_path,
        "eano-esmo.yaml",
        'result: {certainty: probable, type: "II{mri-subtype}"}',
        'result: {certainty: possible, type: "II{mri-subtype}"}',
    )
    changed = _load(root)
    after = assess(
        read_path(str(PROBABLE), kb=changed), kb=changed, policy=load_policy(changed), at=AT
    )
    assert (after.classification.certainty, after.classification.type) == ("possible", "IIA")
    assert after.classification.reasons == before.classification.reasons


def test_a_changed_mri_type_map_changes_the_type(tmp_path: Path) -> None:
    root = _copy(tmp_path, "eano-esmo.yaml", "{linear: A,", "{linear: B,")
    cls = _facts(_load(root), PROBABLE).typed("lm-classification", LmClassification)
    assert cls is not None and cls.type == "IIB"
    assert "MRI pattern linear (type B)" in cls.reasons


def test_changed_points_change_the_csf_pattern(tmp_path: Path) -> None:
    before = _profile(_load(default_data_dir()))
    assert before.pattern == "bacterial"
    # outcomes with a single point are now listed in the differential
    root = _copy(tmp_path, "csf-pattern.yaml", "    listed_from: 2\n", "    listed_from: 1\n")
    listed = _profile(_load(root))
    assert [p.pattern for p in listed.differential] != [p.pattern for p in before.differential]
    assert min(p.score for p in listed.differential) == 1
    # the bacterial-range white-cell row now gives the viral pattern a decisive score
    root2 = _copy(
        tmp_path / "2",
        "csf-pattern.yaml",
        '        points: {bacterial: 1}\n        reason: "WBC',
        '        points: {viral: 9}\n        reason: "WBC',
    )
    kb2 = _load(root2)
    assert _profile(kb2).pattern == "viral"
    assert _facts(kb2, BACTERIAL).get("csf-pattern").value == "viral"


def test_a_row_citing_a_locator_its_statement_does_not_have_is_a_load_error(
    tmp_path: Path,
) -> None:
    root = _copy(
        tmp_path,
        "csf-pattern.yaml",
        'locator: "Table 6, CSF:plasma glucose row"}\n      - id: glucose-ratio-not-low',
        'locator: "Table 9"}\n      - id: glucose-ratio-not-low',
    )
    problems = _problems(root)
    assert any(
        p.startswith("tables/csf-pattern.yaml record 'csf-pattern' field 'features[5].cites[0]")
        and "does not cite source 'pract-neurol-csf-table' at 'Table 9'" in p
        for p in problems
    ), problems


def test_unknown_facts_placeholders_and_outcomes_are_load_errors(tmp_path: Path) -> None:
    root = _copy(
        tmp_path,
        "csf-pattern.yaml",
        '        points: {bacterial: 1}\n        reason: "WBC {csf-wbc-corrected:.0f}',
        '        points: {bacteria: 1}\n        reason: "WBC {csf-wbc-count:.0f}',
    )
    problems = _problems(root)
    where = "tables/csf-pattern.yaml record 'csf-pattern'"
    assert f"{where} field 'features[0].points': unknown outcome 'bacteria'" in problems
    assert f"{where} field 'features[0].reason': unknown placeholder '{{csf-wbc-count}}'" in (
        problems
    )
    root = _copy(
        tmp_path / "2",
        "eano-esmo.yaml",
        "- when: {fact: haematological-cancer-only, is: true}",
        "- when: {fact: haematological-only, is: true}",
    )
    assert (
        "tables/eano-esmo.yaml record 'eano-esmo-lm' field 'steps[1].when': "
        "reads unknown fact 'haematological-only'"
    ) in _problems(root)


def test_a_matrix_that_may_not_decide_is_a_load_error(tmp_path: Path) -> None:
    root = _copy(
        tmp_path,
        "eano-esmo.yaml",
        '      - reason: "without MRI and positive cytology',
        '      - when: {present: mri-lm-pattern}\n        reason: "without MRI and positive cytology',
    )
    assert any(
        "record 'eano-esmo-lm'" in p and "the last step must have no 'when' and a 'result'" in p
        for p in _problems(root)
    )
