"""Audit: who read a member's personal or health data, and when. Every domain may record a read;
the member reads their own access log."""
