"""Value types of the PHI scrubber: detected entities and scrub results."""

from __future__ import annotations

from dataclasses import dataclass

# The entity types the scrubber emits (the gold types of ../shared/data/phi_notes).
ENTITY_TYPES: tuple[str, ...] = (
    "PERSON",
    "KR_RRN",
    "PHONE",
    "MRN",
    "DATE",
    "ADDRESS",
    "EMAIL",
    "URL",
    "IP_ADDRESS",
    "AGE",
    "ORGANIZATION",
    "HEALTH_INSURANCE",
    "PASSPORT",
    "DRIVER_LICENSE",
    "ACCOUNT",
)


@dataclass(frozen=True, slots=True)
class Entity:
    """One detected PHI span; ``start``/``end`` index the ORIGINAL text (end exclusive)."""

    start: int
    end: int
    type: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "type": self.type,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text and the entities found in the original text."""

    text: str
    entities: tuple[Entity, ...]
