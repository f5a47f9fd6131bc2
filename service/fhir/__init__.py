"""FHIR data in and out: decoding hook bodies and prefetch, the FHIR client, its URL rule."""
