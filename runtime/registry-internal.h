/* registry-internal.h — one repository on one registry, spoken to with the
   Docker registry HTTP API v2 (registry.c, registry-creds.c), for pull.c.

   A reg_t is shared by the pulling threads: each request has its own curl
   handle, and the handles share connections, DNS and TLS sessions. Auth
   is answered once, when the registry first asks (a 401 with
   WWW-Authenticate), and the token is shared. */
#ifndef STACK_REGISTRY_INTERNAL_H
#define STACK_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "store-internal.h"

typedef struct reg reg_t;

/* Shared by registry.c (requests) and registry-creds.c (what is known
   before the first one). */
struct reg
{
  char *base;  /* "https://registry-1.docker.io" */
  char *host;  /* "docker.io", "127.0.0.1:5000": for messages and the auth file */
  char *repo;  /* "library/busybox" */
  char *basic; /* base64 "user:pass" from the auth file, or NULL */
  strbuf_t ca; /* PEM: the system's CAs and the registry's own, or empty */
  char *client_cert, *client_key; /* from certs.d, or NULL */
  char *auth_file;                /* where basic came from, for messages */
  CURLSH *share;
  pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
  pthread_mutex_t lock; /* guards authz and gen */
  char *authz;          /* "Authorization: ..." or NULL */
  unsigned gen;         /* bumped whenever authz changes */
};

/* registry-creds.c */
/* Plain HTTP for host: localhost, 127.0.0.0/8, ::1, or listed in insecure
   ("host[:port],..."; a host without a port: every port). */
bool reg_plain (const char *host, const char *insecure);
/* r->basic from the Docker config.json at path (missing: none). */
int reg_load_credentials (reg_t *r, const char *path, stack_error_t **err);
/* r->ca, client_cert, client_key from DIR/<host>/ (missing: none). */
int reg_load_certs (reg_t *r, const char *dir, stack_error_t **err);

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
