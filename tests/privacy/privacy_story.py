"""The people of the personal-data tests."""

EMAIL = "ana.souza@example.org"
PHONE = "+14165550123"
NAME = "Ana Souza"
OTHER_EMAIL = "omar.haddad@example.net"
OTHER_PHONE = "+14165550177"
OTHER_NAME = "Omar Haddad"
ANA = {"interpreter": "Portuguese", "notes": "Please call me before"}
OMAR = {"interpreter": "Arabic", "notes": "Ring the bell twice"}
