"""Async probes: plain coroutines returning frozen results with evidence. No pytest here."""
