"""The suites' pytest plugin, one module per concern: keys (the stash), target (choosing it),
networks (what checks are parametrized over), nameservers (the host's resolvers), site (the
probe containers, places, and what to do when the harness cannot look), survey (every probe
at once), routers (the RA exchange, shared by RA-* and DNS-01), workloads, params."""
