"""Free-text PHI scrubbing for Korean and English clinical notes (Presidio + spaCy).

Public API: :class:`Scrubber`, :func:`scrub_array`, :class:`Entity`,
:class:`ScrubResult`, the scorer :func:`score`.
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
