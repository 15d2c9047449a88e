/*
 * bounds.h -- every hard limit authmilter applies to untrusted input, with
 * the reason it has the value it has. Code never invents a cap locally:
 * it names one of these.
 */
#ifndef AUTHMILTER_BOUNDS_H
#define AUTHMILTER_BOUNDS_H

/* Header fields kept per message. Postfix's header_size_limit is 102400
 * bytes per header and real mail rarely has more than 100 fields; beyond
 * 1000 the message is treated as hostile. */
#define BOUND_HEADER_COUNT 1000
/* Bytes of all header fields together (names and values). */
#define BOUND_HEADER_BYTES (1024 * 1024)
/* One header field (Postfix header_size_limit default). */
#define BOUND_HEADER_FIELD_BYTES 102400
/* Past the three bounds above a message is still evaluated (a limit the
 * message breaks is a fact about it, not our failure): the fields DMARC
 * needs, From and DKIM-Signature, are kept past them in a reserve of
 * their own, and the rest are dropped and counted. Real From fields are
 * well under 1 KB and signatures a few KB; 256 KB holds every From a
 * reader could be shown and MaxSignatures' largest value of signatures.
 * A From that does not fit leaves nothing to evaluate (reject). */
#define BOUND_HEADER_RESERVE_BYTES (256 * 1024)
#define BOUND_HEADER_RESERVE_FIELDS 128
/* DKIM signatures evaluated per message; the rest are reported as not
 * evaluated (default of MaxSignatures). */
#define BOUND_DKIM_SIGNATURES 8
/* Tags in one tag=value list: DKIM-Signature has 15 defined tags, DMARC
 * 11; a list with more than 64 is not a real record. */
#define BOUND_TAGS 64
/* Header names listed in h= of one signature. */
#define BOUND_SIGNED_HEADERS 128
/* Addresses addr_parse_from() returns as a list (the signing decision
 * wants one). Evaluation does not stop there: addr_parse_from_each()
 * visits every address of a field, whatever their number. */
#define BOUND_FROM_ADDRESSES 32
/* RFC 1035 section 2.3.4: names are at most 255 octets, labels 63. */
#define BOUND_DOMAIN_LEN 255
#define BOUND_LABEL_LEN 63
/* Bytes of one TXT answer after concatenating its strings. A DKIM key of
 * 16384 bits is about 2.8 KB of base64; 16 KB leaves room, and more is
 * abuse. */
#define BOUND_TXT_BYTES 16384
/* Records in one DNS answer that are looked at. */
#define BOUND_DNS_RECORDS 64
/* RSA key sizes: RFC 8301 section 3.2 requires >= 1024 for verifying;
 * above 8192 a signature check is a CPU attack. */
#define BOUND_RSA_MIN_BITS 1024
#define BOUND_RSA_MAX_BITS 8192
/* Encoded words decoded in a display name (RFC 2047 section 2: 75 bytes
 * each; this bounds work, not correctness). */
#define BOUND_ENCODED_WORDS 32
/* How long the DNS cache keeps answers (RFC 2181 section 8, RFC 2308
 * section 5): a positive TTL above a day is clamped so a changed key or
 * policy is seen within a day; a negative answer at most an hour (RFC 2308
 * suggests 1-3 h) so a newly published record shows up soon; a tempfail
 * a few seconds, so a dead server is not hammered but recovery is quick.
 * Every TTL is at least 1 s. */
#define BOUND_DNS_TTL_MAX 86400
#define BOUND_DNS_NEG_TTL_MAX 3600
#define BOUND_DNS_TEMPFAIL_TTL 5
/* Parsed DKIM keys kept process-wide (dkim_key_cache): one entry per
 * distinct key record, each the record text (at most BOUND_TXT_BYTES,
 * a few hundred bytes in practice) and its decoded key (about 1-2 KB for
 * RSA-2048). Mail from the domains that send most of it uses a few
 * hundred keys a day; 4096 holds them with room while the cache stays
 * under about 16 MB even for typical records, and a sender who signs with
 * a new key every message only cycles the entries (CLOCK eviction).
 * Entries live at most the record's DNS TTL (clamped as above). */
