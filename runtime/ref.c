/* ref.c — image references: Docker's grammar (distribution/reference),
   normalized as Docker does ("busybox" is docker.io/library/busybox:latest). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*,
   separator := [_.] | __ | [-]+ */
static const char *
check_path_component (const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0)
    return "empty path component";
  for (i = 0; i < n; i++)
    if (isupper ((unsigned char)s[i]))
      return "repository name must be lowercase";
  i = 0;
  for (;;)
    {
      size_t start = i;
      while (i < n && (islower ((unsigned char)s[i]) || isdigit ((unsigned char)s[i])))
        i++;
      if (i == start)
        return "repository name components must start and end with a letter or digit";
      if (i == n)
        return NULL;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < n && s[i] == '-')
          i++;
      else
        return "repository names may hold only a-z, 0-9, `.`, `_`, `__` and `-`";
    }
}

/* domain := component ('.' component)* (':' port)?,
   component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static const char *
check_domain (const char *s, size_t n)
{
  const char *colon = memchr (s, ':', n);
  size_t host = colon ? (size_t)(colon - s) : n, i, start = 0;

  if (colon)
    {
      if (colon + 1 == s + n)
        return "the registry's port is empty";
      for (i = host + 1; i < n; i++)
        if (!isdigit ((unsigned char)s[i]))
          return "the registry's port must be a number";
    }
  for (i = 0; i <= host; i++)
    if (i == host || s[i] == '.')
      {
        if (i == start || s[start] == '-' || s[i - 1] == '-')
          return "invalid registry host name";
        start = i + 1;
      }
    else if (!isalnum ((unsigned char)s[i]) && s[i] != '-')
      return "invalid registry host name";
  return NULL;
}

/* tag := [\w][\w.-]{0,127} */
static bool
tag_valid (const char *t)
{
  size_t i, n = strlen (t);

  if (n == 0 || n > 128 || !(isalnum ((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (i = 1; i < n; i++)
    if (!(isalnum ((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static bool
hex_valid (const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (!isdigit ((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
      return false;
  return s[n] == '\0';
}

bool
rt_digest_valid (const char *d)
{
  return d && str_has_prefix (d, "sha256:") && strlen (d) == RT_DIGEST_LEN && hex_valid (d + 7, 64);
}

/* Parse and normalize. The first component is a registry when it looks
   like a host name (a dot, a port, "localhost"), as Docker decides;
   Docker Hub ("docker.io", "index.docker.io") is dropped from the store's
   name, and so is "library/" for its official images. */
int
rt_ref_parse (const char *ref, rt_ref_t *out, stack_error_t **err)
{
  cleanup_free char *s = xstrdup (ref);
  const char *why = NULL, *tag = NULL, *domain = "docker.io";
  char *at, *slash, *colon, *path, *p;
  bool hub;
  size_t len;

  memset (out, 0, sizeof *out);
  at = strchr (s, '@');
  if (at)
    {
      *at = '\0';
      if (!rt_digest_valid (at + 1))
        return stack_error_set (err, EINVAL,
                                "invalid reference `%s`: a digest is sha256: and 64 "
                                "lowercase hex digits",
                                ref);
    }
  slash = strrchr (s, '/');
  colon = strrchr (slash ? slash : s, ':');
  if (colon)
    {
      *colon = '\0';
      tag = colon + 1;
      if (!tag_valid (tag))
        return stack_error_set (err, EINVAL,
                                "invalid reference `%s`: a tag is 1 to 128 of a-z, A-Z, 0-9, `_`, "
                                "`.`, `-`, not starting with `.` or `-`",
                                ref);
    }
  path = s;
  slash = strchr (s, '/');
  if (slash)
    {
      bool host = memchr (s, '.', (size_t)(slash - s)) || memchr (s, ':', (size_t)(slash - s))
                  || strncmp (s, "localhost/", 10) == 0;
      for (p = s; p < slash && !host; p++)
        host = isupper ((unsigned char)*p);
      if (host)
        {
          *slash = '\0';
          domain = s;
          path = slash + 1;
          why = check_domain (domain, strlen (domain));
        }
    }
  for (p = path; !why;)
    {
      size_t n = strcspn (p, "/");
      why = check_path_component (p, n);
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
  if (why)
    return stack_error_set (err, EINVAL, "invalid reference `%s`: %s", ref, why);
  len = strlen (domain) + 1 + strlen (path);
  if (len > 255)
    return stack_error_set (
        err, EINVAL, "invalid reference `%s`: a repository name is at most 255 characters", ref);

  hub = strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0;
  out->domain = xstrdup (hub ? "docker.io" : domain);
  if (hub && strchr (path, '/') == NULL)
    out->path = xasprintf ("library/%s", path);
  else
    out->path = xstrdup (path);
  /* a digest wins over a tag, as in Docker ("name:tag@digest" pulls digest) */
  out->digest = at ? xstrdup (at + 1) : NULL;
  out->tag = at ? NULL : xstrdup (tag ? tag : "latest");
  if (hub && str_has_prefix (out->path, "library/") && strchr (out->path + 8, '/') == NULL)
    path = out->path + 8;
  else
    path = out->path;
  out->name = xasprintf ("%s%s%s%s%s", hub ? "" : out->domain, hub ? "" : "/", path, at ? "@" : ":",
                         at ? out->digest : out->tag);
  return 0;
}

void
rt_ref_free (rt_ref_t *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  free (r->name);
  memset (r, 0, sizeof *r);
}
