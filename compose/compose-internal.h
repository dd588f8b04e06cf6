/* compose-internal.h — what the files of compose/ share and nobody else sees.

   The loader works on one tree type, node_t, from the first YAML event to the
   final model: parse (yaml.c) → interpolate (interpolate.c) → include and
   merge the -f files (include.c, merge.c) → extends (extends.c) → profiles
   (profiles.c) → validate and normalize into canonical shapes (normalize*.c)
   → dependency graph (graph.c).  Every node remembers where it came from
   (mark_t), so any stage can report `FILE:LINE:COL: key.path: reason`.
   All nodes and strings of one load live in one arena and are freed together. */
#ifndef STACK_COMPOSE_INTERNAL_H
#define STACK_COMPOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"
#include "compose.h"

/* ------------------------------------------------------------------ */
/* Where a node came from                                              */
/* ------------------------------------------------------------------ */

typedef struct source
{
  const char *path; /* as shown in messages: the name the user gave */
  const char *dir;  /* absolute; relative paths in this file resolve against it */
} source_t;

typedef struct mark
{
  const source_t *src; /* NULL for nodes we synthesize without an origin */
  unsigned line, col;  /* 1-based */
} mark_t;

/* ------------------------------------------------------------------ */
/* The tree                                                            */
/* ------------------------------------------------------------------ */

enum node_kind
{
  N_NULL,
  N_SCALAR, /* raw YAML scalar, type not decided yet (see NODE_QUOTED) */
  N_STR,    /* typed by normalization */
  N_INT,
  N_FLOAT,
  N_BOOL,
  N_SEQ,
  N_MAP,
};

enum node_flags
{
  NODE_QUOTED = 1 << 0,   /* scalar was quoted or a block scalar: always a string */
  NODE_RESET = 1 << 1,    /* YAML tag !reset: drop the value inherited by merge/extends */
  NODE_OVERRIDE = 1 << 2, /* YAML tag !override: replace, do not merge */
};

typedef struct node node_t;

typedef struct node_entry
{
  const char *key;
  mark_t key_mark;
  node_t *value;
} node_entry_t;

struct node
{
  enum node_kind kind;
  unsigned flags;
  mark_t mark;
  const char *str; /* N_SCALAR, N_STR; for N_INT/N_FLOAT/N_BOOL the source text if any */
  long long i;     /* N_INT */
  double f;        /* N_FLOAT */
  bool b;          /* N_BOOL */
  size_t len, cap;
  node_t **items;         /* N_SEQ */
  node_entry_t *entries;  /* N_MAP, in insertion order */
};

node_t *node_new (arena_t *a, enum node_kind kind, mark_t mark);
node_t *node_new_str (arena_t *a, const char *s, mark_t mark);   /* N_STR */
node_t *node_new_int (arena_t *a, long long v, mark_t mark);     /* N_INT */
node_t *node_new_bool (arena_t *a, bool v, mark_t mark);         /* N_BOOL */
node_t *node_copy (arena_t *a, const node_t *n);                 /* deep */

void node_seq_push (arena_t *a, node_t *seq, node_t *item);
/* Replace the value when key exists (keeping its position), else append. */
void node_map_set (arena_t *a, node_t *map, const char *key, node_t *value);
void node_map_set_mark (arena_t *a, node_t *map, const char *key, mark_t key_mark, node_t *value);
node_t *node_map_get (const node_t *map, const char *key);       /* NULL if absent or not a map */
node_entry_t *node_map_find (const node_t *map, const char *key);
bool node_map_del (node_t *map, const char *key);
void node_map_sort (node_t *map); /* by key, byte order */

bool node_is_scalar (const node_t *n); /* N_SCALAR, N_STR, N_INT, N_FLOAT, N_BOOL */
/* Text of a scalar (ints and bools formatted); NULL for null, seq, map. */
const char *node_text (arena_t *a, const node_t *n);
/* "a string", "a number", "a boolean", "a list", "a mapping", "null" — for messages. */
const char *node_kind_name (const node_t *n);

