"""Benchmarks that print figures (run each as a script: `python bench/NAME.py --help`), and the
helpers they share with the project's tests: running the suites as a user does, the DNS fuzz
corpus. Imports the project's packages only, never tests/."""
