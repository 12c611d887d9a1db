"""Scheduling: availability, slots, and race-free booking of appointments."""
