/*
 * arena.c -- per-message region allocator: a chain of blocks, bump
 * allocation, cleanups run in reverse order.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/arena.h"

struct arena_block {
	struct arena_block *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena_hook {
	struct arena_hook *next;
	void (*fn)(void *);
	void *ptr;
};

struct arena {
	struct arena_block *head;  /* current block, newest first */
	struct arena_block *first; /* kept across resets */
	struct arena_hook *hooks;
	size_t block_size;
	size_t used;
};

#define ARENA_ALIGN (alignof(max_align_t))

static struct arena_block *
arena_block_new(size_t size)
{
	struct arena_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *
arena_new(size_t block_size)
{
	struct arena *a;

	if (block_size < 256)
		block_size = 256;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->block_size = block_size;
	a->first = arena_block_new(block_size);
	if (a->first == NULL) {
		free(a);
		return NULL;
	}
	a->head = a->first;
	return a;
}

static void
arena_run_hooks(struct arena *a)
{
	struct arena_hook *h;

	/* hooks is newest first: reverse order of registration */
	while ((h = a->hooks) != NULL) {
		a->hooks = h->next;
		h->fn(h->ptr);
	}
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b, *next;

	arena_run_hooks(a);
	for (b = a->head; b != a->first; b = next) {
		next = b->next;
		free(b);
	}
	a->head = a->first;
	a->first->used = 0;
	a->first->next = NULL;
	a->used = 0;
}

struct arena *
arena_free(struct arena *a)
{
	if (a == NULL)
		return NULL;
	arena_reset(a);
	free(a->first);
	free(a);
	return NULL;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t off, size;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	off = (b->used + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (off > b->size || n > b->size - off) {
		size = n > a->block_size / 4 ? n : a->block_size;
		b = arena_block_new(size);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
		off = 0;
	}
	p = b->data + off;
	b->used = off + n;
	a->used += n;
	return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

char *
arena_memdup(struct arena *a, const void *src, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, src, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_memdup(a, s, strlen(s));
}

int
arena_cleanup(struct arena *a, void (*fn)(void *), void *ptr)
{
	struct arena_hook *h = arena_alloc(a, sizeof(*h));

	if (h == NULL) {
		fn(ptr);
		return -ENOMEM;
	}
	h->fn = fn;
	h->ptr = ptr;
	h->next = a->hooks;
	a->hooks = h;
	return 0;
}

size_t
arena_used(const struct arena *a)
{
	return a->used;
}
