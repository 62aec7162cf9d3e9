"""gunicorn settings for `make serve-prod` (read from the environment, like config/settings.py).

Threads (gthread) so long, streamed downloads do not hold a process; the forwarded
headers are believed only from DEID_TRUSTED_PROXIES (governance.middleware does the
same inside Django).
"""

import os

bind = os.environ.get("DEID_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DEID_WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
worker_class = "gthread"
threads = int(os.environ.get("DEID_WEB_THREADS", "8"))
timeout = int(os.environ.get("DEID_WEB_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("DEID_TRUSTED_PROXIES", "") or "127.0.0.1"
accesslog = "-"
errorlog = "-"
# the request line without its query string: signed download links carry their signature there
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
