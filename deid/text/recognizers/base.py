"""A small rule engine on Presidio's ``EntityRecognizer``.

A :class:`Rule` is a compiled regex, the entity it finds, a base score, the
group that holds the PHI, an optional validator and optional context words.
Context words are searched in a short window of the raw text before the match
(labels such as ``등록번호:`` or ``MRN``); this works the same for Korean and
English, where Presidio's lemma-based context enhancer needs lemmas that a
rule-based Korean tokenizer does not produce.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

import deid.text.recognizers.rx as rx

# (match, full text) -> accept?  Validators may inspect the surroundings.
Validator = Callable[[rx.Match, str], bool]


@dataclass(frozen=True)
class Rule:
    """One regex rule. ``group`` selects the PHI part of the match."""

    entity: str
    regex: rx.Pattern
    score: float
    group: int | str = 0
    validator: Validator | None = None
    # Context words (lower case) looked for in ``context_window`` chars before the match.
    context: tuple[str, ...] = ()
    context_window: int = 30
    # Without context the rule is dropped (require) or keeps its base score.
    require_context: bool = False
    context_score: float = 0.95
    name: str = field(default="")
    # A cheap pattern the text must contain for the rule to run at all (a literal its
    # matches always hold): skips a costly scan on the notes that cannot match.
    prefilter: rx.Pattern | None = None


def context_found(text: str, start: int, words: Sequence[str], window: int) -> bool:
    """True if one of ``words`` occurs in the ``window`` characters before ``start``."""
    if not words:
        return False
    before = text[max(0, start - window) : start].lower()
    return any(w in before for w in words)


class RuleRecognizer(EntityRecognizer):
    """A Presidio recognizer running a list of :class:`Rule` objects."""

    def __init__(self, name: str, rules: Sequence[Rule], language: str) -> None:
        self.rules = tuple(rules)
        entities = sorted({r.entity for r in self.rules})
        super().__init__(supported_entities=entities, name=name, supported_language=language)

    def load(self) -> None:
        """Nothing to load: the rules are compiled at import."""

    def analyze(
        self, text: str, entities: list[str] | None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(entity_type=e, start=s, end=t, score=sc)
            for e, s, t, sc in self.find(text)
        ]

    def find(self, text: str) -> list[tuple[str, int, int, float]]:
        """Run every rule on ``text``: (entity, start, end, score) tuples."""
        out: list[tuple[str, int, int, float]] = []
        for rule in self.rules:
            if rule.prefilter is not None and rule.prefilter.search(text) is None:
                continue
            # (all matches first: the time limit is the regex's, not the validators')
            for m in list(rule.regex.finditer(text)):
                start, end = m.span(rule.group)
                if start < 0 or end <= start:
                    continue
                if rule.validator is not None and not rule.validator(m, text):
                    continue
                score = rule.score
                if rule.context:
                    if context_found(text, m.start(), rule.context, rule.context_window):
                        score = max(score, rule.context_score)
                    elif rule.require_context:
                        continue
                out.append((rule.entity, start, end, score))
        return out