#define BOUND_KEY_CACHE_ENTRIES 4096

/* DMARC reporting URIs kept per rua/ruf list. Real records list one to
 * three; RFC 9989 sets no limit, so a hostile record could make every
 * report fan out: the rest are skipped with a note. */
#define BOUND_DMARC_URIS 16
/* Bytes of one DMARC reporting URI: "mailto:" plus an RFC 5321 path
 * (256 octets) and an obsolete "!size" suffix fit in 320. */
#define BOUND_DMARC_URI_LEN 320
/* Distinct author domains evaluated per message. RFC 9989 section 11.5:
 * limit the domains processed, since each costs a tree walk (up to 9
 * queries). Any one of the rest could publish p=reject, so they count
 * as failing under p=reject (one stands for them all in the result). */
#define BOUND_DMARC_AUTHOR_DOMAINS 8
/* Distinct authenticated identifiers (DKIM d=, SPF domain) whose
 * organizational domain is walked: BOUND_DKIM_SIGNATURES plus SPF. */
#define BOUND_DMARC_IDENTIFIERS (BOUND_DKIM_SIGNATURES + 1)
/* Notes (ignored tags, skipped URIs) kept per parsed DMARC record. */
#define BOUND_DMARC_NOTES 8
/* Bytes of one SPF macro expansion (RFC 7208 section 7). A domain is cut
 * to 253 bytes after expansion and an explanation is one line of text;
 * 8 KB is far above both and bounds what a record full of %{s} can make
 * an evaluation build. */
#define BOUND_SPF_MACRO_BYTES 8192

/* One line of a configuration file or opendkim-format table. opendkim
 * reads lines into a 1 KB-4 KB buffer; 8 KB is generous for a key name,
 * a key path and a comment, and bounds the work per line. */
#define BOUND_CONFIG_LINE_BYTES 8192
/* An author address as a SigningTable lookup key: RFC 5321 section
 * 4.5.3.1.1/4.5.3.1.2 allow 64 octets of local part and 255 of domain;
 * longer addresses are not looked up (they are not signed). */
#define BOUND_TABLE_KEY_BYTES (64 + 1 + 255)
/* Signatures one message may get from the SigningTable (dual RSA and
 * Ed25519 signing needs 2; more than 16 is a table mistake). */
#define BOUND_SIGNING_KEYS 16
/* Entries (options, table lines) in one configuration source; bounds the
 * memory a runaway generated table can take (opendkim has no limit). */
#define BOUND_TABLE_ENTRIES 1000000

/* One spool record as a JSON line, newline included. A record with the
 * largest legal content (BOUND_SPOOL_DKIM results with domains, selectors
 * and short human_result texts, a few reasons, a few rua URIs) stays well
 * under 64 KB; anything longer is not written and not read. */
#define BOUND_SPOOL_RECORD_BYTES 65536
/* DKIM results per spool record and per report row: RFC 9990 section
 * "DKIM Signatures in Aggregate Reports": a report SHOULD contain no more
 * than 100 signatures for a given row. */
#define BOUND_SPOOL_DKIM 100
/* Override reasons per record: RFC 9990 defines five reason types; one
 * message has at most a few. */
#define BOUND_SPOOL_REASONS 8
/* rua URIs kept per record and report destinations tried per report (a
 * receiver MAY limit the URIs it reports to, RFC 9990 "Report
 * Delivery"): as many as the dmarc module keeps, so no record it writes
 * is refused. */
#define BOUND_SPOOL_RUA BOUND_DMARC_URIS
/* Free-text fields of a record (human_result, reason comments, fo):
 * enough for an explanation, not for a payload. */
#define BOUND_SPOOL_TEXT 1024
/* Distinct rows one report run aggregates in memory (all domains of one
 * day together): each costs a few hundred bytes, so this caps a run at
 * a few hundred MB whatever the spool holds. */
