"""The judgement layer: the only place a verdict is formed.

Pure functions from frozen probe results (and the profile) to one `rules.judgement.Judgement`:
pass, fail or not observed, with the reason, the evidence, the facts it found broken and rests on,
the hop its evidence points to, and the fix as data. One module per check family:

``rules.gw`` (GW-*), ``rules.rt`` (RT-01..05), ``rules.rt_mode`` (RT-06), ``rules.dns`` (DNS-*),
``rules.rc`` (RC-*), ``rules.ra`` (RA-*), ``rules.pmtu`` (PMTU-*), ``rules.ep`` (EP-*),
``rules.nat64`` (NAT64-*).

No I/O here: no sockets, subprocesses, asyncio or pytest (an import-linter contract holds it).
A check in ``suites/`` takes what the survey kept, calls its rule and holds the judgement.
"""
