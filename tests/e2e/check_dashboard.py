#!/usr/bin/python3
# check_dashboard.py DASHBOARD SCRAPE [PROMETHEUS_URL] -- the Grafana
# dashboard (packaging/grafana/authmilter.json) is what Grafana's import
# takes: valid JSON, a schemaVersion, a uid and title, the data source as
# a template variable that every panel and target uses, panels on the
# 24-column grid with unique ids, a PromQL target in every panel that is
# not a row; every authmilter_* metric its queries name is in SCRAPE (a
# real scrape of the daemon); with PROMETHEUS_URL every query is
# evaluated by that Prometheus ($__rate_interval as 1m, $instance as
# .*) and must not be an error. Prints one line per problem; exit 1 if
# any.
import json
import re
import sys
import urllib.parse
import urllib.request

problems = []


def problem(what):
    problems.append(what)
    print("FAIL -", what)


def main(argv):
    with open(argv[1]) as f:
        d = json.load(f)
    with open(argv[2]) as f:
        scraped = {m.group(1) for m in
                   re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[ {]", f.read(),
                               re.M)}
    prom = argv[3] if len(argv) > 3 else None
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 30:
        problem("schemaVersion missing or older than 30")
    for k in ("uid", "title"):
        if not isinstance(d.get(k), str) or not d[k]:
            problem("no %s" % k)
    variables = {v.get("name"): v for v in d.get("templating", {}).get(
        "list", [])}
    ds = variables.get("datasource")
    if ds is None or ds.get("type") != "datasource" or \
            ds.get("query") != "prometheus":
        problem("no Prometheus data source template variable")
    ids = set()
    exprs = []
    for p in d.get("panels", []):
        pid = p.get("id")
        if not isinstance(pid, int) or pid in ids:
            problem("panel id %r missing or repeated" % pid)
        ids.add(pid)
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "xywh") or \
                g["x"] + g["w"] > 24:
            problem("panel %r: bad gridPos %r" % (pid, g))
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problem("panel %r: data source is not ${datasource}" % pid)
        targets = p.get("targets", [])
        if not targets:
            problem("panel %r: no target" % pid)
        for t in targets:
            if not t.get("expr") or not t.get("refId"):
                problem("panel %r: target without expr or refId" % pid)
                continue
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problem("panel %r: target data source" % pid)
            exprs.append(t["expr"])
    names = set()
    for e in exprs:
        names.update(re.findall(r"\b(authmilter_[a-z0-9_]+)", e))
    for n in sorted(names):
        if n not in scraped:
            problem("%s is not in the scrape" % n)
    if prom:
        for e in exprs:
            q = e.replace("$__rate_interval", "1m").replace("$instance",
                                                            ".*")
            url = prom + "/api/v1/query?" + urllib.parse.urlencode(
                {"query": q})
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    ok = json.load(r).get("status") == "success"
            except Exception as x:  # an HTTP 400 is a bad query
                ok = False
                print("  ", x)
            if not ok:
                problem("Prometheus does not evaluate: %s" % q)
    print("%d panels, %d queries, %d metric names; %d problems" %
          (len(ids), len(exprs), len(names), len(problems)))
    return 1 if problems else 0


sys.exit(main(sys.argv))
