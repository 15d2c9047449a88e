/*
 * arena.h -- per-message region allocator with cleanup hooks.
 *
 * Everything a message needs (header copies, parsed signatures, results)
 * comes from its arena and is released at once by arena_reset() (the next
 * message reuses the first block) or arena_free(). Foreign objects (OpenSSL
 * contexts, DNS answers) are registered with arena_cleanup() and released
 * in reverse order of registration on reset/free, so aborting a message is
 * one call.
 *
 * Allocation failure returns NULL: per-message code must check and return
 * -ENOMEM. Not thread-safe: one arena per message per thread.
 */
#ifndef AUTHMILTER_ARENA_H
#define AUTHMILTER_ARENA_H

#include <stddef.h>

struct arena;

/* arena_new -- an arena whose blocks are at least block_size bytes.
 * @return the arena (caller frees with arena_free), NULL on ENOMEM. */
struct arena *arena_new(size_t block_size);
/* arena_free -- run the cleanups and release all memory. NULL is a no-op.
 * @return NULL */
struct arena *arena_free(struct arena *a);
/* arena_reset -- run the cleanups and forget every allocation, keeping the
 * first block for reuse. */
void arena_reset(struct arena *a);

/* arena_alloc -- n bytes aligned for any type (max_align_t); arena-owned.
 * @return the memory, or NULL on ENOMEM. */
void *arena_alloc(struct arena *a, size_t n);
/* arena_zalloc -- as arena_alloc, zero-filled. */
void *arena_zalloc(struct arena *a, size_t n);
/* arena_memdup -- copy n bytes and add a NUL after them (arena-owned).
 * @return the copy, or NULL on ENOMEM. */
char *arena_memdup(struct arena *a, const void *p, size_t n);
/* arena_strdup -- copy a C string (arena-owned); NULL on ENOMEM. */
char *arena_strdup(struct arena *a, const char *s);

/* arena_cleanup -- call fn(ptr) when the arena is reset or freed.
 * @return 0, or -ENOMEM (then fn(ptr) has been called already, so the
 * caller never leaks what it tried to register). */
int arena_cleanup(struct arena *a, void (*fn)(void *), void *ptr);

/* arena_used -- bytes handed out since the last reset (for statistics). */
size_t arena_used(const struct arena *a);

#endif
