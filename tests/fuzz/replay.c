/*
 * replay.c - run a fuzz target over files without libFuzzer, so that the
 * seed corpus and past crashers replay in every `make check` (also under
 * the sanitizers). Prints TAP: one result per file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read a whole small file into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);

    *size = 0;
    if (f == NULL || buf == NULL) {
        if (f)
            fclose(f);
        free(buf);
        return NULL;
    }
    *size = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Names of the files in dir, sorted. */
static int list_dir(const char *dir, struct dirent ***names)
{
    return scandir(dir, names, NULL, alphasort);
}

int main(int argc, char **argv)
{
    struct dirent **names;
    char dir[4096];
    int count, test = 0;

    if (argc == 2) {
        snprintf(dir, sizeof(dir), "%s", argv[1]);
    } else {
        const char *top = getenv("top_srcdir");

        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".", FUZZ_NAME);
    }
    argv[1] = dir;
    count = list_dir(argv[1], &names);
    if (count < 0) {
        printf("1..0 # SKIP no corpus at %s\n", argv[1]);
        return 0;
    }
    printf("1..%d\n", count - 2 > 0 ? count - 2 : 0);
    for (int i = 0; i < count; i++) {
        char path[4096];
        size_t size;
        uint8_t *data;

        if (names[i]->d_name[0] == '.') {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]->d_name);
        data = read_file(path, &size);
        if (data == NULL) {
            printf("not ok %d - %s unreadable\n", ++test, names[i]->d_name);
        } else {
            LLVMFuzzerTestOneInput(data, size);   /* a crash fails the test */
            printf("ok %d - %s\n", ++test, names[i]->d_name);
        }
        free(data);
        free(names[i]);
    }
    free(names);
    return 0;
}
