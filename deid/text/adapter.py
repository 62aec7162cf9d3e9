"""The text adapter: :class:`~deid.transform.TextScrubber` over the PHI scrubber.

The executors (local and Spark) and the table transformer call notes' scrubbing
through this one adapter; it lives with the scrubber, so the transform does not
import the pipeline to find it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from deid import settings

if TYPE_CHECKING:
    from deid.longitudinal.notes import NoteRules
    from deid.transform import TextScrubber

__all__ = ["PresidioTextScrubber", "default_text_scrubber", "scrub_processes"]


class PresidioTextScrubber:
    """Adapter from :class:`~deid.transform.TextScrubber` to the PHI scrubber (``deid.text``).

    One ``Scrubber`` per release key (surrogate tags keyed by the release's text key),
    built on first use in each process; notes' dates shift by each row's patient shift.
    """

    def __init__(self, *, processes: int | None = None, **scrubber_options: Any) -> None:
        if processes is None:
            processes = scrub_processes()
        self.processes = processes
        self._options = scrubber_options
        self._by_key: dict[bytes, Any] = {}

    def __repr__(self) -> str:
        return f"PresidioTextScrubber(keys={len(self._by_key)}, processes={self.processes})"

    def __call__(
        self,
        texts: pa.Array,
        *,
        shift_days: pa.Array | None,
        key: bytes,
        column: str,
        langs: pa.Array | None = None,
        rules: NoteRules | None = None,
    ) -> pa.Array:
        from deid.text import Scrubber, scrub_array

        digest = hashlib.sha256(key).digest()
        scrubber = self._by_key.get(digest)
        if scrubber is None:
            scrubber = Scrubber(key=key, **self._options)
            self._by_key[digest] = scrubber
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if pa.types.is_large_string(texts.type) or pa.types.is_string(texts.type):
            values = texts
        else:
            values = texts.cast(pa.string())
        result: pa.Array = scrub_array(
            values,
            scrubber=scrubber,
            langs=langs,
            date_shift_days=shift_days,
            n_process=self.processes,
            rules=rules,
        )
        return result


def scrub_processes() -> int:
    """Worker processes for note scrubbing: ``DEID_SCRUB_PROCESSES`` (default 1).

    More than one forks workers per batch (``Scrubber.scrub_many(n_process=...)``);
    keep 1 inside executors that must not fork (e.g. Spark Python workers).
    """
    return settings.scrub_processes()


def default_text_scrubber() -> TextScrubber | None:
    """The PHI scrubber of ``deid.text`` (Presidio + spaCy) if it imports, else None."""
    import importlib.util

    if importlib.util.find_spec("deid.text") is None:  # pragma: no cover
        return None
    return PresidioTextScrubber()  # loads Presidio and spaCy on its first call
