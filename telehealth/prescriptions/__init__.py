"""Prescriptions (recetas): issued in a consult, printed, verified by pharmacies, revoked."""
