"""The conformance kit for engine and serializer plugins (being written)."""
