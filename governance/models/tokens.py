"""API tokens and signed download links (owned by the recipient API)."""

__all__: list[str] = []
