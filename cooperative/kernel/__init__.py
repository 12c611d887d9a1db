"""The shared kernel every domain package may import: errors, the principal, column types."""
