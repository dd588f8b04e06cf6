/* store.c — the image store: content-addressed, under STACK_ROOT.

     ROOT/blobs/sha256/<hex>   image configs and manifests, named by their
                               sha256 (a pull's compressed layers pass through
                               here and go once unpacked)
     ROOT/layers/<hex>/        each layer unpacked once, named by its diff_id
                               (sha256 of the uncompressed tar) and shared by
                               every image that has it
     ROOT/images.json          { "NAME": { "id", "manifest"?, "digest"?,
                               "layers" (diff_ids, bottom first), "created",
                               "stored", "size" } }, NAME "repo:tag" or
                               "repo@sha256:..."
     ROOT/images.lock          flock'ed: shared to read, exclusive to change
     ROOT/work.lock            flock'ed shared by pulls and loads under way,
                               exclusive by prune
     ROOT/holds/<container>    the image id a container was created from

   images.json is the only index and is replaced whole (write a temporary,
   fsync, rename), so a reader sees the old or the new one, never half of
   one. Everything it names is in place before it names it; a crash leaves
   at most unnamed content (a layer, a blob: reused by the next pull of the
   same content, removed by `image prune`) or a `.tmp-` leftover that nobody
   holds a lock on, which the next removal reaps. */
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

/* ---- files ---- */

static int
fsync_dir (const char *dir)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) < 0)
    return -1;
  return 0;
}

/* Write data to path atomically: PATH's directory/.tmp-NAME-XXXXXX, fsync,
   rename. The temporary is flock'ed so that a reaper leaves it alone. */
