"""Retrieval and the lead on the shipped knowledge base: every name of a concept finds the same
statements, everyday frame words do not steer the lead, and the lead states what is asked.

Lexical retrieval, no model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leptoguide.answer import QA, Options
from leptoguide.answer.compose import _stem, meaning_aspect
from leptoguide.answer.index import concept_token, statement_fields
from leptoguide.knowledge.loader import KnowledgeBase

LM_NAMES = (
    "leptomeningeal metastasis",
    "LM",
    "LMD",
    "lepto mets",
    "leptomeningeal carcinomatosis",
    "neoplastic meningitis",
    "leptomeningeal disease",
    "carcinomatous meningitis",
)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEPTOGUIDE_HOME", str(tmp_path / "home"))
    for var in ("LEPTOGUIDE_LLM_URL", "LEPTOGUIDE_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def qa(shipped_kb: KnowledgeBase) -> QA:
    return QA(shipped_kb, Options(dense=False, use_llm=False, persist=False))


def _first_three(markdown: str) -> str:
    return " ".join(markdown.replace("**", "").split(". ")[:3]).lower()


def test_every_name_of_a_concept_gets_the_same_index_token(
    qa: QA, shipped_kb: KnowledgeBase
) -> None:
    token = concept_token("leptomeningeal-metastasis")
    assert token.isalnum() and " " not in token
    for name in ("LMD", "neoplastic meningitis", "leptomeningeal carcinomatosis"):
        expansion = qa.lexicon.expand(f"What is the prognosis of {name}?")
        assert token in qa.retriever.match_expression([], expansion, concepts=True)
    # a statement carries the token whichever name it uses
    rows = {row[0]: row for row in statement_fields(shipped_kb, qa.lexicon, True)}
    assert token in rows["lm-definition-synonyms"][6].split()
    assert token in rows["ici-steroids-worse-survival"][6].split()  # says only "LMD"


@pytest.mark.parametrize(
    "template",
    [
        "What are the NCCN poor-risk features in {}?",
        "Is intrathecal chemotherapy still standard for {}?",
        "Which targeted drugs work in EGFR-mutant {}?",
    ],
)
def test_every_name_of_lm_retrieves_the_same_top_statement(qa: QA, template: str) -> None:
    tops = {
        name: qa.retriever.retrieve(qa.vocab.understand(template.format(name)).query)
        .statements[0]
        .key
        for name in LM_NAMES
    }
    assert len(set(tops.values())) == 1, tops


def test_concept_token_brings_names_closer(shipped_kb: KnowledgeBase) -> None:
    """Across questions worded with each name of LM, the top three statements overlap with those
    of the spelled-out name more when concepts are searched as one token."""
    templates = [
        "How common is {} in solid tumours?",
        "How is {} confirmed?",
        "What MRI findings are typical of {}?",
        "What is the role of radiotherapy in {}?",
        "What CSF findings suggest {}?",
    ]
    overlap = {}
    for concepts in (False, True):
        qa = QA(shipped_kb, Options(dense=False, use_llm=False, persist=False))
        qa.retriever.config = type(qa.retriever.config)(dense=False, concepts=concepts)
        total = 0
        for template in templates:
            tops = [
                {
                    h.key
                    for h in qa.retriever.retrieve(
                        qa.vocab.understand(template.format(name)).query
                    ).statements[:3]
                }
                for name in LM_NAMES
            ]
            total += sum(len(t & tops[0]) for t in tops[1:])
        overlap[concepts] = total
    assert overlap[True] > overlap[False]


def test_versus_does_not_steer_the_answer(qa: QA) -> None:
    ans = qa.ask("LMD vs leptomeningeal carcinomatosis - same thing?")
    assert ans.statements[0] == "lm-definition-synonyms"
    assert "same process" in ans.lead


@pytest.mark.parametrize(
    ("a", "b"),
    [("cured", "cure"), ("fungal", "fungus"), ("doses", "dose"), ("stopped", "stop")],
)
def test_word_forms_are_the_same_word_to_the_lead(a: str, b: str) -> None:
    assert _stem(a) == _stem(b)


def test_yes_no_question_leads_with_the_verdict(qa: QA) -> None:
    ans = qa.ask("can LM be cured", audience="patient")
    assert "not expected to cure" in _first_three(ans.answer)


def test_dose_question_lead_states_the_dose(qa: QA) -> None:
    ans = qa.ask("What is the maximum ceftriaxone dose in severe renal failure?")
    assert "2 g/day" in ans.lead


def test_which_drug_question_leads_with_a_sentence_naming_a_drug(qa: QA) -> None:
    from leptoguide.answer.compose import drug_aspect

    names = ["vancomycin", "ceftriaxone", "ampicillin"]
    aspect = drug_aspect("empiric abx for BM in a 6 mo old", names)
    assert aspect is not None and aspect.form.search("ceftriaxone plus vancomycin")
    # a question asking for a number asks for that, not for a drug
    assert drug_aspect("what ceftriaxone dose for a child?", names) is None
    assert drug_aspect("how is TB meningitis treated?", names) is None
    ans = qa.ask("empiric abx for BM in a 6 mo old")
    assert "vancomycin" in ans.lead.lower()


def test_shorthand_and_its_meaning_count_for_each_other(qa: QA) -> None:
    """A statement that writes "EGFR-TKIs" covers a question read as "tyrosine kinase
    inhibitor", and clinic shorthand for a drug finds the drug."""
    question = "Does osimertinib lower the risk of developing LM compared with other EGFR TKIs?"
    ans = qa.ask(question)
    assert not ans.abstained and ans.statements[0] == "egfr-osimertinib-lm-prevention"
    pembro = qa.ask("pembro dose used in the LM phase 2 trial")
    assert "pembrolizumab-lm-phase2" in pembro.statements
    assert "200 mg" in pembro.answer


