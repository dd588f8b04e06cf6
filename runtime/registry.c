/* registry.c — the Docker registry HTTP API v2 over libcurl: manifests and
   blobs of one repository, with the auth registries ask for.

   Auth follows the registry's lead, as Docker does: a request goes out
   anonymous (or with what an earlier answer gave us); a 401 carries a
   WWW-Authenticate challenge. `Bearer realm=...,service=...,scope=...`
   sends us to the token server (with basic credentials when the auth file
   has some for this registry) for a token; `Basic` wants the credentials
   themselves. The header then goes with every request of every thread.

   Plain HTTP is spoken to localhost and 127.0.0.0/8 (as Docker) and to the
   registries the caller lists; everything else is HTTPS verified against
   the system's CAs. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry-internal.h"

#define USER_AGENT "stack/0.1 (+https://github.com/stack)"
/* what a non-2xx answer's body may hold for its message */
#define ERROR_BODY_MAX (64u << 10)

/* ---- set-up ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init (void)
{
  curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
share_lock_cb (CURL *h, curl_lock_data data, curl_lock_access access, void *p)
{
  reg_t *r = p;
  (void)h;
  (void)access;
  pthread_mutex_lock (&r->share_lock[data]);
}

static void
share_unlock_cb (CURL *h, curl_lock_data data, void *p)
{
  reg_t *r = p;
  (void)h;
  pthread_mutex_unlock (&r->share_lock[data]);
}

int
reg_open (const rt_ref_t *ref, const rt_pull_opts_t *opts, reg_t **out, stack_error_t **err)
{
  reg_t *r;
  bool plain;
  int i;

  pthread_once (&curl_once, curl_init);
  if (curl_init_code != CURLE_OK)
    return stack_error_set (err, EIO, "initialize libcurl: %s",
                            curl_easy_strerror (curl_init_code));
  r = xzalloc (sizeof *r);
  r->host = xstrdup (ref->domain);
  r->repo = xstrdup (ref->path);
  plain = reg_plain (ref->domain, opts->insecure);
  /* Docker Hub's API lives on another host than its name */
  r->base
      = xasprintf ("%s://%s", plain ? "http" : "https",
                   strcmp (ref->domain, "docker.io") == 0 ? "registry-1.docker.io" : ref->domain);
  pthread_mutex_init (&r->lock, NULL);
  for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init (&r->share_lock[i], NULL);
  r->share = curl_share_init ();
  if (r->share == NULL)
    {
      reg_close (r);
      return stack_error_set (err, ENOMEM, "initialize libcurl");
    }
  curl_share_setopt (r->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
  curl_share_setopt (r->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
  curl_share_setopt (r->share, CURLSHOPT_USERDATA, r);
  curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  if (reg_load_credentials (r, opts->auth_file, err) < 0
      || (!plain && reg_load_certs (r, opts->certs_dir, err) < 0))
    {
      reg_close (r);
      return -1;
    }
  *out = r;
  return 0;
}

void
reg_close (reg_t *r)
{
  int i;

  if (r == NULL)
    return;
  if (r->share)
    curl_share_cleanup (r->share);
  for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy (&r->share_lock[i]);
  pthread_mutex_destroy (&r->lock);
  free (r->base);
  free (r->host);
  free (r->repo);
  free (r->basic);
  free (r->auth_file);
  free (r->authz);
  sb_free (&r->ca);
  free (r->client_cert);
  free (r->client_key);
  free (r);
}

const char *
reg_base (const reg_t *r)
{
  return r->base;
}

/* ---- one request ---- */

/* Where an answer's body goes: memory (at most max) or fd, hashed and
   counted. A non-2xx answer's body goes to `error` instead. */
struct sink
{
  CURL *h;
  strbuf_t mem;
  size_t max;
  int fd;
  EVP_MD_CTX *md;
  uint64_t n, size; /* size: what the manifest promises, 0: unknown */
  reg_progress_fn progress;
  void *data;
  int fail; /* why the write callback stopped the transfer: an errno */
  strbuf_t error;
  char *www_auth, *ctype;
};

static bool
status_ok (CURL *h)
{
  long code = 0;
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &code);
  return code >= 200 && code < 300;
}

