/* store.c — the image store: content-addressed, under STACK_ROOT.

     ROOT/blobs/sha256/<hex>   image config blobs (and, from pulls, manifests
                               and compressed layers), named by their sha256
     ROOT/layers/<hex>/        each layer unpacked once, named by its diff_id
                               (sha256 of the uncompressed tar) and shared by
                               every image that has it
     ROOT/images.json          { "NAME:TAG": { "id", "manifest"?, "layers"
                               (diff_ids, bottom first), "created", "size" } }
     ROOT/images.lock          flock'ed: shared to read, exclusive to change

   images.json is the only index and is replaced whole (write a temporary,
   fsync, rename), so a reader sees the old or the new one, never half of
   one. Everything it names is in place before it names it; a crash leaves
   at most unnamed content (a layer, a blob: reused by the next import of
   the same content) or a `.tmp-` leftover that nobody holds a lock on,
   which the next removal reaps. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-internal.h"

struct rt_store
{
  char *root, *blobs_dir, *layers_dir, *images_path;
  int lock_fd;
};

/* ---- references: Docker's grammar (distribution/reference) ---- */

struct ref
{
  char *name;   /* "busybox:latest", "localhost:5000/app:1" */
  char *digest; /* "sha256:..." after '@', or NULL */
};

static void
ref_free (struct ref *r)
{
  free (r->name);
  free (r->digest);
}

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

static bool
digest_valid (const char *d)
{
  return d && str_has_prefix (d, "sha256:") && strlen (d) == RT_DIGEST_LEN && hex_valid (d + 7, 64);
}

/* Parse and normalize: "busybox" → "busybox:latest",
   "docker.io/library/busybox" → "busybox:latest", others kept as written. */
static int
ref_parse (const char *ref, struct ref *out, stack_error_t **err)
{
  cleanup_free char *s = xstrdup (ref);
  const char *why = NULL, *tag = "latest", *domain = NULL;
  char *at, *slash, *colon, *path, *p;
  size_t len;

  memset (out, 0, sizeof *out);
  at = strchr (s, '@');
  if (at)
    {
      *at = '\0';
      if (!digest_valid (at + 1))
        return stack_error_set (err, EINVAL,
                                "invalid reference `%s`: a digest is sha256: and 64 "
                                "hex digits",
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
  /* the first component is a registry when it looks like a host name
     (a dot, a port, "localhost", capitals), as Docker decides */
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
  len = (domain ? strlen (domain) + 1 : 0) + strlen (path);
  if (len > 255)
    return stack_error_set (
        err, EINVAL, "invalid reference `%s`: a repository name is at most 255 characters", ref);

  if (domain && (strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0))
    domain = NULL;
  if (domain == NULL && str_has_prefix (path, "library/") && strchr (path + 8, '/') == NULL)
    path += 8;
  out->name = xasprintf ("%s%s%s:%s", domain ? domain : "", domain ? "/" : "", path, tag);
  out->digest = at ? xstrdup (at + 1) : NULL;
  return 0;
}

/* ---- files ---- */

static int
fsync_dir (const char *dir)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) < 0)
    return -1;
  return 0;
}

/* Write data to path atomically: PATH's directory/.tmp-NAME, fsync,
   rename. The temporary is flock'ed so that a reaper leaves it alone. */
static int
write_atomic (const char *dir, const char *name, const void *data, size_t len, stack_error_t **err)
{
  cleanup_free char *tmp = xasprintf ("%s/" RT_TMP_PREFIX "%s", dir, name);
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  cleanup_close int fd = -1;
  const char *p = data;

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || flock (fd, LOCK_EX) < 0)
    return stack_error_make (err, errno, "write `%s`", tmp);
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          unlink (tmp);
          return stack_error_make (err, e, "write `%s`", tmp);
        }
      p += n;
      len -= (size_t)n;
    }
  if (fsync (fd) < 0 || rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return stack_error_make (err, e, "write `%s`", path);
    }
  if (fsync_dir (dir) < 0)
    return stack_error_make (err, errno, "sync `%s`", dir);
  return 0;
}

