"""The console tests' plain helpers, under the name the first page tests used."""

from console_builders import csrf_of, link_path, local  # noqa: F401