def test_organism_names_are_one_word_group(qa: QA) -> None:
    found = {p.concept for p in qa.lexicon.find("how long for meningococcal disease?")}
    assert found & {p.concept for p in qa.lexicon.find("Neisseria meningitidis")}


@pytest.mark.parametrize(
    ("question", "group"),
    [
        ("empiric antibiotics for meningitis in a 70-year-old", "adult"),
        ("ceftriaxone dose for an 8 yo", "child"),
        ("empiric abx for BM in a 6 mo old", "infant"),
        ("dex for a 3 week old?", "newborn"),
        ("a 10 day old with fever and a bulging fontanelle", "newborn"),
        ("18 months old, which antibiotics?", "child"),
    ],
)
def test_an_age_in_the_question_names_its_population(
    shipped_kb: KnowledgeBase, question: str, group: str
) -> None:
    from leptoguide.answer.vocabulary import vocabulary_for

    populations = vocabulary_for(shipped_kb).populations.named
    assert populations(question, ages=True) == {group}
    # statements are read by their words only: "babies aged 28 days" is not an adult; a baby
    # is a newborn or an infant
    assert populations("for babies aged 28 days to 3 months", ages=True) == {"newborn", "infant"}


def test_an_infant_question_is_not_led_by_the_newborn_statement(qa: QA) -> None:
    """A 6-month-old is past the neonatal period: the statement for infants and children leads,
    found below the top hits when those are about newborns, adults or older children."""
    ans = qa.ask("which empiric antibiotics for suspected bacterial meningitis in a 5 month old?")
    first = _first_three(ans.answer)
    assert "vancomycin" in first and "neonates as" not in first


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("IT methotrexate: how often is it given?", {"schedule"}),
        ("what schedule for intrathecal cytarabine", {"schedule"}),
        ("how long is TB meningitis treated in adults", {"duration", "time"}),
        ("for how long do they keep going with the chemo into the spine?", {"duration"}),
        (
            "How would EANO-ESMO class LM with a typical MRI and negative cytology?",
            {"classification"},
        ),
        ("NCCN risk group for KPS 50?", {"classification"}),
    ],
)
def test_the_kind_of_answer_asked_is_recognised(question: str, kinds: set[str]) -> None:
    from leptoguide.answer.compose import lead_aspects

    assert kinds <= {a.name for a in lead_aspects(question)}


