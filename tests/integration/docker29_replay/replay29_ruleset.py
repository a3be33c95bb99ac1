"""The `ip docker-bridges` table of Docker 29's nftables back end, rebuilt for a scratch topology.

A replay of the documented ruleset, not a Docker 29 run. The structure follows moby's generated rule
docs at tag docker-v29.1.0: integration/network/bridge/nftablesdoc/generated/new-daemon.md (base chains,
verdict maps, per-bridge chains) and generated/usernet-portmap.md (a published port: the DNAT in
nat-prerouting-and-output, the accept in filter-forward-in__<bridge>, the raw-PREROUTING drop), and
daemon/libnetwork/drivers/bridge/internal/nftabler/endpoint.go at that tag, where the "DROP DIRECT
ACCESS" rule is added for every endpoint of a nat-mode network, not only for published ones. The
script is written here as nft commands; only the facts (chains, hooks, matches, comments) carry over.
"""

TABLE = "docker-bridges"
MAPS = ("filter-forward-in-jumps", "filter-forward-out-jumps", "nat-postrouting-in-jumps", "nat-postrouting-out-jumps")
# name: (type, hook, priority) of the base chains; nat-prerouting-and-output is a regular chain.
# nat-OUTPUT is listed with priority dstnat in the docs; this host's nft accepts that name in prerouting
# only, so it is given as its value, -100.
BASE_CHAINS = {
    "filter-FORWARD": ("filter", "forward", "filter"),
    "nat-OUTPUT": ("nat", "output", "-100"),
    "nat-POSTROUTING": ("nat", "postrouting", "srcnat"),
    "nat-PREROUTING": ("nat", "prerouting", "dstnat"),
    "raw-PREROUTING": ("filter", "prerouting", "raw"),
}
BASE_RULES = {
    "filter-FORWARD": ["oifname vmap @filter-forward-in-jumps", "iifname vmap @filter-forward-out-jumps"],
    "nat-OUTPUT": ["ip daddr != 127.0.0.0/8 fib daddr type local counter jump nat-prerouting-and-output"],
    "nat-POSTROUTING": ["iifname vmap @nat-postrouting-out-jumps", "oifname vmap @nat-postrouting-in-jumps"],
    "nat-PREROUTING": ["fib daddr type local counter jump nat-prerouting-and-output"],
}
# The per-bridge chains, each hooked in through the verdict map named after it.
PER_BRIDGE = {
    "filter-forward-in": "filter-forward-in-jumps",
    "filter-forward-out": "filter-forward-out-jumps",
    "nat-postrouting-in": "nat-postrouting-in-jumps",
    "nat-postrouting-out": "nat-postrouting-out-jumps",
}


def _add(what, body=""):
    return "add %s ip %s %s" % (what, TABLE, body)


def _rule(chain, rule):
    return _add("rule", "%s %s" % (chain, rule))


def _bridge(bridge, published):
    """The commands of one bridge network: {name, subnet, endpoints}; published: its port mappings."""
    name = bridge["name"]
    lines = [_add("chain", "%s__%s" % (prefix, name)) for prefix in PER_BRIDGE]
    forward_in = "filter-forward-in__" + name
    lines += [
        _rule(forward_in, "ct state established,related counter accept"),
        _rule(forward_in, 'iifname "%s" counter accept comment "ICC"' % name),
    ]
    lines += [_rule(forward_in, "ip daddr %(ip)s %(proto)s dport %(port)s counter accept" % p) for p in published]
    lines += [
        _rule(forward_in, 'counter drop comment "UNPUBLISHED PORT DROP"'),
        _rule("filter-forward-out__" + name, "ct state established,related counter accept"),
        _rule("filter-forward-out__" + name, 'counter accept comment "OUTGOING"'),
        _rule(
            "nat-postrouting-out__" + name,
            'oifname != "%s" ip saddr %s counter masquerade comment "MASQUERADE"' % (name, bridge["subnet"]),
        ),
    ]
    lines += [
        _add("element", '%s { "%s" : jump %s__%s }' % (jumps, name, prefix, name))
        for prefix, jumps in PER_BRIDGE.items()
    ]
    lines += [
        _rule("raw-PREROUTING", 'ip daddr %s iifname != "%s" counter drop comment "DROP DIRECT ACCESS"' % (ip, name))
        for ip in bridge["endpoints"]
    ]
    lines += [
        _rule(
            "nat-prerouting-and-output",
            'iifname != "%s" %s dport %s counter dnat to %s:%s comment "DNAT"'
            % (name, p["proto"], p["host_port"], p["ip"], p["port"]),
        )
        for p in published
    ]
    return lines


def nft_script(bridges, published):
    """An `nft -f` script creating the table. bridges: [{name, subnet, endpoints: [ip]}];
    published: [{bridge, ip, proto, port, host_port}]."""
    lines = ["add table ip %s" % TABLE]
    lines += [_add("map", "%s { type ifname : verdict ; }" % name) for name in MAPS]
    for name, (kind, hook, priority) in BASE_CHAINS.items():
        lines.append(
            _add("chain", "%s { type %s hook %s priority %s ; policy accept ; }" % (name, kind, hook, priority))
        )
    lines.append(_add("chain", "nat-prerouting-and-output"))
    for chain, rules in BASE_RULES.items():
        lines += [_rule(chain, rule) for rule in rules]
    for bridge in bridges:
        lines += _bridge(bridge, [p for p in published if p["bridge"] == bridge["name"]])
    return "\n".join(lines) + "\n"
