"""Privacy: the ARCO rights to export and erase a member's data, each domain giving its part."""