def test_how_often_asks_for_a_schedule_about_a_treatment_and_a_rate_otherwise() -> None:
    from leptoguide.answer.compose import lead_aspects

    treatment = {a.name for a in lead_aspects("how often is the chemo put into the spinal fluid?")}
    assert "schedule" in treatment and "rate" not in treatment
    # a drug of the terminology named in the question counts as a treatment
    drug = {a.name for a in lead_aspects("thiotepa - how often?", names_drug=True)}
    assert "schedule" in drug and "rate" not in drug
    rate = {a.name for a in lead_aspects("how often does LM occur in breast cancer?")}
    assert "rate" in rate and "schedule" not in rate
    # "how long after" asks for a time, not for the length of a treatment
    after = {a.name for a in lead_aspects("how long after the antibiotic can dex still start?")}
    assert "duration" not in after


def test_duration_question_leads_with_how_long_treatment_lasts(qa: QA) -> None:
    ans = qa.ask("how long do we treat TB meningitis in adults?")
    assert "months" in _first_three(ans.answer)


def test_classification_question_leads_with_the_class(qa: QA) -> None:
    ans = qa.ask("How would EANO-ESMO class LM with typical MRI but two negative cytologies?")
    first = _first_three(ans.answer)
    assert "type ii" in first or "probable" in first


def test_a_patient_group_named_in_a_follow_up_leads(qa: QA) -> None:
    """'... living with HIV' is answered by a statement about that group."""
    from leptoguide.answer.conversation import MemoryConversationStore
    from leptoguide.answer.text import conditions

    assert conditions("and if the child is HIV positive?") == {"hiv"}
    assert conditions("a pregnant woman with cryptococcal meningitis") == {"pregnancy"}
    assert conditions("after a kidney transplant") == {"transplant"}
    assert not conditions("cryptococcal meningitis induction")
    store = MemoryConversationStore()
    qa.ask("6HRZEto for a child: which drugs?", conversation_id="hiv", conversations=store)
    ans = qa.ask("and if the child is living with HIV?", conversation_id="hiv", conversations=store)
    assert "hiv" in _first_three(ans.answer)


@pytest.mark.parametrize(("question", "group"), [("empiric abx for ?BM in a 35M", "adult")])
def test_clinic_age_and_sex_shorthand_names_an_adult(
    shipped_kb: KnowledgeBase, question: str, group: str
) -> None:
    from leptoguide.answer.vocabulary import vocabulary_for

    populations = vocabulary_for(shipped_kb).populations.named
    assert populations(question, ages=True) == {group}
    # a small number may be months: not read as an age
    assert populations("6M old with fever", ages=True) == frozenset()


@pytest.mark.parametrize(
    "question",
    [
        "how often is intrathecal methotrexate given for LM?",
        "IT MTX: how often and for how long?",
        "how frequently is IT methotrexate given in leptomeningeal mets",
    ],
)
def test_how_often_a_drug_is_given_leads_with_its_schedule(qa: QA, question: str) -> None:
    lead = _first_three(qa.ask(question).answer).lower()
    first = lead.split(". ")[0]
    assert "methotrexate" in first and "twice weekly" in first, lead
    assert "thiotepa" not in first  # not the salvage drug's schedule


@pytest.mark.parametrize(
    ("first", "follow_up"),
    [
        ("how often is IT MTX given in LMD?", "and in kids?"),
        ("intrathecal methotrexate schedule for leptomeningeal mets", "what about children?"),
        ("IT MTX q? how often", "and for a 4 year old?"),
    ],
)
def test_a_follow_up_naming_a_population_leads_with_a_statement_about_it(
    qa: QA, first: str, follow_up: str
) -> None:
    """The follow-up's population steers the lead while the topic carries over: not the adult
    schedule again."""
    from leptoguide.answer.conversation import MemoryConversationStore

    store = MemoryConversationStore()
    qa.ask(first, conversation_id="kids", conversations=store)
    ans = qa.ask(follow_up, conversation_id="kids", conversations=store)
    lead = _first_three(ans.answer).split(". ")[0]
    assert "methotrexate" in lead and "age" in lead, lead