/* YAML 1.2 core schema resolution of a plain scalar, used when no key decides
   the type (x- extensions, labels): null, bool, int, float or string. */
enum node_kind scalar_resolve (const node_t *n);

/* Typed views of a scalar. Return false when it is not of that type. */
bool scalar_to_bool (const node_t *n, bool *out);      /* true/false/yes/no/on/off, any case */
bool scalar_to_int (const node_t *n, long long *out);  /* decimal, 0x, 0o; whole string */
bool scalar_to_double (const node_t *n, double *out);

/* ------------------------------------------------------------------ */
/* Diagnostics: every problem with the input, collected, printed once   */
/* ------------------------------------------------------------------ */

#define DIAG_MAX_ERRORS 50
#define DIAG_MAX_WARNINGS 100

/* "services.web.ports[0]" — built as we descend. */
const char *path_key (arena_t *a, const char *parent, const char *key);
const char *path_index (arena_t *a, const char *parent, size_t i);

/* ------------------------------------------------------------------ */
/* Environment for interpolation: OS environment over .env files        */
/* ------------------------------------------------------------------ */

typedef struct env_var
{
  const char *name;
  const char *value;
} env_var_t;

typedef struct env
{
  env_var_t *vars;
  size_t len, cap;
} env_t;

const char *env_get (const env_t *e, const char *name); /* NULL when unset */
void env_set (arena_t *a, env_t *e, const char *name, const char *value);
void env_copy (arena_t *a, env_t *dst, const env_t *src);

/* ------------------------------------------------------------------ */
/* The loader context, passed to every stage                           */
/* ------------------------------------------------------------------ */

typedef struct ld
{
  arena_t *arena;
  compose_diags_t *diags;
  const compose_options_t *opts;
  const char *project_dir; /* absolute */
  env_t env;               /* OS environment + .env / --env-file (OS wins) */
  size_t nodes_made;       /* bound on alias expansion ("billion laughs") */
  int include_depth;
  env_t ignored; /* once_keys of diag_ignored already reported */
} ld_t;

void diag_error (ld_t *ld, mark_t m, const char *path, const char *fmt, ...) PRINTF_LIKE (4, 5);
/* A warning about a key we accept but ignore; printed once per `once_key`
   (e.g. "services.*.deploy.placement"), whatever number of places use it. */
void diag_ignored (ld_t *ld, mark_t m, const char *path, const char *once_key, const char *why);
/* A warning, printed once per `once_key` (NULL: every time). */
void diag_warning (ld_t *ld, mark_t m, const char *path, const char *once_key, const char *fmt, ...)
    PRINTF_LIKE (5, 6);
bool diag_full (const ld_t *ld); /* DIAG_MAX_ERRORS reached: stages may stop early */

/* Absolute, lexically cleaned path: `rel` against `base` ("~" expands to $HOME). */
const char *path_resolve (ld_t *ld, const char *base, const char *rel);
/* Base directory for relative paths written in node n (its file's dir). */
const char *node_base_dir (const ld_t *ld, const node_t *n);

/* ---- yaml.c ---- */
/* Parse one YAML document into a tree. Anchors/aliases expanded, `<<` merge keys
   applied, duplicate keys and tabs reported. NULL (with a diagnostic) on error.
   An empty document yields an empty map. */
node_t *yaml_parse (ld_t *ld, const source_t *src, const char *text, size_t len);
/* Read, parse and interpolate one stack file. `base_dir` is where its
   relative paths resolve (the project dir for -f files, its own dir for
   extends/include targets). NULL (with a diagnostic) on error; `from` is the
   node that named the file, for the message (NULL for -f files). */
node_t *load_file (ld_t *ld, const char *path, const char *base_dir, const env_t *env,
                   const node_t *from, const char *from_path);

/* ---- interpolate.c ---- */
/* Substitute variables in every scalar value of the tree (keys untouched),
   reporting each failure with its position. */
