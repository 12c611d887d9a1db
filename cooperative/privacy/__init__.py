"""Privacy: who read a member's data and when, and the ARCO rights to export and erase it."""
