"""The suites' pytest plugin, one module per concern: keys (the stash), target (choosing it),
networks (what checks are parametrized over), nameservers (the host's resolvers), site (the
probe containers, places, and what to do when the harness cannot look), params."""
