/* store-internal.h — what store.c (the image store) and layer.c (safe
   layer extraction) share.

   A layer is unpacked into a temporary directory beside its final place,
   then renamed there in one step: a crash or an error never leaves a
   half-written layer under its real name. The temporary directory is
   flock'ed while its owner works in it, so a later store operation can tell
   a crash's leftover (nobody holds it) from a concurrent import's work. */
#ifndef STACK_STORE_INTERNAL_H
#define STACK_STORE_INTERNAL_H

#include "runtime-internal.h"

/* "sha256:" and 64 hex digits */
#define RT_DIGEST_LEN (7 + 64)
/* temporary names in layers/ and blobs/sha256/ start with this */
#define RT_TMP_PREFIX ".tmp-"

typedef struct rt_layer_tmp
{
  char *path; /* PARENT/.tmp-XXXXXX */
  int fd;     /* that directory, flock'ed (LOCK_EX) until commit or discard */
  char diff_id[RT_DIGEST_LEN + 1]; /* sha256 of the uncompressed tar: the OCI diff_id */
  uint64_t size;                   /* bytes of the regular files */
} rt_layer_tmp_t;

/* Unpack the tarball read from tar_fd (plain, gzip, bzip2, xz, zstd) into a
   new temporary directory inside parent, computing the diff_id on the way.
   On error nothing remains and *t is cleared. */
int rt_layer_unpack (int tar_fd, const char *parent, rt_layer_tmp_t *t, stack_error_t **err);
/* Rename the temporary directory to final, which must not exist: 0 when
   placed (t is released), 1 when final already exists (t untouched: the
   caller discards it), -1 on error (t untouched). */
int rt_layer_commit (rt_layer_tmp_t *t, const char *final, stack_error_t **err);
/* Remove the temporary directory and release t (diff_id and size are
   kept). Safe to call twice. */
void rt_layer_tmp_discard (rt_layer_tmp_t *t);
/* Remove PARENT/.tmp-* files and directories that nobody holds flock'ed:
   crash leftovers. */
void rt_reap_tmp (const char *parent);

/* Remove `name` below dirfd and everything in it, never following a
   symlink. 0, or -1 with errno. A missing name is success. */
int rt_rm_rf_at (int dirfd, const char *name);

/* sha256 of a buffer as "sha256:<hex>" into out. */
void rt_sha256_digest (const void *data, size_t len, char out[RT_DIGEST_LEN + 1]);

#endif
