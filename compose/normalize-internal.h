/* normalize-internal.h — what the normalize*.c files share.

   Normalization walks the merged raw tree once and builds a new, typed tree
   shaped as `docker compose config --format json` prints it.  Every object
   of the compose model is described by a table (nz_obj_t) of its keys; each
   key names the handler that checks and converts its value, so adding a key
   is one line.  Handlers report problems with diag_error at the offending
   node and return NULL, which leaves the key out of the result; the caller
   keeps going so that every error of the file is reported in one run. */
#ifndef STACK_NORMALIZE_INTERNAL_H
#define STACK_NORMALIZE_INTERNAL_H

#include "compose-internal.h"

typedef struct nz
{
  ld_t *ld;
  arena_t *a;
  const char *project; /* project name, prefix of resource names */
  const node_t *root;  /* the raw input */
  node_t *out;         /* the model being built */
} nz_t;

typedef struct nz_key nz_key_t;

/* Check and convert one value; NULL leaves the key out (absent or error). */
typedef node_t *(*nz_fn) (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);

struct nz_key
{
  const char *name;
  nz_fn fn;
  const void *arg;     /* handler-specific: a sub-object, a list of words, ... */
  const char *ignored; /* non-NULL: accepted, kept, and warned once as ignored: why */
};

typedef struct nz_obj
{
  const char *what;  /* "a service", for messages */
  const char *scope; /* "services.*.deploy": once-keys of ignored warnings */
  const nz_key_t *keys;
  size_t n;
  bool allow_x; /* x-* keys accepted (and kept) */
} nz_obj_t;

#define NZ_OBJ(what, scope, keys, allow_x)                                                         \
  {                                                                                                \
    what, scope, keys, ARRAY_SIZE (keys), allow_x                                                  \
  }

/* Numeric bounds for nz_int. */
typedef struct nz_range
{
  long long min, max;
} nz_range_t;

/* ---- normalize.c: the framework and the generic value handlers ---- */

/* Walk a mapping through its table. NULL if `in` is not a mapping. */
node_t *nz_object (nz_t *z, const node_t *in, const char *path, const nz_obj_t *obj);
/* Handler form of nz_object: arg is the nz_obj_t. */
node_t *nz_h_object (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);

/* "a list", "a mapping", "null", "\"text\"", "the number 5" — for messages. */
const char *nz_what (nz_t *z, const node_t *n);
/* "must be EXPECTED, not WHAT" at n. Always returns NULL. */
node_t *nz_type_error (nz_t *z, const node_t *n, const char *path, const char *expected);

bool nz_is_null (const node_t *n);
/* Text of a scalar that is not null (numbers and booleans as written). */
const char *nz_scalar_text (const node_t *n);
/* Typed deep copy: plain scalars resolved by the YAML core schema. */
node_t *nz_plain (nz_t *z, const node_t *in);

/* Typed constructors keeping the source position. */
node_t *nz_str (nz_t *z, const char *s, const node_t *from);
node_t *nz_int (nz_t *z, long long v, const node_t *from);
node_t *nz_bool (nz_t *z, bool v, const node_t *from);
node_t *nz_float (nz_t *z, double v, const node_t *from); /* N_INT when whole */
node_t *nz_map (nz_t *z, const node_t *from);
node_t *nz_seq (nz_t *z, const node_t *from);

/* Scalar handlers (arg in brackets). */
node_t *nz_h_str (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_enum (nz_t *z, const node_t *in, const char *path, const nz_key_t *k); /* [words] */
node_t *nz_h_bool (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_int (nz_t *z, const node_t *in, const char *path, const nz_key_t *k); /* [range] */
node_t *nz_h_float (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_bytes (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_duration (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_abs_path (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_host_path (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_str_or_bool (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_file_mode (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_plain (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_drop (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
/* Collections. */
node_t *nz_h_str_list (nz_t *z, const node_t *in, const char *path, const nz_key_t *k); /* unique */
node_t *nz_h_str_list_dup (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_str_or_list (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_str_map (nz_t *z, const node_t *in, const char *path,
                      const nz_key_t *k); /* list_or_dict */
node_t *nz_h_options (nz_t *z, const node_t *in, const char *path,
                      const nz_key_t *k); /* map of scalars */
node_t *nz_h_env_map (nz_t *z, const node_t *in, const char *path,
                      const nz_key_t *k); /* K: V or null */
node_t *nz_h_obj_list (nz_t *z, const node_t *in, const char *path,
                       const nz_key_t *k); /* [nz_obj_t] */

/* Edit distance (with transpositions); 99 for long strings. */
size_t nz_distance (const char *a, const char *b);
/* Levenshtein-closest key of the table within distance 2, or NULL. */
const char *nz_suggest (const char *key, const nz_key_t *keys, size_t n);

/* ---- normalize-service.c ---- */
node_t *nz_service (nz_t *z, const node_entry_t *e, const char *path);
node_t *nz_h_command (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_ulimits (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_extra_hosts (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_file_refs (nz_t *z, const node_t *in, const char *path,
                        const nz_key_t *k); /* [secret?] */

/* ---- normalize-deploy.c ---- */
extern const nz_obj_t nz_deploy_obj;
extern const nz_obj_t nz_healthcheck_obj;
extern const nz_obj_t nz_blkio_obj;
node_t *nz_h_healthcheck (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_deploy (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);

/* ---- normalize-mounts.c: ports, expose, volumes, devices ---- */
node_t *nz_h_ports (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_expose (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_volumes (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_devices (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);

/* ---- normalize-env.c: environment, env_file, labels, label_file ---- */
node_t *nz_h_env_file (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
node_t *nz_h_label_file (nz_t *z, const node_t *in, const char *path, const nz_key_t *k);
/* Merge the variables of the files listed in svc's `env_file` (as kept by
   nz_h_env_file) under its `environment`, then drop `env_file`; the same
   for `label_file` into `labels`. */
void nz_env_files_apply (nz_t *z, node_t *svc, const char *path);

/* ---- normalize-project.c: top level, resources, references ---- */
void nz_check_refs (nz_t *z);

#endif
