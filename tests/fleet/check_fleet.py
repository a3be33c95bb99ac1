"""Check the reports of a molecule/fleet run.

    python3 check_fleet.py REPORTS_DIR EXPECT_JSON

EXPECT_JSON maps each host to what it must show:
    {"pff-sid": {"docker": "28.5", "backend": "nft", "userland_proxy": true,
                 "net": "10.203.0.0/16", "drift": ["cross_network"],
                 "flow_drift": ["shop web to db"]}, ...}

Checks, per host: results.json names the host, its Docker version, back end and
userland proxy; every scenario ran without error; its report page exists and
names every scenario; every address in its packets belongs to this host (its
own Docker ranges, its outside client, its own addresses), never to another
host of the fleet, which proves that concurrent legacy traces read from the one
shared kernel log were told apart. Each host's own flows (group_vars `flows`)
ran without error. Then the fleet index: every host has a row, cross_network,
whose path differs between Docker versions, is marked as drift (or split)
exactly on the hosts whose "drift" lists it, and in the flows matrix every
flow is marked as drift exactly on the hosts whose "flow_drift" lists it.
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


def marked_hosts(html, expect, column_name, errors):
    """The hosts whose cell in column column_name of the first matrix in html is marked drift or split."""
    parser = Cells()
    parser.feed(html)
    column = parser.head.index(column_name) - 1
    marked = []
    for host in expect:
        found = [cells for name, cells in parser.rows[1:] if name.startswith(host + "Docker ")]
        if not found:
            errors.append("fleet index: no row for %s under %s" % (host, column_name))
        elif {"drift", "split"} & set(found[0][column][0].split()):
            marked.append(host)
    return marked


def drift_mismatches(marked, expect, name, key):
    """Hosts where the marking differs from what EXPECT_JSON's key lists."""
    return [host for host in expect if (host in marked) != (name in expect[host].get(key, []))]


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
        flows = doc.get("flows") or []
        if len(flows) < 2:
            errors.append("%s: %d flows, expected 2" % (host, len(flows)))
        for flow in flows:
            if flow.get("error"):
                errors.append("%s flow %s: error %s" % (host, flow.get("flow"), flow["error"]))
            peer = (flow.get("src") or {}).get("address") if (flow.get("src") or {}).get("kind") == "outside" else None
            if peer:
                mine.append(ipaddress.ip_network(peer + "/30", strict=False))
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
        for scenario in (doc.get("scenarios") or []) + (doc.get("flows") or []):
            for packet in scenario.get("packets") or []:
                for addr in addresses(packet.get("flow")) | addresses(packet.get("hops")):
                    counted += 1
                    if not any(addr in net for net in own[host]):
                        owner = [other for other, nets in own.items() if other != host and any(addr in n for n in nets)]
                        errors.append("%s %s: packet %s has address %s%s" % (
                            host, scenario.get("scenario") or scenario.get("flow"), packet.get("summary"), addr,
                            " of " + owner[0] if owner else " of no fleet host"))

    index = os.path.join(reports, "index.html")
    drift, flow_drift = [], []
    try:
        with open(index) as handle:
            html = handle.read()
        scenarios_html, marker, flows_html = html.partition('<table class="matrix flows">')
        drift = marked_hosts(scenarios_html, expect, "cross_network", errors)
        for host in drift_mismatches(drift, expect, "cross_network", "drift"):
            errors.append("fleet index: cross_network on %s is %smarked as drift" % (host, "" if host in drift else "not "))
        if not marker:
            errors.append("fleet index: no flows matrix")
        heads = Cells()
        heads.feed(marker + flows_html)
        for name in heads.head[1:]:
            hosts = marked_hosts(marker + flows_html, expect, name, errors)
            flow_drift += ["%s: %s" % (name, h) for h in hosts]
            for host in drift_mismatches(hosts, expect, name, "flow_drift"):
                errors.append("fleet index: flow %s on %s is %smarked as drift" % (name, host, "" if host in hosts else "not "))
    except (OSError, ValueError, IndexError) as exc:
        errors.append("fleet index %s unreadable: %s" % (index, exc))

    for line in errors:
        print("FAIL " + line)
    print("%d hosts, %d addresses checked, cross_network drift marked on: %s; flow drift: %s" % (
        len(docs), counted, ", ".join(drift) or "none", "; ".join(flow_drift) or "none"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], json.loads(sys.argv[2])))
