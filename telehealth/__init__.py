"""Telehealth: practitioners, clinics, availability, appointments and consults.

Depends on `cooperative` (through its service modules), never on `app`.
"""
