"""Demo mode: sample patients, the in-memory FHIR server, and loading samples into a real one."""