static size_t
write_cb (char *buf, size_t one, size_t n, void *p)
{
  struct sink *k = p;

  (void)one;
  if (!status_ok (k->h))
    {
      if (k->error.len + n <= ERROR_BODY_MAX)
        sb_put (&k->error, buf, n);
      return n;
    }
  if (k->size && k->n + n > k->size)
    {
      k->fail = EFBIG;
      return 0;
    }
  if (k->fd < 0)
    {
      if (k->mem.len + n > k->max)
        {
          k->fail = EFBIG;
          return 0;
        }
      sb_put (&k->mem, buf, n);
    }
  else if (write_all (k->fd, buf, n) < 0)
    {
      k->fail = errno;
      return 0;
    }
  EVP_DigestUpdate (k->md, buf, n);
  k->n += n;
  if (k->progress && k->progress (k->n, k->data) != 0)
    {
      k->fail = ECANCELED;
      return 0;
    }
  return n;
}

/* "Name: value\r\n" → value, when the header is name. */
static char *
header_value (const char *line, size_t n, const char *name)
{
  size_t len = strlen (name);
  const char *v;

  if (n <= len || strncasecmp (line, name, len) != 0 || line[len] != ':')
    return NULL;
  v = line + len + 1;
  while (v < line + n && (*v == ' ' || *v == '\t'))
    v++;
  while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
    n--;
  return v <= line + n ? xstrndup (v, (size_t)(line + n - v)) : NULL;
}

static size_t
header_cb (char *buf, size_t one, size_t n, void *p)
{
  struct sink *k = p;
  char *v;

  (void)one;
  /* each answer of a redirect chain starts over */
  if (n >= 5 && strncmp (buf, "HTTP/", 5) == 0)
    {
      free (steal_pointer (&k->www_auth));
      free (steal_pointer (&k->ctype));
    }
  else if ((v = header_value (buf, n, "WWW-Authenticate")))
    {
      free (k->www_auth);
      k->www_auth = v;
    }
  else if ((v = header_value (buf, n, "Content-Type")))
    {
      free (k->ctype);
      k->ctype = v;
    }
  return n;
}

static void
sink_reset (struct sink *k, off_t start)
{
  k->mem.len = 0;
  k->error.len = 0;
  k->n = 0;
  k->fail = 0;
  EVP_DigestInit_ex (k->md, EVP_sha256 (), NULL);
  free (steal_pointer (&k->www_auth));
  free (steal_pointer (&k->ctype));
  if (k->fd >= 0)
    {
      if (ftruncate (k->fd, start) < 0 || lseek (k->fd, start, SEEK_SET) < 0)
        k->fail = errno;
    }
}

/* The registry's own words: {"errors": [{"code", "message"}]}, else the
   status line's meaning. */
static char *
error_words (struct sink *k, long code)
{
  json_t *root = json_loadb (k->error.s ? k->error.s : "", k->error.len, 0, NULL), *e;
  strbuf_t b = { 0 };
  size_t i;

  json_array_foreach (json_object_get (root, "errors"), i, e)
  {
    const char *c = json_string_value (json_object_get (e, "code"));
    const char *m = json_string_value (json_object_get (e, "message"));
    if (b.len)
      sb_puts (&b, "; ");
    if (m && c)
      sb_printf (&b, "%s (%s)", m, c);
    else
      sb_puts (&b, m ? m : c ? c : "?");
  }
  json_decref (root);
  if (b.len == 0)
    sb_printf (&b, "HTTP %ld", code);
  return sb_steal (&b);
}

static void
set_common (reg_t *r, CURL *h, struct sink *k)
{
  curl_easy_setopt (h, CURLOPT_SHARE, r->share);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, USER_AGENT);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* a stalled transfer fails (and is retried) rather than hangs */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, k);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, k);
  if (r->ca.len > 0)
    {
      struct curl_blob ca = { r->ca.s, r->ca.len, CURL_BLOB_NOCOPY };
      curl_easy_setopt (h, CURLOPT_CAINFO_BLOB, &ca);
    }
  if (r->client_cert)
    {
      curl_easy_setopt (h, CURLOPT_SSLCERT, r->client_cert);
      curl_easy_setopt (h, CURLOPT_SSLKEY, r->client_key);
    }
}