static char *
blob_path (rt_store_t *s, const char *digest)
{
  return xasprintf ("%s/%s", s->blobs_dir, digest + 7);
}

static char *
layer_path (rt_store_t *s, const char *diff_id)
{
  return xasprintf ("%s/%s", s->layers_dir, diff_id + 7);
}

/* Read and parse a blob, checking that its content is its name. */
static int
read_json_blob (rt_store_t *s, const char *digest, json_t **out, stack_error_t **err)
{
  cleanup_free char *path = blob_path (s, digest);
  cleanup_free char *data = NULL;
  char actual[RT_DIGEST_LEN + 1];
  json_error_t jerr;
  size_t len;

  if (read_file (path, &data, &len, err) < 0)
    return -1;
  rt_sha256_digest (data, len, actual);
  if (strcmp (actual, digest) != 0)
    return stack_error_set (err, EIO, "blob `%s` is corrupt: its content hashes to %s", path,
                            actual);
  *out = json_loadb (data, len, 0, &jerr);
  if (*out == NULL)
    return stack_error_set (err, EIO, "blob `%s`: %s", path, jerr.text);
  return 0;
}

/* ---- images.json ---- */

static int
store_lock (rt_store_t *s, int how, stack_error_t **err)
{
  while (flock (s->lock_fd, how) < 0)
    if (errno != EINTR)
      return stack_error_make (err, errno, "lock `%s/images.lock`", s->root);
  return 0;
}

static void
store_unlock (rt_store_t *s)
{
  (void)flock (s->lock_fd, LOCK_UN);
}

/* Check an entry before any path is made from it: a hand-edited or damaged
   images.json must not send us to "layers/../../etc". */
static bool
entry_valid (json_t *e)
{
  json_t *layers = json_object_get (e, "layers"), *l, *m = json_object_get (e, "manifest");
  size_t i;

  if (!json_is_object (e) || !digest_valid (json_string_value (json_object_get (e, "id")))
      || !json_is_array (layers) || (m && !digest_valid (json_string_value (m))))
    return false;
  json_array_foreach (layers, i, l) if (!digest_valid (json_string_value (l))) return false;
  return true;
}

static int
load_images (rt_store_t *s, json_t **out, stack_error_t **err)
{
  json_error_t jerr;
  const char *name;
  json_t *e;

  if (access (s->images_path, F_OK) < 0 && errno == ENOENT)
    {
      *out = json_object ();
      return 0;
    }
  *out = json_load_file (s->images_path, JSON_REJECT_DUPLICATES, &jerr);
  if (*out == NULL)
    return stack_error_set (err, EIO, "`%s`:%d: %s", s->images_path, jerr.line, jerr.text);
  if (!json_is_object (*out))
    {
      json_decref (steal_pointer (out));
      return stack_error_set (err, EIO, "`%s`: not a JSON object", s->images_path);
    }
  json_object_foreach (*out, name, e) if (!entry_valid (e))
  {
    stack_error_set (err, EIO, "`%s`: the entry `%s` is damaged", s->images_path, name);
    json_decref (steal_pointer (out));
    return -1;
  }
  return 0;
}

static int
save_images (rt_store_t *s, json_t *images, stack_error_t **err)
{
  cleanup_free char *data = json_dumps (images, JSON_INDENT (2) | JSON_SORT_KEYS);

  if (data == NULL)
    return stack_error_make (err, ENOMEM, "serialize `%s`", s->images_path);
  return write_atomic (s->root, "images.json", data, strlen (data), err);
}

/* ---- open / close ---- */

