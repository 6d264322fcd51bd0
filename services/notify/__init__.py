"""The notify service: Outbox for email (with iCal invites), SMS and signed webhooks: scheduled, retried, idempotent."""
