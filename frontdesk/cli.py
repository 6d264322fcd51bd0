"""The `frontdesk` command: serve the suite, migrate, make tokens, load the demo, run workers."""

from __future__ import annotations

import signal
import sys
import threading

import click

from frontdesk import migrations
from shared import auth, db
from shared.config import ConfigError, load_config, require_strong_secret_key

SERVICE_CHOICE = click.Choice(migrations.SERVICES)


@click.group()
def main() -> None:
    """Frontdesk: appointment booking, consent and notifications, self-hosted."""


@main.group("db")
def db_group() -> None:
    """Database migrations, per service."""


@db_group.command("upgrade")
@click.argument("service", type=SERVICE_CHOICE, required=False)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(service: str | None, revision: str) -> None:
    """Apply migrations to SERVICE's database (all services when omitted)."""
    for name in [service] if service else migrations.SERVICES:
        url = load_config(name)["DATABASE_URL"]
        migrations.upgrade(name, url, revision)
        click.echo(f"{name}: upgraded to {revision} ({_safe_url(url)})")


@db_group.command("revision")
@click.argument("service", type=SERVICE_CHOICE)
@click.option("-m", "--message", required=True)
def db_revision(service: str, message: str) -> None:
    """Autogenerate a migration for SERVICE from its models (developers)."""
    url = load_config(service)["DATABASE_URL"]
    migrations.upgrade(service, url)
    migrations.revision(service, url, message)


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.option("--role", type=click.Choice(auth.ROLES), required=True)
@click.option("--staff", "staff_id", type=int, help="Staff member a staff token acts for.")
@click.option("--name", default="", help="What the token is for.")
@click.option(
    "--service",
    "services",
    type=SERVICE_CHOICE,
    multiple=True,
    help="Service(s) that accept the token (default: all three).",
)
def token_create(role: str, staff_id: int | None, name: str, services: tuple[str, ...]) -> None:
    """Create a token and print it once; only its SHA-256 is stored."""
    if role == "staff" and staff_id is None:
        raise click.UsageError("--staff is required for a staff token")
    token = auth.new_token(f"fd{role[0]}")
    for service in services or migrations.SERVICES:
        _store_token(service, token, role, staff_id, name)
    click.echo(token)


def _store_token(service: str, token: str, role: str, staff_id: int | None, name: str) -> None:
    """Store a token's hash in one service's database."""
    import importlib

    models = importlib.import_module(f"services.{service}.models")
    database = db.Database(load_config(service)["DATABASE_URL"])
    try:
        with database.transaction() as session:
            auth.store_token(
                session=session,
                model=models.ApiToken,
                token=token,
                role=role,
                staff_id=staff_id,
                name=name,
            )
    finally:
        database.engine.dispose()


@main.group("console")
def console_group() -> None:
    """The staff console."""


@console_group.command("link")
@click.argument("staff_id", type=int)
def console_link(staff_id: int) -> None:
    """Print a one-time console sign-in link for a staff member, valid 7 days (a first admin
    on a server without `frontdesk serve`, or someone locked out without email)."""
    from services.booking.models import Staff
    from services.console.operations import links

    booking = db.Database(load_config("booking")["DATABASE_URL"])
    console = db.Database(load_config("console")["DATABASE_URL"])
    try:
        with booking.transaction() as session:
            staff = session.get(Staff, staff_id)
            if staff is None or not staff.active:
                raise click.ClickException(f"no active staff member {staff_id}")
        with console.transaction() as session:
            token = links.issue_link(session=session, staff_id=staff_id, purpose="invitation")
    finally:
        booking.engine.dispose()
        console.engine.dispose()
    click.echo(f"{load_config()['PUBLIC_URL'].rstrip('/')}/console/sign-in/{token}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Do not create the demo organization.")
def serve(host: str, port: int, threads: int, no_demo: bool) -> None:
    """Run the whole suite in one process under gunicorn, on SQLite files in ./var by default."""
    from frontdesk.server import serve_suite

    serve_suite(host=host, port=port, threads=threads, demo=not no_demo)


@main.command()
def demo() -> None:
    """Create the demo organization (Maple Community Services) unless staff exist."""
    from frontdesk.demo import describe, load_demo
    from frontdesk.suite import create_suite

    suite = create_suite()
    created = load_demo(suite.apps)
    click.echo(
        "\n".join(describe(load_config()["PUBLIC_URL"], created))
        if created
        else "Demo data already loaded."
    )


@main.command()
@click.argument("kind")
def worker(kind: str) -> None:
    """Run one background worker (e.g. `notify`) until SIGTERM/SIGINT."""
    from frontdesk.suite import SERVICES
    from frontdesk.workers import WORKERS, worker_function

    if kind not in WORKERS:
        raise click.UsageError(
            f"unknown worker {kind!r}; known: {', '.join(sorted(WORKERS)) or 'none'}"
        )
    service, run = worker_function(kind)
    try:
        require_strong_secret_key(load_config(service)["SECRET_KEY"])
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    app = SERVICES[service]()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"worker {kind} running", err=True)
    run(app, stop)


@main.group("client")
def client_group() -> None:
    """A client's personal data across the services: export and erase (GDPR/PIPEDA)."""


def _privacy_clients(token: str | None):
    from services.console.operations.privacy import clients_from_config
    from shared.errors import FrontdeskError

    try:
        return clients_from_config(load_config(), token)
    except FrontdeskError as exc:
        raise click.UsageError(exc.detail) from exc


def _privacy_run(operation, token: str | None, contact: str) -> dict:
    """Run a privacy operation for CONTACT: an email address, or a phone number (a client who
    booked without an address)."""
    from shared.errors import FrontdeskError

    whom = {"email": contact} if "@" in contact else {"phone": contact}
    try:
        return operation(clients=_privacy_clients(token), **whom)
    except FrontdeskError as exc:
        raise click.ClickException(exc.detail) from exc


TOKEN_OPTION = click.option(
    "--token", help="An admin token (default: FRONTDESK_SERVICE_TOKEN or the suite's own)."
)


@client_group.command("export")
@click.argument("contact")
@TOKEN_OPTION
def client_export(contact: str, token: str | None) -> None:
    """Print everything held about the client with address or phone number CONTACT (with its
    country code), as JSON."""
    import json

    from services.console.operations.privacy import export_client

    document = _privacy_run(export_client, token, contact)
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@client_group.command("erase")
@click.argument("contact")
@TOKEN_OPTION
@click.option("--yes", is_flag=True, help="Confirm: this cannot be undone.")
def client_erase(contact: str, token: str | None, yes: bool) -> None:
    """Erase the client with address or phone number CONTACT everywhere; print what was erased
    and kept, and why."""
    import json

    from services.console.operations.privacy import erase_client

    if not yes:
        raise click.UsageError("Erasure cannot be undone: add --yes to confirm.")
    result = _privacy_run(erase_client, token, contact)
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@main.command()
@click.argument("services", nargs=-1, type=SERVICE_CHOICE)
def check(services: tuple[str, ...]) -> None:
    """Check the configuration of SERVICES (all when omitted); exit 1 on any problem."""
    from frontdesk.check import run_checks

    findings = run_checks(services=services or migrations.SERVICES)
    for finding in findings:
        click.echo(finding.line())
    if not all(finding.ok for finding in findings):
        raise SystemExit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