int
rt_store_open (const char *root, rt_store_t **out, stack_error_t **err)
{
  rt_store_t *s = xzalloc (sizeof *s);
  cleanup_free char *blobs = xasprintf ("%s/blobs", root);
  cleanup_free char *lock = xasprintf ("%s/images.lock", root);
  const char *fail = root;

  s->root = xstrdup (root);
  s->blobs_dir = xasprintf ("%s/blobs/sha256", root);
  s->layers_dir = xasprintf ("%s/layers", root);
  s->images_path = xasprintf ("%s/images.json", root);
  s->lock_fd = -1;
  /* 0700: layers hold setuid programs that no local user may reach */
  if (mkdir_p (root, 0700) < 0 || (fail = blobs, mkdir (blobs, 0700) < 0 && errno != EEXIST)
      || (fail = s->blobs_dir, mkdir (s->blobs_dir, 0700) < 0 && errno != EEXIST)
      || (fail = s->layers_dir, mkdir (s->layers_dir, 0700) < 0 && errno != EEXIST))
    {
      int e = errno;
      rt_store_close (s);
      return stack_error_make (err, e, "create the image store `%s`", fail);
    }
  s->lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0)
    {
      int e = errno;
      rt_store_close (s);
      return stack_error_make (err, e, "open `%s`", lock);
    }
  *out = s;
  return 0;
}

void
rt_store_close (rt_store_t *s)
{
  if (s == NULL)
    return;
  if (s->lock_fd >= 0)
    close (s->lock_fd);
  free (s->root);
  free (s->blobs_dir);
  free (s->layers_dir);
  free (s->images_path);
  free (s);
}

/* ---- images from entries ---- */

static char **
strv_from_json (json_t *a)
{
  char **v;
  json_t *x;
  size_t i, n = 0;

  if (!json_is_array (a) || json_array_size (a) == 0)
    return NULL;
  v = xzalloc ((json_array_size (a) + 1) * sizeof *v);
  json_array_foreach (a, i, x) if (json_is_string (x)) v[n++] = xstrdup (json_string_value (x));
  return v;
}

/* {"/data": {}, ...} → {"/data", ...} */
static char **
strv_from_keys (json_t *o)
{
  const char *k;
  char **v;
  json_t *x;
  size_t n = 0;

  if (!json_is_object (o) || json_object_size (o) == 0)
    return NULL;
  v = xzalloc ((json_object_size (o) + 1) * sizeof *v);
  json_object_foreach (o, k, x) v[n++] = xstrdup (k);
  return v;
}

static char *
str_or_null (json_t *o, const char *key)
{
  const char *v = json_string_value (json_object_get (o, key));
  return v && v[0] ? xstrdup (v) : NULL;
}

static int
image_from_entry (rt_store_t *s, const char *name, json_t *e, rt_image_t **out, stack_error_t **err)
{
  rt_image_t *img = xzalloc (sizeof *img);
  json_t *config = NULL, *c, *layers = json_object_get (e, "layers"), *l;
  const char *manifest = json_string_value (json_object_get (e, "manifest"));
  size_t i;

  img->name = xstrdup (name);
  img->id = xstrdup (json_string_value (json_object_get (e, "id")));
  img->manifest = manifest ? xstrdup (manifest) : NULL;
  img->size = (uint64_t)json_integer_value (json_object_get (e, "size"));
  img->created = (int64_t)json_integer_value (json_object_get (e, "created"));
  img->n_layers = json_array_size (layers);
  img->layers = xzalloc ((img->n_layers + 1) * sizeof *img->layers);
  json_array_foreach (layers, i, l) img->layers[i] = layer_path (s, json_string_value (l));

  if (read_json_blob (s, img->id, &config, err) < 0)
    {
      rt_image_free (img);
      return stack_error_wrap (err, "image `%s`", name);
    }
  c = json_object_get (config, "config");
  img->config.entrypoint = strv_from_json (json_object_get (c, "Entrypoint"));
  img->config.cmd = strv_from_json (json_object_get (c, "Cmd"));
  img->config.env = strv_from_json (json_object_get (c, "Env"));
  img->config.working_dir = str_or_null (c, "WorkingDir");
  img->config.user = str_or_null (c, "User");
  img->config.stop_signal = str_or_null (c, "StopSignal");
  img->config.volumes = strv_from_keys (json_object_get (c, "Volumes"));
  img->config.exposed_ports = strv_from_keys (json_object_get (c, "ExposedPorts"));
  json_decref (config);
  *out = img;
  return 0;
}

