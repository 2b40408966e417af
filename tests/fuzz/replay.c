/*
 * replay.c - run a fuzz target over files without libFuzzer, so that the
 * seed corpus and past crashers replay in every `make check` (also under
 * the sanitizers). Prints TAP: one result for the whole corpus (a crash
 * on any input ends the process, which fails it).
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
    int count, inputs = 0;

    if (argc == 2) {
        snprintf(dir, sizeof(dir), "%s", argv[1]);
    } else {
        const char *top = getenv("top_srcdir");

        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".", FUZZ_NAME);
    }
    count = list_dir(dir, &names);
    printf("1..1\n");
    if (count < 0) {
        printf("not ok 1 - no corpus at %s\n", dir);
        return 1;
    }
    for (int i = 0; i < count; i++) {
        char path[sizeof(dir) + 260];
        size_t size;
        uint8_t *data;

        if (names[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            data = read_file(path, &size);
            if (data == NULL) {
                printf("not ok 1 - %s unreadable\n", names[i]->d_name);
                return 1;
            }
            LLVMFuzzerTestOneInput(data, size);   /* a crash fails the test */
            free(data);
            inputs++;
        }
        free(names[i]);
    }
    printf("ok 1 - %d inputs of %s replayed\n", inputs, FUZZ_NAME);
    free(names);
    return 0;
}
