#!/bin/sh
# postfix-instance.sh -- a private Postfix on loopback for end-to-end tests.
#
#   postfix-instance.sh start DIR SMTP_PORT SINK_PORT [MILTER]
#   postfix-instance.sh sendmail DIR ARGS...   (Postfix's sendmail command)
#   postfix-instance.sh flush DIR              (deliver the queue now)
#   postfix-instance.sh stop DIR
#
# DIR gets its own config_directory, queue_directory and data_directory,
# so the host's Postfix (if any) is untouched. smtpd listens on
# 127.0.0.1:SMTP_PORT; every message is relayed to an smtp-sink on
# 127.0.0.1:SINK_PORT that writes each delivered message into DIR/sink/.
# MILTER (e.g. unix:/path/sock or inet:127.0.0.1:PORT) is used as
# smtpd_milters and non_smtpd_milters. The hold queue is DIR/queue/hold.
set -eu
cmd=$1
dir=$2
shift 2

pf_start() {
	smtp_port=$1
	sink_port=$2
	milter=${3:-}
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/sink"
	chown postfix "$dir/data" "$dir/sink"
	chmod 755 "$dir" "$dir/queue"
	cp /etc/postfix/master.cf.proto "$dir/etc/master.cf" 2>/dev/null ||
		cp /usr/share/postfix/master.cf.dist "$dir/etc/master.cf"
	# smtpd on our port instead of 25; no other listeners needed
	sed -i "s/^smtp      inet/$smtp_port inet/" "$dir/etc/master.cf"
	sed -i "s/^$smtp_port inet\(.*\)/127.0.0.1:$smtp_port inet\1/" \
		"$dir/etc/master.cf"
	cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
config_directory = $dir/etc
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.authmilter.example
mydomain = authmilter.example
myorigin = \$mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink_port
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit
relay_domains = static:ALL
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
smtputf8_enable = no
alias_maps =
alias_database =
local_recipient_maps =
biff = no
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
meta_directory = /etc/postfix
milter_default_action = accept
milter_protocol = 6
CF
	if [ -n "$milter" ]; then
		printf 'smtpd_milters = %s\nnon_smtpd_milters = %s\n' \
			"$milter" "$milter" >>"$dir/etc/main.cf"
	fi
	# postlog for maillog_file
	grep -q '^postlog' "$dir/etc/master.cf" ||
		printf 'postlog   unix-dgram n  -       n       -       1       postlogd\n' \
			>>"$dir/etc/master.cf"
	pf_sink "$sink_port"
	postfix -c "$dir/etc" check >"$dir/check.log" 2>&1 || true
	postfix -c "$dir/etc" start
	i=0
	while ! (exec 3<>/dev/tcp/127.0.0.1/"$smtp_port") 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "postfix did not start" >&2; exit 1; }
		sleep 0.1
	done
}

# The sink on 127.0.0.1:PORT, waited for until it accepts. Another
# process (a second copy of the suite) may have taken PORT since the
# caller chose it: then the sink moves to a free port and relayhost
# follows it, so Postfix never relays into a refused connection.
pf_sink() {
	p=$1
	tries=0
	while :; do
		smtp-sink -u postfix -d "$dir/sink/%Y%m%d%H%M%S." \
			127.0.0.1:"$p" 50 >"$dir/sink.log" 2>&1 &
		echo $! >"$dir/sink.pid"
		i=0
		while kill -0 "$(cat "$dir/sink.pid")" 2>/dev/null; do
			# connected, and still ours a moment later (not
			# another listener while ours failed to bind)
			if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null &&
			    sleep 0.2 &&
			    kill -0 "$(cat "$dir/sink.pid")" 2>/dev/null; then
				[ "$p" = "$1" ] ||
					postconf -c "$dir/etc" -e \
					    "relayhost = [127.0.0.1]:$p"
				return 0
			fi
			i=$((i + 1))
			[ $i -lt 50 ] || break
			sleep 0.1
		done
		kill "$(cat "$dir/sink.pid")" 2>/dev/null
		tries=$((tries + 1))
		if [ $tries -ge 5 ]; then
			echo "smtp-sink did not listen on 127.0.0.1:$p:" \
			    "$(cat "$dir/sink.log")" >&2
			exit 1
		fi
		p=$(sh "$(dirname "$0")/free-port.sh")
	done
}

case $cmd in
start) pf_start "$@" ;;
sendmail) MAIL_CONFIG="$dir/etc" /usr/sbin/sendmail -C "$dir/etc" "$@" ;;
flush) postqueue -c "$dir/etc" -f ;;
stop)
	postfix -c "$dir/etc" stop 2>/dev/null || true
	[ -f "$dir/sink.pid" ] && kill "$(cat "$dir/sink.pid")" 2>/dev/null
	rm -f "$dir/sink.pid"
	;;
*) echo "usage: $0 start|sendmail|flush|stop DIR ..." >&2; exit 2 ;;
esac
