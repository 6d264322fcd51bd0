"""Booking's operations, one module per subdomain: the catalog (staff and services), availability
(weekly rules, exceptions, busy blocks and slot search), appointments, client search, external
calendars and staff feeds. Each takes a session and keyword arguments, flushes and never commits;
none imports Flask."""
