"""Evaluate question answering on eval/questions.yaml and write the results into docs/qa.md.

Scores, per configuration: key-fact accuracy (in-scope questions answered with every key fact),
abstention precision and recall (out-of-scope questions), citation integrity (every [n] resolves and
every citation is used by the answer, pointing at a real statement/source pair), and retrieval
recall@5 (a supporting statement among the top 5). A plain BM25 top-3 baseline over the same
statements runs side by side. Ablations switch dense retrieval and synonym expansion off.

Usage: python benchmarks/qa_eval.py [--no-write] [--tune] [--configs full,lexical,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import re
import sqlite3
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from leptoguide.answer.abstain import AbstainConfig
from leptoguide.answer.conversation import MemoryConversationStore
from leptoguide.answer.pipeline import QA, Options
from leptoguide.answer.text import content_tokens, fts_quote
from leptoguide.knowledge.loader import KnowledgeBase, get_knowledge

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.yaml"
DOC = ROOT / "docs" / "qa.md"
BEGIN, END = "<!-- qa-eval:begin -->", "<!-- qa-eval:end -->"


def norm(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2011", "-").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).lower()


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["questions"])


KINDS = (
    "standard",
    "lay",
    "shorthand",
    "typo",
    "follow-up",
    "computed",
    "red-flag",
    "personal",
    "out-of-scope",
    "injection",
)


@dataclass
class KindScore:
    n: int = 0
    ok: int = 0
    lead_ok: int = 0
    lead_total: int = 0
    abstained: int = 0


@dataclass
class Score:
    name: str
    in_scope: int = 0
    correct: int = 0
    oos: int = 0
    oos_abstained: int = 0
    in_scope_abstained: int = 0
    recall_hits: int = 0
    recall_total: int = 0
    unresolved: int = 0
    unused: int = 0
    bad_refs: int = 0
    ids_shown: list[str] = field(default_factory=list)
    """Internal statement ids found in rendered answer text (must stay empty)."""
    citations: int = 0
    lead_ok: int = 0
    lead_total: int = 0
    failures: list[str] = field(default_factory=list)
    kinds: dict[str, KindScore] = field(default_factory=dict)
    calibration: list[tuple[float, bool]] = field(default_factory=list)
    """(confidence, right) per answered in-scope question: right = every key fact, and the
    first sentences answer."""
    features: list[tuple[dict[str, float], bool]] = field(default_factory=list)
    """(confidence features, right) for retrieved answers: what --calibrate fits on."""
    """(confidence, correct) of every answered in-scope question."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.in_scope if self.in_scope else 0.0

    @property
    def abstain_precision(self) -> float:
        total = self.oos_abstained + self.in_scope_abstained
        return self.oos_abstained / total if total else 0.0

    @property
    def abstain_recall(self) -> float:
        return self.oos_abstained / self.oos if self.oos else 0.0

    @property
    def wrongly_abstained(self) -> float:
        return self.in_scope_abstained / self.in_scope if self.in_scope else 0.0

    @property
    def lead_rate(self) -> float:
        return self.lead_ok / self.lead_total if self.lead_total else 0.0

    @property
    def recall5(self) -> float:
        return self.recall_hits / self.recall_total if self.recall_total else 0.0

    @property
    def ece(self) -> float:
        """Expected calibration error of the confidence over answered in-scope questions."""
        rows = calibration_rows(self.calibration)
        return float(rows[-1]["right"]) if rows else 0.0

    def row(self) -> dict[str, Any]:
        return {
            "config": self.name,
            "key_fact_accuracy": round(self.accuracy, 3),
            "correct": f"{self.correct}/{self.in_scope}",
            "first_sentence_answers": round(self.lead_rate, 3),
            "recall_at_5": round(self.recall5, 3),
            "abstain_precision": round(self.abstain_precision, 3),
            "abstain_recall": round(self.abstain_recall, 3),
            "in_scope_abstained": self.in_scope_abstained,
            "unresolved_citations": self.unresolved,
            "unused_citations": self.unused,
            "bad_citation_refs": self.bad_refs,
            "ids_in_text": len(self.ids_shown),
            "ece": round(self.ece, 3),
        }

    def kind_rows(self) -> list[dict[str, Any]]:
        rows = []
        for kind in KINDS:
            k = self.kinds.get(kind)
            if k is None or not k.n:
                continue
            expects_abstain = kind in ("out-of-scope", "injection", "personal")
            rows.append(
                {
                    "kind": kind,
                    "questions": k.n,
                    "as_expected": f"{k.ok}/{k.n}",
                    "rate": round(k.ok / k.n, 3),
                    "first_sentence": ("-" if expects_abstain else f"{k.lead_ok}/{k.lead_total}"),
                    "abstained": k.abstained,
                }
            )
        return rows