def test_a_lay_phrase_counts_as_what_it_means_in_a_patient_sentence() -> None:
    """A patient sentence that uses the question's own lay words ("spinal tap") gives what they
    were read as ("lumbar puncture"), counted once, not twice."""
    from leptoguide.answer.compose import _sentence_score, aliases_of

    aliases = aliases_of([("spinal tap", "lumbar puncture")])
    weights = {"mri": 2.0, "lumbar": 1.0, "puncture": 1.0}
    lay = "Your MRI is usually done before the spinal tap."
    both = "A lumbar puncture is also called a spinal tap."
    assert _sentence_score(lay, weights) == 2.0
    assert _sentence_score(lay, weights, aliases) == 4.0
    assert _sentence_score(both, weights, aliases) == _sentence_score(both, weights) == 2.0
    # a phrase read as itself adds nothing
    assert aliases_of([("LP", "lp")]) == ()
    # the written words must stand together (function words aside), as the question wrote them
    spread = aliases_of([("new cancer", "secondary cancer")])
    assert _sentence_score("Is LM a new cancer?", {"secondary": 1.0}, spread) == 1.0
    assert _sentence_score("New data on breast cancer.", {"secondary": 1.0}, spread) == 0.0
    fluid = aliases_of([("cancer in the spinal fluid", "leptomeningeal")])
    assert _sentence_score("Cancer in your spinal fluid.", {"leptomeningeal": 1.0}, fluid) == 1.0


@pytest.mark.parametrize(
    "question",
    [
        "empiric abx for ?BM in a previously well young adult",
        "what empiric antibiotics for suspected bacterial meningitis in a previously healthy adult?",
    ],
)
def test_a_site_policy_choice_leads_with_the_site_value_and_shows_the_alternative(
    qa: QA, question: str
) -> None:
    """Empiric therapy touches the site's vancomycin choice: the site's regimen (IDSA,
    vancomycin routine) leads, the European alternative follows, and the policy is named."""
    ans = qa.ask(question)
    lead = ans.answer.split("\n\n")[0]
    assert "vancomycin" in lead.split(". ")[0], lead
    marks = {c.statement: f"[{c.n}]" for c in ans.citations}
    # both sides in the lead, each with its own citation
    assert marks["empiric-2-50-years"] in lead, lead
    assert marks["empiric-vancomycin-if-resistance-europe"] in lead, lead
    assert "**Site policy:** Vancomycin in every empiric regimen from 1 month: yes [" in ans.answer
    assert "other sources: no [" in ans.answer
    assert {"empiric-2-50-years", "empiric-vancomycin-if-resistance-europe"} <= set(ans.statements)


def test_a_site_that_chose_the_alternative_leads_with_its_own_value(
    shipped_kb: KnowledgeBase, tmp_path: Path
) -> None:
    from leptoguide.policy import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(
        "policy:\n  id: eu-site\n  values:\n    empiric-vancomycin-routine: false\n",
        encoding="utf-8",
    )
    site = QA(
        shipped_kb,
        Options(dense=False, use_llm=False, persist=False),
        policy=load_policy(shipped_kb, path),
    )
    ans = site.ask("empiric abx for ?BM in a previously well young adult")
    first = _first_three(ans.answer).split(". ")[0]
    assert "escmid" in first or "only" in first, first
    assert "from 1 month: no [" in ans.answer and "(site setting)" in ans.answer
    assert "other sources: yes [" in ans.answer


