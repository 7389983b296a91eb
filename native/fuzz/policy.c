/* libFuzzer target: the program policy's native side (native/policy.c, native/engine_policy.c)
 * under ASan/UBSan, without Node. Built and run by scripts/fuzz-native.sh (npm run fuzz:native).
 * fuzz-sources: native/policy.c native/engine_policy.c native/engine_groups.c native/mem.c
 *
 * The policy is the one src/ops/policy.ts derives from the opcode table, read from the file
 * $RF_POLICY (node dist/tools/fuzz-policy.js --emit-policy FILE). Regions are mmap'd with a
 * PROT_NONE page on each side, so the policy reading one byte outside a region (a path scan, a
 * copy, a nested pointer) faults at once.
 *
 * Input, first byte:
 *   'P'  the rest is a serialised policy: validated; if the validation accepts it, it is loaded
 *        into a fresh engine and fixed SQEs are checked with it (a policy that passes the native
 *        validation must be safe to interpret, whatever its contents);
 *   else bit 0 = helper 1000 (else 164), then 64 SQE bytes, then region contents. 8-byte words of
 *        the SQE and of region contents whose top byte is 0xA5 become addresses near a region edge
 *        (region (w >> 16) & 3, offset (w & 0xffff) - 0x8000 from its end when bit 47 is set, else
 *        from its start), so pointers land inside, at, and just past the edges. */
#include "../engine_internal.h"
#include "../policy.h"
#include "policy_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define NREG 4
static const size_t reg_len[NREG] = {4096, 100, 8192, 17};
static const bool reg_w[NREG] = {true, false, true, true};
static uint8_t *reg[NREG];
static rf_engine *E;
static uint8_t *policy_bytes;
static size_t policy_len;

static uint8_t *guarded(size_t len) {
  size_t page = 4096, span = (len + page - 1) / page * page;
  uint8_t *m = mmap(NULL, span + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) abort();
  if (mprotect(m + page, span, PROT_READ | PROT_WRITE)) abort();
  return m + page + (span - len); /* ends right at the guard page */
}

static rf_engine *engine_with(const uint8_t *bytes, size_t len) {
  rf_engine *e = calloc(1, sizeof *e);
  if (!e) abort();
  for (int i = 0; i < NREG; i++) e->regions[i] = (uregion){.base = (uint64_t)(uintptr_t)reg[i], .len = reg_len[i], .writable = reg_w[i]};
  e->nregions = NREG;
  e->progs[0] = (void *)(uintptr_t)1; /* a registered program (the policy only asks whether it is there) */
  e->nprogs = 1;
  if (rf_policy_load(e, bytes, len) != 0) {
    free(e);
    return NULL;
  }
  for (int fd = 3; fd < 8; fd++) fd_set_allowed(e, fd, true);
  int d = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0 && rf_policy_grant(e, d, d & 1) != 0) close(d);
  return e;
}

static void drop(rf_engine *e) {
  rf_policy_free(e);
  free(e->fdbits);
  free(e);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  policy_bytes = read_policy_file("policy fuzz", &policy_len);
  for (int i = 0; i < NREG; i++) reg[i] = guarded(reg_len[i]);
  if (!(E = engine_with(policy_bytes, policy_len))) {
    fprintf(stderr, "policy fuzz: RF_POLICY is not a valid policy\n");
    exit(2);
  }
  return 0;
}

static uint64_t fix(uint64_t w) {
  if (w >> 56 != 0xA5) return w;
  unsigned r = (w >> 16) & 3;
  int64_t off = (int64_t)(w & 0xffff) - 0x8000;
  uint64_t base = (uint64_t)(uintptr_t)reg[r];
  return (w >> 47 & 1) ? base + reg_len[r] + (uint64_t)off : base + (uint64_t)off;
}

static void check(rf_engine *e, const uint8_t *in, bool modern) {
  uint8_t sqe[64];
  memcpy(sqe, in, 64);
  for (int i = 0; i < 64; i += 8) wr64(sqe, i, fix(rd64(sqe, i)));
  void *scratch = NULL;
  int rc = rf_engine_check_sqe(e, sqe, modern, &scratch);
  if (rc > 0 || (rc < 0 && scratch)) abort();
  scratch_free(e, scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] == 'P') {
    if (rf_policy_validate(data + 1, size - 1) != 0) return 0;
    rf_engine *e = engine_with(data + 1, size - 1);
    if (!e) abort(); /* validated, so it loads */
    uint8_t sqe[64] = {0};
    for (unsigned op = 0; op < 256; op += 1) {
      memset(sqe, 0, 64);
      sqe[0] = (uint8_t)op;
      check(e, sqe, true);
      for (int i = 1; i < 64; i++) sqe[i] = (uint8_t)(op * 7 + i);
      check(e, sqe, op & 1);
    }
    drop(e);
    return 0;
  }
  if (size < 65) return 0;
  /* region contents: what follows the SQE, with its pointer-looking words fixed up */
  size_t at = 65;
  for (int i = 0; i < NREG && at < size; i++) {
    size_t n = size - at < reg_len[i] ? size - at : reg_len[i];
    memcpy(reg[i], data + at, n);
    for (size_t k = 0; k + 8 <= n; k += 8) wr64(reg[i], (int)k, fix(rd64(reg[i], (int)k)));
    at += n;
  }
  check(E, data + 1, data[0] & 1);
  return 0;
}