/* Transport failures worth another try. */
static bool
curl_transient (CURLcode c)
{
  switch (c)
    {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

static int
transport_error (reg_t *r, CURLcode c, const char *errbuf, stack_error_t **err)
{
  const char *why = errbuf[0] ? errbuf : curl_easy_strerror (c);

  if (c == CURLE_PEER_FAILED_VERIFICATION)
    return stack_error_set (err, EACCES,
                            "%s: %s: the registry's certificate is not trusted: put its CA in "
                            "/etc/docker/certs.d/%s/ca.crt (or the directory STACK_CERTS_DIR "
                            "names), or add it to the system's (update-ca-certificates)",
                            r->base, why, r->host);
  if (c == CURLE_SSL_CONNECT_ERROR)
    return stack_error_set (err, EPROTO,
                            "%s: %s: no TLS there; if the registry speaks plain HTTP, list `%s` "
                            "in STACK_INSECURE_REGISTRIES",
                            r->base, why, r->host);
  return stack_error_set (err, curl_transient (c) ? EAGAIN : EPROTO, "%s: %s", r->base, why);
}

/* ---- auth ---- */

char *
reg_challenge_param (const char *params, const char *key)
{
  const char *p = params;
  size_t len = strlen (key);

  while (*p)
    {
      strbuf_t v = { 0 };
      bool match;

      p += strspn (p, " ,\t");
      match = strncasecmp (p, key, len) == 0 && p[len] == '=';
      p += strcspn (p, "=");
      if (*p != '=')
        break;
      p++;
      if (*p == '"')
        {
          for (p++; *p && *p != '"'; p++)
            {
              if (*p == '\\' && p[1])
                p++;
              sb_putc (&v, *p);
            }
          if (*p == '"')
            p++;
        }
      else
        for (; *p && *p != ','; p++)
          sb_putc (&v, *p);
      if (match)
        return sb_steal (&v);
      sb_free (&v);
    }
  return NULL;
}

static int
unauthorized (reg_t *r, const char *words, stack_error_t **err)
{
  if (r->basic)
    return stack_error_set (err, EACCES,
                            "%s: unauthorized: %s: the credentials for `%s` in `%s` were "
                            "refused",
                            r->base, words, r->host, r->auth_file);
  return stack_error_set (err, EACCES,
                          "%s: unauthorized: %s: log in: put the registry's credentials in "
                          "~/.docker/config.json (`auths`, as `docker login` writes them) or in "
                          "the file STACK_AUTH_FILE names",
                          r->base, words);
}

/* GET realm?service=...&scope=... for a bearer token. */
static int
fetch_token (reg_t *r, const char *challenge, char **token, stack_error_t **err)
{
  cleanup_free char *realm = reg_challenge_param (challenge, "realm");
  cleanup_free char *service = reg_challenge_param (challenge, "service");
  cleanup_free char *scope = reg_challenge_param (challenge, "scope");
  cleanup_free char *url = NULL, *authz = NULL;
  struct sink k = { .fd = -1, .max = 1u << 20 };
  struct curl_slist *hdrs = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  CURL *h = NULL;
  CURLcode c;
  json_t *root = NULL;
  const char *t;
  long code = 0;
  int ret = -1;

  if (realm == NULL || !(str_has_prefix (realm, "https://") || str_has_prefix (realm, "http://")))
    return stack_error_set (err, EPROTO, "%s: the registry asks for a token but names no realm",
                            r->base);
  if (scope == NULL)
    scope = xasprintf ("repository:%s:pull", r->repo);
  h = curl_easy_init ();
  k.h = h;
  k.md = EVP_MD_CTX_new ();
  if (h == NULL || k.md == NULL)
    {
      ret = stack_error_set (err, ENOMEM, "initialize libcurl");
      goto out;
    }
  {
    char *es = curl_easy_escape (h, service ? service : "", 0);
    char *sc = curl_easy_escape (h, scope, 0);
    url = xasprintf ("%s%c%s%s&scope=%s", realm, strchr (realm, '?') ? '&' : '?',
                     service ? "service=" : "", service ? es : "", sc);
    curl_free (es);
    curl_free (sc);
  }
  sink_reset (&k, 0);
  set_common (r, h, &k);
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  if (r->basic)
    {
      authz = xasprintf ("Authorization: Basic %s", r->basic);
      hdrs = curl_slist_append (hdrs, authz);
      curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
    }
  c = curl_easy_perform (h);
  if (c != CURLE_OK)
    {
      ret = transport_error (r, c, errbuf, err);
      stack_error_wrap (err, "token from `%s`", realm);
      goto out;
    }
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &code);
  if (code == 401 || code == 403)
    {
      cleanup_free char *words = error_words (&k, code);
      ret = unauthorized (r, words, err);
      goto out;
    }
  if (code != 200)
    {
      cleanup_free char *words = error_words (&k, code);
      ret = stack_error_set (err, code == 429 || code >= 500 ? EAGAIN : EPROTO,
                             "token from `%s`: %s", realm, words);
      goto out;
    }
  root = json_loadb (k.mem.s ? k.mem.s : "", k.mem.len, 0, NULL);
  t = json_string_value (json_object_get (root, "token"));
  if (t == NULL || t[0] == '\0')
    t = json_string_value (json_object_get (root, "access_token"));
  if (t == NULL || t[0] == '\0')
    {
      ret = stack_error_set (err, EPROTO, "token from `%s`: the answer holds no token", realm);
      goto out;
    }
  *token = xstrdup (t);
  ret = 0;

out:
  json_decref (root);
  curl_slist_free_all (hdrs);
  if (h)
    curl_easy_cleanup (h);
  EVP_MD_CTX_free (k.md);
  sb_free (&k.mem);
  sb_free (&k.error);
  free (k.www_auth);
  free (k.ctype);
  return ret;
}

/* Answer a 401's challenge: a new Authorization header for everyone.
   Another thread may have answered it already since our request left
   (gen moved on): then we just try again with its header. */
static int
authenticate (reg_t *r, const char *challenge, unsigned gen, const char *words, stack_error_t **err)
{
  cleanup_free char *token = NULL;
  char *authz = NULL;

  pthread_mutex_lock (&r->lock);
  if (r->gen != gen)
    {
      pthread_mutex_unlock (&r->lock);
      return 0;
    }
  pthread_mutex_unlock (&r->lock);

  if (challenge && strncasecmp (challenge, "Bearer ", 7) == 0)
    {
      if (fetch_token (r, challenge + 7, &token, err) < 0)
        return -1;
      authz = xasprintf ("Authorization: Bearer %s", token);
    }
  else if (challenge && strncasecmp (challenge, "Basic", 5) == 0 && r->basic)
    authz = xasprintf ("Authorization: Basic %s", r->basic);
  else
    return unauthorized (r, words, err);

  pthread_mutex_lock (&r->lock);
  free (r->authz);
  r->authz = authz;
  r->gen++;
  pthread_mutex_unlock (&r->lock);
  return 0;
}

/* GET url into k, answering auth challenges; fails unless 2xx. */
static int
get (reg_t *r, const char *url, const char *accept, struct sink *k, stack_error_t **err)
{
  off_t start = k->fd >= 0 ? lseek (k->fd, 0, SEEK_CUR) : 0;
  bool answered = false;
  int ret = -1;

  for (;;)
    {
      char errbuf[CURL_ERROR_SIZE] = "";
      struct curl_slist *hdrs = NULL;
      cleanup_free char *authz = NULL, *words = NULL;
      unsigned gen;
      long code = 0;
      CURLcode c;
      CURL *h = curl_easy_init ();

      if (h == NULL)
        return stack_error_set (err, ENOMEM, "initialize libcurl");
      pthread_mutex_lock (&r->lock);
      gen = r->gen;
      authz = r->authz ? xstrdup (r->authz) : NULL;
      pthread_mutex_unlock (&r->lock);
      if (accept)
        hdrs = curl_slist_append (hdrs, accept);
      if (authz)
        hdrs = curl_slist_append (hdrs, authz);
      k->h = h;
      sink_reset (k, start);
      set_common (r, h, k);
      curl_easy_setopt (h, CURLOPT_URL, url);
      curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
      curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
      c = k->fail ? CURLE_WRITE_ERROR : curl_easy_perform (h);
      curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &code);
      curl_easy_cleanup (h);
      curl_slist_free_all (hdrs);
      k->h = NULL;

      if (c == CURLE_WRITE_ERROR && k->fail)
        {
          if (k->fail == EFBIG && k->fd < 0 && !k->size)
            return stack_error_set (err, EIO, "%s: the answer is larger than %zu bytes", url,
                                    k->max);
          if (k->fail == EFBIG)
            return stack_error_set (err, EIO, "%s: the blob is larger than its %llu bytes", url,
                                    (unsigned long long)k->size);
          if (k->fail == ECANCELED)
            return stack_error_set (err, ECANCELED, "%s: cancelled", url);
          return stack_error_make (err, k->fail, "write what %s sends", url);
        }
      if (c != CURLE_OK)
        return transport_error (r, c, errbuf, err);
      if (code >= 200 && code < 300)
        return 0;
      words = error_words (k, code);
      if (code == 401 && !answered)
        {
          /* once: a second 401 means the answer was not good enough */
          answered = true;
          if (authenticate (r, k->www_auth, gen, words, err) < 0)
            return -1;
          continue;
        }
      if (code == 401)
        return unauthorized (r, words, err);
      if (code == 403)
        ret = stack_error_set (err, EACCES, "%s: denied: %s", r->base, words);
      else if (code == 404)
        ret = stack_error_set (err, ENOENT, "%s: %s", r->base, words);
      else
        ret = stack_error_set (err, code == 429 || code == 408 || code >= 500 ? EAGAIN : EPROTO,
                               "%s: %s", r->base, words);
      return ret;
    }
}

