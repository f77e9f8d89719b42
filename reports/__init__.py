"""Reporting: check properties into JUnit XML, and a self-contained HTML report."""
