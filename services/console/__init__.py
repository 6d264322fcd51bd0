"""The staff and admin console: pages that sign people in and call the services' APIs as them."""
