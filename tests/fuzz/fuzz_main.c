/*
 * fuzz_main.c -- run a libFuzzer target without libFuzzer: feed it every
 * file of the directories (or files) named on the command line (the first,
 * the seed corpus, must exist; the others may be absent). This is
 * the fuzz-regress suite: the seed corpus and every past crash replay on
 * each build, under ASan+UBSan in the sanitizer build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc(n > 0 ? (size_t)n : 1);
	if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	int i, files = 0, errors = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *e;
		DIR *d;

		if (stat(argv[i], &st) != 0) {
			/* an empty repro dir is not in git; the corpus (the
			 * first) must be there */
			if (i == 1) {
				fprintf(stderr, "%s: missing\n", argv[i]);
				errors++;
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			errors += fuzz_file(argv[i]) != 0;
			files++;
			continue;
		}
		d = opendir(argv[i]);
		while (d != NULL && (e = readdir(d)) != NULL) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(
			    path, sizeof(path), "%s/%s", argv[i], e->d_name);
			errors += fuzz_file(path) != 0;
			files++;
		}
		if (d != NULL)
			closedir(d);
	}
	printf("%d inputs replayed, %d unreadable\n", files, errors);
	return errors == 0 && files > 0 ? 0 : 1;
}