#define BOUND_REPORT_ROWS 2000000
/* One report mail (the base64 attachment plus headers): RFC 9990 asks
 * for gzip so reports fit receivers' SMTP size limits; Postfix's default
 * message_size_limit is 10240000 bytes. */
#define BOUND_REPORT_MAIL_BYTES 10240000

/* ARC sets on one message: RFC 8617 section 4.2.1 (instances 1..50) and
 * section 5.2 step 1 (more is a failed chain); nothing is sealed past
 * it. */
#define BOUND_ARC_SETS 50
/* Passes recorded by the ARC-Authentication-Results of one chain that
 * DMARC's trusted-sealer policy looks at: a set records a few (dkim,
 * spf, dmarc); more than this is not a real chain. */
#define BOUND_ARC_CLAIMS 64
/* An ARC-Authentication-Results payload we build from our own
 * Authentication-Results fields (the A-R value bound of verdict, with
 * room for a second one on a re-injected message). */
#define BOUND_ARC_AAR_BYTES 32768

/* The local part of a DKIM i= identity: RFC 5321 section 4.5.3.1.1
 * allows 64 octets; a longer one is not an address and would only carry
 * bulk into results and headers. */
#define BOUND_LOCAL_PART_LEN 64

/* The milter's connections (src/milter/conns.h). MaxConnections when the
 * descriptor limit allows more: 40 times Postfix's default_process_limit
 * (100 smtpd processes, one milter connection each). A connection may
 * hold one of libmilter's worker threads while a command arrives, so this
 * bounds the threads too. */
#define BOUND_MILTER_CONNECTIONS 4096
/* Descriptors kept for all but the connections: listening socket, log,
 * the files of a reload, the helper threads' pipes. */
#define BOUND_MILTER_FD_RESERVE 64
/* With MaxConnections open, a connection that has begun no SMTP session
 * is closed to make room for a new one once it has been quiet this long
 * (ms): an MTA sends the connect step right after negotiating. */
#define BOUND_MILTER_EVICT_MS 1000
/* How long an accept() that failed for want of descriptors or memory
 * waits before libmilter tries again (ms): 10 tries a second. */
#define BOUND_MILTER_ACCEPT_BACKOFF_MS 100
/* libmilter's own timeout (smfi_settimeout, seconds): for a reply the MTA
 * does not read, and for a quiet SMTP session, which libmilter closes.
 * Longer than any session Postfix keeps open (smtpd_recipient_limit 1000
 * RCPT commands, which the milter may not see, of smtpd_timeout 300 s
 * each: 83 hours), so it never ends a live one; within the 24.8 days
 * libmilter's poll timeout in milliseconds (an int) can hold. */
#define BOUND_MILTER_SESSION_IDLE (7 * 86400)
/* Bytes read ahead on a milter connection (conns.h): one read takes what
 * the MTA has written so far, up to this, and libmilter's next reads and
 * polls are served from it. An MTA writes the header fields of a message
 * back to back, each its own command (macros, header, end of header:
 * 1-2 KB for a typical message); 4 KB takes them in one or two reads.
 * Held only while bytes are waiting, so a quiet connection holds none. */
#define BOUND_MILTER_READAHEAD 4096

/* DMARC failure reports (RFC 9991; failure.h). The header section copied
 * into a failure record: RFC 9991 section 2 wants "as much of the message
 * header fields ... as possible"; 256 KB holds every real header section
 * and the reserve of msg.h, and past it the copy is cut at a field
 * boundary and marked so. */
#define BOUND_FAILURE_HEADER_BYTES (256 * 1024)
/* The most body FailureReportsBodies may keep: a report must stay far
 * below receivers' message size limits (Postfix 10240000 bytes) after
 * base64 in the spool; the default is no body at all. */
#define BOUND_FAILURE_BODY_BYTES (1024 * 1024)
/* Envelope recipients recorded (Original-Rcpt-To): one message to a
 * mailing list can have thousands; the report needs a few. */
