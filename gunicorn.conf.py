"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py app:app`."""

import gc

# Secure-link tokens are redacted from the access log (coordinator/logs.py).
logger_class = "coordinator.logs.RedactingGunicornLogger"
accesslog = "-"
workers = 4
bind = "127.0.0.1:8000"
forwarded_allow_ips = "127.0.0.1"
control_socket_disable = True  # gunicorn 27's control socket is not used; do not leave one in $HOME


def post_worker_init(worker):
    """Hide what start-up built (modules, mappers, routes) from the garbage collector: a full collection over those
    ~180,000 objects held one request for ~85 ms, the p99 of the audited read."""
    gc.freeze()