@pytest.mark.parametrize(
    ("question", "facts"),
    [
        ("dex window after first abx dose in BM - how many hours?", ("4 hours", "12 hours")),
        ("from what age do you add listeria cover to empiric abx?", ("50 years", "60 years")),
    ],
)
def test_a_question_on_a_disputed_value_gives_both_values_first(
    qa: QA, question: str, facts: tuple[str, ...]
) -> None:
    lead = _first_three(qa.ask(question).answer)
    assert all(f in lead for f in facts), lead


def test_a_question_near_a_policy_choice_keeps_the_statement_that_answers_it(qa: QA) -> None:
    """'Which features put a patient in the NCCN poor-risk group?' is not led by the good-risk
    statement behind the site's KPS cut-off; the cut-off is still named as site policy."""
    ans = qa.ask("Which features put a patient with LMD in the NCCN poor-risk group?")
    assert "poor-risk" in _first_three(ans.answer).split(". ")[0]


@pytest.mark.parametrize(
    "question",
    [
        "why do they want the MRI done before the spinal tap and not the other way round?",
        "my husband has to have the mri before his spinal tap, why is that",
    ],
)
def test_a_patient_asking_why_the_scan_comes_first_gets_the_reason(qa: QA, question: str) -> None:
    """Led by the statement about the MRI before the tap, not the definition of a spinal tap that
    shares the lay words."""
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "before the spinal tap" in lead, lead
    assert not lead.startswith("a lumbar puncture is also called")


@pytest.mark.parametrize(
    ("first", "follow_up"),
    [
        ("T-DXd real-world ROSET-BM - LMC subgroup 12-mo PFS/OS?", "and the DEBBRAH LM cohort?"),
        ("trastuzumab deruxtecan ROSET-BM outcomes in LMD", "what about DEBBRAH?"),
    ],
)
def test_a_follow_up_naming_another_study_leads_with_that_study(
    qa: QA, first: str, follow_up: str
) -> None:
    """The follow-up's own words say what is asked now: the statement holding them leads, not
    the statement that answered the earlier question's many words."""
    from leptoguide.answer.conversation import MemoryConversationStore

    store = MemoryConversationStore()
    qa.ask(first, conversation_id="study", conversations=store)
    ans = qa.ask(follow_up, conversation_id="study", conversations=store)
    lead = _first_three(ans.answer).split(". ")[0]
    assert "debbrah" in lead, lead


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("ceftriaxone max daily dose if CrCl <10?", "2 g/day"),
        ("max ceftriaxone per day when creat clearance under 10", "2 g/day"),
        ("CSF CTCs on CellSearch - dx cut-off for LM?", "1 csf-ctc/ml"),
        ("CellSearch CSF tumour cell cutoff to diagnose LMD?", "1 csf-ctc/ml"),
        ("Glantz 1998 - minimum CSF volume to cut false negative cytology?", "10.5 ml"),
        ("min CSF vol for cytology to avoid false negs (Glantz)?", "10.5 ml"),
        ("phase I hypofractionated proton CSI for LM - median CNS-PFS?", "7 months"),
    ],
)
def test_clinician_shorthand_for_the_asked_quantity_reaches_the_lead(
    qa: QA, question: str, fact: str
) -> None:
    """'CrCl' is creatinine clearance and a 'cut-off' is a threshold: the statement that gives
    the asked number leads."""
    assert fact in _first_three(qa.ask(question).answer)


def test_a_threshold_is_a_number_against_a_limit_and_a_level_any_number() -> None:
    """'What cut-off?' is answered by a sentence giving a limit ('at least 1 CSF-CTC/mL',
    'below 50'), not by any number ('in 5 mL samples'); 'what protein level?' by any number."""
    from leptoguide.answer.compose import lead_aspects

    (threshold,) = [a for a in lead_aspects("dx cut-off for CSF CTCs?") if a.name == "threshold"]
    assert threshold.form.search("at least 1 CSF-CTC/mL was the best threshold")
    assert threshold.form.search("platelet count below 50 x10^9/L")
    assert threshold.form.search("a GCS of 12 or less")
    assert not threshold.form.search("tumour cells in 5 mL CSF samples from 8 patients")
    (value,) = [
        a for a in lead_aspects("CSF protein level in viral meningitis?") if a.name == "value"
    ]
    assert value.form.search("protein 0.5-1 g/L")


