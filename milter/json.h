/*
 * json.h - JSON output shared by the forcetls tool's commands.
 */
#ifndef FORCETLS_JSON_H
#define FORCETLS_JSON_H

#include <stdio.h>

/* s as a JSON string literal (NULL as null); any bytes, always valid JSON. */
void json_string(FILE *out, const char *s);

#endif
