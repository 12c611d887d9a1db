"""Consults: the video room of an appointment — participants, waiting room, signaling, TURN."""
