"""The boundaries of answering: topics next to the domain are declined, questions in the domain
asked in everyday words are answered, warning signs lead with urgent care, personal questions are
declined kindly and their factual twins are answered.

Every phrasing here was written for these tests (none is taken from the evaluation files). Runs on
the shipped knowledge base (lexical retrieval, no model).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from leptoguide.answer import QA
from leptoguide.answer.vocabulary import vocabulary_for
from leptoguide.knowledge.loader import KnowledgeBase


@pytest.fixture(scope="module")
def qa(shipped_qa: QA) -> QA:
    return shipped_qa


def _markers_resolve(answer: Any) -> None:
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert marks == {c.n for c in answer.citations}


# ---------------------------------------------------------------- next to the domain: declined

OUTSIDE = [
    # other infections of the brain itself
    ("clinician", "what antibiotics and for how long for a cerebral abscess after dental work?"),
    ("patient", "does a brain abscess always need an operation to drain it?"),
    ("clinician", "duration of IV therapy for a brain abscess that has been aspirated"),
    ("clinician", "how long is aciclovir given for herpes simplex encephalitis?"),
    ("clinician", "treatment of cerebral toxoplasmosis in HIV"),
    ("clinician", "albendazole for neurocysticercosis: how long?"),
    ("clinician", "what is the treatment of shingles affecting the eye?"),
    # hydrocephalus and shunts that are not from LM or meningitis
    ("patient", "my newborn was born with water on the brain, when will he get his shunt?"),
    ("clinician", "VP shunt revision rate in congenital hydrocephalus"),
    ("clinician", "how much CSF is drained in a tap test for suspected NPH?"),
    # antifungal prophylaxis
    ("clinician", "fluconazole prophylaxis dose after a stem cell transplant"),
    ("clinician", "antifungal prophylaxis during induction chemotherapy for AML"),
    # other tumours and other linings
    ("patient", "is a colloid cyst in the brain dangerous?"),
    ("clinician", "temozolomide schedule for low grade glioma"),
    ("patient", "how is a pituitary adenoma treated?"),
    ("clinician", "follow-up MRI interval for a vestibular schwannoma"),
    ("patient", "what is mesothelioma of the lining of the lung?"),
    ("patient", "what causes pericarditis?"),
    # general oncology and general neurology
    ("patient", "how often should I have a mammogram?"),
    ("patient", "what are the side effects of tamoxifen?"),
    ("patient", "how do I stop my hair falling out from chemo?"),
    ("patient", "what triggers a migraine with aura?"),
    ("patient", "how is Bell's palsy treated?"),
    ("patient", "what is restless legs syndrome?"),
    ("patient", "what is a neurological examination for a sore back?"),
    ("patient", "when is the meningitis B vaccine given to babies?"),
    # admin
    ("patient", "how do I book a blood test at my GP surgery?"),
    ("patient", "can I get a blue badge for hospital parking?"),
    ("patient", "how much does a private MRI scan cost?"),
    # "a fit 60 year old" is fit and well, not having a seizure
    ("clinician", "induction regimen for primary CNS lymphoma in a fit 60 year old?"),
    ("clinician", "empirical treatment of a ventilator-associated pneumonia"),
    ("patient", "how long does it take to recover from a slipped disc operation?"),
    ("clinician", "dose of levetiracetam for status epilepticus in adults"),
    ("patient", "is a meningioma cancer?"),
    ("clinician", "SRS dose for a single 2 cm brain metastasis"),
    ("patient", "what is the survival for glioblastoma?"),
    ("clinician", "how is spinal muscular atrophy treated with nusinersen?"),
    ("patient", "what are the symptoms of a brain bleed?"),
    ("clinician", "tPA window for acute ischaemic stroke"),
    ("patient", "can you get a headache from high blood pressure?"),
    ("patient", "how do I renew my blue badge?"),
    ("patient", "what time is visiting on the oncology ward?"),
    ("clinician", "ceftriaxone dose for gonorrhoea"),
    ("patient", "how long do antibiotics for a water infection take to work?"),
    ("clinician", "how is hepatic encephalopathy treated?"),
    ("clinician", "first line for trigeminal neuralgia?"),
    ("patient", "how long is the recovery after a hip replacement?"),
    ("clinician", "how is Lyme neuroborreliosis treated?"),
    ("patient", "my son has chickenpox, when can he go back to school?"),
    ("patient", "what is the best diet during chemotherapy?"),
    ("clinician", "pleural effusion from breast cancer: when to drain?"),
    ("patient", "how do i get a handicap parking permit?"),
    ("clinician", "bevacizumab for radiation necrosis dose"),
    ("patient", "what is a pinched nerve in the neck?"),
    ("clinician", "treatment of cryptococcal pneumonia without CNS involvement"),
    ("patient", "my kid has an ear infection, which antibiotic?"),
    ("clinician", "oral dexamethasone for COPD exacerbation?"),
    ("patient", "how long is recovery from brain surgery for a tumor?"),
    ("clinician", "what is the dose of IV acyclovir for shingles?"),
    ("patient", "what causes water on the knee?"),
    ("clinician", "enoxaparin dose for DVT in pregnancy"),
]


@pytest.mark.parametrize(("audience", "question"), OUTSIDE)
def test_topics_next_to_the_domain_are_declined(qa: QA, audience: str, question: str) -> None:
    ans = qa.ask(question, audience=audience)
    assert ans.abstained, (ans.statements, ans.understood)
    assert ans.abstain_kind in ("out-of-scope", "unsupported")
    assert not ans.urgent
    assert ans.citations == []
    assert ans.suggestions


# ---------------------------------------------------------------- in the domain, everyday words

INSIDE = [
    (
        "patient",
        "the paramedics gave my son a jab of antibiotics in the ambulance, why did they do that?",
    ),
    ("clinician", "pre-hospital benzylpenicillin in suspected meningococcal disease?"),
    ("clinician", "abx given by the GP pre-hospital, does it affect CSF culture?"),
    ("clinician", "does 3.5 g/m2 methotrexate IV reach therapeutic CSF levels?"),
    ("clinician", "HD-MTX 8 g/m2 for LM from breast cancer?"),
    (
        "patient",
        "they asked him to squeeze their fingers and follow a light, what are they checking for?",
    ),
    ("patient", "never heard of LM before today, what even is it?"),
    ("patient", "whats the stuff they put into the ommaya called"),
    ("patient", "why do they need to take fluid out of his back?"),
    ("patient", "does the cancer in the brain lining show up on a scan?"),
    ("patient", "what are the side effects of chemo put into the spine fluid?"),
    ("patient", "how do they test the spinal fluid for TB?"),
    ("patient", "how quick do they need to give antibiotics for meningitis?"),
    ("patient", "will I need to lie flat after the spinal tap?"),
    ("patient", "will I be awake when they put the ommaya in?"),
    ("patient", "can I eat before my lumbar puncture?"),
    ("clinician", "my pt has LM, should I have the MRI first?"),
    ("clinician", "my patient has suspected LM, should I get the MRI before the LP?"),
    ("patient", "how much fluid do they take out in a spinal tap?"),
    ("patient", "can steroids help the headaches from LM?"),
    ("patient", "what does it mean if the cytology comes back negative?"),
    ("patient", "whats the difference between bacterial and viral meningitis?"),
    ("patient", "can you fly after having a spinal tap?"),
    ("patient", "why would they need an MRI of the whole spine for LM?"),
    (
        "clinician",
        "how long is fluconazole prophylaxis continued after cryptococcal meningitis in HIV?",
    ),
    ("clinician", "VP shunt for hydrocephalus from LM: how often does it block?"),
    ("clinician", "is it fit and well adults only who get dexamethasone in bacterial meningitis?"),
    ("patient", "the nurse scored how active dad is on a different scale from the doctors. why?"),
    ("clinician", "EANO LM guideline: what LoE and GoR system?"),
    ("patient", "what was DepoCyt used for in the states before they stopped making it?"),
    ("patient", "whats the tube thing they put in his head for the chemo"),
    ("patient", "my mum had the needle in her back test, how long till results?"),
    ("patient", "can cancer spread to the fluid around the spine?"),
    ("patient", "what are the early signs that cancer has got into the brain lining?"),
    ("patient", "why is he so sleepy after the chemo into his head?"),
    ("patient", "how long does the ommaya operation take?"),
    ("clinician", "LMD from NSCLC EGFR+ - osimertinib dose?"),
    ("clinician", "IT MTX dose via Ommaya?"),
    ("patient", "is meningitis catching?"),
    ("patient", "how do they know if it is bacterial or viral meningitis?"),
    ("patient", "do they always do a spinal tap for meningitis?"),
    ("clinician", "CSF opening pressure in crypto meningitis, when to do therapeutic LPs?"),
    ("patient", "what is the fluid around the brain called?"),
    ("patient", "why did they give him steroids with the antibiotics?"),
    ("clinician", "TB meningitis steroid regimen?"),
    ("patient", "my mom has lepto mets, what is the ommaya thingy?"),
    ("patient", "whats a spinal tap feel like?"),
    ("patient", "can you get meningitis from a spinal tap?"),
    ("patient", "can cancer spread into the spinal fluid from the breast?"),
    ("patient", "what kind of doctor treats lm?"),
]


@pytest.mark.parametrize(("audience", "question"), INSIDE)
def test_questions_in_the_domain_in_everyday_words_are_answered(
    qa: QA, audience: str, question: str
) -> None:
    ans = qa.ask(question, audience=audience)
    assert not ans.abstained, (ans.abstain_kind, ans.understood)
    assert not ans.urgent
    assert ans.citations
    _markers_resolve(ans)


# ---------------------------------------------------------------- warning signs: urgent care first

WARNING_SIGNS = [
    # signs listed now, then a general question: triaged
    "stiff neck and fever, can a stiff neck be a sign of meningitis?",
    "fever and neck stiffness since this morning - meningitis?",
    "headache, stiff neck and the light hurts - could it be meningitis?",
    "high temp and a rash that wont fade, is that meningitis?",
    # family words, no apostrophes, typos
    "grandad has a temp and his neck is stiff what do i do",
    "my little one is burning up and wont look at the lights",
    "my kid has a fever and a purple rash that dont fade",
    "nan is all confused and has a temperture",
    "mom cant wake up properly and has a bad headache",
    "sudden worst headache of my life right now",
    "my legs have gone numb and i cant pee",
    "husbands face is drooping on one side since an hour ago",
    "my daughter has a high fever and keeps throwing up and has a headache",
    "baby floppy and not feeding with a fever",
    "my dad with LM just had a fit",
    "my boy has a high temprature and spots that dont go when i press a glass",
    "gran is really drowsy and her neck is stiff",
    "my wife has LM and had a seizure that wont stop",
    "he suddenly cant move his arm and his face has dropped",
    "baby has a fever and a bulging soft spot",
    "my son's neck is real stiff and he has a fever of 103",
    "mom is acting confused and has a fever",
    "my daughter got a rash that wont go away when i press a glass on it",
    "husband has LM, hes had a seizure and wont wake up",
]


@pytest.mark.parametrize("question", WARNING_SIGNS)
def test_warning_signs_lead_with_urgent_care(qa: QA, question: str) -> None:
    ans = qa.ask(question, audience="patient")
    assert ans.urgent, ans.understood
    assert ans.answer.strip().startswith("**Seek urgent care now.**")
    _markers_resolve(ans)


@pytest.mark.parametrize(
    "question",
    [
        "Neck stiffness in meningitis: why does it matter?",
        "can a stiff neck be a sign of meningitis?",
        "what causes a stiff neck, fever and rash in meningococcal disease?",
        "how common is a seizure in LM?",
    ],
)
def test_signs_asked_about_in_general_are_not_triaged(
    shipped_kb: KnowledgeBase, question: str
) -> None:
    assert not vocabulary_for(shipped_kb).understand(question).red_flags


@pytest.mark.parametrize(
    "question",
    [
        "pt with LM on IT chemo, new seizure this morning, what next?",
        "LMD patient, new leg weakness since yesterday - urgent MRI?",
        "breast ca with LM, acutely confused on the ward",
    ],
)
def test_clinicians_get_clinician_wording_under_urgent(qa: QA, question: str) -> None:
    """The care team's contact advice (vocabulary `red-flag-context`, audience patient) is for
    patients: a clinician's urgent line is not the patient safety-net wording."""
    ans = qa.ask(question, audience="clinician")
    assert ans.urgent, ans.understood
    first = ans.answer.strip().splitlines()[0]
    assert first.startswith("**Urgent:**")
    assert "pt-when-to-call" not in ans.statements
    assert "Safety-net wording" not in first
    _markers_resolve(ans)
    # the same signs from a patient or family still lead with the care team's advice
    patient = qa.ask("my husband has LM and just had a seizure", audience="patient")
    assert patient.urgent and "pt-when-to-call" in patient.statements


