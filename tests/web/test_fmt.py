"""Display formatting helpers (values, units, dates, labels) and the answer note markup."""

from __future__ import annotations

import re

from leptoguide.knowledge.loader import get_knowledge
from leptoguide.web import fmt
from leptoguide.web.markup import render_markdown


def test_numbers_print_as_people_write_them() -> None:
    assert fmt.number(1.0) == "1" and fmt.number(80.0) == "80" and fmt.number(7) == "7"
    assert fmt.number(61.5) == "61.5" and fmt.number(0.1 + 0.2) == "0.3"
    assert fmt.number(True) == "yes" and fmt.number(False) == "no"


def test_units_and_values() -> None:
    kb = get_knowledge()
    assert fmt.unit("10*9/L") == "×10⁹/L" and fmt.unit("kg") == "kg" and fmt.unit(None) == ""
    assert fmt.value(kb, ["breast-cancer"]) == "Breast cancer"
    assert fmt.value(kb, 1.0) == "1" and fmt.value(kb, "positive") == "positive"


def test_dates_are_readable_with_iso_kept() -> None:
    assert fmt.when_text("2026-11-18T00:00:00Z") == "18 Nov 2026"
    assert fmt.when_text("2026-11-12T10:20:00Z") == "12 Nov 2026, 10:20 UTC"
    assert fmt.when_text("2026-11-12T10:20:00+01:00") == "12 Nov 2026, 10:20 +01:00"
    assert fmt.when_text("2026-03-05") == "5 Mar 2026"
    assert fmt.when_text("not a date") == "not a date"
    html = str(fmt.when("2026-11-18T00:00:00Z"))
    assert (
        html
        == '<time datetime="2026-11-18T00:00:00Z" title="2026-11-18T00:00:00Z">18 Nov 2026</time>'
    )
    assert str(fmt.when('<b>"x"</b>')) == "&lt;b&gt;&#34;x&#34;&lt;/b&gt;"


def test_labels_drop_the_value_list() -> None:
    kb = get_knowledge()
    assert fmt.label(kb, "csf-cytology") == kb.concepts["csf-cytology"].display
    assert "|" not in fmt.label(kb, "nccn-risk") and fmt.label(kb, "nccn-risk").startswith("NCCN")
    assert fmt.label(kb, "conditions") == "Active conditions in the problem list"
    assert fmt.label(kb, "no-such-thing") == "No such thing"


def test_quote_lines_become_one_escaped_note() -> None:
    html = str(
        render_markdown(
            "Para [1].\n> first <i>x</i> eano-esmo-2023 [1]\n>\n> second\n\nafter",
            {1},
            sources={"eano-esmo-2023": "Le Rhun et al. 2023"},
        )
    )
    assert html.count('class="answer-note"') == 1 and "<p>&gt;" not in html
    assert "<p>first &lt;i&gt;x&lt;/i&gt;" in html and "<p>second</p>" in html
    assert (
        '<a href="/kb/sources/eano-esmo-2023" title="eano-esmo-2023">Le Rhun et al. 2023</a>'
        in html
    )
    assert html.endswith("<p>after</p>")
    # without a mapping, ids stay text; outside notes nothing is linked
    assert "/kb/sources/" not in str(render_markdown("> see eano-esmo-2023"))
    assert "/kb/sources/" not in str(
        render_markdown("eano-esmo-2023", sources={"eano-esmo-2023": "x"})
    )


def test_reference_details_are_readable() -> None:
    from leptoguide.web.citations import readable_flags, source_line

    kb = get_knowledge()
    old = next(s for s in kb.sources.values() if s.superseded_by in kb.sources)
    flags = readable_flags(kb, old.id)
    assert any(f.startswith("superseded by ") for f in flags)
    assert f"superseded by {old.superseded_by}" not in flags  # a name, not the bare id
    overdue = next(
        s for s in kb.sources.values() if any("overdue" in f for f in kb.source_flags(s.id))
    )
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", f) for f in readable_flags(kb, overdue.id))
    dated = next(
        s for s in kb.sources.values() if s.year and (s.citation or "").startswith(str(s.year))
    )
    assert source_line(dated).count(str(dated.year)) == 1
