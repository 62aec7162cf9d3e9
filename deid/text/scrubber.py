"""The PHI scrubber: detect (Presidio + our recognizers), merge, replace."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import pyarrow as pa

from deid.errors import DataError, DeidError
from deid.longitudinal.notes import NoteRules, generalize_icd10_codes
from deid.text.engine import get_engines
from deid.text.recognizers.ages import remove_exact_ages, remove_sex_words
from deid.text.recognizers.dates import generalize_date_text, shift_date_text
from deid.text.recognizers.ids import listed_ids
from deid.text.recognizers.places import trim_en_org
from deid.text.recognizers.rx import PatternTimeout
from deid.text.surrogates import Surrogates
from deid.text.types import Entity, ScrubResult

LANGS = ("ko", "en", "mixed")
_HANGUL = re.compile(r"[가-힣]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
_EDGE = " \t\r\n.,;:!?()[]{}<>\"'|/·-"
# Full-width ASCII (０１０－１２３４) and the ideographic space, mapped one character to one
# character so offsets into the normalized text are offsets into the original.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {
    0x3000: 0x20,
    0x2010: 0x2D,
    0x2011: 0x2D,
}


def detect_lang(text: str) -> str:
    """``ko``, ``en`` or ``mixed`` from the script of the letters."""
    ko = len(_HANGUL.findall(text))
    en = sum(len(w) for w in _LATIN_WORD.findall(text))
    if ko == 0:
        return "en"
    if en < 0.15 * (ko + en):
        return "ko"
    return "mixed"


def _presidio_lang(lang: str) -> str:
    # Korean notes run through the Korean pipeline, English and mixed ones through the
    # English one; English NER runs on candidate windows of every note either way.
    return "ko" if lang == "ko" else "en"


def _keep_edge(text: str, s: int, e: int, etype: str, *, leading: bool) -> bool:
    """Balanced brackets, a date's leading apostrophe ('23.4.18), its closing period and an
    initial's period belong to the span."""
    seg = text[s:e]
    if leading:
        c = text[s]
        return (
            (c == "(" and ")" in seg)
            or (c == "[" and "]" in seg)
            or (etype == "DATE" and c in "'’")
        )
    c = text[e - 1]
    # An initial's period belongs to the name: "K.S.L.", "Megan O.", "G.D. Hong".
    initial = (
        etype == "PERSON"
        and c == "."
        and e - s >= 2
        and text[e - 2].isupper()
        and (e - 2 == s or not text[e - 3].isalpha())
    )
    date_dot = etype == "DATE" and c == "." and e - s >= 3 and _closing_date_period(seg)
    return (c == ")" and "(" in seg) or (c == "]" and "[" in seg) or initial or date_dot


def _closing_date_period(seg: str) -> bool:
    """A date's closing period after an abbreviated month or in a dotted date: "3rd Dec.",
    "12.3.", "2025. 3. 17." (not a sentence's: "on 18th March.")."""
    body = seg[:-1]
    if "." in body:
        return True
    words = body.split()
    return bool(words) and words[-1].isalpha() and len(words[-1]) <= 4


def merge_entities(text: str, raw: Sequence[tuple[str, int, int, float]]) -> list[Entity]:
    """Trim spans, then merge overlapping ones (union; type of the best-scoring part)."""
    spans: list[tuple[int, int, str, float]] = []
    for etype, s, e, score in raw:
        while s < e and text[s] in _EDGE and not _keep_edge(text, s, e, etype, leading=True):
            s += 1
        while e > s and text[e - 1] in _EDGE and not _keep_edge(text, s, e, etype, leading=False):
            e -= 1
        if etype == "ORGANIZATION":
            s, e = trim_en_org(text, s, e)
        if etype == "PERSON" and text[max(s, e - 2) : e] in ("'s", "’s"):
            e -= 2  # "Dr. Kimura's office": the name, not its possessive
        if e > s:
            spans.append((s, e, etype, score))
    spans.sort(key=lambda t: (t[0], -t[1]))
    out: list[Entity] = []
    cur: list[tuple[int, int, str, float]] = []
    cur_end = -1
    for sp in spans:
        if cur and sp[0] < cur_end:
            cur.append(sp)
            cur_end = max(cur_end, sp[1])
            continue
        if cur:
            out.append(_merge_group(cur, cur_end))
        cur, cur_end = [sp], sp[1]
    if cur:
        out.append(_merge_group(cur, cur_end))
    return out


