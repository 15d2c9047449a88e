#!/bin/sh
# free-port.sh -- print a random port (20000-49999) on which nothing of
# this host listens right now, TCP or UDP. Another process may still take
# it before the caller binds: callers that can, retry.
while :; do
	p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
	ss -Hltnu "sport = :$p" 2>/dev/null | grep -q . || break
done
echo "$p"