def calibration_rows(pairs: list[tuple[float, bool]]) -> list[dict[str, Any]]:
    """Share of right answers per confidence band (reliability bins), and the expected
    calibration error."""
    bands = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)]
    rows = []
    ece = 0.0
    for lo, hi in bands:
        inside = [(c, ok) for c, ok in pairs if lo <= c < hi]
        if not inside:
            continue
        conf = sum(c for c, _ in inside) / len(inside)
        acc = sum(1 for _, ok in inside if ok) / len(inside)
        ece += len(inside) / len(pairs) * abs(conf - acc)
        rows.append(
            {
                "confidence": f"{lo:.2f}-{min(hi, 1.0):.2f}",
                "answers": len(inside),
                "mean_confidence": round(conf, 3),
                "right": round(acc, 3),
            }
        )
    if rows:
        rows.append(
            {
                "confidence": "all (ECE)",
                "answers": len(pairs),
                "mean_confidence": round(sum(c for c, _ in pairs) / len(pairs), 3),
                "right": round(ece, 3),
            }
        )
    return rows


CAL_FEATURES = (
    "coverage",
    "top_coverage",
    "lead_reviewed",
    "aspect_missing",
    "lead_coverage",
    "realistic",
    "follow_up",
    "unscoped",
    "patient",
)


def predict(weights: dict[str, float], features: dict[str, float]) -> float:
    """The fitted model's confidence for one answer (as ``ConfidenceModel`` computes it)."""
    z = weights["intercept"] + sum(
        weights[k] * features.get(k, 0.0 if k != "lead_reviewed" else 1.0) for k in CAL_FEATURES
    )
    return 1.0 / (1.0 + math.exp(-z))


def cross_validated_ece(
    samples: list[tuple[dict[str, float], bool]], folds: int = 5, l2: float = 1.0
) -> float:
    """ECE of the confidence model on dev when each fifth is predicted by a model fitted on the
    other four: an estimate of how the fit carries to questions it has not seen."""
    pairs: list[tuple[float, bool]] = []
    for k in range(folds):
        train = [s for i, s in enumerate(samples) if i % folds != k]
        held = [s for i, s in enumerate(samples) if i % folds == k]
        weights = fit_confidence(train, l2)
        pairs += [(predict(weights, f), ok) for f, ok in held]
    rows = calibration_rows(pairs)
    return float(rows[-1]["right"]) if rows else 0.0


