#!/usr/bin/env python3
"""Render deploy/nginx.conf from NGINX_* environment variables and print it.

    NGINX_SERVER_NAME=booking.example.org \\
    NGINX_BOOKING_SERVERS="server 10.0.0.11:8001; server 10.0.0.12:8001;" \\
    NGINX_CONSENT_SERVERS="server 10.0.0.11:8002; server 10.0.0.12:8002;" \\
    NGINX_CONSOLE_SERVERS="server 10.0.0.11:8004; server 10.0.0.12:8004;" \\
    python3 deploy/render_nginx.py > /etc/nginx/conf.d/frontdesk.conf && nginx -t

Only `${NGINX_*}` placeholders are replaced; nginx's own `$variables` are left alone. Unlike a
bare `envsubst`, a variable without a value (and without a default below) is an error, and each
upstream `server` line gets `max_fails=3 fail_timeout=5s` unless it sets its own (SERVER_DEFAULTS).

`python3 deploy/render_nginx.py --standalone DIR` writes DIR/frontdesk.conf and a main
DIR/nginx.conf that runs in the foreground without root (pid, logs and temp files in DIR):
`nginx -p DIR -c DIR/nginx.conf -e DIR/error.log` tries the configuration out (the tests do).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf")
PLACEHOLDER = re.compile(r"\$\{(NGINX_[A-Z0-9_]+)\}")
DEFAULTS = {
    "NGINX_LISTEN": "80",
    "NGINX_ACCESS_LOG": "/var/log/nginx/frontdesk.access.log",
}
# What each `server` line of an upstream gets unless it says otherwise. nginx's own default
# (max_fails=1 fail_timeout=10s) takes a whole instance out for 10 s after one failed request,
# and one gunicorn worker killed mid-request is exactly one failed request while the instance's
# other workers serve on. A dead instance still fails every request at once (connection
# refused, retried on the next server), so three failures in 5 s take it out as fast.
SERVER_DEFAULTS = {"max_fails": "3", "fail_timeout": "5s"}
SERVER_LISTS = ("NGINX_BOOKING_SERVERS", "NGINX_CONSENT_SERVERS", "NGINX_CONSOLE_SERVERS")
SERVER = re.compile(r"\bserver\s+([^;]+);")


def with_server_defaults(servers: str) -> str:
    """`server ...;` lines with SERVER_DEFAULTS added where a line does not set them."""

    def complete(match: re.Match) -> str:
        params = match.group(1).split()
        given = {param.split("=", 1)[0] for param in params}
        params += [f"{key}={value}" for key, value in SERVER_DEFAULTS.items() if key not in given]
        return f"server {' '.join(params)};"

    return SERVER.sub(complete, servers)


def render(values: Mapping[str, str], template: str | None = None) -> str:
    """The template with every `${NGINX_*}` replaced from `values` (or DEFAULTS)."""
    text = TEMPLATE.read_text() if template is None else template
    merged = {**DEFAULTS, **{k: v for k, v in values.items() if v}}
    for name in SERVER_LISTS:
        if name in merged:
            merged[name] = with_server_defaults(merged[name])
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in merged})
    if missing:
        raise KeyError(f"set {', '.join(missing)} to render {TEMPLATE.name}")
    return PLACEHOLDER.sub(lambda match: merged[match.group(1)], text)


def write_standalone(folder: Path, values: Mapping[str, str]) -> Path:
    """Write the rendered template and a main nginx.conf using only `folder`; return the latter."""
    folder.mkdir(parents=True, exist_ok=True)
    site = folder / "frontdesk.conf"
    site.write_text(render({"NGINX_ACCESS_LOG": str(folder / "access.log"), **values}))
    # As root, nginx would switch its workers to `nobody`, who cannot read a private folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main_conf = folder / "nginx.conf"
    main_conf.write_text(
        f"""{user}daemon off;
# One process: if whoever started it dies, nothing is left behind (no orphaned workers).
master_process off;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{
    worker_connections 512;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{temp}
    include {site};
}}
"""
    )
    return main_conf


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["--standalone"] and len(argv) == 2:
            print(write_standalone(Path(argv[1]).resolve(), os.environ))
        elif not argv:
            sys.stdout.write(render(os.environ))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
