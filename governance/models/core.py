"""Core governance models (owned by the governance workflow)."""

__all__: list[str] = []
