"""Platform-held linkage tables: a provider's own id (sample, device) -> the CDW patient.

Only the platform holds them; they never leave (a release names persons by their
release pseudonym). A linkage file is CSV with the header ``<id column>,person_id``.
Bad rows fail with the file and line: an empty or repeated id, or no person.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa

from deid.errors import DataError

__all__ = ["Linkage", "read_linkage"]


class Linkage:
    """``ids`` (provider ids, text) and ``persons`` (CDW person ids) aligned."""

    def __init__(self, path: Path, id_column: str, ids: list[str], persons: pa.Array) -> None:
        self.path = path
        self.id_column = id_column
        self.ids = ids
        self.persons = persons
        self._index = {v: i for i, v in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def person_of(self, ids: list[str]) -> pa.Array:
        """The person of each id; an id with no linkage fails naming it."""
        missing = [v for v in ids if v not in self._index]
        if missing:
            shown = ", ".join(repr(v) for v in missing[:5])
            raise DataError(
                f"{len(missing)} {self.id_column} value(s) have no linkage to a CDW patient in "
                f"{self.path.name} ({shown}); nothing was published",
                field=self.id_column,
            )
        return self.persons.take(pa.array([self._index[v] for v in ids], pa.int64()))


def _person(raw: str) -> int | str:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else raw


def read_linkage(path: Path | str, id_column: str) -> Linkage:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"linkage file {str(path)!r} does not exist", field=id_column)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if [h.strip() for h in header] != [id_column, "person_id"]:
            raise DataError(
                f"{path.name}: expected the header '{id_column},person_id', got {header!r}",
                record=f"{path.name}:1",
            )
        rows = [[*r, "", ""][:2] if len(r) < 2 else r for r in reader]
    ids: list[str] = []
    persons: list[int | str] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=2):
        if len(row) != 2:
            raise DataError(f"expected 2 fields, got {len(row)}", record=f"{path.name}:{n}")
        pid, person = row
        pid = pid.strip()
        where = f"{path.name}:{n}"
        if not pid:
            raise DataError(f"empty {id_column}", record=where, field=id_column)
        if pid in seen:
            raise DataError(
                f"{id_column} {pid!r} is linked twice (also line {seen[pid]})",
                record=where,
                field=id_column,
            )
        if not person.strip():
            raise DataError(
                f"{id_column} {pid!r} has no person_id", record=where, field="person_id"
            )
        seen[pid] = n
        ids.append(pid)
        persons.append(_person(person))
    if all(isinstance(p, int) for p in persons):
        array = pa.array(persons, pa.int64())
    else:
        array = pa.array([str(p) for p in persons], pa.string())
    return Linkage(path, id_column, ids, array)
