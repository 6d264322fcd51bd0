"""What the three Frontdesk services truly share: db, errors, api, auth, config, logging, http."""
