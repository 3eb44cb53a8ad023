"""Fync's core migrations (`NNNN_name.sql`, PostgreSQL versions in postgresql/).

Installed, this folder is the package `gancio_like.migrations` (setup.cfg maps it), so
`gancio_like/storage/migrate.py` finds the files through the import system, in a wheel
and in an editable checkout alike."""
