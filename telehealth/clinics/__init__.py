"""Clinics: rural clinics whose staff book consults for the patients registered with them."""