void interpolate_tree (ld_t *ld, const env_t *env, node_t *root);
/* One string. Returns NULL and sets *errmsg (arena) on failure. */
const char *interpolate_str (ld_t *ld, const env_t *env, const char *in, const char **errmsg);

/* ---- dotenv.c ---- */
/* Parse a .env-format file (Compose's rules: quotes, `export`, comments,
   ${VAR} expansion from earlier lines and `lookup`). Appends to `out`.
   Errors become diagnostics at line:col in `src`. Returns -1 on error. */
int dotenv_parse (ld_t *ld, const source_t *src, const char *text, const env_t *lookup, env_t *out);

/* ---- include.c / merge.c / extends.c / profiles.c ---- */
/* Resolve the top-level `include:` of `root` (loading each included project
   with its own directory and env), merging their resources in. */
void include_resolve (ld_t *ld, node_t *root);
/* Merge `over` into `base` by Compose's rules for -f files; returns the result. */
node_t *merge_projects (ld_t *ld, node_t *base, node_t *over);
/* Merge two service definitions (also used by extends). */
node_t *merge_services (ld_t *ld, node_t *base, node_t *over);
/* Resolve `extends` in every service of root (same file and other files). */
void extends_resolve (ld_t *ld, node_t *root);
/* Drop services not enabled by the active profiles (after normalization). */
void profiles_apply (ld_t *ld, node_t *model, const char *const *profiles, size_t n_profiles);

/* ---- syntax.c: Compose's short syntaxes, as small pure parsers ---- */
/* Go's time.ParseDuration ("1m30s", "1.5h", "300ms", "-1s"); false if malformed. */
bool duration_parse (const char *s, int64_t *ns);
/* Go's Duration.String(): "1m30s", "2.5s", "100ms", "0s". */
const char *duration_format (arena_t *a, int64_t ns);
/* Docker's RAMInBytes: "512m", "1g", "1.5GB", "100k", "1024" (binary units,
   optional trailing b); false if malformed or negative. */
bool bytes_parse (const char *s, int64_t *bytes);
/* "[[HOST_IP:][HOST_PORT[-END]]:]CONTAINER_PORT[-END][/PROTOCOL]" (or a
   number) → long-form maps appended to the N_SEQ `out`, one per container
   port of a range, shaped as `docker compose config` prints them:
   {mode: ingress, host_ip?, target: N_INT, published?: N_STR, protocol: "tcp"}.
   Reports a diagnostic at n and returns false when malformed. */
bool port_parse_short (ld_t *ld, const node_t *n, const char *path, node_t *out);
/* "SOURCE:TARGET[:OPTIONS]" or "TARGET" → a long-form map {type: bind|volume,
   source?, target, read_only?, bind?: {create_host_path: true, propagation?,
   selinux?}, volume?: {nocopy?}}; relative and ~ bind sources made absolute
   against node_base_dir(n). NULL with a diagnostic when malformed. */
node_t *volume_parse_short (ld_t *ld, const node_t *n, const char *path);
/* Split a string command the way a POSIX shell splits words (quotes,
   backslashes; no expansion) into an N_SEQ of N_STR. NULL with a diagnostic
   when quotes are unbalanced. */
node_t *shell_split (ld_t *ld, const node_t *n, const char *path);

/* ---- normalize*.c ---- */
/* Validate every key and produce the canonical model, shaped as
   `docker compose config --format json` prints it. NULL if any error. */
node_t *normalize_project (ld_t *ld, node_t *root, const char *project_name);

/* ---- emit.c ---- */
/* Compact JSON of a subtree, keys sorted (malloc'ed): for tests and debugging. */
char *node_to_json_text (const node_t *n);

/* ---- graph.c ---- */
/* Build the dependency graph of model's services (depends_on, plus the
   implicit edges of network_mode/ipc/pid `service:X` and volumes_from).
   Cycles are reported as diagnostics naming the cycle in full. */
int graph_build (ld_t *ld, compose_project_t *p);

#endif
