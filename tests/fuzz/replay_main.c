/* replay_main: runs a libFuzzer target without libFuzzer (built with gcc +
 * ASan/UBSan for `make test`). Every argument is a file, or a directory
 * whose regular files (not recursing) are each one input; each is read
 * whole and given to LLVMFuzzerTestOneInput once, in sorted order. Prints
 * "replayed N inputs" and exits 0, or 1 when a file cannot be read; a
 * sanitizer report aborts the process (the runner counts that as failed). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file through the target. 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    size_t cap = 4096, n = 0;
    uint8_t *p = malloc(cap);
    if (!p) { fclose(f); return -1; }
    size_t got;
    while ((got = fread(p + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *q = realloc(p, cap *= 2);
            if (!q) { free(p); fclose(f); return -1; }
            p = q;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(p); perror(path); return -1; }
    /* An exact-size copy, so a read past the input is an ASan report. */
    uint8_t *in = malloc(n ? n : 1);
    if (!in) { free(p); return -1; }
    memcpy(in, p, n);
    free(p);
    LLVMFuzzerTestOneInput(in, n);
    free(in);
    return 0;
}

/* qsort comparator of two char * (strcmp order). */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of dir, in name order. Adds to *count;
 * returns 0 or -1 (unreadable directory or file). */
static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) { perror(dir); return -1; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **q = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!q) { closedir(d); return -1; }
            names = q;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) { closedir(d); return -1; }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i])) rc = -1;
            else (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* Replay each argument (file or directory). */
int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue; /* a missing crashes/ dir is fine */
        if (S_ISDIR(st.st_mode)) { if (replay_dir(argv[i], &count)) rc = 1; }
        else if (replay_file(argv[i])) rc = 1;
        else count++;
    }
    printf("replayed %zu inputs\n", count);
    return rc;
}
