"""Optional generative rephrasing over an OpenAI-compatible chat-completions endpoint. Off by default.

The model only rephrases the composed answer. Every sentence it returns is checked against the
statements it cites: each sentence needs at least one valid [n] marker, and every number and every
drug name in it must appear in the cited statements' text. Sentences that fail are dropped and
reported; if nothing survives (or the call fails), the composed answer stands unchanged.

Configuration: ``LEPTOGUIDE_LLM_URL`` and ``LEPTOGUIDE_LLM_MODEL`` (and optionally
``LEPTOGUIDE_LLM_API_KEY``), or an ``[llm]`` table with ``url``, ``model``, ``api_key_env`` in
``<state>/config.toml``. Environment variables win.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field

from leptoguide.answer.text import split_sentences
from leptoguide.settings import home_dir

_MARK = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

SYSTEM_PROMPT = (
    "You rewrite a cited medical answer so it reads smoothly. Use only the facts in the answer. "
    "Do not add facts, numbers, doses or drug names. Keep every citation marker like [1] next to "
    "the fact it supports. Reply with the rewritten answer only."
)


@dataclass(frozen=True)
class LLMConfig:
    url: str
    model: str
    api_key: str | None = None
    timeout: float = 30.0

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        return url if url.endswith("/chat/completions") else url + "/chat/completions"


def load_config() -> LLMConfig | None:
    """The configured backend, or None (the default: no generative step)."""
    url = os.environ.get("LEPTOGUIDE_LLM_URL")
    model = os.environ.get("LEPTOGUIDE_LLM_MODEL")
    key = os.environ.get("LEPTOGUIDE_LLM_API_KEY")
    path = home_dir() / "config.toml"
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("llm", {})
        except tomllib.TOMLDecodeError:
            table = {}
        url = url or table.get("url")
        model = model or table.get("model")
        if not key and table.get("api_key_env"):
            key = os.environ.get(str(table["api_key_env"]))
    if not url or not model:
        return None
    return LLMConfig(url=str(url), model=str(model), api_key=key)


@dataclass
class Rephrased:
    text: str | None
    kept: list[str] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace(",", ""))


def check_sentence(
    sentence: str,
    support: dict[int, str],
    drug_names: Iterable[str],
    english: frozenset[str] | None = None,
) -> str | None:
    """Why ``sentence`` is not supported by the statements it cites, or None if it is.

    Checks: at least one citation, every citation known, every number and every drug name (from
    the terminology) present in the cited statements. With ``english`` (a dictionary of ordinary
    words), any other technical word of 5+ letters must also appear in the cited statements, which
    catches drug names the terminology does not list.
    """
    marks = [int(m) for m in _MARK.findall(sentence)]
    if not marks:
        return "no citation"
    missing = [m for m in marks if m not in support]
    if missing:
        return f"cites unknown reference [{missing[0]}]"
    cited = _norm(" ".join(support[m] for m in marks))
    body = _MARK.sub(" ", sentence)
    for number in _NUMBER.findall(body):
        if not re.search(rf"(?<![\d.]){re.escape(number.replace(',', ''))}(?![\d])", cited):
            return f"number {number} is not in the cited statements"
    low = _norm(body)
    for name in drug_names:
        key = _norm(name)
        if len(key) >= 4 and re.search(rf"\b{re.escape(key)}\b", low) and key not in cited:
            return f"drug '{name}' is not in the cited statements"
    if english is not None:
        cited_words = set(re.findall(r"[a-z0-9]+", cited))
        for word in re.findall(r"[a-z]+", low):
            if len(word) >= 5 and word not in english and word not in cited_words:
                return f"term '{word}' is not in the cited statements"
    return None


def rephrase(
    config: LLMConfig,
    composed: str,
    support: dict[int, str],
    drug_names: Iterable[str],
    english: frozenset[str] | None = None,
) -> Rephrased:
    """Ask the model to rephrase; keep only sentences the cited statements support."""
    import httpx

    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    payload = {
        "model": config.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": composed},
        ],
    }
    try:
        resp = httpx.post(config.endpoint, json=payload, headers=headers, timeout=config.timeout)
        resp.raise_for_status()
        content = resp.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
        return Rephrased(None, error=f"{type(exc).__name__}: {exc}")
    if not isinstance(content, str):
        return Rephrased(None, error="the reply has no text content")
    names = list(drug_names)
    out = Rephrased(None)
    for sentence in split_sentences(content):
        clean = sentence.lstrip("-* ").strip()
        if not clean:
            continue
        why = check_sentence(clean, support, names, english)
        if why is None:
            out.kept.append(clean)
        else:
            out.dropped.append({"sentence": clean, "reason": why})
    out.text = " ".join(out.kept) if out.kept else None
    return out
