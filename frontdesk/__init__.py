"""The all-in-one entry point: the `frontdesk` command and the suite that mounts all three services.

This package is the one place that imports all three services.
"""