static void
strv_free (char **v)
{
  size_t i;
  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

void
rt_image_free (rt_image_t *img)
{
  size_t i;

  if (img == NULL)
    return;
  free (img->name);
  free (img->id);
  free (img->manifest);
  for (i = 0; i < img->n_layers; i++)
    free (img->layers[i]);
  free (img->layers);
  strv_free (img->config.entrypoint);
  strv_free (img->config.cmd);
  strv_free (img->config.env);
  free (img->config.working_dir);
  free (img->config.user);
  free (img->config.stop_signal);
  strv_free (img->config.volumes);
  strv_free (img->config.exposed_ports);
  free (img);
}

/* ---- finding ---- */

/* The name that ref means: a name ("busybox" = "busybox:latest", or
   name@digest matching the manifest), else a full id or a unique prefix of
   at least 4 hex digits (with or without "sha256:"). With several names on
   one id, *n_names says how many and the first (sorted) is returned. */
static int
resolve (json_t *images, const char *ref, const char **name_out, size_t *n_names,
         stack_error_t **err)
{
  struct ref r;
  const char *hex = str_has_prefix (ref, "sha256:") ? ref + 7 : ref, *name, *found = NULL;
  const char *found_id = NULL;
  stack_error_t *ref_err = NULL;
  size_t n = 0, hexlen = strlen (hex);
  json_t *e;
  int ret;

  *n_names = 1;
  ret = ref_parse (ref, &r, &ref_err);
  if (ret == 0)
    {
      e = json_object_get (images, r.name);
      if (e
          && (r.digest == NULL
              || strcmp (r.digest, json_string_value (json_object_get (e, "manifest")) ?: "") == 0))
        {
          *name_out = json_object_iter_key (json_object_iter_at (images, r.name));
          ref_free (&r);
          return 0;
        }
    }

  if (hexlen >= 4 && hexlen <= 64 && hex_valid (hex, hexlen))
    {
      json_object_foreach (images, name, e)
      {
        const char *id = json_string_value (json_object_get (e, "id"));
        if (strncmp (id + 7, hex, hexlen) != 0)
          continue;
        if (found_id && strcmp (found_id, id) != 0)
          {
            ref_free (&r);
            stack_error_free (&ref_err);
            return stack_error_set (err, EINVAL, "image id prefix `%s` is ambiguous", ref);
          }
        found_id = id;
        if (found == NULL || strcmp (name, found) < 0)
          found = name;
        n++;
      }
      if (found)
        {
          ref_free (&r);
          stack_error_free (&ref_err);
          *name_out = found;
          *n_names = n;
          return 0;
        }
    }

  ref_free (&r);
  if (ret < 0)
    {
      stack_error_free (err);
      *err = steal_pointer (&ref_err);
      return -1;
    }
  return stack_error_set (err, ENOENT, "image `%s` not found", ref);
}

int
rt_image_get (rt_store_t *s, const char *ref, rt_image_t **out, stack_error_t **err)
{
  json_t *images = NULL;
  const char *name;
  size_t n;
  int ret;

  /* held while the config blob is read: a removal could take it away */
  if (store_lock (s, LOCK_SH, err) < 0)
    return -1;
  ret = load_images (s, &images, err);
  if (ret == 0)
    ret = resolve (images, ref, &name, &n, err);
  if (ret == 0)
    ret = image_from_entry (s, name, json_object_get (images, name), out, err);
  store_unlock (s);
  json_decref (images);
  return ret;
}

static int
image_cmp (const void *a, const void *b)
{
  const rt_image_t *x = *(rt_image_t *const *)a, *y = *(rt_image_t *const *)b;
  if (x->created != y->created)
    return x->created > y->created ? -1 : 1;
  return strcmp (x->name, y->name);
}

int
rt_image_list (rt_store_t *s, rt_image_t ***out, size_t *n, stack_error_t **err)
{
  json_t *images = NULL, *e;
  rt_image_t **v;
  const char *name;
  size_t i = 0;

  if (store_lock (s, LOCK_SH, err) < 0)
    return -1;
  if (load_images (s, &images, err) < 0)
    {
      store_unlock (s);
      return -1;
    }
  v = xzalloc ((json_object_size (images) + 1) * sizeof *v);
  json_object_foreach (images, name, e)
  {
    if (image_from_entry (s, name, e, &v[i], err) < 0)
      {
        store_unlock (s);
        while (i-- > 0)
          rt_image_free (v[i]);
        free (v);
        json_decref (images);
        return -1;
      }
    i++;
  }
  store_unlock (s);
  json_decref (images);
  qsort (v, i, sizeof *v, image_cmp);
  *out = v;
  *n = i;
  return 0;
}

/* ---- removing, and what goes with it ---- */

/* How many names the image id has. */
static size_t
names_of (json_t *images, const char *id)
{
  const char *name;
  size_t n = 0;
  json_t *e;

  json_object_foreach (images, name,
                       e) if (strcmp (json_string_value (json_object_get (e, "id")), id) == 0) n++;
  return n;
}

/* Holds: <root>/holds/<holder> names the image a container was created
   from. An image a container holds cannot lose its last name (Docker:
   "image is being used by container ..."). */
static bool
holder_valid (const char *holder)
{
  return holder[0] && holder[0] != '.' && strchr (holder, '/') == NULL && strlen (holder) < 256;
}

int
rt_image_hold (rt_store_t *s, const char *id, const char *holder, stack_error_t **err)
{
  cleanup_free char *dir = xasprintf ("%s/holds", s->root);

  if (!holder_valid (holder) || !digest_valid (id))
    return stack_error_make (err, EINVAL, "hold image `%s` for `%s`: invalid name", id, holder);
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return stack_error_make (err, errno, "create `%s`", dir);
  return write_atomic (dir, holder, id, strlen (id), err);
}

int
rt_image_release (rt_store_t *s, const char *holder, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/holds/%s", s->root, holder);

  if (!holder_valid (holder))
    return stack_error_make (err, EINVAL, "release `%s`: invalid name", holder);
  if (unlink (path) < 0 && errno != ENOENT)
    return stack_error_make (err, errno, "remove `%s`", path);
  return 0;
}

/* The first holder of id, or NULL (malloc'ed). */
static char *
image_holder (rt_store_t *s, const char *id)
{
  cleanup_free char *dir = xasprintf ("%s/holds", s->root);
  struct dirent *de;
  char *found = NULL;
  DIR *d = opendir (dir);

  if (d == NULL)
    return NULL;
  while (found == NULL && (de = readdir (d)) != NULL)
    {
      cleanup_free char *path = NULL, *text = NULL;
      stack_error_t *e = NULL;
      if (!holder_valid (de->d_name) || str_has_prefix (de->d_name, RT_TMP_PREFIX))
        continue;
      path = xasprintf ("%s/%s", dir, de->d_name);
      if (read_file (path, &text, NULL, &e) < 0)
        {
          stack_error_free (&e);
          continue;
        }
      if (strcmp (text, id) == 0)
        found = xstrdup (de->d_name);
    }
  closedir (d);
  return found;
}

int
rt_remove_tree (const char *path, stack_error_t **err)
{
  if (rt_rm_rf_at (AT_FDCWD, path) < 0)
    return stack_error_make (err, errno, "remove `%s`", path);
  return 0;
}

/* The blobs an entry needs: its config, its manifest and the manifest's
   config and layer blobs. Added as keys to set. */
static void
entry_blobs (rt_store_t *s, json_t *e, json_t *set)
{
  const char *manifest = json_string_value (json_object_get (e, "manifest"));
  stack_error_t *err = NULL;
  json_t *m = NULL, *l;
  size_t i;

  json_object_set_new (set, json_string_value (json_object_get (e, "id")), json_true ());
  if (manifest == NULL)
    return;
  json_object_set_new (set, manifest, json_true ());
  if (read_json_blob (s, manifest, &m, &err) < 0)
    {
      stack_error_free (&err);
      return;
    }
  l = json_object_get (json_object_get (m, "config"), "digest");
  if (digest_valid (json_string_value (l)))
    json_object_set_new (set, json_string_value (l), json_true ());
  json_array_foreach (json_object_get (m, "layers"), i, l)
  {
    const char *d = json_string_value (json_object_get (l, "digest"));
    if (digest_valid (d))
      json_object_set_new (set, d, json_true ());
  }
  json_decref (m);
}

/* After `gone` left images (removed, or replaced by a new image under its
   name): delete its blobs and layers that no remaining image uses.
   Called with the exclusive lock held. */
static void
collect (rt_store_t *s, json_t *images, json_t *gone)
{
  json_t *keep_blobs = json_object (), *keep_layers = json_object (), *drop = json_object ();
  json_t *e, *l;
  const char *name, *d;
  size_t i;

  json_object_foreach (images, name, e)
  {
    entry_blobs (s, e, keep_blobs);
    json_array_foreach (json_object_get (e, "layers"), i, l)
        json_object_set_new (keep_layers, json_string_value (l), json_true ());
  }
  entry_blobs (s, gone, drop);
  json_object_foreach (drop, d, e) if (json_object_get (keep_blobs, d) == NULL)
  {
    cleanup_free char *path = blob_path (s, d);
    (void)unlink (path);
  }
  json_array_foreach (json_object_get (gone, "layers"), i, l)
  {
    const char *diff_id = json_string_value (l);
    cleanup_free char *path = NULL, *doomed = NULL;
    if (json_object_get (keep_layers, diff_id))
      continue;
    /* renamed first, so that a crash half-way through the removal never
       leaves a partial layer under the name a later import would reuse */
    path = layer_path (s, diff_id);
    doomed = xasprintf ("%s/" RT_TMP_PREFIX "rm-%s", s->layers_dir, diff_id + 7);
    if (rename (path, doomed) == 0)
      (void)rt_rm_rf_at (AT_FDCWD, doomed);
  }
  rt_reap_tmp (s->layers_dir);
  rt_reap_tmp (s->blobs_dir);
  json_decref (keep_blobs);
  json_decref (keep_layers);
  json_decref (drop);
}

int
rt_image_remove (rt_store_t *s, const char *ref, stack_error_t **err)
{
  json_t *images = NULL, *gone = NULL;
  cleanup_free char *name = NULL;
  const char *found;
  size_t n;
  int ret = -1;

  if (store_lock (s, LOCK_EX, err) < 0)
    return -1;
  if (load_images (s, &images, err) < 0)
    goto out;
  if (resolve (images, ref, &found, &n, err) < 0)
    goto out;
  name = xstrdup (found);
  gone = json_incref (json_object_get (images, name));
  if (n > 1)
    {
      /* an id names the image, not one of its names: say which to remove */
      stack_error_set (err, EBUSY, "image `%.12s` has %zu names: remove them by name",
                       json_string_value (json_object_get (gone, "id")) + 7, n);
      goto out;
    }
  /* its last name: a container using it keeps it */
  if (names_of (images, json_string_value (json_object_get (gone, "id"))) == 1)
    {
      cleanup_free char *holder
          = image_holder (s, json_string_value (json_object_get (gone, "id")));
      if (holder)
        {
          stack_error_set (err, EBUSY,
                           "image `%s` is used by container `%s`: remove the container first "
                           "(`stack down`)",
                           name, holder);
          goto out;
        }
    }
  json_object_del (images, name);
  if (save_images (s, images, err) < 0)
    goto out;
  collect (s, images, gone);
  ret = 0;

out:
  store_unlock (s);
  json_decref (gone);
  json_decref (images);
  return ret;
}

/* ---- import ---- */

static const char *
go_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__i386__)
  return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

