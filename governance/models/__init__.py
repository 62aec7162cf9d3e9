"""Governance models. Split by concern; every model is re-exported here.

- ``core``: organizations, memberships and roles, datasets, variables,
  data access requests, IRB approvals, DUAs, documents, decisions,
  policies, releases, attestations.
- ``tokens``: recipients' API tokens and signed download links.
- ``notifications``: what whoever acts next is told.
"""

from governance.models.core import *  # noqa: F403
from governance.models.notifications import *  # noqa: F403
from governance.models.tokens import *  # noqa: F403
