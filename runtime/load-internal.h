/* load-internal.h — what load.c (the formats) asks of load-src.c (the
   files of an archive or a layout directory). */
#ifndef STACK_LOAD_INTERNAL_H
#define STACK_LOAD_INTERNAL_H

#include "store-internal.h"

/* a component longer than this is refused: its flat name must fit NAME_MAX */
#define COMPONENT_MAX 200

/* Where the files are: a layout directory, or our copy of an archive. */
struct src
{
  const char *path; /* as the user named it */
  int dirfd;
  char *tmp;     /* our copy (flat names), removed at the end; NULL: a directory */
  json_t *sums;  /* flat name → [digest, size], computed once */
  json_t *links; /* our copy: flat name → the flat name it links to */
  char buf[64 * 1024];
};

/* Open path: a directory as it is, anything else (a file, a pipe) read
   as a tar (plain or compressed) and copied into a private directory. */
int src_open_path (struct src *src, rt_store_t *s, const char *path, stack_error_t **err);
/* Remove our copy, if any. */
void src_close (struct src *src);
/* Open, test for, read a file the archive names (a manifest's string, not
   a tar entry): refused when the name leaves the archive. */
int src_open (struct src *src, const char *raw, stack_error_t **err);
bool src_has (struct src *src, const char *raw);
int src_read (struct src *src, const char *raw, char **data, size_t *len, stack_error_t **err);
/* sha256 and size of a file, computed once (while copying an archive). */
int src_sum (struct src *src, const char *raw, char digest[RT_DIGEST_LEN + 1], uint64_t *size,
             stack_error_t **err);
/* The digest a file's clean name claims (blobs/sha256/HEX, HEX.json). */
bool name_claims (const char *clean, char out[RT_DIGEST_LEN + 1]);

#endif