@pytest.mark.parametrize(
    "question",
    [
        "patient with fever and neck stiffness in clinic, what now?",
        "LM pt with an Ommaya, febrile with neck stiffness since the IT dose",
        "ED: 19M, fever and a non-blanching rash - ?meningococcal",
    ],
)
def test_clinicians_with_signs_of_meningitis_get_the_treatment_timeline(
    qa: QA, question: str
) -> None:
    """A clinician's urgent line is the assess-and-treat timeline, not the public symptom list;
    a family asking the same gets the symptom list and its emergency advice."""
    ans = qa.ask(question, audience="clinician")
    assert ans.urgent, ans.understood
    assert ans.answer.strip().startswith("**Urgent:**")
    assert ans.statements[0] == "antibiotics-within-1-hour"
    assert "meningitis-red-flags-urgent-care" not in ans.statements
    _markers_resolve(ans)
    patient = qa.ask("my son has a fever and a stiff neck", audience="patient")
    assert patient.statements[0] == "meningitis-red-flags-urgent-care"


# ---------------------------------------------------------------- personal and factual twins

PERSONAL = [
    "mums been offered a clinical trial for her LM, should she say yes?",
    "my dad has been asked to take part in a trial for his LM, should he take part?",
    "my husband has LM, what are his chances?",
    "should my dad have the spinal tap?",
    "is my headache from the LM?",
    "does my mum have meningitis?",
    "is the chemo working for her?",
    "should dad stop his chemo for the LM?",
    "should we agree to whole brain radiotherapy for mum?",
    "will my wife be able to walk again with the LM?",
    "her MRI report says new enhancement in the spine. can you tell me if her LM is getting worse?",
    "dad is exhausted by the chemo into his ommaya, should we ask them to stop?",
    "is my husband going to end up in a wheelchair from the LM?",
    "she starts radiotherapy for her LM on monday, how many extra months will it give her?",
    "his first spinal tap was clear and now it shows LM. did they miss it?",
    "do you think my dad has LM?",
    "should my mum have the ommaya put in?",
    "how long has my brother got left with LM?",
    "what are my moms chances with lm?",
    "should my mom do the radiation or not?",
    "is my dad dying?",
    "can you look at my scan results?",
    "does this mean my husband has meningitis?",
]

