"""deploy/: the files an operator installs are complete, consistent with each other and valid
(nginx -t, systemd-analyze verify, compose parsed, every setting in the env example)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import random
import re
import runpy
import shlex
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from frontdesk.workers import WORKERS as REGISTERED_WORKERS
from shared.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("booking", "consent", "notify", "console")
# The services others call, each at its FRONTDESK_<SERVICE>_URL (nobody calls the console).
CALLED = ("booking", "consent", "notify")


def load_render_nginx():
    spec = importlib.util.spec_from_file_location("render_nginx", DEPLOY / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_example() -> dict[str, str]:
    pairs = [
        line.split("=", 1)
        for line in (DEPLOY / "frontdesk.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    return dict(pairs)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


# -- env example --------------------------------------------------------------------------


def test_env_example_lists_every_setting_and_nothing_else():
    names = {name.removeprefix("FRONTDESK_") for name in env_example()}
    assert names == set(SETTINGS)


def test_env_example_trusts_one_proxy_and_gives_each_service_its_database():
    env = env_example()
    assert env["FRONTDESK_TRUSTED_PROXIES"] == "1"
    assert env["FRONTDESK_DATABASE_URL"] == ""
    urls = {env[f"FRONTDESK_{s.upper()}_DATABASE_URL"] for s in SERVICES}
    assert len(urls) == 4 and all(u.startswith("postgresql+psycopg://") for u in urls)


# -- nginx --------------------------------------------------------------------------------


def nginx_values(port: int = 18080) -> dict[str, str]:
    return {
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "NGINX_SERVER_NAME": "booking.example.org",
        "NGINX_BOOKING_SERVERS": "server 127.0.0.1:8001; server 127.0.0.1:8011;",
        "NGINX_CONSENT_SERVERS": "server 127.0.0.1:8002; server 127.0.0.1:8012;",
        "NGINX_CONSOLE_SERVERS": "server 127.0.0.1:8004; server 127.0.0.1:8014;",
    }


def test_rendered_nginx_config_passes_nginx_t(tmp_path):
    main_conf = load_render_nginx().write_standalone(tmp_path, nginx_values())
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(main_conf), "-e", str(tmp_path / "err.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    site = (tmp_path / "frontdesk.conf").read_text()
    assert "${NGINX_" not in site
    # nginx's own variables are left for nginx.
    assert "$proxy_add_x_forwarded_for" in site and "${head}[redacted]${tail}" in site


def test_nginx_render_names_missing_variables():
    render = load_render_nginx().render
    with pytest.raises(KeyError, match="NGINX_BOOKING_SERVERS"):
        render({k: v for k, v in nginx_values().items() if k != "NGINX_BOOKING_SERVERS"})


def test_nginx_render_script_prints_the_config(tmp_path):
    result = subprocess.run(
        ["python3", str(DEPLOY / "render_nginx.py")],
        env={"PATH": "/usr/bin:/bin", **nginx_values()},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "server 127.0.0.1:8011 max_fails=3 fail_timeout=5s;" in result.stdout
    failed = subprocess.run(
        ["python3", str(DEPLOY / "render_nginx.py")],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert failed.returncode == 1 and "NGINX_SERVER_NAME" in failed.stderr


def test_nginx_upstreams_have_more_than_one_server_each():
    site = load_render_nginx().render(nginx_values())
    for name in ("frontdesk_booking", "frontdesk_consent", "frontdesk_console"):
        block = re.search(rf"upstream {name} \{{(.*?)\}}", site, re.S).group(1)
        assert block.count("server ") == 2


@contextlib.contextmanager
def instance(name: str, dies_on: str | None = None):
    """A stand-in app instance on a free port: GET answers its name; GET `dies_on` drops the
    connection unanswered, as a gunicorn worker killed mid-request does. Yields (port, deaths)."""
    deaths = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == dies_on:
                deaths.append(self.path)
                self.close_connection = True
                return
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], deaths
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_nginx(folder: Path, values: dict[str, str]):
    """The rendered configuration served by a real nginx in the foreground; yields its URL."""
    main_conf = load_render_nginx().write_standalone(folder, values)
    process = subprocess.Popen(
        ["nginx", "-p", str(folder), "-c", str(main_conf), "-e", str(folder / "err.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    host, port = values["NGINX_LISTEN"].rsplit(":", 1)
    try:
        for _ in range(200):
            assert process.poll() is None, (folder / "error.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 1):
                break
            time.sleep(0.05)
        yield f"http://{host}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_one_dead_worker_does_not_take_its_instance_out_of_nginx(tmp_path):
    """A worker killed mid-request fails one request of its instance (nginx retries it on the
    other instance); the instance's other workers keep serving, so nginx must keep sending it
    requests rather than mark it down for fail_timeout (with max_fails=1, ten seconds)."""
    with instance("a", dies_on="/slow") as (port_a, deaths), instance("b") as (port_b, _):
        values = {
            **nginx_values(free_port()),
            "NGINX_BOOKING_SERVERS": f"server 127.0.0.1:{port_a}; server 127.0.0.1:{port_b};",
        }
        with running_nginx(tmp_path, values) as url, httpx.Client(base_url=url) as client:
            headers = {"Host": "booking.example.org"}
            while not deaths:  # round robin: within two requests one reaches instance a
                answer = client.get("/booking/slow", headers=headers)
                assert answer.status_code == 200 and answer.text == "b"  # retried on b
            answered_by = [client.get("/booking/who", headers=headers).text for _ in range(6)]
    assert answered_by.count("a") >= 2, answered_by


def test_nginx_server_lines_keep_the_failure_settings_they_set():
    complete = load_render_nginx().with_server_defaults
    assert complete("server 10.0.0.1:8001; server 10.0.0.2:8001 max_fails=0 weight=2;") == (
        "server 10.0.0.1:8001 max_fails=3 fail_timeout=5s; "
        "server 10.0.0.2:8001 max_fails=0 weight=2 fail_timeout=5s;"
    )


def test_nginx_sends_the_forwarded_headers_proxyfix_reads():
    site = (DEPLOY / "nginx.conf").read_text()
    for header in (
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Forwarded-Prefix",
    ):
        assert f"proxy_set_header {header} " in site
    # The prefix is stripped on the way in (the apps route at their root).
    assert "proxy_pass http://frontdesk_booking/;" in site
    assert "proxy_pass http://frontdesk_consent/;" in site
    assert "proxy_pass http://frontdesk_console/;" in site
    assert "notify:" not in site and "frontdesk_notify" not in site
    # The operator's TLS block is there, commented.
    assert "# server {" in site and "#     listen 443 ssl;" in site


# -- gunicorn -----------------------------------------------------------------------------


def gunicorn_settings(monkeypatch, tmp_path, **env) -> dict:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for key in ("WEB_CONCURRENCY", "FRONTDESK_SERVICE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_gunicorn_workers_follow_cpu_count_capped_and_overridable(monkeypatch, tmp_path):
    import multiprocessing

    settings = gunicorn_settings(monkeypatch, tmp_path)
    assert settings["workers"] == min(2 * multiprocessing.cpu_count() + 1, 9)
    assert gunicorn_settings(monkeypatch, tmp_path, WEB_CONCURRENCY="3")["workers"] == 3
    assert settings["control_socket_disable"] is True
    assert settings["timeout"] > 0 and settings["graceful_timeout"] > 0


def test_gunicorn_workers_started_together_recycle_spread_over_most_of_a_worker_life(
    monkeypatch, tmp_path
):
    """Workers started together (a deploy, a restart) each draw when they recycle, and share
    the load about evenly, so they recycle when their draws come up. A jitter of a tenth of
    max_requests put all of them within a tenth of a life (outside testing: ~40 s, with the
    latency spike); spread over most of a life, one worker restarts at a time."""
    from gunicorn.config import Config
    from gunicorn.workers.sync import SyncWorker

    settings = gunicorn_settings(monkeypatch, tmp_path)
    config = Config()
    for key in ("max_requests", "max_requests_jitter"):
        config.set(key, settings[key])
    state = random.getstate()
    random.seed(26)  # gunicorn draws from the module's generator
    try:
        spreads = []
        for _ in range(50):  # fifty restarts of nine workers
            workers = [SyncWorker(0, 0, [], None, 30, config, None) for _ in range(9)]
            limits = [worker.max_requests for worker in workers]
            for worker in workers:
                worker.tmp.close()
            spreads.append((max(limits) - min(limits)) / min(limits))
    finally:
        random.setstate(state)
    spreads.sort()
    assert spreads[len(spreads) // 2] >= 0.4, spreads  # the first to the last recycle, median
    assert settings["max_requests"] >= 1000  # recycling stays rare


@pytest.mark.parametrize("service", SERVICES)
def test_gunicorn_serves_the_service_named_in_the_environment(monkeypatch, tmp_path, service):
    settings = gunicorn_settings(monkeypatch, tmp_path, FRONTDESK_SERVICE=service)
    assert settings["wsgi_app"] == f"frontdesk.wsgi:{service}"
    assert settings["proc_name"] == f"frontdesk-{service}"


def test_gunicorn_refuses_an_unknown_service(monkeypatch, tmp_path):
    with pytest.raises(SystemExit, match="FRONTDESK_SERVICE"):
        gunicorn_settings(monkeypatch, tmp_path, FRONTDESK_SERVICE="billing")


def test_gunicorn_access_log_is_json_without_tokens(monkeypatch, tmp_path, capsys):
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    settings = gunicorn_settings(monkeypatch, tmp_path)
    config = Config()
    for key in ("accesslog", "errorlog", "logger_class"):
        config.set(key, settings[key])
    logger = config.logger_class(config)
    token = "Zq8vN3kLm4pR7sT1uW2xY5aB6cD9eF0g"
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/booking",
        "PATH_INFO": f"/api/v1/feeds/{token}.ics",
        "QUERY_STRING": f"token={token}",
        "RAW_URI": f"/api/v1/feeds/{token}.ics?token={token}",
        "REMOTE_ADDR": "203.0.113.9",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(
        status="200 OK",
        sent=120,
        headers=[("Content-Type", "text/calendar"), ("X-Request-ID", "rid-123456")],
    )
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=12))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    entry = json.loads(line)
    assert token not in line
    assert entry["path"] == "/booking/api/v1/feeds/[redacted].ics"
    assert entry["status"] == 200 and entry["request_id"] == "rid-123456"
    assert entry["remote"] == "203.0.113.9" and entry["ms"] == 12.0


def test_wsgi_module_builds_each_app_on_first_use(monkeypatch, tmp_path):
    import frontdesk.wsgi as wsgi

    monkeypatch.setenv("FRONTDESK_NOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    monkeypatch.setenv("FRONTDESK_SECRET_KEY", "a-production-secret-key-of-32-bytes")
    monkeypatch.delitem(wsgi.__dict__, "notify", raising=False)
    app = wsgi.notify
    assert app.config["SERVICE_NAME"] == "notify"
    assert wsgi.notify is app
    monkeypatch.delitem(wsgi.__dict__, "notify")
    with pytest.raises(AttributeError):
        wsgi.billing  # noqa: B018


# -- systemd ------------------------------------------------------------------------------


def unit_values(path: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


@pytest.mark.parametrize(
    "unit",
    [
        "frontdesk-booking.service",
        "frontdesk-consent.service",
        "frontdesk-notify.service",
        "frontdesk-console.service",
        "frontdesk-worker@notify.service",
    ],
)
def test_systemd_units_verify(tmp_path, unit):
    # Installed paths point at this checkout so systemd-analyze can check the commands exist.
    for source in (DEPLOY / "systemd").iterdir():
        text = source.read_text().replace("/opt/frontdesk", str(ROOT))
        (tmp_path / source.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_systemd_service_runs_gunicorn_on_the_port_of_its_internal_url(service):
    unit = DEPLOY / "systemd" / f"frontdesk-{service}.service"
    argv = shlex.split(unit_values(unit, "ExecStart")[0])
    assert argv[0].endswith("/gunicorn")
    assert argv[argv.index("-c") + 1].endswith("deploy/gunicorn.conf.py")
    assert argv[-1] == f"frontdesk.wsgi:{service}"
    bind = argv[argv.index("--bind") + 1]
    if service in CALLED:
        assert env_example()[f"FRONTDESK_{service.upper()}_URL"] == f"http://{bind}"
    else:  # the console: only nginx reaches it, at the address the env example names
        assert bind == "127.0.0.1:8004" and bind in (DEPLOY / "frontdesk.env.example").read_text()
    assert f"FRONTDESK_SERVICE={service}" in unit_values(unit, "Environment")
    assert "/etc/frontdesk/frontdesk.env" in unit_values(unit, "EnvironmentFile")


def test_systemd_worker_template_runs_the_worker_kind():
    unit = DEPLOY / "systemd" / "frontdesk-worker@.service"
    assert unit_values(unit, "ExecStart")[0].endswith("/frontdesk worker %i")


# -- Dockerfile ---------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        tuple(line.strip().split(None, 1))
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_dockerfile_copies_what_exists_and_defaults_to_booking_under_gunicorn():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM"
    for op, args in instructions:
        if op == "COPY":
            source = args.split()[0]
            assert (ROOT / source).exists(), source
    cmd = json.loads(next(args for op, args in instructions if op == "CMD"))
    assert cmd[:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert cmd[-1] == "frontdesk.wsgi:booking"
    assert ("USER", "frontdesk") in instructions


def test_dockerfile_image_holds_compiled_catalogs_where_gunicorn_imports_from():
    # The .mo files are not in git: the build step (setup.py) and the source gunicorn runs
    # from (/app) both need them, before the image drops to an unprivileged user.
    instructions = dockerfile_instructions()
    copied = [args.split()[:-1] for op, args in instructions if op == "COPY"]
    assert any("setup.py" in sources for sources in copied)
    run = next(args for op, args in instructions if op == "RUN" and "pip install" in args)
    compiled = run.split("python -m shared.translations", 1)[1].split("&&")[0].split()
    folders = [*ROOT.glob("services/*/translations"), ROOT / "shared" / "translations"]
    assert sorted(compiled) == sorted(str(folder.relative_to(ROOT)) for folder in folders)
    assert instructions.index(("USER", "frontdesk")) > instructions.index(("RUN", run))


# -- compose ------------------------------------------------------------------------------


APP_SERVICES = ("booking", "consent", "notify", "console")
WORKERS = tuple(f"worker-{kind}" for kind in REGISTERED_WORKERS)


def test_compose_has_every_part_of_the_deployment(compose):
    assert set(compose["services"]) == {
        "postgres",
        "migrate",
        *APP_SERVICES,
        *WORKERS,
        "nginx",
        "mailpit",
    }
    assert compose["services"]["mailpit"]["image"].startswith("axllent/mailpit")


@pytest.mark.parametrize("name", [*APP_SERVICES, *WORKERS, "migrate"])
def test_compose_app_containers_get_the_whole_configuration(compose, name):
    service = compose["services"][name]
    env = service["environment"]
    for setting in SETTINGS:
        if setting != "DATABASE_URL":  # one URL per service instead
            assert f"FRONTDESK_{setting}" in env, setting
    assert env["FRONTDESK_TRUSTED_PROXIES"] == "1"
    assert env["FRONTDESK_SMTP_URL"].endswith("smtp://mailpit:1025}")
    for svc in APP_SERVICES:
        if svc in CALLED:
            assert env[f"FRONTDESK_{svc.upper()}_URL"] == f"http://{svc}:8000"
        assert f"@postgres:5432/frontdesk_{svc}" in env[f"FRONTDESK_{svc.upper()}_DATABASE_URL"]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_services_run_gunicorn_after_migrations(compose, name):
    service = compose["services"][name]
    assert service["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert service["command"][-1] == f"frontdesk.wsgi:{name}"
    assert service["environment"]["FRONTDESK_SERVICE"] == name
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_migrations_wait_for_postgres_which_creates_one_database_per_service(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["frontdesk", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    postgres = compose["services"]["postgres"]
    init = next(v for v in postgres["volumes"] if "docker-entrypoint-initdb.d" in v)
    script = DEPLOY / init.split(":")[0]
    sql = script.read_text()
    for svc in APP_SERVICES:
        assert f"'frontdesk_{svc}'" in sql


@pytest.mark.parametrize("name", WORKERS)
def test_compose_workers_run_their_kind(compose, name):
    worker = compose["services"][name]
    assert worker["command"] == ["frontdesk", "worker", name.removeprefix("worker-")]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_nginx_renders_the_template_for_booking_and_consent(compose):
    nginx = compose["services"]["nginx"]
    mount = next(v for v in nginx["volumes"] if "nginx.conf" in v)
    source, target = mount.split(":")[:2]
    assert (DEPLOY / source).resolve() == DEPLOY / "nginx.conf"
    assert target == "/etc/nginx/templates/default.conf.template"
    placeholders = set(re.findall(r"\$\{(NGINX_\w+)\}", (DEPLOY / "nginx.conf").read_text()))
    assert placeholders <= set(nginx["environment"])
    assert nginx["environment"]["NGINX_BOOKING_SERVERS"] == (
        "server booking:8000 max_fails=3 fail_timeout=5s;"
    )
    assert nginx["environment"]["NGINX_CONSENT_SERVERS"] == (
        "server consent:8000 max_fails=3 fail_timeout=5s;"
    )
    assert nginx["environment"]["NGINX_CONSOLE_SERVERS"] == (
        "server console:8000 max_fails=3 fail_timeout=5s;"
    )
    assert set(nginx["depends_on"]) == {"booking", "consent", "console"}
    assert "notify" not in json.dumps(nginx)
