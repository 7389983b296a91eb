/* For the native fuzz targets that load the program policy: the serialised policy
 * src/ops/policy.ts derives from the opcode table, read from the file $RF_POLICY (written by
 * scripts/fuzz-native.sh with node dist/tools/fuzz-policy.js --emit-policy FILE). */
#ifndef RINGFLOW_FUZZ_POLICY_FILE_H
#define RINGFLOW_FUZZ_POLICY_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads $RF_POLICY into a malloc'd buffer; exits with a message naming `who` when it cannot. */
static inline uint8_t *read_policy_file(const char *who, size_t *len) {
  const char *path = getenv("RF_POLICY");
  FILE *f = path ? fopen(path, "rb") : NULL;
  uint8_t *bytes = f ? malloc(1 << 20) : NULL;
  if (!bytes) {
    fprintf(stderr, "%s: set RF_POLICY to a serialised policy (node dist/tools/fuzz-policy.js --emit-policy FILE)\n", who);
    exit(2);
  }
  *len = fread(bytes, 1, 1 << 20, f);
  fclose(f);
  return bytes;
}

#endif
