/*
 * config_rotate.h -- the key rotation part of the configuration: the
 * Rotate* options' values, their checks, the rotation's state file read
 * into the snapshot, and the signers it substitutes.
 *
 * Which keys sign a rotated domain. Rotation never edits the operator's
 * KeyTable or SigningTable. It owns one file, the state file in
 * RotateStateDir, which the daemon reads in addition to the tables at
 * start and on every SIGHUP: once a domain has switched, the state's
 * current keys replace every key the tables would sign with as that
 * domain (d=), and sign the domain's own mail when the tables have no
 * key for it. One file, one rename, one reload: a switch is atomic for
 * the daemon, and a connection keeps the snapshot (and so the keys) it
 * started with. The keys themselves are files rotation makes in
 * RotateKeyDir/DOMAIN/, beside the operator's.
 *
 * Loading (config_rotate_load, from config_load) appends the current
 * keys to config.keys and checks the options together: RotatePublish
 * update needs RotateTSIGKey (read with the rules of private keys:
 * RequireSafeKeys), several key types need %t in RotateSelector, a
 * switch needs PidFile (how rotate finds the daemon), RotateOverlap must
 * be longer than RotateTTL and shorter than RotateInterval. Rotate
 * options without RotateDomains are an error.
 *
 * The daemon acknowledges every snapshot it serves (config_rotate_ack),
 * writing the state generation it loaded to RotateStateDir/loaded: that
 * is how rotate knows the new keys sign before it counts the overlap.
 *
 * Thread rules: as config.h (read-only once loaded).
 */
#ifndef AUTHMILTER_CONFIG_ROTATE_H
#define AUTHMILTER_CONFIG_ROTATE_H

#include "authmilter/config.h"
#include "authmilter/dns_tsig.h"

/* Files in RotateStateDir. */
#define CONFIG_ROTATE_STATE "state"
#define CONFIG_ROTATE_ACK "loaded"
#define CONFIG_ROTATE_LOCK "lock"

/* Defaults. */
#define CONFIG_ROTATE_INTERVAL (90u * 86400)
#define CONFIG_ROTATE_OVERLAP (7u * 86400)
#define CONFIG_ROTATE_TTL 3600u
#define CONFIG_ROTATE_SELECTOR "%Y%m%d-%t"
#define CONFIG_ROTATE_STATE_DIR "/var/lib/authmilter/rotate"

/* config_rotate_duration -- "90d", "12h", "30m", "45s", "2w" (a number
 * and one unit) into seconds. @return NULL, or the reason. */
const char *config_rotate_duration(const char *v, unsigned *ret);

/* config_rotate_types -- RotateKeys, split at its commas: rsa-BITS (1024
 * to 4096) and ed25519, at most one of each type, into ret[] (room for
 * 2). @return NULL, or the reason (in why, cap bytes). */
const char *config_rotate_types(const struct config_strlist *items,
    struct config_rotate_type *ret, size_t *ret_n, char *why, size_t cap);

/* config_rotate_load -- the rotation part of config_load: defaults,
 * checks, the state file, the current keys (appended to cfg->keys, read
 * through pool, which may be NULL: see dkim_key_load_pooled).
 * file names cfg's file in messages. Problems are appended to errors as
 * lines ("file:line: Option: reason"). @return 0 or -EINVAL. */
int config_rotate_load(struct config *cfg, const char *file,
    struct dkim_key_pool *pool, struct buf *errors);

/* config_rotate_free -- release what config_rotate_load and the option
 * parsers stored in cfg->rotate. */
void config_rotate_free(struct config *cfg);

/* config_rotate_signers -- replace, in ret (n signers, room for max),
 * every signer whose d= is a switched rotated domain by that domain's
 * current keys (once, keeping the first one's identity); when n is 0 and
 * from_domain itself is such a domain, its keys. *ret_n is the new
 * count. Pointers borrow from the snapshot. */
void config_rotate_signers(const struct config *cfg, const char *from_domain,
    struct config_signer *ret, size_t n, size_t max, size_t *ret_n);

/* config_rotate_tsig -- read and parse RotateTSIGKey (the rules of key
 * files: RequireSafeKeys). @return 0 and *ret (dns_tsig_clear it), or
 * -errno with the reason in why. */
int config_rotate_tsig(
    const struct config *cfg, struct dns_tsig *ret, struct buf *why);

/* config_rotate_path -- RotateStateDir/name into out (cap bytes).
 * @return 0 or -ENAMETOOLONG. */
int config_rotate_path(
    const struct config *cfg, const char *name, char *out, size_t cap);

/* config_rotate_ack -- the daemon serves cfg now: write the state
 * generation it holds to RotateStateDir/loaded. Nothing when rotation is
 * off or RotateStateDir does not exist yet. @return 0 or -errno. */
int config_rotate_ack(const struct config *cfg);

#endif