def test_a_patient_asking_about_the_wrong_drug_in_the_spine_hears_about_that(qa: QA) -> None:
    """Frame verbs ("goes", "going", "booked") are everyday words: "what happens if the wrong
    chemo goes into the spine fluid by mistake" is not led by a scan whose tracer 'goes into
    the fluid'."""
    ans = qa.ask(
        "what happens if the wrong chemo goes into the spine fluid by mistake", audience="patient"
    )
    lead = _first_three(ans.answer)
    assert "mistake" in lead and "tracer" not in lead, lead


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("how big is the reservoir they put under my wife's scalp?", "size of a coin"),
        ("how much spinal fluid do they need for the cancer test?", "teaspoon"),
    ],
)
def test_how_big_and_how_much_fluid_ask_for_a_size_and_an_amount(
    qa: QA, question: str, wanted: str
) -> None:
    """Patients asking how big a device is, or how much fluid is taken, are answered with the
    size and the amount, not with a neighbouring statement that shares the device or the test."""
    assert wanted in _first_three(qa.ask(question, audience="patient").answer)


def test_how_big_an_operation_is_not_a_question_about_size(shipped_kb: KnowledgeBase) -> None:
    from leptoguide.answer.vocabulary import vocabulary_for

    und = vocabulary_for(shipped_kb).understand("how big an operation is the Ommaya?")
    assert "size" not in [m for _w, m in und.meanings]


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("the scan report mentions type B. what is type B?", "type B"),
        ("What does the word equivocal mean?", "equivocal"),
        ("so what's an Ommaya", "Ommaya"),
        ("what does the type II part mean?", "type II"),
        ("what is meant by linear enhancement?", "linear enhancement"),
    ],
)
def test_a_question_naming_the_word_to_define_is_read(question: str, term: str) -> None:
    """The word asked about is the one the lead should define: a sentence defining it gives the
    meaning, one defining a neighbouring word does not."""
    aspect = meaning_aspect(question)
    assert aspect is not None
    assert aspect.form.search(f"{term} means something.")
    assert not aspect.form.search("Something else means something.")


@pytest.mark.parametrize(
    "question",
    [
        "what is the dose of dexamethasone?",
        "what does that mean?",
        "what is it and why does it happen?",
        "what is the usual treatment for LM in breast cancer?",
    ],
)
def test_a_question_asking_about_something_names_no_word_to_define(question: str) -> None:
    assert meaning_aspect(question) is None


def test_a_patient_asking_what_a_scan_type_means_gets_that_type(qa: QA) -> None:
    """A patient asking "what is type A?" after the report's wording: led by the sentence on type A, not only by
    the list of the types."""
    question = "my MRI report says type A LM. what is type A?"
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "type a shows" in lead, lead


def test_how_likely_leads_with_the_likelihood(qa: QA) -> None:
    """A question asking "more likely" asks for a likelihood (1 in 10), not for how long people live."""
    question = "is my dad more likely to get LM because his lung cancer has an EGFR mutation?"
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "1 in 10" in lead, lead
    assert "months" not in lead


def test_a_time_in_words_answers_how_fast(qa: QA) -> None:
    """Patient wordings write numbers in words ("within an hour", "one hour")."""
    question = "how fast should they start antibiotics when it could be bacterial meningitis?"
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "within an hour" in lead or "one hour" in lead, lead


@pytest.mark.parametrize(
    "question",
    ["his shunt stopped working, can it be redone?", "does a shunt for LM ever get blocked?"],
)
def test_a_device_that_stops_working_is_answered_by_its_revisions(qa: QA, question: str) -> None:
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "redone" in lead, lead