/* Now, or SOURCE_DATE_EPOCH when set (reproducible-builds.org): the same
   tarball imported with the same epoch gives the same image id. */
static time_t
import_time (void)
{
  const char *e = getenv ("SOURCE_DATE_EPOCH");
  char *end;
  long long v;

  if (e && e[0])
    {
      errno = 0;
      v = strtoll (e, &end, 10);
      if (errno == 0 && *end == '\0' && v >= 0)
        return (time_t)v;
    }
  return time (NULL);
}

/* The OCI image config of an imported rootfs. Like `docker import`, the
   config is empty: no Cmd, no Env; the service supplies them. */
static char *
import_config (const char *diff_id, time_t now, const char *tar_path)
{
  const char *base = strrchr (tar_path, '/');
  cleanup_free char *comment = xasprintf ("Imported from %s", base ? base + 1 : tar_path);
  char created[32];
  struct tm tm;
  json_t *c;
  char *out;

  gmtime_r (&now, &tm);
  strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  c = json_pack ("{s:s, s:s, s:s, s:{}, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture",
                 go_arch (), "os", "linux", "created", created, "config", "rootfs", "type",
                 "layers", "diff_ids", diff_id, "history", "created", created, "comment", comment);
  out = json_dumps (c, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (c);
  return out;
}

/* Record an unpacked layer and a config under name, replacing what the
   name meant before. Called with the exclusive lock held. */
static int
import_commit (rt_store_t *s, rt_layer_tmp_t *t, const char *name, const char *tar_path,
               char id[RT_DIGEST_LEN + 1], stack_error_t **err)
{
  cleanup_free char *final = layer_path (s, t->diff_id);
  cleanup_free char *config = NULL;
  cleanup_free char *blob = NULL;
  time_t now = import_time ();
  json_t *images = NULL, *old;
  int ret;

  ret = rt_layer_commit (t, final, err);
  if (ret < 0)
    return -1;
  if (ret > 0)
    rt_layer_tmp_discard (t); /* unpacked once: an image already has it */

  config = import_config (t->diff_id, now, tar_path);
  if (config == NULL)
    return stack_error_make (err, ENOMEM, "serialize the image config");
  rt_sha256_digest (config, strlen (config), id);
  blob = blob_path (s, id);
  if (access (blob, F_OK) < 0
      && write_atomic (s->blobs_dir, id + 7, config, strlen (config), err) < 0)
    return -1;

  if (load_images (s, &images, err) < 0)
    return -1;
  old = json_incref (json_object_get (images, name));
  json_object_set_new (images, name,
                       json_pack ("{s:s, s:[s], s:I, s:I}", "id", id, "layers", t->diff_id,
                                  "created", (json_int_t)now, "size", (json_int_t)t->size));
  ret = save_images (s, images, err);
  if (ret == 0 && old)
    collect (s, images, old);
  json_decref (old);
  json_decref (images);
  return ret;
}

int
rt_image_import (rt_store_t *s, const char *tar_path, const char *name, rt_image_t **out,
                 stack_error_t **err)
{
  cleanup_close int fd = -1;
  char id[RT_DIGEST_LEN + 1];
  rt_layer_tmp_t t;
  struct stat st;
  struct ref r;
  int ret;

  if (ref_parse (name, &r, err) < 0)
    return -1;
  if (r.digest)
    {
      ref_free (&r);
      return stack_error_set (err, EINVAL,
                              "invalid reference `%s`: an imported image is named "
                              "NAME[:TAG], without a digest",
                              name);
    }
  fd = open (tar_path, O_RDONLY | O_CLOEXEC);
  ret = fd < 0 || fstat (fd, &st) < 0 ? errno : S_ISDIR (st.st_mode) ? EISDIR : 0;
  if (ret != 0)
    {
      ref_free (&r);
      return stack_error_make (err, ret, "import `%s`", tar_path);
    }
  /* the long part runs unlocked, in a temporary directory of our own */
  ret = rt_layer_unpack (fd, s->layers_dir, &t, err);
  if (ret < 0)
    {
      ref_free (&r);
      return stack_error_wrap (err, "import `%s`", tar_path);
    }
  ret = store_lock (s, LOCK_EX, err);
  if (ret == 0)
    {
      ret = import_commit (s, &t, r.name, tar_path, id, err);
      store_unlock (s);
    }
  rt_layer_tmp_discard (&t);
  if (ret == 0 && out)
    ret = rt_image_get (s, r.name, out, err);
  ref_free (&r);
  if (ret < 0)
    return stack_error_wrap (err, "import `%s`", tar_path);
  return 0;
}