/* ---- what pull.c asks for ---- */

#define ACCEPT_MANIFESTS                                                                           \
  "Accept: application/vnd.oci.image.index.v1+json, "                                              \
  "application/vnd.docker.distribution.manifest.list.v2+json, "                                    \
  "application/vnd.oci.image.manifest.v1+json, "                                                   \
  "application/vnd.docker.distribution.manifest.v2+json"

static void
sink_free (struct sink *k)
{
  EVP_MD_CTX_free (k->md);
  sb_free (&k->mem);
  sb_free (&k->error);
  free (k->www_auth);
  free (k->ctype);
}

int
reg_get_manifest (reg_t *r, const char *reference, char **body, size_t *len, char **media_type,
                  stack_error_t **err)
{
  cleanup_free char *url = xasprintf ("%s/v2/%s/manifests/%s", r->base, r->repo, reference);
  struct sink k = { .fd = -1, .max = REG_MANIFEST_MAX, .md = EVP_MD_CTX_new () };
  int ret;

  if (k.md == NULL)
    return stack_error_set (err, ENOMEM, "initialize sha256");
  ret = get (r, url, ACCEPT_MANIFESTS, &k, err);
  if (ret == 0)
    {
      *len = k.mem.len;
      *body = sb_steal (&k.mem);
      /* "application/json; charset=utf-8" → its type alone */
      *media_type = k.ctype ? xstrndup (k.ctype, strcspn (k.ctype, "; ")) : NULL;
    }
  sink_free (&k);
  return ret;
}

