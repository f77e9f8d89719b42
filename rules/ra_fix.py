"""The fixes of the router's DNS options (RA-02 RDNSS, RA-04 DNSSL), as data: the values the
router must announce, from the profile (the site's own list of its nameservers and domains) and
the lifetime RFC 8106 asks for. The router's software is not known from here: words with those
values (radvd's lines as an example), never a command."""

from __future__ import annotations

from probes.profile import Profile
from rules.judgement import Fix


def _lifetime_words(lifetime: int | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    if lifetime is None:
        return "a lifetime of at least 3 × its MaxRtrAdvInterval", ()
    return f"a lifetime of at least {lifetime} s (3 × MaxRtrAdvInterval)", (
        ("lifetime", str(lifetime)),
    )


def rdnss_fix(profile: Profile, lifetime: int | None) -> Fix:
    """What the router must announce, with the values from the profile (the site's own list of
    its IPv6 nameservers) and the routers' interval; the router's software is not known from
    here, so words (radvd's line as an example)."""
    words, values = _lifetime_words(lifetime)
    if not profile.rdnss:
        return Fix(
            f"have the router announce this site's IPv6 nameservers in RDNSS with {words}, "
            "unicast addresses only (RFC 8106 5.1); the profile names none (rdnss = [...] "
            "would name them here)",
            where="router",
            values=values,
        )
    servers = " ".join(profile.rdnss)
    radvd = f"RDNSS {servers} {{ AdvRDNSSLifetime {values[0][1]}; }};" if values else ""
    return Fix(
        f"have the router announce RDNSS {servers} with {words}, unicast addresses only (RFC "
        "8106 5.1)" + (f"; radvd: {radvd}" if radvd else ""),
        where="router",
        values=(*(("rdnss", server) for server in profile.rdnss), *values),
    )


def dnssl_fix(profile: Profile, advertised: set[str], lifetime: int | None) -> Fix:
    """DNSSL (and RDNSS) as the profile says, or the advertised domains well formed."""
    words, values = _lifetime_words(lifetime)
    domains = [d.rstrip(".") for d in profile.dnssl] or sorted(advertised)
    if not domains:
        return Fix(
            f"have the router announce RDNSS as the profile says, with {words} (or correct "
            "the profile)",
            where="router",
            values=values,
        )
    listed = " ".join(domains)
    radvd = f"DNSSL {listed} {{ AdvDNSSLLifetime {values[0][1]}; }};" if values else ""
    rdnss = " ".join(profile.rdnss)
    return Fix(
        f"have the router announce DNSSL {listed} with {words}"
        + (f", and RDNSS {rdnss}," if rdnss else "")
        + " as the profile says (or correct the profile)"
        + (f"; radvd: {radvd}" if radvd else ""),
        where="router",
        values=(
            *(("dnssl", d) for d in domains),
            *(("rdnss", server) for server in profile.rdnss),
            *values,
        ),
    )
