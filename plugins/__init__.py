"""The plugins that ship with Fync, installed as the package `gancio_like.bundled_plugins`
(setup.cfg maps this folder) and found through their `fync.plugins` entry points."""
