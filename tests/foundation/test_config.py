"""Configuration: environment, typed values, per-service database URLs, secrets from files."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.config import ConfigError, load_config
from shared.languages import parse_languages


def test_service_database_url_comes_from_its_own_variable():
    config = load_config("consent", environ={"FRONTDESK_CONSENT_DATABASE_URL": "sqlite:///c.db"})
    assert config["DATABASE_URL"] == "sqlite:///c.db"


def test_values_take_the_type_of_their_default():
    config = load_config(
        environ={"FRONTDESK_TRUSTED_PROXIES": "2", "FRONTDESK_FEED_FULL_DETAILS": "yes"}
    )
    assert config["TRUSTED_PROXIES"] == 2
    assert config["FEED_FULL_DETAILS"] is True


def test_overrides_win_over_environment():
    config = load_config(environ={"FRONTDESK_ORG_NAME": "Env"}, overrides={"ORG_NAME": "Test"})
    assert config["ORG_NAME"] == "Test"


def test_secret_read_from_a_private_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    config = load_config(environ={"FRONTDESK_SECRET_KEY_FILE": str(secret)})
    assert config["SECRET_KEY"] == "s3cret"


def test_secret_file_readable_by_others_is_refused(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret")
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(environ={"FRONTDESK_SECRET_KEY_FILE": str(secret)})


def test_missing_secret_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(environ={"FRONTDESK_SECRET_KEY_FILE": str(tmp_path / "nope")})


def test_language_list_is_a_setting_that_takes_any_language_with_catalogs():
    code = (
        "from shared.pages import LANGUAGES; from shared.languages import text_direction;"
        "print(LANGUAGES, [text_direction(c) for c in LANGUAGES])"
    )
    env = {**os.environ, "FRONTDESK_LANGUAGES": "en, fa,uk,zh,ti"}
    shown = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "'fa': 'فارسی'" in shown and "'uk': 'Українська'" in shown
    assert "'zh': '中文'" in shown and "'ti': 'ትግርኛ'" in shown
    assert "['ltr', 'rtl', 'ltr', 'ltr', 'ltr']" in shown


def test_default_languages_are_english_french_spanish_and_arabic():
    assert parse_languages(load_config()["LANGUAGES"]) == ("en", "fr", "es", "ar")
    assert parse_languages("ar,fr") == ("en", "ar", "fr")  # English is the fallback
    with pytest.raises(ValueError, match="not a language code"):
        parse_languages("en,klingon!")