def _merge_group(group: list[tuple[int, int, str, float]], end: int) -> Entity:
    best = max(group, key=lambda t: (t[3], t[1] - t[0]))
    return Entity(start=group[0][0], end=end, type=best[2], score=best[3])


class Scrubber:
    """Detects and replaces PHI in Korean, English and mixed clinical notes.

    Build once and reuse: the spaCy pipelines and Presidio engine are loaded
    on construction (shared per process). ``key`` keys the surrogate tags
    (a release key); without one a random key is drawn, so tags are stable
    for this object only.
    """

    def __init__(
        self,
        *,
        key: bytes | None = None,
        surrogate: str = "tag",
        languages: Sequence[str] = ("ko", "en"),
        min_score: float = 0.4,
    ) -> None:
        langs = tuple(languages)
        for lang in langs:
            if lang not in ("ko", "en"):
                raise DeidError(f"Scrubber languages: expected 'ko' and/or 'en', got {lang!r}")
        self.languages = langs
        self.surrogates = Surrogates(key if key is not None else os.urandom(32), surrogate)
        self.min_score = min_score
        self._engines = get_engines(tuple(sorted(langs)))
        self._analyzer = self._engines.analyzer

    def __repr__(self) -> str:
        return f"Scrubber(languages={self.languages!r}, surrogate={self.surrogates.mode!r}, key=<redacted>)"

    # ------------------------------------------------------------------ detection
    def _resolve_lang(self, text: str, lang: str | None, record: int | None = None) -> str:
        if lang is None or not lang.strip():
            lang = detect_lang(text)
        else:
            # "KO", "ko-KR", "en_US" -> the language part.
            lang = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
        if lang not in LANGS:
            raise DataError(
                f"expected lang in {LANGS} or empty, got {lang!r}", record=record, field="lang"
            )
        plang = _presidio_lang(lang)
        if plang not in self.languages:
            plang = self.languages[0]
        return plang

    def _analyze_with(self, text: str, plang: str, artifacts: Any) -> list[Entity]:
        results = self._analyzer.analyze(
            text=text, language=plang, nlp_artifacts=artifacts, score_threshold=self.min_score
        )
        raw = [(r.entity_type, r.start, r.end, r.score) for r in results]
        return merge_entities(text, raw + listed_ids(text, raw))

    def analyze(self, text: str, lang: str | None = None) -> list[Entity]:
        """PHI entities of ``text`` (offsets into ``text``)."""
        return self.analyze_many([text], langs=[lang])[0]

    def analyze_many(
        self,
        texts: Sequence[str],
        *,
        langs: Sequence[str | None] | None = None,
        batch_size: int = 64,
    ) -> list[list[Entity]]:
        """Entities of many notes; spaCy runs batched (``nlp.pipe``) per language."""
        if langs is not None and len(langs) != len(texts):
            raise DataError(f"langs has {len(langs)} values for {len(texts)} texts", field="langs")
        texts = [t.translate(_FULLWIDTH) for t in texts]
        plangs = [
            self._resolve_lang(t, langs[i] if langs else None, i) for i, t in enumerate(texts)
        ]
        out: list[list[Entity]] = [[] for _ in texts]
        # English NER only where a Latin-script name could be (engine.ner_windows), in every
        # note: Korean notes name foreign interpreters, donors and clinicians too.
        ents: list[list[Any]] = [[] for _ in texts]
        if "en" in self._engines.pipelines:
            ents = self._engines.ner_entities(list(texts), batch_size)
        for plang in sorted(set(plangs)):
            idx = [i for i, p in enumerate(plangs) if p == plang]
            if plang == "en":
                for i in idx:
                    artifacts = self._engines.artifacts(None, ents[i], plang)
                    with _note(i):
                        out[i] = self._analyze_with(texts[i], plang, artifacts)
            else:
                # Korean: spaCy's rule-based tokenizer; names come from our recognizers.
                nlp = self._engines.pipelines[plang]
                docs = nlp.pipe((texts[i] for i in idx), batch_size=batch_size)
                for i, doc in zip(idx, docs, strict=True):
                    artifacts = self._engines.artifacts(doc, ents[i], plang)
                    with _note(i):
                        out[i] = self._analyze_with(texts[i], plang, artifacts)
        return out

    # ------------------------------------------------------------------ replacement
    def render(
        self,
        text: str,
        entities: Sequence[Entity],
        date_shift_days: int | None = None,
        *,
        rules: NoteRules | None = None,
    ) -> str:
        """``text`` with every entity replaced by its surrogate (or shifted date).

        ``rules`` (a release with a longitudinal model, :mod:`deid.longitudinal.notes`):
        dates at the release's date unit (``month`` -> ``2021-03``), exact ages and
        (if asked) sex words removed, tags without identity: quasi-identifiers in a
        note must not be finer than the tables.
        """
        date_level = rules.date_level if rules is not None else None
        parts: list[str] = []
        pos = 0
        for ent in sorted(entities, key=lambda e: e.start):
            if ent.start < pos:
                continue
            value = text[ent.start : ent.end]
            parts.append(text[pos : ent.start])
            replacement = None
            if ent.type == "DATE" and date_level is not None:
                replacement = generalize_date_text(value, date_shift_days, date_level)
            elif ent.type == "DATE" and date_shift_days is not None:
                replacement = shift_date_text(value, date_shift_days)
            if replacement is None:
                plain = rules is not None and rules.plain_tags
                replacement = f"[{ent.type}]" if plain else self.surrogates.replace(ent.type, value)
            parts.append(replacement)
            pos = ent.end
        parts.append(text[pos:])
        out = "".join(parts)
        if rules is not None and rules.remove_ages:
            out = remove_exact_ages(out)
        if rules is not None and rules.remove_sex:
            out = remove_sex_words(out)
        if rules is not None and rules.icd10_level is not None:
            out = generalize_icd10_codes(out, rules.icd10_level)
        return out

    def scrub(
        self, text: str, *, lang: str | None = None, date_shift_days: int | None = None
    ) -> ScrubResult:
        ents = self.analyze(text, lang)
        return ScrubResult(self.render(text, ents, date_shift_days), tuple(ents))

    def scrub_many(
        self,
        texts: Sequence[str],
        *,
        langs: Sequence[str | None] | None = None,
        date_shift_days: Sequence[int | None] | int | None = None,
        batch_size: int = 64,
        n_process: int = 1,
        rules: NoteRules | None = None,
    ) -> list[ScrubResult]:
        """Scrub many notes; ``n_process`` > 1 forks worker processes sharing this scrubber.

        ``rules``: see :meth:`render`.
        """
        n = len(texts)
        if isinstance(date_shift_days, int) or date_shift_days is None:
            shifts: Sequence[int | None] = [date_shift_days] * n
        else:
            shifts = date_shift_days
            if len(shifts) != n:
                raise DataError(
                    f"date_shift_days has {len(shifts)} values for {n} texts",
                    field="date_shift_days",
                )
        if n_process > 1 and n >= 2 * batch_size:
            return self._scrub_parallel(texts, langs, shifts, batch_size, n_process, rules)
        ents = self.analyze_many(texts, langs=langs, batch_size=batch_size)
        results = []
        for i, (t, e, s) in enumerate(zip(texts, ents, shifts, strict=True)):
            with _note(i):
                results.append(ScrubResult(self.render(t, e, s, rules=rules), tuple(e)))
        return results

    def _scrub_parallel(
        self,
        texts: Sequence[str],
        langs: Sequence[str | None] | None,
        shifts: Sequence[int | None],
        batch_size: int,
        n_process: int,
        rules: NoteRules | None = None,
    ) -> list[ScrubResult]:
        global _WORKER_SCRUBBER
        _WORKER_SCRUBBER = self
        chunks = []
        step = max(batch_size, (len(texts) + n_process * 4 - 1) // (n_process * 4))
        for i in range(0, len(texts), step):
            chunks.append(
                (
                    list(texts[i : i + step]),
                    list(langs[i : i + step]) if langs is not None else None,
                    list(shifts[i : i + step]),
                    batch_size,
                    rules,
                )
            )
        try:
            with ProcessPoolExecutor(max_workers=n_process, mp_context=get_context("fork")) as pool:
                parts = list(pool.map(_worker_scrub, chunks))
        finally:
            _WORKER_SCRUBBER = None
        return [r for part in parts for r in part]


_WORKER_SCRUBBER: Scrubber | None = None


def _worker_scrub(
    chunk: tuple[list[str], list[str | None] | None, list[int | None], int, NoteRules | None],
) -> list[ScrubResult]:
    texts, langs, shifts, batch_size, rules = chunk
    scrubber = _WORKER_SCRUBBER
    if scrubber is None:  # pragma: no cover - only without fork
        raise DeidError("scrub worker started without a scrubber (fork start method required)")
    return scrubber.scrub_many(
        texts,
        langs=langs,
        date_shift_days=shifts,
        batch_size=batch_size,
        rules=rules,
    )


@contextlib.contextmanager
def _note(record: int) -> Iterator[None]:
    """One note's patterns: one past its time limit fails the note by number (the caller
    publishes nothing half-scrubbed) instead of stalling the build."""
    try:
        yield
    except PatternTimeout as exc:
        raise DataError(
            f"the note could not be scrubbed: {exc}; nothing of it is released",
            record=record,
            field="text",
        ) from None


def _iter_str(arr: pa.Array | None, n: int, name: str) -> Iterator[str | None]:
    if arr is None:
        yield from (None for _ in range(n))
        return
    if len(arr) != n:
        raise DataError(f"{name} has {len(arr)} values for {n} texts", field=name)
    yield from arr.to_pylist()


def scrub_array(
    values: pa.Array,
    *,
    scrubber: Scrubber,
    langs: pa.Array | None = None,
    date_shift_days: pa.Array | None = None,
    batch_size: int = 64,
    n_process: int = 1,
    rules: NoteRules | None = None,
) -> pa.Array:
    """Scrub a text column (nulls stay null); dates shift by each row's own shift.

    ``date_shift_days[i]`` is the patient's shift (the same as in the
    structured tables); a null shift replaces dates by tags.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise DataError(f"scrub_array: expected a string array, got {values.type}", field="text")
    n = len(values)
    texts = values.to_pylist()
    lang_list = list(_iter_str(langs, n, "lang"))
    shift_list: list[int | None]
    if date_shift_days is None:
        shift_list = [None] * n
    else:
        if len(date_shift_days) != n:
            raise DataError(
                f"date_shift_days has {len(date_shift_days)} values for {n} texts",
                field="date_shift_days",
            )
        shift_list = [None if v is None else int(v) for v in date_shift_days.to_pylist()]
    idx = [i for i, t in enumerate(texts) if t is not None]
    try:
        results = scrubber.scrub_many(
            [texts[i] for i in idx],
            langs=[lang_list[i] for i in idx],
            date_shift_days=[shift_list[i] for i in idx],
            batch_size=batch_size,
            n_process=n_process,
            rules=rules,
        )
    except DataError as exc:
        if not isinstance(exc.record, int) or not 0 <= exc.record < len(idx):
            raise
        # the note's row in this column, not its place among the non-null notes
        raise DataError(exc.message, record=idx[exc.record], field=exc.field) from None
    out: list[str | None] = [None] * n
    for i, res in zip(idx, results, strict=True):
        out[i] = res.text
    return pa.array(out, type=values.type)
