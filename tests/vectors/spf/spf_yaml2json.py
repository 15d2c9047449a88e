#!/usr/bin/python3
"""Convert an OpenSPF test-suite YAML file to the JSON the C runner reads.

Usage: spf_yaml2json.py SUITE.yml  (JSON on standard output)

Each scenario's zonedata becomes, per name and query type (A, AAAA, MX,
TXT, PTR), either the records a resolver would return or a timeout, as
the suite's format describes it (MANIFEST.md of the test data):
  * SPF entries are served as TXT unless the name has a TXT entry;
    such generated TXT records come after every listed entry;
  * "TXT: NONE" is no record (it only stops the SPF-to-TXT copy);
  * a TIMEOUT entry makes a query time out unless a record of the
    queried type was listed before it; "TYPE: TIMEOUT" times out that
    type only;
  * CNAME entries are followed (the in-process zone has no CNAME type):
    the alias is given the target's answer; a loop times out.
Record data is hex-encoded so any byte survives JSON.
"""
import json
import sys

import yaml

TYPES = ('A', 'AAAA', 'MX', 'TXT', 'PTR')
CNAME_HOPS = 8


def entries(rdata):
    """The entries of one name in the order a lookup sees them."""
    out, generated, copy_spf = [], [], True
    for entry in rdata:
        if not isinstance(entry, dict):
            out.append(('TIMEOUT', None))
            continue
        for rtype, value in entry.items():
            if rtype == 'TXT':
                copy_spf = False
            elif rtype == 'SPF' and copy_spf:
                generated.append(('TXT', value))
            if value != 'NONE':
                out.append((rtype, value))
    if copy_spf:
        out.extend(generated)
    return out


def lookup(zone, name, qtype):
    """('records', [values]) or ('timeout', None) for one own name."""
    found, seen = [], False
    for rtype, value in zone.get(name, []):
        if rtype == 'TIMEOUT':
            return ('records', found) if seen else ('timeout', None)
        if rtype == qtype:
            seen = True
            if value == 'TIMEOUT':
                return ('timeout', None)
            found.append(value)
    return ('records', found)


def resolve(zone, name, qtype):
    """Follow CNAMEs the way a recursive resolver would."""
    for _ in range(CNAME_HOPS):
        kind, found = lookup(zone, name, qtype)
        if kind == 'timeout' or found:
            return kind, found
        cname = [v for t, v in zone.get(name, []) if t == 'CNAME']
        if not cname:
            return kind, found
        name = cname[0].lower().rstrip('.')
    return ('timeout', None)


def txt_bytes(value):
    strings = value if isinstance(value, list) else [value]
    return b''.join(str(s).encode('utf-8') for s in strings)


def rr(qtype, value):
    if qtype == 'MX':
        return {'pref': int(value[0]),
                'data': str(value[1]).encode('utf-8').hex()}
    if qtype == 'TXT':
        return {'data': txt_bytes(value).hex()}
    return {'data': str(value).encode('utf-8').hex()}


def scenario(doc):
    zone = {}
    for name, rdata in (doc.get('zonedata') or {}).items():
        zone[str(name).lower().rstrip('.')] = entries(rdata or [])
    records, faults = [], []
    for name in zone:
        for qtype in TYPES:
            kind, found = resolve(zone, name, qtype)
            if kind == 'timeout':
                faults.append({'name': name, 'type': qtype})
                continue
            for value in found:
                r = rr(qtype, value)
                r.update({'name': name, 'type': qtype})
                records.append(r)
    tests = []
    for tname, t in (doc.get('tests') or {}).items():
        result = t['result']
        tests.append({
            'name': tname,
            'spec': str(t.get('spec', '')),
            'host': str(t['host']),
            'helo': str(t.get('helo', '')),
            'mailfrom': str(t.get('mailfrom', '')),
            'result': result if isinstance(result, list) else [result],
            'explanation': t.get('explanation'),
        })
    return {'description': doc.get('description', ''),
            'records': records, 'faults': faults, 'tests': tests}


def main():
    with open(sys.argv[1], 'rb') as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    json.dump({'file': sys.argv[1],
               'scenarios': [scenario(d) for d in docs]}, sys.stdout)


if __name__ == '__main__':
    main()
