"""gunicorn settings for one Frontdesk service: `gunicorn -c deploy/gunicorn.conf.py`.

The service comes from FRONTDESK_SERVICE (booking, consent, notify or console) unless the command line
names the app (`frontdesk.wsgi:booking`). Override anything on the command line or in
GUNICORN_CMD_ARGS (e.g. `--bind 0.0.0.0:8000`); the worker count in WEB_CONCURRENCY.
"""

import multiprocessing
import os
import shutil
import tempfile

_service = os.environ.get("FRONTDESK_SERVICE", "booking")
if _service not in ("booking", "consent", "notify", "console"):
    raise SystemExit(
        f"FRONTDESK_SERVICE must be booking, consent, notify or console, not {_service!r}"
    )

wsgi_app = f"frontdesk.wsgi:{_service}"
proc_name = f"frontdesk-{_service}"
bind = ["127.0.0.1:8000"]

# Sync workers: each request holds one database connection, and DB writes keep short tails.
# 2 x cores + 1, capped so the PostgreSQL connections (pool of 5 + 10 per worker) stay bounded.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
worker_class = "sync"
timeout = 30  # a worker silent for longer is killed and replaced
graceful_timeout = 25  # finish in-flight requests on SIGTERM/HUP (systemd waits 35 s)
# Recycle workers now and then (a slow leak cannot grow for ever). Each worker draws its limit
# from max_requests to max_requests + jitter when it starts; workers started together share
# the load evenly, so with a small jitter they all recycle at once (a tenth of a life apart at
# 200, and the latency spike with them). A jitter as large as max_requests spreads them over a
# whole life, and every replacement draws again, so they stay spread.
max_requests = 2000
max_requests_jitter = 2000
limit_request_line = 8190
control_socket_disable = True  # gunicorn 27 would otherwise open a socket under ~/.gunicorn/

# JSON access log on stdout, path tokens redacted (see frontdesk.wsgi.JsonAccessLogger);
# the error log (and the apps' JSON log) on stderr.
accesslog = "-"
errorlog = "-"
logger_class = "frontdesk.wsgi.JsonAccessLogger"

# Request metrics are summed over the workers through files in this folder (one folder per
# service); it is emptied when gunicorn starts, so counters restart with the service.
# Without a folder given, a temporary one is made here and removed when gunicorn exits.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"{proc_name}-metrics-")


def on_starting(server):
    """Empty the metrics folder: files from an earlier run would be added to the new counts."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def child_exit(server, worker):
    """Tell prometheus_client a worker is gone (its live gauges stop counting)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics folder if this configuration made it."""
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