def fit_confidence(
    samples: list[tuple[dict[str, float], bool]], l2: float = 1.0
) -> dict[str, float]:
    """Logistic regression (Newton's method, L2 on the weights) of right answers on the
    confidence features: the ``ConfidenceModel`` settings."""
    import numpy as np

    x = np.array(
        [
            [1.0] + [f.get(k, 0.0 if k != "lead_reviewed" else 1.0) for k in CAL_FEATURES]
            for f, _ in samples
        ]
    )
    y = np.array([1.0 if ok else 0.0 for _, ok in samples])
    w = np.zeros(x.shape[1])
    reg = np.eye(x.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        grad = x.T @ (p - y) + reg @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + reg
        w -= np.linalg.solve(hess, grad)
    names = ("intercept", *CAL_FEATURES)
    return {n: round(float(v), 3) for n, v in zip(names, w, strict=True)}


def check_citations(kb: KnowledgeBase, answer: Any, score: Score) -> None:
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    nums = {c.n for c in answer.citations}
    score.citations += len(nums)
    score.unresolved += len(marks - nums)
    score.unused += len(nums - marks)
    for c in answer.citations:
        if c.statement is not None:
            st = kb.statements.get(c.statement)
            if st is None or c.source not in {s.source for s in st.sources}:
                score.bad_refs += 1
        elif c.passage is None:
            score.bad_refs += 1
    for word in set(re.findall(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", answer.answer)):
        if word in kb.statements:
            score.ids_shown.append(word)


LEAD_SENTENCES = 3
"""The judge reads this many sentences from the start of the answer."""
_MARKS = re.compile(
    r"\[\d+\]|\*\((?:draft|in review)[^)]*\)\*|\((?:draft|in review)[^)]*\)|[*_`>#]"
)
_HEADING = re.compile(r"^\s*\*\*[^*]+:\*\*\s*$")
"""A heading line ("**Supporting points:**") is not a sentence."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def first_sentences(answer: Any, n: int = LEAD_SENTENCES) -> str:
    """The first ``n`` sentences of the rendered answer, as a reader meets them.

    Independent of how the pipeline labels its lead: the answer's Markdown with citation markers,
    status notes and emphasis removed; bullets read as sentences, heading lines are skipped.
    """
    sentences: list[str] = []
    for line in answer.answer.splitlines():
        if _HEADING.match(line):
            continue
        line = _MARKS.sub("", line).strip(" -\t")
        if not line:
            continue
        sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
        if len(sentences) >= n:
            break
    return norm(" ".join(sentences[:n]))


def lead_answers(wanted: list[Any], lead: str) -> bool:
    """Every fact of the gold ``answer`` is in ``lead``; a fact given as a list of phrasings is
    there when any one of them is."""
    if not wanted:
        return False
    for fact in wanted:
        options = fact if isinstance(fact, list) else [fact]
        if not any(norm(str(o)) in lead for o in options):
            return False
    return True


def lead_of(answer: Any) -> str:
    """What the judge reads: the first three sentences of the answer."""
    return first_sentences(answer)


EVAL_TIME = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
"""Fixed evaluation time, so computed answers (last dose "20 hours ago") are reproducible."""


def run(
    kb: KnowledgeBase, qa: QA, questions: list[dict[str, Any]], name: str, split: str | None = None
) -> Score:
    score = Score(name)
    store = MemoryConversationStore()
    by_id = {q["id"]: q for q in questions}
    for q in questions:
        if split and q.get("split") != split:
            continue
        kind = q.get("kind", "standard")
        ks = score.kinds.setdefault(kind, KindScore())
        ks.n += 1
        conv = None
        if q.get("follow_up_of"):
            conv = f"conv-{q['id']}"
            prev = by_id[q["follow_up_of"]]
            qa.ask(
                prev["question"],
                audience=prev["audience"],
                conversation_id=conv,
                conversations=store,
                at=EVAL_TIME,
            )
        ans = qa.ask(
            q["question"],
            audience=q["audience"],
            conversation_id=conv,
            conversations=store,
            at=EVAL_TIME,
        )
        check_citations(kb, ans, score)
        if ans.abstained:
            ks.abstained += 1
        if q.get("out_of_scope"):
            score.oos += 1
            if ans.abstained and not ans.citations:
                score.oos_abstained += 1
                ks.ok += 1
            else:
                score.failures.append(f"{q['id']}: answered out-of-scope question")
            continue
        if q.get("personal"):
            # declined kindly: abstained, no diagnosis, points to the care team
            text = norm(ans.answer)
            if ans.abstained and "team" in text:
                ks.ok += 1
            else:
                score.failures.append(f"{q['id']}: personal question not declined kindly")
            continue
        score.in_scope += 1
        query = str(ans.retrieval.get("query", q["question"]))
        top5 = [h.key for h in qa.retriever.retrieve(query).statements[:5]]
        score.recall_total += 1
        if set(q.get("statements", [])) & set(top5) or q.get("computed") or q.get("red_flag"):
            score.recall_hits += 1
        wanted = list(q.get("answer", []))
        lead = lead_of(ans)
        lead_ok = lead_answers(wanted, lead)
        if wanted:
            score.lead_total += 1
            ks.lead_total += 1
            if lead_ok and not (ans.abstained and not q.get("red_flag")):
                score.lead_ok += 1
                ks.lead_ok += 1
        if ans.abstained and not q.get("red_flag"):
            score.in_scope_abstained += 1
            score.failures.append(f"{q['id']}: abstained ({ans.retrieval.get('features')})")
            continue
        text = norm(ans.answer)
        missing = [f for f in q["key_facts"] if norm(str(f)) not in text]
        if missing:
            score.failures.append(f"{q['id']}: missing {missing} (got {ans.statements[:4]})")
        else:
            score.correct += 1
            ks.ok += 1
        if wanted and not lead_ok:
            score.failures.append(f"{q['id']}: lead lacks {wanted}: {lead[:160]}")
        right = not missing and (lead_ok or not wanted)
        score.calibration.append((ans.confidence, right))
        if not ans.computed and not q.get("red_flag"):
            feats = dict(ans.retrieval.get("features", {}))
            score.features.append((feats, right))
    return score


def baseline(kb: KnowledgeBase, questions: list[dict[str, Any]], split: str | None = None) -> Score:
    """Plain BM25 top-3: statement texts of the three best FTS5 hits, no expansion, no abstention."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='porter unicode61')")
    ids = sorted(s for s, st in kb.statements.items() if st.status != "retired")
    for i, sid in enumerate(ids, start=1):
        st = kb.statements[sid]
        conn.execute(
            "INSERT INTO t(rowid, title, body) VALUES (?, ?, ?)",
            (i, st.title, f"{st.clinician} {st.patient}"),
        )
    score = Score("BM25 top-3 baseline")
    for q in questions:
        if split and q.get("split") != split:
            continue
        match = " OR ".join(fts_quote(t) for t in content_tokens(q["question"]))
        rows = (
            conn.execute(
                "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 5", (match,)
            ).fetchall()
            if match
            else []
        )
        top = [ids[r[0] - 1] for r in rows]
        if q.get("personal"):
            continue
        if q.get("out_of_scope"):
            score.oos += 1  # the baseline never abstains
            continue
        score.in_scope += 1
        score.recall_total += 1
        if set(q.get("statements", [])) & set(top[:5]):
            score.recall_hits += 1
        texts = [
            kb.statements[s].patient if q["audience"] == "patient" else kb.statements[s].clinician
            for s in top[:3]
        ]
        text = norm(" ".join(texts))
        if all(norm(str(f)) in text for f in q["key_facts"]):
            score.correct += 1
    return score


_BASE = Options(use_llm=False, use_store=False, persist=False)

CONFIGS: dict[str, Options] = {
    "default (dense + index expansion)": _BASE,
    "BM25 + index expansion": replace(_BASE, dense=False),
    "dense + index and query expansion": replace(_BASE, expand=True),
    "BM25 + index and query expansion": replace(_BASE, dense=False, expand=True),
    "dense + query expansion": replace(_BASE, expand=True, expand_docs=False),
    "dense without expansion": replace(_BASE, expand_docs=False),
    "BM25 without expansion": replace(_BASE, dense=False, expand_docs=False),
}


def tune(
    kb: KnowledgeBase, questions: list[dict[str, Any]], options: Options
) -> list[dict[str, Any]]:
    """Grid-search the abstention thresholds on the dev split; report dev and test."""
    rows = []
    covs = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]
    coss = [0.0, 0.3, 0.45, 0.55] if options.dense else [0.0]
    qa = QA(kb, options)
    for cov, cos in itertools.product(covs, coss):
        qa.options = replace(options, abstain=AbstainConfig(min_coverage=cov, min_cosine=cos))
        dev = run(kb, qa, questions, "dev", split="dev")
        test = run(kb, qa, questions, "test", split="test")
        rows.append(
            {
                "min_coverage": cov,
                "min_cosine": cos,
                "dev_acc": round(dev.accuracy, 3),
                "dev_wrongly_abstained": dev.in_scope_abstained,
                "dev_abst_p": round(dev.abstain_precision, 3),
                "dev_abst_r": round(dev.abstain_recall, 3),
                "test_acc": round(test.accuracy, 3),
                "test_abst_p": round(test.abstain_precision, 3),
                "test_abst_r": round(test.abstain_recall, 3),
            }
        )
    return rows


def target(name: str, value: float, goal: str) -> dict[str, Any]:
    ok = "-"
    if goal.startswith(">="):
        ok = "holds" if value >= float(goal[2:]) else "not reached"
    elif goal.startswith("<="):
        ok = "holds" if value <= float(goal[2:]) else "not reached"
    elif goal == "0":
        ok = "holds" if value == 0 else "not reached"
    return {"measure": name, "value": round(value, 3), "target": goal, "verdict": ok}


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not update docs/qa.md")
    parser.add_argument("--tune", action="store_true", help="grid-search abstention thresholds")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated config names")
    parser.add_argument("--failures", action="store_true", help="print failures of each config")
    parser.add_argument(
        "--calibrate", action="store_true", help="fit the confidence model on dev and print it"
    )
    parser.add_argument(
        "--l2", type=float, default=1.0, help="L2 penalty of the confidence fit (--calibrate)"
    )
    parser.add_argument(
        "--questions",
        type=Path,
        default=QUESTIONS,
        help="gold-set file to score (default eval/questions.yaml)",
    )
    parser.add_argument(
        "--split",
        choices=["dev", "test"],
        help="score one split only and write nothing (tune on dev, never test)",
    )
    args = parser.parse_args(argv)
    kb = get_knowledge()
    questions = load_questions(args.questions)
    if args.questions != QUESTIONS:
        args.no_write = True
    if args.calibrate:
        dev = run(kb, QA(kb, CONFIGS[next(iter(CONFIGS))]), questions, "dev", split="dev")
        print(
            "ConfidenceModel("
            + ", ".join(f"{k}={v}" for k, v in fit_confidence(dev.features, args.l2).items())
            + ")"
        )
        print(f"dev ECE, 5-fold cross-validated: {cross_validated_ece(dev.features, l2=args.l2)}")
        return 0
    n_in = sum(1 for q in questions if not q.get("out_of_scope"))
    n_out = len(questions) - n_in
    print(
        f"knowledge {kb.version}: {len(kb.statements)} statements; {n_in} in-scope, {n_out} out-of-scope questions"
    )
    scores: list[Score] = []
    timings: dict[str, float] = {}
    for name in [c.strip() for c in args.configs.split(",") if c.strip()]:
        started = time.perf_counter()
        qa = QA(kb, CONFIGS[name])
        score = run(kb, qa, questions, name, split=args.split)
        timings[name] = time.perf_counter() - started
        scores.append(score)
        print(json.dumps(score.row()))
        if args.failures and args.split == "dev":
            # Misses are itemised for the dev split only: test misses are never shown, so
            # nobody tunes on them.
            for f in score.failures:
                print("   ", f)
    if args.split:
        for score in scores:
            print(table(score.kind_rows()))
        return 0
    base = baseline(kb, questions)
    scores.append(base)
    print(json.dumps(base.row()))
    tuning = tune(kb, questions, CONFIGS[scores[0].name]) if args.tune else []
    if tuning:
        print(table(tuning))
    headline_qa = QA(kb, CONFIGS[scores[0].name])
    splits = {s: run(kb, headline_qa, questions, s, split=s) for s in ("dev", "test")}
    for s, sc in splits.items():
        print(s, json.dumps(sc.row()))
    if args.no_write:
        return 0
    test = splits["test"]
    lines = [
        BEGIN,
        f"Measured on knowledge {kb.version} ({len(kb.statements)} statements) with "
        f"{len(questions)} questions from `eval/questions.yaml` ({n_in} in scope or personal, "
        f"{n_out} out of scope), by `python benchmarks/qa_eval.py`, configuration "
        f"'{scores[0].name}' (no dense model is exported on the measuring machine, so it ran "
        "lexical). Computed answers are evaluated at a fixed time.",
        "",
        "**Targets on the held-out test split** (the dev split was used for tuning):",
        "",
        table(
            [
                target("in-scope answered with every key fact", test.accuracy, ">= 0.95"),
                target(
                    "out-of-scope abstained (abstention recall)", test.abstain_recall, ">= 0.98"
                ),
                target("in-scope wrongly abstained", test.wrongly_abstained, "<= 0.03"),
                target("unresolved citations", float(test.unresolved), "0"),
                target(
                    "first sentence answers (first three sentences hold the 'answer' facts)",
                    test.lead_rate,
                    ">= 0.90",
                ),
                target("abstention precision", test.abstain_precision, "-"),
            ]
        ),
        "",
        "Per split:",
        "",
        table([{"split": s, **sc.row()} for s, sc in splits.items()]),
        "",
        "**Per kind of question, test split** (as expected = answered with every key fact, or, for "
        "out-of-scope, injection and personal questions, declined):",
        "",
        table(test.kind_rows()),
        "",
        "Per kind, dev split:",
        "",
        table(splits["dev"].kind_rows()),
        "",
        "**Calibration, test split** (reliability bins over answered in-scope questions; the "
        "confidence model was fitted on dev with `--calibrate`): the share of right answers "
        "(every key fact, and the first sentences answer) per confidence band; the last row gives "
        "the expected calibration error (ECE).",
        "",
        table(calibration_rows(test.calibration)),
        "",
        "Calibration, dev split (where the model was fitted):",
        "",
        table(calibration_rows(splits["dev"].calibration)),
        "",
        "**Configurations** (all questions):",
        "",
        table([s.row() for s in scores]),
        "",
    ]
    if tuning:
        lines += [
            "Abstention threshold grid (chosen on dev; test shown for information only):",
            "",
            table(tuning),
            "",
        ]
    dev_misses = splits["dev"].failures
    if dev_misses:
        lines += [
            "Misses on the dev split (test misses are not itemised: the test split is held out "
            "and only its aggregate figures are reported):",
            "",
        ]
        lines += [f"- {f}" for f in dev_misses] + [""]
    lines.append(END)
    block = "\n".join(lines)
    doc = DOC.read_text(encoding="utf-8") if DOC.is_file() else "# Question answering\n\n"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip() + "\n\n## Evaluation results\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(doc, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
