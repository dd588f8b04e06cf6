/* merge-internal.h — what merge.c, extends.c and include.c share: small
   helpers over raw trees that the rest of compose/ does not need. */
#ifndef STACK_MERGE_INTERNAL_H
#define STACK_MERGE_INTERNAL_H

#include "compose-internal.h"

/* The directory part of an absolute path ("/" for a file at the root). */
const char *merge_dir_of (ld_t *ld, const char *abs);
/* How messages name a file: relative to the working directory when inside it. */
const char *merge_display_path (ld_t *ld, const char *abs);
/* Same shape and same scalar texts (marks and key order ignored). */
bool merge_node_equal (const node_t *a, const node_t *b);
/* Drop every value tagged `!reset` left in the tree: what it reset has been
   merged away already, and the tag itself never reaches the model. */
void merge_strip_resets (node_t *n);

#endif
