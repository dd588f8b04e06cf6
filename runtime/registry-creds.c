/* registry-creds.c — what a registry needs before its first request:
   whether it is spoken to in plain HTTP, the credentials a Docker
   config.json holds for it, and the CAs and client certificate of
   Docker's certs.d. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry-internal.h"

/* localhost, 127.0.0.0/8 and ::1, with or without a port */
static bool
host_is_loopback (const char *host)
{
  cleanup_free char *h = xstrdup (host);
  struct in_addr a;
  char *colon;

  if (h[0] == '[')
    return str_has_prefix (h, "[::1]");
  colon = strrchr (h, ':');
  if (colon)
    *colon = '\0';
  if (strcmp (h, "localhost") == 0)
    return true;
  return inet_pton (AF_INET, h, &a) == 1 && (ntohl (a.s_addr) >> 24) == 127;
}

/* Is host ("name[:port]") in the list "a,b:5000,..."? An entry without a
   port names the host on any port. */
static bool
host_listed (const char *host, const char *list)
{
  size_t hostlen = strcspn (host, ":");

  while (list && *list)
    {
      size_t n;
      list += strspn (list, ", ");
      n = strcspn (list, ", ");
      if (n > 0
          && ((n == strlen (host) && strncmp (list, host, n) == 0)
              || (n == hostlen && strncmp (list, host, n) == 0)))
        return true;
      list += n;
    }
  return false;
}

/* An auth file key as Docker writes them ("https://index.docker.io/v1/",
   "registry:5000", "http://host/") → "host[:port]". */
static char *
auth_key_host (const char *key)
{
  const char *p = key;
  if (str_has_prefix (p, "https://"))
    p += 8;
  else if (str_has_prefix (p, "http://"))
    p += 7;
  return xstrndup (p, strcspn (p, "/"));
}

static bool
auth_key_matches (const char *key, const char *host)
{
  cleanup_free char *k = auth_key_host (key);

  if (strcmp (host, "docker.io") == 0)
    return strcmp (k, "index.docker.io") == 0 || strcmp (k, "docker.io") == 0
           || strcmp (k, "registry-1.docker.io") == 0;
  return strcmp (k, host) == 0;
}

static char *
base64 (const char *s)
{
  size_t n = strlen (s);
  char *out = xmalloc (4 * ((n + 2) / 3) + 1);

  EVP_EncodeBlock ((unsigned char *)out, (const unsigned char *)s, (int)n);
  return out;
}

/* The basic credentials for host in the Docker config.json at path. */
int
reg_load_credentials (reg_t *r, const char *path, stack_error_t **err)
{
  json_error_t jerr;
  json_t *root, *auths, *e;
  const char *key;

  if (path == NULL || access (path, F_OK) < 0)
    return 0;
  root = json_load_file (path, 0, &jerr);
  if (root == NULL)
    return stack_error_set (err, EINVAL, "the auth file `%s`:%d: %s", path, jerr.line, jerr.text);
  auths = json_object_get (root, "auths");
  json_object_foreach (auths, key, e)
  {
    const char *auth = json_string_value (json_object_get (e, "auth"));
    const char *user = json_string_value (json_object_get (e, "username"));
    const char *pass = json_string_value (json_object_get (e, "password"));

    if (!auth_key_matches (key, r->host))
      continue;
    if (auth && auth[0])
      r->basic = xstrdup (auth);
    else if (user && pass)
      {
        cleanup_free char *up = xasprintf ("%s:%s", user, pass);
        r->basic = base64 (up);
      }
    if (r->basic)
      break;
  }
  if (r->basic)
    r->auth_file = xstrdup (path);
  json_decref (root);
  return 0;
}

/* Docker's certs.d: DIR/<host[:port]>/ *.crt are CAs this registry's
   certificate may chain to, trusted besides the system's (whose bundle is
   read into the same PEM, as curl takes one); NAME.cert with NAME.key is a
   client certificate. Nothing there: curl's defaults. */
int
reg_load_certs (reg_t *r, const char *dir, stack_error_t **err)
{
  cleanup_free char *path = NULL;
  struct dirent *de;
  DIR *d;

  if (dir == NULL)
    return 0;
  path = xasprintf ("%s/%s", dir, r->host);
  d = opendir (path);
  if (d == NULL)
    return 0;
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *file = xasprintf ("%s/%s", path, de->d_name);
      cleanup_free char *pem = NULL;
      size_t len;

      if (de->d_name[0] == '.')
        continue;
      if (str_has_suffix (de->d_name, ".crt"))
        {
          if (read_file (file, &pem, &len, err) < 0)
            {
              closedir (d);
              return -1;
            }
          sb_put (&r->ca, pem, len);
          sb_putc (&r->ca, '\n');
        }
      else if (str_has_suffix (de->d_name, ".cert") && r->client_cert == NULL)
        {
          r->client_cert = xstrdup (file);
          r->client_key = xasprintf ("%.*s.key", (int)(strlen (file) - 5), file);
        }
    }
  closedir (d);
  if (r->client_cert && access (r->client_key, R_OK) < 0)
    return stack_error_make (err, errno, "client certificate `%s`: its key `%s`", r->client_cert,
                             r->client_key);
  if (r->ca.len > 0)
    {
      CURL *h = curl_easy_init ();
      char *bundle = NULL, *pem = NULL;
      stack_error_t *ignored = NULL;
      size_t len;

      if (h && curl_easy_getinfo (h, CURLINFO_CAINFO, &bundle) == CURLE_OK && bundle
          && read_file (bundle, &pem, &len, &ignored) == 0)
        sb_put (&r->ca, pem, len);
      stack_error_free (&ignored);
      free (pem);
      if (h)
        curl_easy_cleanup (h);
    }
  return 0;
}

bool
reg_plain (const char *host, const char *insecure)
{
  return host_is_loopback (host) || host_listed (host, insecure);
}
