/* registry-internal.h — one repository on one registry, spoken to with the
   Docker registry HTTP API v2 (registry.c), for pull.c.

   A reg_t is shared by the pulling threads: each request has its own curl
   handle, and the handles share connections, DNS and TLS sessions. Auth
   is answered once, when the registry first asks (a 401 with
   WWW-Authenticate), and the token is shared. */
#ifndef STACK_REGISTRY_INTERNAL_H
#define STACK_REGISTRY_INTERNAL_H

#include "store-internal.h"

typedef struct reg reg_t;

/* Manifests and configs are small; refuse bigger answers (Docker: 4 MiB
   and 8 MiB). */
#define REG_MANIFEST_MAX (4u << 20)
#define REG_CONFIG_MAX (8u << 20)

/* Errors carry an errno-like status: EAGAIN for what is worth a retry
   (connection failures, timeouts, 429, 5xx, a short answer), EACCES
   unauthorized or denied, ENOENT unknown, EIO a verification failure,
   EPROTO anything else the registry answered. */

/* The registry and repository of ref, with credentials from
   opts->auth_file when it has an entry for that registry. */
int reg_open (const rt_ref_t *ref, const rt_pull_opts_t *opts, reg_t **out, stack_error_t **err);
void reg_close (reg_t *r);
/* "https://registry-1.docker.io" and the like, for messages. */
const char *reg_base (const reg_t *r);

/* GET /v2/<repo>/manifests/<reference> asking for every manifest type we
   read. *body is NUL-terminated; *media_type from Content-Type. */
int reg_get_manifest (reg_t *r, const char *reference, char **body, size_t *len, char **media_type,
                      stack_error_t **err);

/* GET a blob into memory, checking its size and digest. */
int reg_get_blob (reg_t *r, const char *digest, uint64_t size, size_t max, char **body,
                  stack_error_t **err);

/* GET a blob into fd (from its current offset), checking its size and
   digest. progress gets the bytes so far; returning non-zero aborts
   (ECANCELED). */
typedef int (*reg_progress_fn) (uint64_t done, void *data);
int reg_get_blob_fd (reg_t *r, const char *digest, uint64_t size, int fd, reg_progress_fn progress,
                     void *data, stack_error_t **err);

/* The value of key in a WWW-Authenticate challenge's parameters
   (`realm="https://auth.example/token",service=x`), malloc'ed, or NULL. */
char *reg_challenge_param (const char *params, const char *key);

#endif
