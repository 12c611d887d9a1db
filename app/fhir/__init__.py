"""FHIR R4 read views of Tequio under `/fhir/R4`: plain JSON built from the domains' services,
with the REST API's authorization and access log (see README, "FHIR R4")."""