FACTUAL = [
    "what should we ask before joining a clinical trial for LM?",
    "how long do people usually live with LM?",
    "why is an MRI done before the spinal tap?",
    "can LM cause headaches?",
    "what are the signs of meningitis in older people?",
    "how do doctors check if chemo into the spinal fluid is working?",
    "when is chemo into the spinal fluid stopped?",
    "what is whole brain radiotherapy used for in LM?",
    "can LM cause weakness in the legs?",
    "how do doctors find out if someone has LM?",
    "what is an ommaya used for?",
    "what does LM mean for how long someone lives?",
    "what is the difference between meningitis and LM?",
]


@pytest.mark.parametrize("question", PERSONAL)
def test_personal_questions_are_declined_kindly(qa: QA, question: str) -> None:
    ans = qa.ask(question, audience="patient")
    assert ans.abstained and ans.abstain_kind == "personal", ans.understood
    assert "care team" in ans.answer
    assert not ans.urgent
    _markers_resolve(ans)


@pytest.mark.parametrize("question", FACTUAL)
def test_their_factual_twins_are_answered(qa: QA, question: str) -> None:
    ans = qa.ask(question, audience="patient")
    assert not ans.abstained, (ans.abstain_kind, ans.understood)
    assert not ans.urgent
    _markers_resolve(ans)


@pytest.mark.parametrize(
    ("audience", "question"),
    [
        ("patient", "will I be able to drive after an LP?"),
        ("patient", "will I be able to go home the same day after the lumbar puncture?"),
        ("clinician", "my pt has LM, should I have the MRI first?"),
        ("clinician", "my patient is on apixaban, should I stop her apixaban before the LP?"),
        ("clinician", "my pt with LMD on apixaban, when should I stop it before the LP?"),
        ("patient", "will I be able to shower after the ommaya operation?"),
    ],
)
def test_factual_questions_worded_in_the_first_person_are_not_personal(
    shipped_kb: KnowledgeBase, audience: str, question: str
) -> None:
    """A question about the hours around a procedure, or a clinician's 'my pt ... should I',
    asks for facts (vocabulary `unless` of the personal entries)."""
    assert not vocabulary_for(shipped_kb).understand(question, None, audience).personal
