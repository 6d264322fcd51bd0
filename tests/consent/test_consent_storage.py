"""A full disk while storing a record: a clear 503 and nothing half-written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from consent_builders import ORIGIN, form_content

from frontdesk import migrations
from services.consent.errors import SigningUnavailable
from services.consent.models import ConsentRecord, ConsentRequest
from services.consent.operations import forms, requests
from shared.db import Database


def test_full_disk_while_storing_the_record_is_a_503_and_the_request_stays_pending(
    tmp_path, settings
):
    url = f"sqlite:///{tmp_path / 'full.db'}"
    migrations.upgrade("consent", url)
    database = Database(url)
    with database.transaction() as session:
        template = forms.create_template(session=session, name="Recording", content=form_content())
        created = requests.create_request(
            session=session,
            template=template,
            client={"client_name": "Ana", "client_email": "ana@example.org"},
            settings=settings,
        )
    token = created.signing_url.rsplit("/", 1)[1]
    with pytest.raises(SigningUnavailable) as caught, database.transaction() as session:
        pages = session.execute(sa.text("PRAGMA page_count")).scalar()
        # The database may not grow by the ~50 KB the signed PDF needs: the disk is "full".
        session.execute(sa.text(f"PRAGMA max_page_count = {pages + 2}"))
        requests.sign(
            session=session,
            token=token,
            typed_name="Ana",
            disclosure_accepted=True,
            checkboxes={"recording": True, "sharing": True},
            settings=settings,
            origin=ORIGIN,
        )
    assert caught.value.status == 503
    with database.transaction() as session:
        assert session.scalar(sa.select(ConsentRequest.status)) == "pending"
        assert session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0
    database.engine.dispose()
