"""The consent service: Versioned consent forms, signing by link, verbal consent, withdrawal and signed PDF records."""
