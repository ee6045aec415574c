"""Alert budget: critical and warning findings per chart on the project's chart sets.

Run: ``python benchmarks/alert_budget.py [--markdown]``. Every chart is read by the real intake and
assessed at a fixed time (scenario charts at their manifest time). Prints, per set, the number of
charts, criticals and warnings per chart (median, mean, maximum) and which rules raised them, so the
criticals can be reviewed one by one. The target (docs/alert-budget.md): no critical a specialist
would call wrong, median warnings per chart at most 3.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from leptoguide.engine import assess
from leptoguide.errors import InputError
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase, get_knowledge
from leptoguide.policy import load_policy

ROOT = Path(__file__).parents[1]
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
SCENARIOS = ROOT / "tests" / "scenarios"
FIXTURES = ROOT / "tests" / "intake" / "fixtures"


@dataclass
class SetResult:
    name: str
    charts: int = 0
    criticals: list[int] = field(default_factory=list)
    warnings: list[int] = field(default_factory=list)
    critical_rules: collections.Counter[str] = field(default_factory=collections.Counter)
    warning_rules: collections.Counter[str] = field(default_factory=collections.Counter)
    critical_charts: list[tuple[str, list[str]]] = field(default_factory=list)

    def row(self) -> dict[str, float | int | str]:
        return {
            "set": self.name,
            "charts": self.charts,
            "criticals median": statistics.median(self.criticals) if self.criticals else 0,
            "criticals mean": round(statistics.fmean(self.criticals), 2) if self.criticals else 0,
            "criticals max": max(self.criticals, default=0),
            "warnings median": statistics.median(self.warnings) if self.warnings else 0,
            "warnings mean": round(statistics.fmean(self.warnings), 2) if self.warnings else 0,
            "warnings max": max(self.warnings, default=0),
        }


def chart_sets() -> dict[str, list[tuple[Path, dt.datetime, Path | None]]]:
    manifest = yaml.safe_load((SCENARIOS / "manifest.yaml").read_text())["scenarios"]
    scen = [
        (
            SCENARIOS / s["file"],
            dt.datetime.fromisoformat(s["at"].replace("Z", "+00:00")),
            SCENARIOS / s["policy"] if s.get("policy") else None,
        )
        for s in manifest
        if not s.get("exit")
    ]
    examples = [
        (p, AT, None)
        for p in [
            *sorted((ROOT / "examples" / "fhir").glob("*.json")),
            *sorted((ROOT / "examples" / "cases").glob("*.yaml")),
        ]
    ]
    charts_dir = SCENARIOS / "charts"
    charts = [
        (charts_dir / c["file"], AT, None)
        for c in yaml.safe_load((charts_dir / "expected.yaml").read_text())["charts"]
        if (charts_dir / c["file"]).suffix in (".json", ".ndjson", ".yaml")
    ]
    corpora = [
        (p, AT, None)
        for sub in ("carebundle", "synthea", "hl7-r4-examples")
        for p in sorted((FIXTURES / sub).glob("*.json"))
    ]
    return {
        "scenarios": scen,
        "examples": examples,
        "real-shaped LM and meningitis charts": charts,
        "generic corpora": corpora,
    }


def measure(kb: KnowledgeBase) -> list[SetResult]:
    out = []
    for name, charts in chart_sets().items():
        res = SetResult(name)
        for path, at, policy_path in charts:
            try:
                case = read_path(path, kb=kb)
            except InputError:
                continue  # unreadable charts are the intake's finding, not an alert
            a = assess(case, kb=kb, policy=load_policy(kb, policy_path), at=at)
            crit = [f.rule for f in a.findings if f.severity == "critical"]
            warn = [f.rule for f in a.findings if f.severity == "warning"]
            res.charts += 1
            res.criticals.append(len(crit))
            res.warnings.append(len(warn))
            res.critical_rules.update(crit)
            res.warning_rules.update(warn)
            if crit:
                res.critical_charts.append((path.name, crit))
        out.append(res)
    return out


def markdown(results: list[SetResult]) -> str:
    lines = [
        "| set | charts | criticals/chart median (mean, max) | warnings/chart median (mean, max) |",
        "|---|---|---|---|",
    ]
    for r in results:
        row = r.row()
        lines.append(
            f"| {r.name} | {r.charts} | {row['criticals median']} ({row['criticals mean']}, "
            f"{row['criticals max']}) | {row['warnings median']} ({row['warnings mean']}, "
            f"{row['warnings max']}) |"
        )
    for r in results:
        lines.append("")
        lines.append(f"**{r.name}**: criticals by rule " + _counts(r.critical_rules))
        lines.append(f"; warnings by rule {_counts(r.warning_rules)}.")
    return "\n".join(lines)


def _counts(counter: collections.Counter[str]) -> str:
    if not counter:
        return "none"
    return ", ".join(
        f"`{k}` {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    parser.add_argument("--criticals", action="store_true", help="list every critical by chart")
    args = parser.parse_args()
    results = measure(get_knowledge())
    if args.markdown:
        print(markdown(results))
    else:
        for r in results:
            print(r.row())
    if args.criticals:
        for r in results:
            for chart, rules in r.critical_charts:
                print(f"{r.name}\t{chart}\t{', '.join(rules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
