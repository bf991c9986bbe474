"""thothctl: the operator CLI for the Thoth sync service on Google Cloud."""

__version__ = "0.1.0"
