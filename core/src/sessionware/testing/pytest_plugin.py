"""pytest plugin entry of the conformance kit (registered through ``pytest11``)."""
