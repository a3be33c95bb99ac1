"""Check the reports of a molecule/fleet run.

    python3 check_fleet.py REPORTS_DIR EXPECT_JSON

EXPECT_JSON maps each host to what it must show:
    {"pff-sid": {"docker": "28.5", "backend": "nft", "userland_proxy": true,
                 "net": "10.203.0.0/16", "drift": ["cross_network"]}, ...}

Checks, per host: results.json names the host, its Docker version, back end and
userland proxy; every scenario ran without error; its report page exists and
names every scenario; every address in its packets belongs to this host (its
own Docker ranges, its outside client, its own addresses), never to another
host of the fleet, which proves that concurrent legacy traces read from the one
shared kernel log were told apart. Then the fleet index: every host has a row,
and cross_network, whose path differs between Docker versions, is marked as
drift (or split) exactly on the hosts whose "drift" lists it.
"""

import ipaddress
import json
import os
import sys
from html.parser import HTMLParser


class Cells(HTMLParser):
    """Rows of the fleet matrix: header names and, per row, (host, [cell classes and text])."""

    def __init__(self):
        super().__init__()
        self.head, self.rows, self.stack, self.text = [], [], [], ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append(["", []])
        if tag in ("th", "td"):
            self.stack.append((tag, attrs.get("class") or ""))
            self.text = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.stack:
            kind, cls = self.stack.pop()
            text = " ".join(self.text.split())
            row = self.rows[-1]
            if len(self.rows) == 1:
                self.head.append(text)
            elif kind == "th" and not row[0]:
                row[0] = text
            else:
                row[1].append((cls, text))

    def handle_data(self, data):
        self.text += data


def addresses(obj):
    """Every IPv4 address in the src/dst/ip fields of a packet, recursively."""
    found = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("src", "dst", "ip", "host_ip") and isinstance(value, str):
                try:
                    found.add(ipaddress.ip_address(value.rsplit(":", 1)[0] if value.count(".") == 3 else value))
                except ValueError:
                    pass
            else:
                found |= addresses(value)
    elif isinstance(obj, list):
        for item in obj:
            found |= addresses(item)
    return found


def main(reports, expect):
    errors = []
    own = {}
    docs = {}
    for host, want in expect.items():
        path = os.path.join(reports, host, "results.json")
        try:
            with open(path) as handle:
                doc = json.load(handle)
        except (OSError, ValueError) as exc:
            errors.append("%s: no readable results.json (%s)" % (host, exc))
            continue
        docs[host] = doc
        facts = doc.get("facts") or {}
        if doc.get("host") != host:
            errors.append("%s: results.json names host %r" % (host, doc.get("host")))
        if not str(facts.get("docker_version", "")).startswith(want["docker"]):
            errors.append("%s: Docker %s, expected %s" % (host, facts.get("docker_version"), want["docker"]))
        if facts.get("backend") != want["backend"]:
            errors.append("%s: back end %s, expected %s" % (host, facts.get("backend"), want["backend"]))
        if facts.get("userland_proxy") != want["userland_proxy"]:
            errors.append("%s: userland proxy %s, expected %s" % (host, facts.get("userland_proxy"), want["userland_proxy"]))
        scenarios = doc.get("scenarios") or []
        if len(scenarios) < 9:
            errors.append("%s: %d scenarios, expected 9" % (host, len(scenarios)))
        mine = [ipaddress.ip_network(want["net"]), ipaddress.ip_network("127.0.0.0/8")]
        if facts.get("primary_address"):
            mine.append(ipaddress.ip_network(facts["primary_address"]))
        for scenario in scenarios:
            if scenario.get("error"):
                errors.append("%s %s: error %s" % (host, scenario.get("scenario"), scenario["error"]))
            peer = (scenario.get("topology") or {}).get("peer")
            if peer:
                mine.append(ipaddress.ip_network(peer["ip"] + "/30", strict=False))
        own[host] = mine
        page = os.path.join(reports, host, "index.html")
        try:
            with open(page) as handle:
                html = handle.read()
            for scenario in scenarios:
                if scenario.get("scenario") not in html:
                    errors.append("%s: report page lacks %s" % (host, scenario.get("scenario")))
        except OSError:
            errors.append("%s: no report page %s" % (host, page))

    counted = 0
    for host, doc in docs.items():
        for scenario in doc.get("scenarios") or []:
            for packet in scenario.get("packets") or []:
                for addr in addresses(packet.get("flow")) | addresses(packet.get("hops")):
                    counted += 1
                    if not any(addr in net for net in own[host]):
                        owner = [other for other, nets in own.items() if other != host and any(addr in n for n in nets)]
                        errors.append("%s %s: packet %s has address %s%s" % (
                            host, scenario.get("scenario"), packet.get("summary"), addr,
                            " of " + owner[0] if owner else " of no fleet host"))

    index = os.path.join(reports, "index.html")
    drift = []
    try:
        parser = Cells()
        with open(index) as handle:
            parser.feed(handle.read())
        column = parser.head.index("cross_network") - 1
        rows = {}
        for host in expect:
            found = [cells for name, cells in parser.rows[1:] if name.startswith(host + "Docker ")]
            if found:
                rows[host] = found[0]
            else:
                errors.append("fleet index: no row for %s" % host)
        marked = {host: "drift" in cells[column][1].split() or "split" in cells[column][1].split()
                  for host, cells in rows.items()}
        drift = [host for host, flag in marked.items() if flag]
        for host, flag in marked.items():
            want_drift = "cross_network" in expect[host].get("drift", [])
            if flag != want_drift:
                errors.append("fleet index: cross_network on %s is %smarked as drift" % (host, "" if flag else "not "))
    except (OSError, ValueError, IndexError) as exc:
        errors.append("fleet index %s unreadable: %s" % (index, exc))

    for line in errors:
        print("FAIL " + line)
    print("%d hosts, %d addresses checked, cross_network drift marked on: %s" % (
        len(docs), counted, ", ".join(drift) or "none"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], json.loads(sys.argv[2])))