def test_a_why_question_is_not_led_by_a_number_its_words_seem_to_ask_for(qa: QA) -> None:
    """The word "stopped" asks for a time in a clinician's hold question; in "why did they stop ...?"
    it asks for a reason, so no statement is brought in for its number of hours."""
    question = "why did the team stop her steroid when the fluid grew listeria?"
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "hours" not in lead, lead


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("why does mum need folic acid and B12 before pemetrexed into her CSF?", "blood counts"),
        ("why are they doing a second spinal tap when the first was clear?", "few cells"),
        ("her MRI shows LM already, so why do they want a spinal tap as well?", "confirm"),
    ],
)
def test_a_patient_asking_why_gets_the_reason_in_the_lead(
    qa: QA, question: str, reason: str
) -> None:
    """The reason sits next to the sentence that matches the question's words: the lead reads
    on to it instead of stopping at the matching sentence."""
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert reason in lead, lead


@pytest.mark.parametrize(
    "question",
    [
        "I take blood thinners and have a lumbar puncture next month, do I need to come off them?",
        "my wife is on blood thinners and has a spinal tap on friday. does she have to stop them?",
    ],
)
def test_a_patient_asking_whether_to_stop_a_medicine_is_told_whether(qa: QA, question: str) -> None:
    """Asking "do I have to stop them?" asks whether, not when: the patient statement on pausing blood
    thinners leads, not the hours for one injected drug."""
    answer = qa.ask(question, audience="patient")
    assert answer.statements[0] == "patient-blood-thinners-before-lp"
    assert "pause" in _first_three(answer.answer)


def _conversation(qa: QA, *questions: str) -> list[str]:
    """Ask ``questions`` in one conversation; the ids of the statements each answer shows."""
    from leptoguide.answer.conversation import MemoryConversationStore

    store = MemoryConversationStore()
    return [qa.ask(q, conversation_id="clin", conversations=store).statements[0] for q in questions]


@pytest.mark.parametrize(
    "question",
    [
        "What dose of IT methotrexate is used in LM?",
        "how many mg of intrathecal methotrexate per dose in leptomeningeal disease?",
        "IT MTX dose per injection for LMD",
    ],
)
def test_the_drug_asked_about_is_the_subject_of_the_lead(qa: QA, question: str) -> None:
    """A statement about another drug that names methotrexate in passing ("thiotepa ... as
    salvage after methotrexate", "folinic acid rescue with IT methotrexate") does not lead a
    question about methotrexate's dose while a methotrexate dose statement is retrieved."""
    ans = qa.ask(question)
    assert ans.statements[0] == "it-mtx-dose-trials", ans.statements


def test_a_drug_the_question_names_in_passing_is_not_what_it_asks_about(qa: QA) -> None:
    ans = qa.ask("Which intrathecal drug has been used as salvage after methotrexate failure?")
    assert ans.statements[0] == "it-thiotepa-dose"
    assert qa._in_passing("which IT drug after methotrexate failure?") == {"methotrexate"}
    assert not qa._in_passing("IT methotrexate dose?")
    assert qa._in_passing("Folinic acid (leucovorin) rescue with IT methotrexate") == {
        "methotrexate"
    }


@pytest.mark.parametrize(
    ("first", "follow_up", "expected"),
    [
        # another kind of answer about the same drug: the schedule, not the dose again
        ("IT trastuzumab dose in HER2+ LMD?", "how often is it given?", "it-trastuzumab-schedule"),
        (
            "what dose of intrathecal trastuzumab for HER2-positive LM?",
            "and how often?",
            "it-trastuzumab-schedule",
        ),
        # a drug named in the follow-up: the statement about it, although it is a draft and a
        # checked statement about another methotrexate use covers more of the earlier words
        (
            "usual intrathecal methotrexate schedule in LM?",
            "is folinic acid rescue needed?",
            "it-mtx-leucovorin-not-found",
        ),
        ("IT MTX q? how often", "does it need leucovorin rescue?", "it-mtx-leucovorin-not-found"),
        # a population: the topic (the GCS) carries over, not the words "cut-off" or "adult"
        (
            "child with suspected meningitis - what GCS means no LP?",
            "and for adults?",
            "uk-jss-lp-delay-criteria",
        ),
        (
            "paeds ?BM - GCS below what = no LP?",
            "and the cut-off in adults?",
            "uk-jss-lp-delay-criteria",
        ),
    ],
)
def test_a_follow_up_keeps_the_topic_and_changes_what_it_names(
    qa: QA, first: str, follow_up: str, expected: str
) -> None:
    assert _conversation(qa, first, follow_up)[1] == expected


