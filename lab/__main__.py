"""python -m lab {up,down,scenarios,describe,workloads,fleet}: the built-in lab's command line."""

from __future__ import annotations

import argparse
import json
import sys

from lab.dockers import DEFAULT, FIREWALL_BACKENDS, GENERATIONS
from lab.errors import LabError
from lab.fleet import DEFAULT_FLEET, DEFAULT_HOSTS, Fleet, parse_hosts
from lab.hints import fleet_command, lab_command
from lab.lab import DEFAULT_NAME, Lab
from lab.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="The v6conform lab: network namespaces NAME-host, NAME-upstream and NAME-inet "
        "with a dedicated dockerd, radvd and unbound, on documentation addresses only "
        "(2001:db8::/32, TEST-NETs). Nothing is linked to this machine's own network.",
    )
    parser.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help=f"lab name, prefixes every namespace and path (default {DEFAULT_NAME})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring the lab up (removes a stale lab of the same name first)")
    up.add_argument(
        "--scenario",
        default="healthy",
        choices=sorted(SCENARIOS),
        help="what to break on purpose (default healthy)",
    )
    up.add_argument(
        "--docker",
        default=DEFAULT,
        choices=list(GENERATIONS),
        help=f"the Docker generation to run (default {DEFAULT}): "
        + "; ".join(f"{g.name}: {g.needs}" for g in GENERATIONS.values())
        + ". Roots and builds are made once and cached",
    )
    up.add_argument(
        "--firewall-backend",
        choices=FIREWALL_BACKENDS,
        default=None,
        help="the lab's dockerd's --firewall-backend (Docker 29 on; default: Docker's own, "
        "iptables)",
    )
    sub.add_parser("down", help="remove the lab: containers, processes, namespaces, directories")
    sub.add_parser("scenarios", help="list scenarios and the check IDs each must fail")
    sub.add_parser("describe", help="print the running lab as JSON")
    work = sub.add_parser(
        "workloads",
        help="replace the lab's workload containers (the host's own, for the checks to look "
        "at) by N idle ones spread over its IPv6 networks, some broken on purpose",
    )
    work.add_argument("--count", type=_count, required=True, help="how many (0: remove them)")
    work.add_argument(
        "--broken-route",
        type=_count,
        default=0,
        metavar="K",
        help="of them, K without an IPv6 default route (named work-I-noroute)",
    )
    work.add_argument(
        "--broken-resolv",
        type=_count,
        default=0,
        metavar="K",
        help="of them, K whose resolv.conf names a nameserver nothing serves (work-I-badresolv)",
    )
    fleet = sub.add_parser(
        "fleet",
        help="a fleet of Docker hosts (each a lab of its own with Debian's sshd) and a "
        "controller namespace that reaches them by SSH only, for Ansible",
        description="A fleet lab: hosts NAME1..NAMEn, each a whole lab (its own upstream, far "
        "end, dockerd and scenario) with Debian's sshd in a mount and UTS namespace of its own, "
        "chrooted into a Debian 12 root; a controller namespace NAME-ctl reaches each over "
        "2001:db8:c0:I::/64. `up` writes an Ansible inventory (host_vars: each host's profile), "
        "an SSH key and known_hosts under /var/lib/v6conform-lab/fleet-NAME.",
    )
    fleet.add_argument(
        "--fleet-name",
        default=DEFAULT_FLEET,
        help=f"fleet name, up to 7 characters: hosts are NAME1, NAME2… (default {DEFAULT_FLEET})",
    )
    fleet_sub = fleet.add_subparsers(dest="fleet_command", required=True)
    fleet_up = fleet_sub.add_parser("up", help="bring the fleet up (a stale one is removed first)")
    fleet_up.add_argument(
        "--hosts",
        default=",".join(DEFAULT_HOSTS),
        metavar="SCENARIO[@DOCKER],...",
        help="one host per entry, in that scenario and Docker generation "
        f"(default {','.join(DEFAULT_HOSTS)}: two healthy, one broken on purpose)",
    )
    fleet_up.add_argument(
        "--docker",
        default=DEFAULT,
        choices=list(GENERATIONS),
        help=f"the generation of hosts that name none (default {DEFAULT})",
    )
    fleet_sub.add_parser("down", help="remove the fleet: every host's lab, the controller")
    fleet_sub.add_parser("describe", help="print the running fleet as JSON")
    args = parser.parse_args(argv)
    try:
        if args.command == "fleet":
            return _fleet(args)
        lab = Lab(args.name)
        if args.command == "up":
            lab.up(args.scenario, args.docker, args.firewall_backend)
        elif args.command == "down":
            lab.down()
        elif args.command == "describe":
            print(json.dumps(lab.description(), indent=2))
        elif args.command == "workloads":
            lab.description()  # says so when no lab is up
            lab.replace_workloads(
                args.count, broken_route=args.broken_route, broken_resolv=args.broken_resolv
            )
            print(json.dumps(lab.workloads(), indent=2))
        else:
            width = max(map(len, SCENARIOS))
            pad = " " * width
            for sc in SCENARIOS.values():
                fails = ", ".join(sorted(sc.expected_failures)) or "nothing"
                dockers = ", ".join(g for g in GENERATIONS if g in sc.generations)
                print(f"{sc.name:<{width}}  must fail: {fails}  (Docker {dockers})")
                print(f"{pad}  {sc.summary}")
                if sc.root_causes:
                    print(f"{pad}  root cause: {', '.join(sorted(sc.root_causes))}")
                for gen, checks in sc.expected_by_generation.items():
                    on = ", ".join(sorted(checks)) or "nothing"
                    why = sc.differs_because.get(gen, "")
                    print(f"{pad}  on Docker {gen} must fail: {on}: {why}")
                for gen, causes in sc.root_causes_by_generation.items():
                    print(f"{pad}  on Docker {gen} root cause: {', '.join(sorted(causes))}")
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        down = (
            fleet_command(args.fleet_name, "down")
            if args.command == "fleet"
            else lab_command(args.name, "down")
        )
        print(f"lab: interrupted; run `{down}` to remove what was built", file=sys.stderr)
        return 130
    return 0


def _fleet(args: argparse.Namespace) -> int:
    fleet = Fleet(args.fleet_name)
    if args.fleet_command == "up":
        fleet.up(parse_hosts(args.hosts, args.docker))
        print(json.dumps(fleet.description(), indent=2))
    elif args.fleet_command == "down":
        fleet.down()
    else:
        print(json.dumps(fleet.description(), indent=2))
    return 0


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0, 1, 2, ...)")
    return int(text)


if __name__ == "__main__":
    sys.exit(main())
