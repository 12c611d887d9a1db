"""Practitioners: doctor-members with specialties, languages, licences and a time zone."""
