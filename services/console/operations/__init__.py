"""The console's Flask-free operations: sign-in links (links.py) and sessions (sessions.py)."""
