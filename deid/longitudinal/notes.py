"""How notes follow a release with a longitudinal model: no quasi-identifier in text
finer than the tables.

- dates are written at the release's date unit (the coarsest of its event date
  columns: ``month`` -> ``2021-03``, ``year`` -> ``2021``), shifted by the patient's
  own offset as in the tables;
- exact ages (``62세``, ``M/51``, ``51-year-old``) become ``[AGE]``: the tables carry
  at most a birth-year band;
- sex words become ``[SEX]`` when the demographics release sex generalized (the
  model's ``text.sex_column`` above level 0);
- tags carry no identity (``[PERSON]``, ``[ORGANIZATION]``): a keyed tag is the same
  for the same hospital or doctor in every note, a pseudonym finer than the tables;
- ICD-10 codes are written at the release's code level (``E11.9`` -> ``E11`` when the
  tables carry categories; ``[ICD10]`` when they carry blocks, chapters or nothing).

Left in the text: diagnosis *names* ("type 2 diabetes"), drug names and the like,
also of events the search suppressed; the scrubber does not rewrite clinical
content. A steward who needs that closed drops the notes from the release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["NoteRules", "generalize_icd10_codes"]

_ICD10 = re.compile(r"(?<![A-Za-z0-9])([A-Z][0-9]{2})(\.[0-9A-Z]{1,4})?(?![A-Za-z0-9])")


def generalize_icd10_codes(text: str, level: str) -> str:
    """ICD-10 codes in ``text`` at ``level`` (``code`` keeps them, ``category`` cuts the
    decimals, anything coarser replaces them by ``[ICD10]``)."""
    if level == "code":
        return text
    if level == "category":
        return _ICD10.sub(lambda m: m.group(1), text)
    return _ICD10.sub("[ICD10]", text)


@dataclass(frozen=True)
class NoteRules:
    """What the scrubber does beyond PHI for a release's notes (JSON-ready)."""

    date_level: str | None = None  # None: shifted dates in their own format
    remove_ages: bool = True
    remove_sex: bool = False
    plain_tags: bool = True
    icd10_level: str | None = None  # None: codes in text are left as written

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoteRules:
        return cls(
            date_level=data.get("date_level"),
            remove_ages=bool(data.get("remove_ages", True)),
            remove_sex=bool(data.get("remove_sex", False)),
            plain_tags=bool(data.get("plain_tags", True)),
            icd10_level=data.get("icd10_level"),
        )
