"""Tools for working on Tequio that are not part of it (the import contracts' own checks)."""