static int
write_atomic (const char *dir, const char *name, const void *data, size_t len, stack_error_t **err)
{
  /* a name of its own: two pulls may store the same blob at once */
  cleanup_free char *tmp = xasprintf ("%s/" RT_TMP_PREFIX "%.64s-XXXXXX", dir, name);
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  cleanup_close int fd = -1;

  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0 || flock (fd, LOCK_EX) < 0)
    return stack_error_make (err, errno, "write `%s`", tmp);
  if (write_all (fd, data, len) < 0)
    {
      int e = errno;
      unlink (tmp);
      return stack_error_make (err, e, "write `%s`", tmp);
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
  json_t *d = json_object_get (e, "digest");
  size_t i;

  if (!json_is_object (e) || !rt_digest_valid (json_string_value (json_object_get (e, "id")))
      || !json_is_array (layers) || (m && !rt_digest_valid (json_string_value (m)))
      || (d && !rt_digest_valid (json_string_value (d))))
    return false;
  json_array_foreach (layers, i, l) if (!rt_digest_valid (json_string_value (l))) return false;
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

static int
image_from_entry (rt_store_t *s, const char *name, json_t *e, rt_image_t **out, stack_error_t **err)
{
  rt_image_t *img = xzalloc (sizeof *img);
  json_t *config = NULL, *layers = json_object_get (e, "layers"), *l;
  const char *manifest = json_string_value (json_object_get (e, "manifest"));
  const char *digest = json_string_value (json_object_get (e, "digest"));
  size_t i;

  img->name = xstrdup (name);
  img->digest = digest ? xstrdup (digest) : NULL;
  img->stored = (int64_t)json_integer_value (json_object_get (e, "stored"));
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
  rt_image_config_from_json (config, &img->config);
  json_decref (config);
  *out = img;
  return 0;
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
  free (img->digest);
  for (i = 0; i < img->n_layers; i++)
    free (img->layers[i]);
  free (img->layers);
  rt_image_config_clear (&img->config);
  free (img);
}

/* ---- finding ---- */

/* The repository part of a store name: "a/b" of "a/b:t" or "a/b@sha256:…". */
static size_t
repo_len (const char *name)
{
  const char *at = strchr (name, '@'), *slash = strrchr (name, '/'), *colon;

  if (at)
    return (size_t)(at - name);
  colon = strrchr (slash ? slash : name, ':');
  return colon ? (size_t)(colon - name) : strlen (name);
}

/* Does entry e (named name) answer r, a reference with a digest? It
   does when it was pulled by that digest, or under a name of r's
   repository whose registry digest or manifest is that digest. */
static bool
digest_matches (const rt_ref_t *r, const char *name, json_t *e)
{
  size_t n = repo_len (r->name);

  if (repo_len (name) != n || strncmp (name, r->name, n) != 0)
    return false;
  return strcmp (r->digest, json_string_value (json_object_get (e, "digest")) ?: "") == 0
         || strcmp (r->digest, json_string_value (json_object_get (e, "manifest")) ?: "") == 0;
}

/* The name that ref means: a name ("busybox" = "busybox:latest"), or
   name@digest (stored by that digest, or a name of that repository with
   that digest), else a full id or a unique prefix of at least 4 hex
   digits (with or without "sha256:"). With several names on one id,
   *n_names says how many and the first (sorted) is returned. */
static int
resolve (json_t *images, const char *ref, const char **name_out, size_t *n_names,
         stack_error_t **err)
{
  rt_ref_t r;
  const char *hex = str_has_prefix (ref, "sha256:") ? ref + 7 : ref, *name, *found = NULL;
  const char *found_id = NULL;
  stack_error_t *ref_err = NULL;
  size_t n = 0, hexlen = strlen (hex);
  json_t *e;
  int ret;

  *n_names = 1;
  ret = rt_ref_parse (ref, &r, &ref_err);
  if (ret == 0)
    {
      e = json_object_get (images, r.name);
      if (e)
        found = json_object_iter_key (json_object_iter_at (images, r.name));
      else if (r.digest)
        json_object_foreach (images, name, e) if (found == NULL && digest_matches (&r, name, e))
            found = name;
      rt_ref_free (&r);
      if (found)
        {
          *name_out = found;
          return 0;
        }
    }

  if (hexlen >= 4 && hexlen <= 64 && strspn (hex, "0123456789abcdef") == hexlen)
    {
      json_object_foreach (images, name, e)
      {
        const char *id = json_string_value (json_object_get (e, "id"));
        if (strncmp (id + 7, hex, hexlen) != 0)
          continue;
        if (found_id && strcmp (found_id, id) != 0)
          {
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
          stack_error_free (&ref_err);
          *name_out = found;
          *n_names = n;
          return 0;
        }
    }

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

  if (!holder_valid (holder) || !rt_digest_valid (id))
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
  if (rt_digest_valid (json_string_value (l)))
    json_object_set_new (set, json_string_value (l), json_true ());
  json_array_foreach (json_object_get (m, "layers"), i, l)
  {
    const char *d = json_string_value (json_object_get (l, "digest"));
    if (rt_digest_valid (d))
      json_object_set_new (set, d, json_true ());
  }
  json_decref (m);
}

/* The blobs and layers images name, as sets (JSON objects) of digests. */
static void
referenced (rt_store_t *s, json_t *images, json_t **blobs, json_t **layers)
{
  const char *name;
  json_t *e, *l;
  size_t i;

  *blobs = json_object ();
  *layers = json_object ();
  json_object_foreach (images, name, e)
  {
    entry_blobs (s, e, *blobs);
    json_array_foreach (json_object_get (e, "layers"), i, l)
        json_object_set_new (*layers, json_string_value (l), json_true ());
  }
}

static void
remove_layer (rt_store_t *s, const char *diff_id)
{
  cleanup_free char *path = layer_path (s, diff_id);
  cleanup_free char *doomed = xasprintf ("%s/" RT_TMP_PREFIX "rm-%s", s->layers_dir, diff_id + 7);

  /* renamed first: a crash half-way never leaves a partial layer under its name */
  if (rename (path, doomed) == 0)
    (void)rt_rm_rf_at (AT_FDCWD, doomed);
}

/* After `gone` left images (removed, or replaced by a new image under its
   name): delete its blobs and layers that no remaining image uses.
   Called with the exclusive lock held. */
static void
collect (rt_store_t *s, json_t *images, json_t *gone)
{
  json_t *keep_blobs, *keep_layers, *drop = json_object ();
  json_t *e, *l;
  const char *d;
  size_t i;

  referenced (s, images, &keep_blobs, &keep_layers);
  entry_blobs (s, gone, drop);
  json_object_foreach (drop, d, e) if (json_object_get (keep_blobs, d) == NULL)
  {
    cleanup_free char *path = blob_path (s, d);
    (void)unlink (path);
  }
  json_array_foreach (json_object_get (gone, "layers"), i, l)
  {
    if (json_object_get (keep_layers, json_string_value (l)) == NULL)
      remove_layer (s, json_string_value (l));
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

/* ---- content for pulls and loads ---- */

char *
rt_store_blob_path (rt_store_t *s, const char *digest)
{
  return blob_path (s, digest);
}

const char *
rt_store_blobs_dir (rt_store_t *s)
{
  return s->blobs_dir;
}

int
rt_store_put_blob (rt_store_t *s, const char *digest, const void *data, size_t len,
                   stack_error_t **err)
{
  cleanup_free char *path = blob_path (s, digest);
  char actual[RT_DIGEST_LEN + 1];

  rt_sha256_digest (data, len, actual);
  if (strcmp (actual, digest) != 0)
    return stack_error_set (err, EIO, "blob %s is corrupt: its content hashes to %s", digest,
                            actual);
  if (access (path, F_OK) == 0)
    return 0;
  return write_atomic (s->blobs_dir, digest + 7, data, len, err);
}

int
rt_store_read_blob (rt_store_t *s, const char *digest, char **data, size_t *len,
                    stack_error_t **err)
{
  cleanup_free char *path = blob_path (s, digest);
  char actual[RT_DIGEST_LEN + 1];

  if (read_file (path, data, len, err) < 0)
    return -1;
  rt_sha256_digest (*data, *len, actual);
  if (strcmp (actual, digest) != 0)
    {
      free (steal_pointer (data));
      return stack_error_set (err, EIO, "blob `%s` is corrupt: its content hashes to %s", path,
                              actual);
    }
  return 0;
}

bool
rt_store_has_layer (rt_store_t *s, const char *diff_id)
{
  cleanup_free char *path = layer_path (s, diff_id);
  struct stat st;

  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

int
rt_store_add_layer (rt_store_t *s, int fd, const char *diff_id,
                    const rt_unpack_progress_t *progress, uint64_t *size, stack_error_t **err)
{
  cleanup_free char *final = layer_path (s, diff_id);
  rt_layer_tmp_t t;
  int ret;

  if (rt_layer_unpack (fd, s->layers_dir, progress, &t, err) < 0)
    return stack_error_wrap (err, "layer %s", diff_id);
  if (strcmp (t.diff_id, diff_id) != 0)
    {
      rt_layer_tmp_discard (&t);
      return stack_error_set (err, EIO,
                              "layer %s is corrupt: its uncompressed content hashes to %s",
                              diff_id, t.diff_id);
    }
  if (size)
    *size = t.size;
  ret = rt_layer_commit (&t, final, err);
  /* 1: another pull placed the same content first */
  rt_layer_tmp_discard (&t);
  return ret < 0 ? -1 : 0;
}

/* Bytes of the regular files below dirfd (closed), symlinks not followed,
   each hardlinked file once (seen: "dev:ino" of those with several
   links), as an unpack counts them. */
static uint64_t
tree_size (int dirfd, json_t *seen)
{
  DIR *d = fdopendir (dirfd);
  struct dirent *de;
  uint64_t total = 0;

  if (d == NULL)
    {
      close (dirfd);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      char key[48];
      int sub;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
          || fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISREG (st.st_mode) && st.st_nlink > 1)
        {
          snprintf (key, sizeof key, "%llu:%llu", (unsigned long long)st.st_dev,
                    (unsigned long long)st.st_ino);
          if (json_object_get (seen, key))
            continue;
          json_object_set_new (seen, key, json_true ());
        }
      if (S_ISREG (st.st_mode))
        total += (uint64_t)st.st_size;
      else if (S_ISDIR (st.st_mode)
               && (sub = openat (dirfd, de->d_name,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
                      >= 0)
        total += tree_size (sub, seen);
    }
  closedir (d);
  return total;
}

uint64_t
rt_store_layer_size (rt_store_t *s, const char *diff_id)
{
  cleanup_free char *path = layer_path (s, diff_id);
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  json_t *seen = json_object ();
  uint64_t size = fd < 0 ? 0 : tree_size (fd, seen);

  json_decref (seen);
  return size;
}

int
rt_store_check_config (rt_store_t *s, const char *config_digest, size_t n_layers, json_t **config,
                       stack_error_t **err)
{
  json_t *ids, *id;
  size_t i;

  if (read_json_blob (s, config_digest, config, err) < 0)
    return -1;
  ids = json_object_get (json_object_get (*config, "rootfs"), "diff_ids");
  if (!json_is_object (*config) || !json_is_array (ids))
    {
      json_decref (steal_pointer (config));
      return stack_error_set (err, EIO, "image config %s has no rootfs.diff_ids", config_digest);
    }
  if (n_layers && json_array_size (ids) != n_layers)
    {
      size_t have = json_array_size (ids);
      json_decref (steal_pointer (config));
      return stack_error_set (err, EIO,
                              "image config %s lists %zu layers (rootfs.diff_ids) but its "
                              "manifest %zu",
                              config_digest, have, n_layers);
    }
  json_array_foreach (ids, i, id) if (!rt_digest_valid (json_string_value (id)))
  {
    json_decref (steal_pointer (config));
    return stack_error_set (err, EIO, "image config %s: rootfs.diff_ids[%zu] is not a sha256 digest",
                            config_digest, i);
  }
  return 0;
}

/* Called with the exclusive lock held. */
static int
name_image_locked (rt_store_t *s, const rt_image_record_t *r, stack_error_t **err)
{
  cleanup_free char *config = blob_path (s, r->config);
  cleanup_free char *manifest = r->manifest ? blob_path (s, r->manifest) : NULL;
  json_t *images = NULL, *old, *e, *layers = json_array ();
  size_t i;
  int ret;

  for (i = 0; i < r->n_layers; i++)
    {
      if (!rt_store_has_layer (s, r->diff_ids[i]))
        {
          json_decref (layers);
          return stack_error_set (err, ENOENT, "layer %s was removed while `%s` was stored",
                                  r->diff_ids[i], r->name);
        }
      json_array_append_new (layers, json_string (r->diff_ids[i]));
    }
  if (access (config, F_OK) < 0 || (manifest && access (manifest, F_OK) < 0))
    {
      json_decref (layers);
      return stack_error_set (err, ENOENT, "a blob of `%s` was removed while it was stored",
                              r->name);
    }
  e = json_pack ("{s:s, s:o, s:I, s:I, s:I}", "id", r->config, "layers", layers, "created",
                 (json_int_t)r->created, "stored", (json_int_t)time (NULL), "size",
                 (json_int_t)r->size);
  if (r->manifest)
    json_object_set_new (e, "manifest", json_string (r->manifest));
  if (r->digest)
    json_object_set_new (e, "digest", json_string (r->digest));
  if (load_images (s, &images, err) < 0)
    {
      json_decref (e);
      return -1;
    }
  old = json_incref (json_object_get (images, r->name));
  json_object_set_new (images, r->name, e);
  ret = save_images (s, images, err);
  if (ret == 0 && old)
    collect (s, images, old);
  json_decref (old);
  json_decref (images);
  return ret;
}

int
rt_store_name_image (rt_store_t *s, const rt_image_record_t *r, stack_error_t **err)
{
  int ret;

  if (store_lock (s, LOCK_EX, err) < 0)
    return -1;
  ret = name_image_locked (s, r, err);
  store_unlock (s);
  return ret;
}

static int
work_lock (rt_store_t *s, int how, int *lock_fd, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/work.lock", s->root);

  *lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*lock_fd < 0)
    return stack_error_make (err, errno, "open `%s`", path);
  while (flock (*lock_fd, how) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (*lock_fd);
        *lock_fd = -1;
        return stack_error_make (err, e, "lock `%s`", path);
      }
  return 0;
}

int
rt_store_work_begin (rt_store_t *s, int *lock_fd, stack_error_t **err)
{
  return work_lock (s, LOCK_SH, lock_fd, err);
}

void
rt_store_work_end (int lock_fd)
{
  if (lock_fd >= 0)
    close (lock_fd);
}

/* ---- prune ---- */

void
rt_store_drop_unnamed (rt_store_t *s, const char *const *diff_ids, size_t n_layers,
                       const char *const *blobs, size_t n_blobs)
{
  json_t *images = NULL, *keep_blobs = NULL, *keep_layers = NULL;
  stack_error_t *err = NULL;
  size_t i;

  if (store_lock (s, LOCK_EX, &err) < 0 || load_images (s, &images, &err) < 0)
    {
      /* left for `image prune` */
      stack_error_free (&err);
      store_unlock (s);
      return;
    }
  referenced (s, images, &keep_blobs, &keep_layers);
  for (i = 0; i < n_layers; i++)
    if (diff_ids[i] && json_object_get (keep_layers, diff_ids[i]) == NULL)
      remove_layer (s, diff_ids[i]);
  for (i = 0; i < n_blobs; i++)
    if (blobs[i] && json_object_get (keep_blobs, blobs[i]) == NULL)
      {
        cleanup_free char *path = blob_path (s, blobs[i]);
        (void)unlink (path);
      }
  store_unlock (s);
  json_decref (keep_blobs);
  json_decref (keep_layers);
  json_decref (images);
}

/* Remove what is in dir but not in keep (names: hex digests), adding the
   bytes freed. Temporary names are reaped by rt_reap_tmp. */
static void
prune_dir (const char *dir, json_t *keep, bool layers, uint64_t *freed)
{
  struct dirent *de;
  DIR *d = opendir (dir);

  if (d == NULL)
    return;
  while ((de = readdir (d)) != NULL)
    {
      cleanup_free char *digest = xasprintf ("sha256:%s", de->d_name);
      struct stat st;

      if (!rt_digest_valid (digest) || json_object_get (keep, digest)
          || fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (layers && S_ISDIR (st.st_mode))
        {
          cleanup_free char *doomed = xasprintf (RT_TMP_PREFIX "rm-%s", de->d_name);
          int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          json_t *seen = json_object ();
          *freed += fd < 0 ? 0 : tree_size (fd, seen);
          json_decref (seen);
          if (renameat (dirfd (d), de->d_name, dirfd (d), doomed) == 0)
            (void)rt_rm_rf_at (dirfd (d), doomed);
        }
      else if (!layers && S_ISREG (st.st_mode) && unlinkat (dirfd (d), de->d_name, 0) == 0)
        *freed += (uint64_t)st.st_size;
    }
  closedir (d);
}

int
rt_image_prune (rt_store_t *s, bool all, char ***removed, uint64_t *freed, stack_error_t **err)
{
  json_t *images = NULL, *keep_blobs = NULL, *keep_layers = NULL, *e;
  const char *name;
  size_t n_removed = 0;
  void *tmp;
  int work_fd = -1, ret = -1;

  *freed = 0;
  if (removed)
    *removed = xzalloc (sizeof **removed);
  /* no pull or load is between storing its layers and naming them */
  if (work_lock (s, LOCK_EX, &work_fd, err) < 0)
    return -1;
  if (store_lock (s, LOCK_EX, err) < 0)
    goto out_work;
  if (load_images (s, &images, err) < 0)
    goto out;
  if (all)
    json_object_foreach_safe (images, tmp, name, e)
    {
      const char *id = json_string_value (json_object_get (e, "id"));
      cleanup_free char *holder = image_holder (s, id);
      if (holder)
        continue;
      if (removed)
        {
          *removed = xrealloc (*removed, (n_removed + 2) * sizeof **removed);
          (*removed)[n_removed++] = xstrdup (name);
          (*removed)[n_removed] = NULL;
        }
      json_object_del (images, name);
    }
  if (n_removed > 0 && save_images (s, images, err) < 0)
    goto out;
  referenced (s, images, &keep_blobs, &keep_layers);
  rt_reap_tmp (s->layers_dir);
  rt_reap_tmp (s->blobs_dir);
  prune_dir (s->layers_dir, keep_layers, true, freed);
  prune_dir (s->blobs_dir, keep_blobs, false, freed);
  ret = 0;
out:
  store_unlock (s);
out_work:
  rt_store_work_end (work_fd);
  json_decref (keep_blobs);
  json_decref (keep_layers);
  json_decref (images);
  return ret;
}

/* ---- import ---- */

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
                 rt_go_arch (), "os", "linux", "created", created, "config", "rootfs", "type",
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
  time_t now = import_time ();
  const char *diff_ids[] = { t->diff_id };
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
  if (rt_store_put_blob (s, id, config, strlen (config), err) < 0)
    return -1;
  return name_image_locked (s,
                            &(rt_image_record_t){ .name = name,
                                                  .config = id,
                                                  .diff_ids = diff_ids,
                                                  .n_layers = 1,
                                                  .size = t->size,
                                                  .created = (int64_t)now },
                            err);
}

int
rt_image_import (rt_store_t *s, const char *tar_path, const char *name, rt_image_t **out,
                 stack_error_t **err)
{
  cleanup_close int fd = -1;
  char id[RT_DIGEST_LEN + 1];
  rt_layer_tmp_t t;
  struct stat st;
  rt_ref_t r;
  int ret;

  if (rt_ref_parse (name, &r, err) < 0)
    return -1;
  if (r.digest)
    {
      rt_ref_free (&r);
      return stack_error_set (err, EINVAL,
                              "invalid reference `%s`: an imported image is named "
                              "NAME[:TAG], without a digest",
                              name);
    }
  fd = open (tar_path, O_RDONLY | O_CLOEXEC);
  ret = fd < 0 || fstat (fd, &st) < 0 ? errno : S_ISDIR (st.st_mode) ? EISDIR : 0;
  if (ret != 0)
    {
      rt_ref_free (&r);
      return stack_error_make (err, ret, "import `%s`", tar_path);
    }
  /* the long part runs unlocked, in a temporary directory of our own */
  ret = rt_layer_unpack (fd, s->layers_dir, NULL, &t, err);
  if (ret < 0)
    {
      rt_ref_free (&r);
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
  rt_ref_free (&r);
  if (ret < 0)
    return stack_error_wrap (err, "import `%s`", tar_path);
  return 0;
}
