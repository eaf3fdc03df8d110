"""formguard: protects a Django site's inquiry forms from spam floods."""

__version__ = "0.1.0.dev0"
