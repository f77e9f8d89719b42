"""The conformance checks: pytest tests, one check ID each."""
