"""The console's Flask-free operations: sign-in links (links.py), sessions (sessions.py) and
invitations (invitations.py)."""
