/* load.c — `image load`: a `docker save` tarball, an OCI image archive (a
   tar of an OCI layout) or an OCI layout directory, told apart by what
   they hold, not by their names.

   An archive is first copied, file by file under names of ours, into a
   private directory (load-src.c): its files come in any order.

   Then, in three passes, so that a bad archive names nothing:
   1. every image is resolved and every blob read is checked against its
      digest and size (docker save: a file named after its digest is
      checked against that name; the config's sha256 is the image id);
   2. configs, manifests and layers enter the store (each layer's diff_id
      is checked by rt_store_add_layer as it is unpacked);
   3. the names are given. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load-internal.h"

/* nested indexes followed at most */
#define INDEX_DEPTH 4

struct image
{
  char **names; /* store names, NULL-terminated */
  char *what;   /* for messages: the first name, or the descriptor's digest */
  char config[RT_DIGEST_LEN + 1];
  char *config_data;
  size_t config_len;
  char manifest[RT_DIGEST_LEN + 1]; /* "" when there is none (docker save) */
  char *manifest_data;
  size_t manifest_len;
  char **layers; /* files of the archive, bottom first, NULL-terminated */
  size_t n_layers;
  char **diff_ids; /* from the config, once stored */
  uint64_t size;
  int64_t created;
};

static void
strv_add (char ***v, const char *s)
{
  size_t n = 0;
  while (*v && (*v)[n])
    n++;
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

static void
image_free (struct image *im)
{
  strv_free (im->names);
  free (im->what);
  free (im->config_data);
  free (im->manifest_data);
  strv_free (im->layers);
  strv_free (im->diff_ids);
}

/* ---- names of images ---- */

static int
image_add_name (struct image *im, const char *ref, stack_error_t **err)
{
  rt_ref_t r;

  if (rt_ref_parse (ref, &r, err) < 0)
    {
      /* a bad name in an archive is the archive's fault, not bad usage */
      (*err)->status = EIO;
      return -1;
    }
  if (r.digest)
    {
      rt_ref_free (&r);
      return stack_error_set (err, EIO, "image name `%s`: a loaded image is named NAME[:TAG]", ref);
    }
  strv_add (&im->names, r.name);
  if (im->what == NULL)
    im->what = xstrdup (r.name);
  rt_ref_free (&r);
  return 0;
}

/* ---- checked blobs, by descriptor ---- */

static const char *
desc_digest (json_t *desc, stack_error_t **err)
{
  const char *d = json_string_value (json_object_get (desc, "digest"));

  if (d == NULL)
    stack_error_set (err, EIO, "a descriptor has no digest");
  else if (!rt_digest_valid (d))
    {
      stack_error_set (err, EIO, "unsupported digest `%.80s`: only sha256 is", d);
      d = NULL;
    }
  return d;
}

static int
check_sum (const char *digest, const char *actual, uint64_t size, json_t *desc, stack_error_t **err)
{
  json_t *want = json_object_get (desc, "size");

  if (strcmp (digest, actual) != 0)
    return stack_error_set (err, EIO, "blob %s is corrupt: its content hashes to %s", digest,
                            actual);
  if (json_is_integer (want) && (uint64_t)json_integer_value (want) != size)
    return stack_error_set (err, EIO, "blob %s is %llu bytes, its descriptor says %lld", digest,
                            (unsigned long long)size, (long long)json_integer_value (want));
  return 0;
}

/* The JSON blob a descriptor names (an index, a manifest, a config),
   checked against its digest and size. */
static int
blob_read (struct src *src, json_t *desc, char **data, size_t *len, stack_error_t **err)
{
  const char *d = desc_digest (desc, err);
  cleanup_free char *file = NULL;
  char actual[RT_DIGEST_LEN + 1];

  if (d == NULL)
    return -1;
  file = xasprintf ("blobs/sha256/%s", d + 7);
  if (src_read (src, file, data, len, err) < 0)
    {
      if ((*err)->status == ENOENT)
        stack_error_set (err, ENOENT, "blob %s is missing", d);
      return -1;
    }
  rt_sha256_digest (*data, *len, actual);
  if (check_sum (d, actual, *len, desc, err) < 0)
    {
      free (steal_pointer (data));
      return -1;
    }
  return 0;
}

static json_t *
parse_json (const char *data, size_t len, const char *what, stack_error_t **err)
{
  json_error_t jerr;
  json_t *j = json_loadb (data, len, 0, &jerr);

  if (j == NULL)
    stack_error_set (err, EIO, "%s: %s", what, jerr.text);
  else if (!json_is_object (j) && !json_is_array (j))
    {
      json_decref (steal_pointer (&j));
      stack_error_set (err, EIO, "%s: not a JSON object", what);
    }
  return j;
}

/* ---- docker save: manifest.json ---- */

/* A file of manifest.json, there, and matching the digest its name claims. */
static int
docker_file (struct src *src, const char *raw, stack_error_t **err)
{
  char claim[RT_DIGEST_LEN + 1], actual[RT_DIGEST_LEN + 1];
  cleanup_free char *clean = NULL;
  const char *why;
  uint64_t size;

  if (src_sum (src, raw, actual, &size, err) < 0)
    return -1;
  clean = rt_clean_name (raw, COMPONENT_MAX, &why);
  if (clean && name_claims (clean, claim) && strcmp (claim, actual) != 0)
    return stack_error_set (err, EIO, "blob %s is corrupt: its content hashes to %s", claim,
                            actual);
  return 0;
}

static int
docker_image (struct src *src, json_t *entry, struct image *im, stack_error_t **err)
{
  const char *config = json_string_value (json_object_get (entry, "Config"));
  json_t *tags = json_object_get (entry, "RepoTags"), *layers = json_object_get (entry, "Layers");
  json_t *x;
  size_t i;

  if (config == NULL || !json_is_array (layers))
    return stack_error_set (err, EIO, "manifest.json: an entry lacks Config or Layers");
  if (docker_file (src, config, err) < 0
      || src_read (src, config, &im->config_data, &im->config_len, err) < 0)
    return -1;
  rt_sha256_digest (im->config_data, im->config_len, im->config);
  json_array_foreach (tags, i, x)
  {
    if (image_add_name (im, json_string_value (x) ?: "", err) < 0)
      return -1;
  }
  if (im->names == NULL)
    return stack_error_set (err, EIO,
                            "image %.19s has no name (its RepoTags in manifest.json are empty): "
                            "save it by name, e.g. `docker save NAME:TAG`",
                            im->config);
  json_array_foreach (layers, i, x)
  {
    const char *f = json_string_value (x);
    if (f == NULL)
      return stack_error_set (err, EIO, "manifest.json: Layers holds a non-string");
    if (docker_file (src, f, err) < 0)
      return stack_error_wrap (err, "image `%s`", im->what);
    strv_add (&im->layers, f);
    im->n_layers++;
  }
  return 0;
}

static int
docker_images (struct src *src, struct image **out, size_t *n, stack_error_t **err)
{
  cleanup_free char *data = NULL;
  json_t *m, *entry;
  size_t len, i;
  int ret = 0;

  if (src_read (src, "manifest.json", &data, &len, err) < 0)
    return -1;
  m = parse_json (data, len, "manifest.json", err);
  if (m == NULL)
    return -1;
  if (!json_is_array (m) || json_array_size (m) == 0)
    ret = stack_error_set (err, EIO, "manifest.json: not a list of images");
  *out = xzalloc ((json_array_size (m) + 1) * sizeof **out);
  json_array_foreach (m, i, entry)
  {
    if (ret < 0)
      break;
    ret = docker_image (src, entry, &(*out)[i], err);
    *n = i + 1;
  }
  json_decref (m);
  return ret;
}

/* ---- OCI: index.json ---- */

static int
oci_manifest (struct src *src, json_t *desc, struct image *im, stack_error_t **err)
{
  json_t *m, *config, *layers, *l;
  const char *mt;
  size_t i;
  int ret = -1;

  if (blob_read (src, desc, &im->manifest_data, &im->manifest_len, err) < 0)
    return -1;
  snprintf (im->manifest, sizeof im->manifest, "%s", desc_digest (desc, err));
  m = parse_json (im->manifest_data, im->manifest_len, im->manifest, err);
  if (m == NULL)
    return -1;
  config = json_object_get (m, "config");
  layers = json_object_get (m, "layers");
  mt = json_string_value (json_object_get (config, "mediaType"));
  if (!json_is_object (config) || !json_is_array (layers))
    {
      stack_error_set (err, EIO, "manifest %s has no config or no layers", im->manifest);
      goto out;
    }
  if (mt && strcmp (mt, "application/vnd.oci.image.config.v1+json") != 0
      && strcmp (mt, "application/vnd.docker.container.image.v1+json") != 0)
    {
      stack_error_set (err, EIO, "manifest %s is not a container image (its config is `%.80s`)",
                       im->manifest, mt);
      goto out;
    }
  if (blob_read (src, config, &im->config_data, &im->config_len, err) < 0)
    goto out;
  snprintf (im->config, sizeof im->config, "%s", desc_digest (config, err));
  json_array_foreach (layers, i, l)
  {
    const char *d = desc_digest (l, err), *why;
    char actual[RT_DIGEST_LEN + 1];
    cleanup_free char *file = NULL;
    uint64_t size;

    if (d == NULL)
      goto out;
    why = rt_oci_layer_refused (json_string_value (json_object_get (l, "mediaType")));
    if (why)
      {
        stack_error_set (err, ENOTSUP, "layer %s (%.80s): %s", d,
                         json_string_value (json_object_get (l, "mediaType")) ?: "?", why);
        goto out;
      }
    file = xasprintf ("blobs/sha256/%s", d + 7);
    if (src_sum (src, file, actual, &size, err) < 0)
      {
        if ((*err)->status == ENOENT)
          stack_error_set (err, ENOENT, "blob %s is missing", d);
        goto out;
      }
    if (check_sum (d, actual, size, l, err) < 0)
      goto out;
    strv_add (&im->layers, file);
    im->n_layers++;
  }
  ret = 0;
out:
  json_decref (m);
  return ret;
}

/* Follow desc through nested indexes to the manifest for linux/<our
   architecture>, as a pull does; into *im. */
static int
oci_resolve (struct src *src, json_t *desc, struct image *im, int depth, stack_error_t **err)
{
  cleanup_free char *data = NULL;
  json_t *index, *chosen = NULL;
  const char *mt = json_string_value (json_object_get (desc, "mediaType"));
  strbuf_t seen = { 0 };
  size_t len;
  int ret;

  if (rt_oci_is_manifest (mt))
    return oci_manifest (src, desc, im, err);
  if (!rt_oci_is_index (mt))
    return stack_error_set (err, ENOTSUP, "unsupported media type `%.80s`", mt ?: "(none)");
  if (depth >= INDEX_DEPTH)
    return stack_error_set (err, EIO, "indexes nested too deep");
  if (blob_read (src, desc, &data, &len, err) < 0)
    return -1;
  index = parse_json (data, len, json_string_value (json_object_get (desc, "digest")), err);
  if (index == NULL)
    return -1;
  chosen = rt_oci_pick_platform (index, &seen);
  if (chosen)
    ret = oci_resolve (src, chosen, im, depth + 1, err);
  else
    ret = stack_error_set (err, ENOENT, "index %s has no image for linux/%s (it has: %s)",
                           json_string_value (json_object_get (desc, "digest")), rt_go_arch (),
                           seen.len ? seen.s : "none");
  sb_free (&seen);
  json_decref (index);
  return ret;
}

/* The image's names from its index.json descriptor. */
static int
oci_names (struct src *src, json_t *desc, struct image *im, stack_error_t **err)
{
  json_t *ann = json_object_get (desc, "annotations");
  const char *full = json_string_value (json_object_get (ann, "io.containerd.image.name"));
  const char *ref = json_string_value (json_object_get (ann, "org.opencontainers.image.ref.name"));
  const char *d = json_string_value (json_object_get (desc, "digest")) ?: "?";
  const char *kind = src->tmp ? "oci-archive" : "oci";

  if (full)
    return image_add_name (im, full, err);
  /* OCI means a tag by ref.name, tools write a whole name there too
     (skopeo, podman): a `/` or a `:` tells */
  if (ref && (strchr (ref, '/') || strchr (ref, ':')))
    return image_add_name (im, ref, err);
  if (ref)
    return stack_error_set (err, EIO,
                            "image %.19s is named only `%s` (a tag, no repository): give it a "
                            "name, e.g. `skopeo copy %s:%s:%s oci-archive:NAMED.tar:NAME:TAG`, "
                            "then load NAMED.tar",
                            d, ref, kind, src->path, ref);
  return stack_error_set (err, EIO,
                          "image %.19s has no name (no org.opencontainers.image.ref.name in "
                          "index.json): give it one, e.g. `skopeo copy %s:%s "
                          "oci-archive:NAMED.tar:NAME:TAG`, then load NAMED.tar",
                          d, kind, src->path);
}

static int
oci_check_layout (struct src *src, stack_error_t **err)
{
  cleanup_free char *data = NULL;
  const char *v;
  json_t *j;
  size_t len;

  if (!src_has (src, "oci-layout"))
    return 0;
  if (src_read (src, "oci-layout", &data, &len, err) < 0)
    return -1;
  j = parse_json (data, len, "oci-layout", err);
  if (j == NULL)
    return -1;
  v = json_string_value (json_object_get (j, "imageLayoutVersion"));
  if (v == NULL || !str_has_prefix (v, "1."))
    {
      json_decref (j);
      return stack_error_set (err, EIO, "oci-layout: unsupported imageLayoutVersion `%s`",
                              v ?: "?");
    }
  json_decref (j);
  return 0;
}

static int
oci_images (struct src *src, struct image **out, size_t *n, stack_error_t **err)
{
  cleanup_free char *data = NULL;
  json_t *index, *descs, *desc;
  size_t len, i;
  int ret = 0;

  if (oci_check_layout (src, err) < 0 || src_read (src, "index.json", &data, &len, err) < 0)
    return -1;
  index = parse_json (data, len, "index.json", err);
  if (index == NULL)
    return -1;
  descs = json_object_get (index, "manifests");
  *out = xzalloc ((json_array_size (descs) + 1) * sizeof **out);
  json_array_foreach (descs, i, desc)
  {
    struct image *im = &(*out)[*n];
    json_t *p = json_object_get (desc, "platform");

    /* an index.json that lists one image per platform: ours only */
    if (p && !rt_oci_platform_ours (p))
      continue;
    (*n)++;
    ret = oci_names (src, desc, im, err);
    if (ret == 0 && (ret = oci_resolve (src, desc, im, 0, err)) < 0)
      stack_error_wrap (err, "image `%s`", im->what);
    if (ret < 0)
      break;
  }
  if (ret == 0 && *n == 0)
    ret = stack_error_set (err, ENOENT, "index.json has no image for linux/%s", rt_go_arch ());
  json_decref (index);
  return ret;
}

/* ---- into the store ---- */

static int
image_store (rt_store_t *s, struct src *src, struct image *im, stack_error_t **err)
{
  json_t *config = NULL, *ids, *x;
  size_t i;

  if (rt_store_put_blob (s, im->config, im->config_data, im->config_len, err) < 0
      || rt_store_check_config (s, im->config, im->n_layers, &config, err) < 0)
    return -1;
  im->created = rt_parse_created (json_string_value (json_object_get (config, "created")) ?: "");
  ids = json_object_get (json_object_get (config, "rootfs"), "diff_ids");
  strv_free (steal_pointer (&im->diff_ids));
  json_array_foreach (ids, i, x)
  {
    strv_add (&im->diff_ids, json_string_value (x));
  }
  json_decref (config);

  im->size = 0;
  for (i = 0; i < im->n_layers; i++)
    {
      cleanup_close int fd = -1;
      uint64_t size = 0;

      if (rt_store_has_layer (s, im->diff_ids[i]))
        {
          im->size += rt_store_layer_size (s, im->diff_ids[i]);
          continue;
        }
      fd = src_open (src, im->layers[i], err);
      if (fd < 0 || rt_store_add_layer (s, fd, im->diff_ids[i], NULL, &size, err) < 0)
        return stack_error_wrap (err, "layer %zu (`%s`)", i + 1, im->layers[i]);
      im->size += size;
    }
  if (im->manifest[0]
      && rt_store_put_blob (s, im->manifest, im->manifest_data, im->manifest_len, err) < 0)
    return -1;
  return 0;
}

static int
image_name (rt_store_t *s, struct src *src, struct image *im, const char *name, stack_error_t **err)
{
  rt_image_record_t r = {
    .name = name,
    .config = im->config,
    .manifest = im->manifest[0] ? im->manifest : NULL,
    .digest = NULL,
    .diff_ids = (const char *const *)im->diff_ids,
    .n_layers = im->n_layers,
    .size = im->size,
    .created = im->created,
  };
  int ret = rt_store_name_image (s, &r, err);

  /* a removal took a layer or a blob between our store and our naming */
  if (ret < 0 && (*err)->status == ENOENT)
    {
      stack_error_free (err);
      ret = image_store (s, src, im, err);
      if (ret == 0)
        ret = rt_store_name_image (s, &r, err);
    }
  return ret;
}

/* Store every image, then name them (a name given twice: the last wins). */
static int
load_images (rt_store_t *s, struct src *src, struct image *v, size_t n, rt_image_t ***out,
             size_t *n_out, stack_error_t **err)
{
  json_t *names = json_object (), *x;
  const char *name;
  size_t i, j;
  int ret = 0;

  for (i = 0; i < n && ret == 0; i++)
    {
      ret = image_store (s, src, &v[i], err);
      if (ret < 0)
        stack_error_wrap (err, "image `%s`", v[i].what);
      for (j = 0; ret == 0 && v[i].names[j]; j++)
        {
          json_object_del (names, v[i].names[j]);
          json_object_set_new (names, v[i].names[j], json_integer ((json_int_t)i));
        }
    }
  json_object_foreach (names, name, x)
  {
    if (ret < 0)
      break;
    ret = image_name (s, src, &v[json_integer_value (x)], name, err);
  }
  *out = xzalloc ((json_object_size (names) + 1) * sizeof **out);
  *n_out = 0;
  json_object_foreach (names, name, x)
  {
    if (ret < 0)
      break;
    ret = rt_image_get (s, name, &(*out)[*n_out], err);
    if (ret == 0)
      (*n_out)++;
  }
  json_decref (names);
  return ret;
}

int
rt_image_load (rt_store_t *s, const char *path, rt_image_t ***out, size_t *n, stack_error_t **err)
{
  struct image *v = NULL;
  struct src src;
  size_t n_images = 0, i;
  int lock_fd = -1, ret;

  *out = NULL;
  *n = 0;
  memset (&src, 0, sizeof src);
  src.dirfd = -1;
  ret = rt_store_work_begin (s, &lock_fd, err);
  if (ret == 0)
    ret = src_open_path (&src, s, path, err);
  if (ret == 0)
    {
      /* manifest.json first: Docker 25 writes an OCI layout beside it,
         without the names */
      if (src_has (&src, "manifest.json"))
        ret = docker_images (&src, &v, &n_images, err);
      else if (src_has (&src, "index.json"))
        ret = oci_images (&src, &v, &n_images, err);
      else
        ret = stack_error_set (err, EIO,
                               "not an image archive: it holds neither manifest.json (docker "
                               "save) nor index.json (OCI)");
    }
  if (ret == 0)
    ret = load_images (s, &src, v, n_images, out, n, err);
  src_close (&src);
  if (lock_fd >= 0)
    rt_store_work_end (lock_fd);
  for (i = 0; i < n_images; i++)
    image_free (&v[i]);
  free (v);
  if (ret < 0)
    {
      for (i = 0; i < *n; i++)
        rt_image_free ((*out)[i]);
      free (steal_pointer (out));
      *n = 0;
      return stack_error_wrap (err, "load `%s`", path);
    }
  return 0;
}
