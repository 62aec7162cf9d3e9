"""The recipient portal (``/portal/``): Django templates over the same services as the API.

Companies and researchers log in, read the dataset catalog (with cohort feasibility
counts), file and track data access requests, download the releases approved for
their organization and manage their API tokens. No rule lives here: every action is
a service call (``governance.services``, ``governance.services.tokens``,
``governance.services.downloads.issue_file_link``) and every read a selector.
"""
