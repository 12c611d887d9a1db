"""Member-owners and households: applications, standing, identity, dependents, income."""
