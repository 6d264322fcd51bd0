"""Production processes refuse a default, empty or short FRONTDESK_SECRET_KEY: manage and signing
links are derived from it, so a known key lets anyone forge them. `frontdesk serve` and tests
may make one of their own (tests/foundation/test_serve.py starts serve without one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.errors import AppImportError

from frontdesk.cli import main

ROOT = Path(__file__).resolve().parents[2]

# What an operator may leave: unset, the empty value of deploy/frontdesk.env.example, the
# documented default, or something short.
WEAK = {
    "unset": None,
    "empty": "",
    "default": "dev-insecure-change-me",
    "short": "x" * 31,
}


def environment(secret: str | None, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_SECRET_KEY")}
    if secret is not None:
        env["FRONTDESK_SECRET_KEY"] = secret
    return {**env, **more}


def set_secret(monkeypatch, secret: str | None) -> None:
    for key in ("FRONTDESK_SECRET_KEY", "FRONTDESK_SECRET_KEY_FILE"):
        monkeypatch.delenv(key, raising=False)
    if secret is not None:
        monkeypatch.setenv("FRONTDESK_SECRET_KEY", secret)


@pytest.mark.parametrize("secret", WEAK.values(), ids=WEAK.keys())
def test_gunicorn_refuses_to_start_with_a_weak_secret_key_and_says_why(
    secret, database_urls, tmp_path
):
    env = environment(
        secret,
        PYTHONPATH=str(ROOT),
        FRONTDESK_SERVICE="notify",
        FRONTDESK_NOTIFY_DATABASE_URL=database_urls["notify"],
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        WEB_CONCURRENCY="1",
    )
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    result = subprocess.run(
        [*command, "--bind", "127.0.0.1:0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # it stops on its own: no worker restarted forever
    )
    assert result.returncode != 0
    assert "FRONTDESK_SECRET_KEY" in result.stderr and "token_urlsafe" in result.stderr


@pytest.mark.parametrize("secret", WEAK.values(), ids=WEAK.keys())
def test_wsgi_module_refuses_to_build_an_app_with_a_weak_secret_key(secret, monkeypatch, tmp_path):
    import frontdesk.wsgi as wsgi

    set_secret(monkeypatch, secret)
    monkeypatch.setenv("FRONTDESK_NOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    monkeypatch.delitem(wsgi.__dict__, "notify", raising=False)
    with pytest.raises(AppImportError, match="FRONTDESK_SECRET_KEY"):
        wsgi.notify  # noqa: B018
    assert "notify" not in wsgi.__dict__


@pytest.mark.parametrize("secret", WEAK.values(), ids=WEAK.keys())
def test_worker_command_refuses_to_start_with_a_weak_secret_key(secret, database_urls):
    env = environment(secret, FRONTDESK_DATABASE_URL=database_urls["notify"])
    # CliRunner only sets the variables it is given: the unset case removes the key.
    env.setdefault("FRONTDESK_SECRET_KEY", None)
    result = CliRunner().invoke(main, ["worker", "notify"], env=env)
    assert result.exit_code == 1
    assert "FRONTDESK_SECRET_KEY" in result.output and "worker notify running" not in result.output


def test_secret_key_file_counts_as_the_secret_key(monkeypatch, tmp_path):
    import frontdesk.wsgi as wsgi

    secret = tmp_path / "secret-key"
    secret.write_text("k" * 32)
    secret.chmod(0o600)
    set_secret(monkeypatch, None)
    monkeypatch.setenv("FRONTDESK_SECRET_KEY_FILE", str(secret))
    monkeypatch.setenv("FRONTDESK_NOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    monkeypatch.delitem(wsgi.__dict__, "notify", raising=False)
    assert wsgi.notify.config["SECRET_KEY"] == "k" * 32
    monkeypatch.delitem(wsgi.__dict__, "notify")