/* After a blob's transfer: its size and digest are what was asked. */
static int
check_blob (struct sink *k, const char *digest, uint64_t size, stack_error_t **err)
{
  char actual[RT_DIGEST_LEN + 1];

  if (size && k->n != size)
    return stack_error_set (err, EIO, "blob %s is %llu bytes long, its manifest says %llu", digest,
                            (unsigned long long)k->n, (unsigned long long)size);
  rt_sha256_final (k->md, actual);
  if (strcmp (actual, digest) != 0)
    return stack_error_set (err, EIO, "blob %s is corrupt: its content hashes to %s", digest,
                            actual);
  return 0;
}

/* GET a blob into k (its md made here), checking size and digest. */
static int
get_blob (reg_t *r, const char *digest, struct sink *k, stack_error_t **err)
{
  cleanup_free char *url = xasprintf ("%s/v2/%s/blobs/%s", r->base, r->repo, digest);

  k->md = EVP_MD_CTX_new ();
  if (k->md == NULL)
    return stack_error_set (err, ENOMEM, "initialize sha256");
  if (get (r, url, NULL, k, err) < 0)
    return -1;
  return check_blob (k, digest, k->size, err);
}

int
reg_get_blob (reg_t *r, const char *digest, uint64_t size, size_t max, char **body,
              stack_error_t **err)
{
  struct sink k = { .fd = -1, .max = max, .size = size };
  int ret = get_blob (r, digest, &k, err);

  if (ret == 0)
    *body = sb_steal (&k.mem);
  sink_free (&k);
  return ret;
}

int
reg_get_blob_fd (reg_t *r, const char *digest, uint64_t size, int fd, reg_progress_fn progress,
                 void *data, stack_error_t **err)
{
  struct sink k = { .fd = fd, .size = size, .progress = progress, .data = data };
  int ret = get_blob (r, digest, &k, err);

  sink_free (&k);
  return ret;
}
