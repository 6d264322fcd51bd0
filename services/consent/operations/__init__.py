"""Consent's operations, one module per subdomain: forms and their versions, requests, signing,
signed records, the audit trail and public verification. Each takes a session and keyword
arguments, flushes and never commits; none imports Flask."""