#define BOUND_FAILURE_RCPTS 16
/* One failure record as a JSON line: the header section and body in
 * base64 (4/3) plus 64 KB for the rest. */
#define BOUND_FAILURE_RECORD_BYTES                                             \
	((BOUND_FAILURE_HEADER_BYTES + BOUND_FAILURE_BODY_BYTES) / 3 * 4 +     \
	    65536)
/* Keys (policy domains, destinations) the rate-limit state file keeps:
 * each line is a few hundred bytes, so the file stays under 40 MB. */
#define BOUND_FAILURE_RATE_KEYS 100000
/* Tries for one failure record whose destinations had a temporary DNS
 * failure or whose mail sendmail refused: a report days late is of no
 * use (RFC 9991 section 2: "sent almost immediately"). */
#define BOUND_FAILURE_ATTEMPTS 12

/* ---- key rotation ---- */

/* A TSIG secret, decoded: RFC 2104 hashes an HMAC key longer than the
 * hash's block (64 bytes for SHA-256, 128 for SHA-384/512) down to the
 * hash size, so longer secrets add nothing; tsig-keygen and keymgr make
 * 32 to 64 bytes. */
#define BOUND_TSIG_SECRET_BYTES 128
/* Authoritative servers asked per zone (NS names, and addresses per
 * name): real zones have 2 to 8 NS records with one or two addresses
 * each; a zone listing more is checked on its first ones only and the
 * check says so. */
#define BOUND_ROTATE_NS 16
#define BOUND_ROTATE_NS_ADDRS 4
/* How long a switch waits for negative caches after a new record is
 * seen everywhere: the zone's SOA MINIMUM (RFC 2308 section 5 caches a
 * negative answer for min(SOA TTL, MINIMUM)), but at most 3 hours,
 * the longest negative TTL common resolvers keep (BIND max-ncache-ttl, Unbound
 * cache-max-negative-ttl defaults are 3 h and 1 h). */
#define BOUND_ROTATE_NEG_WAIT 10800
/* Domains one rotation state file holds, and keys per domain: current
 * and next keys of up to two types, and the old keys, which at the first
 * rotation are whatever the operator's tables signed with (at most
 * BOUND_SIGNING_KEYS). */
#define BOUND_ROTATE_DOMAINS 10000
#define BOUND_ROTATE_KEYS (4 + BOUND_SIGNING_KEYS)

/* Bytes of SpoolDir/report-state (report_state.h): six lines of at most
 * 34 bytes, and room for names a later version adds; a longer file is
 * not ours. */
#define BOUND_REPORT_STATE_BYTES 4096
/* Metrics (metrics.h, MetricsListen). Values of one dynamic label
 * (signing domains from the KeyTable, MetricsDomains): each is a series
 * summed on every scrape, so the scrape stays well under a millisecond
 * with this many; a hosting setup with more signing domains sees the
 * rest under "%". */
#define BOUND_METRICS_DOMAINS 4096
/* Stripes of a counter: one per CPU up to this; more CPUs share them
 * (an add stays one atomic instruction). Memory is 8 bytes per series
 * and stripe: the signing domains at their bound take 1 MB at 16. */
#define BOUND_METRICS_STRIPES 16
/* HTTP connections the listener serves at once, and the seconds an idle
 * or slow one is kept: a scraper needs one; the rest only bound what a
 * stuck or hostile local client can hold. */
#define BOUND_METRICS_CONNECTIONS 16
#define BOUND_METRICS_TIMEOUT 10
/* Bytes of one HTTP request (line and header fields) the listener reads:
 * a scrape request is a few hundred. */
#define BOUND_METRICS_REQUEST_BYTES 16384
/* Bytes of one scrape's output: a few hundred series of 100 bytes, plus
 * a line per dynamic label value and key. */
#define BOUND_METRICS_OUTPUT_BYTES (8 * 1024 * 1024)

#endif
