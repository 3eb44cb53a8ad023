"""Fync: a self-hostable community server with an open OAuth 2.0 API."""

__version__ = "0.1.0"
