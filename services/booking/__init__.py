"""The booking service: Staff, services, availability, slot search, appointments, iCal invites and feeds."""