def test_an_organism_no_statement_names_is_answered_for_its_group_and_said_so(qa: QA) -> None:
    """E. coli is read as an aerobic Gram-negative bacillus (vocabulary): the answer gives the
    group's duration and says that no statement names the species."""
    from leptoguide.answer.conversation import MemoryConversationStore

    for questions in (
        ["how long do you treat Escherichia coli meningitis?"],
        ["haemophilus meningitis - 7 or 10 days?", "and if it grows E. coli?"],
    ):
        store = MemoryConversationStore()
        for q in questions:
            ans = qa.ask(q, conversation_id="coli", conversations=store)
        assert "Gram-negative bacilli 21 days" in ans.lead
        assert "No statement in LeptoGuide's knowledge base names “" in ans.answer
        assert "coli”" in ans.answer


def test_signs_after_an_lp_on_a_blood_thinner_find_the_haematoma_warning(qa: QA) -> None:
    for question in (
        "which signs after an LP need urgent review?",
        "post-LP on enoxaparin: which neuro signs need urgent action?",
    ):
        ans = qa.ask(question)
        assert not ans.abstained
        assert ans.statements[0] == "lp-lmwh-label-spinal-haematoma"
        assert "urgent" in ans.lead


def test_the_population_words_are_vocabulary_data(shipped_kb: KnowledgeBase) -> None:
    """One list, in the knowledge base (vocabulary role 'population'): the groups statements are
    sorted by, and every word a follow-up replaces the earlier population with."""
    from leptoguide.answer.vocabulary import vocabulary_for

    pops = vocabulary_for(shipped_kb).populations
    assert set(pops.groups) == {"adult", "child", "newborn", "infant"}
    assert "baby" in pops.groups["newborn"] and "baby" in pops.groups["infant"]
    assert {"pregnant", "elderly", "women"} <= pops.words
    assert all(members <= pops.words for members in pops.groups.values())
    assert pops.named("a trial in pregnant women") == frozenset()


@pytest.mark.parametrize(
    ("question", "expected", "says"),
    [
        # a title naming the question's concept by another of its names ("LM" for
        # "carcinomatous meningitis") names what is asked: not a methods paper's background
        (
            "How common is carcinomatous meningitis among patients with solid tumours?",
            "lm-incidence-solid-tumours",
            "5-10%",
        ),
        (
            "MRI protocol for suspected leptomeningeal carcinomatosis per EANO-ESMO?",
            "eano-mri-protocol",
            "gadolinium",
        ),
        # a statement listing the paediatric value beside another is not only about children
        (
            "which raised ICP signs are contraindications to lumbar puncture?",
            "lp-contraindications-raised-icp",
            "papilloedema",
        ),
    ],
)
def test_a_definitional_question_is_led_by_the_statement_about_the_concept(
    qa: QA, question: str, expected: str, says: str
) -> None:
    ans = qa.ask(question)
    assert ans.statements[0] == expected, ans.statements
    assert says in ans.answer.split("\n\n")[0] or says in ans.lead


@pytest.mark.parametrize(
    "question",
    [
        "how is the chemo put into the spinal fluid?",
        "how do they get the chemo into the fluid around the brain?",
    ],
)
def test_a_patient_asking_how_something_gets_there_is_told_the_way(qa: QA, question: str) -> None:
    """Asking how something is given or gets there asks for the way (by a needle, through a
    device), not for what the drug does once there."""
    lead = _first_three(qa.ask(question, audience="patient").answer)
    assert "needle" in lead or "device under your scalp" in lead, lead
