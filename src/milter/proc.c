/*
 * proc.c -- descriptors and thread states of this process from /proc
 * (proc.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

int
proc_find_fd(proc_fd_match *match, void *ctx)
{
	struct dirent *de;
	int fd, found = -1;
	char *end;
	long n;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		n = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    *end != '\0' || n < 0 || n > 0x7fffffff)
			continue; /* "." and ".." */
		fd = (int)n;
		if (fd != dirfd(d) && fd > found && match(fd, ctx))
			found = fd;
	}
	closedir(d);
	return found >= 0 ? found : -ENOENT;
}

bool
proc_thread_sleeps(pid_t tid)
{
	char path[64], line[512], *p;
	bool sleeps = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", (long)tid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	/* "TID (COMM) STATE ...": COMM may hold ") ", so the state follows
	 * the last ')' */
	if (fgets(line, sizeof(line), f) != NULL &&
	    (p = strrchr(line, ')')) != NULL)
		sleeps = p[1] == ' ' && p[2] == 'S';
	fclose(f);
	return sleeps;
}
