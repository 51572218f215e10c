"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py app:app`."""

# Secure-link tokens are redacted from the access log (coordinator/logs.py).
logger_class = "coordinator.logs.RedactingGunicornLogger"
accesslog = "-"
workers = 4
bind = "127.0.0.1:8000"
forwarded_allow_ips = "127.0.0.1"
control_socket_disable = True  # gunicorn 27's control socket is not used; do not leave one in $HOME
