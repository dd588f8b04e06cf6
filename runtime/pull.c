/* pull.c — `stack pull`: an image from a registry into the store.

   The manifest comes first (a list or index is resolved to this machine's
   platform), then the config, whose rootfs.diff_ids say which layers the
   store already has: those are never fetched again. The others are
   fetched by a few threads at once, each blob into an unnamed file
   (O_TMPFILE: nothing of it survives a crash) and checked against its
   size and digest before it is unpacked; the unpacked layer must hash to
   its diff_id before it takes its name. Only then is the image named. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry-internal.h"

/* attempts per request, and the first delay between them (doubling) */
#define ATTEMPTS 5
#define FIRST_DELAY_MS 500
/* at most one DOWNLOADING report per layer this often */
#define REPORT_EVERY_NS (100 * 1000 * 1000LL)

struct layer
{
  size_t index;
  const char *blob; /* compressed digest */
  uint64_t blob_size;
  const char *diff_id;
  const struct layer *same; /* an earlier layer with this diff_id: fetched once */
  bool present;
  bool placed;   /* unpacked by this pull: dropped again if the pull fails */
  uint64_t size; /* unpacked */
  int64_t last_report;
};

struct pull
{
  rt_store_t *s;
  reg_t *reg;
  const rt_pull_opts_t *o;
  const char *ref;
  pthread_mutex_t lock; /* guards next, failed, err and progress calls */
  struct layer *layers;
  size_t n_layers, next;
  bool failed;
  stack_error_t *err;
  const char *new_blobs[2]; /* config and manifest blobs this pull stored */
};

/* Report, holding the lock. */
static void
report_locked (struct pull *p, enum rt_pull_phase phase, const struct layer *l, uint64_t done,
               uint64_t total, const char *message)
{
  /* a layer's report names its blob; DONE names the image's digest */
  rt_pull_progress_t pr = {
    .phase = phase,
    .ref = p->ref,
    .layer = l ? l->index : 0,
    .n_layers = p->n_layers,
    .digest = l                       ? l->blob
              : phase == RT_PULL_DONE ? message
                                      : NULL,
    .done = done,
    .total = total,
    .message = phase == RT_PULL_DONE ? NULL : message,
  };

  if (p->o->progress)
    p->o->progress (&pr, p->o->progress_data);
}

static void
report (struct pull *p, enum rt_pull_phase phase, const struct layer *l, uint64_t done,
        uint64_t total, const char *message)
{
  pthread_mutex_lock (&p->lock);
  report_locked (p, phase, l, done, total, message);
  pthread_mutex_unlock (&p->lock);
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* A request tried again on transient failures (EAGAIN), each one
   reported as RETRYING (for layer l, NULL: the image's own requests). */
struct request
{
  int (*run) (struct request *q, stack_error_t **err);
  struct pull *p;
  struct layer *l;
  const char *what;   /* a reference or a digest */
  uint64_t size;      /* a blob's, from its descriptor */
  int fd;             /* a layer's download */
  char *body, *ctype; /* what came */
  size_t len;
};

static int
with_retries (struct request *q, stack_error_t **err)
{
  long delay = FIRST_DELAY_MS;
  int attempt;

  for (attempt = 1;; attempt++)
    {
      if (q->run (q, err) == 0)
        return 0;
      if ((*err)->status != EAGAIN || attempt == ATTEMPTS)
        return -1;
      report (q->p, RT_PULL_RETRYING, q->l, 0, q->l ? q->l->blob_size : 0, (*err)->msg);
      stack_error_free (err);
      sleep_ms (delay);
      delay *= 2;
    }
}

/* ---- the manifest ---- */

/* The manifest's own mediaType, else the answer's Content-Type, else
   what its keys say (an OCI index may carry neither). */
static const char *
manifest_type (json_t *m, const char *ctype)
{
  const char *t = json_string_value (json_object_get (m, "mediaType"));

  if (t)
    return t;
  if (rt_oci_is_index (ctype) || rt_oci_is_manifest (ctype))
    return ctype;
  if (json_object_get (m, "manifests"))
    return RT_MT_OCI_INDEX;
  if (json_object_get (m, "layers"))
    return RT_MT_OCI_MANIFEST;
  return ctype ? ctype : "unknown";
}

static int
run_manifest (struct request *q, stack_error_t **err)
{
  return reg_get_manifest (q->p->reg, q->what, &q->body, &q->len, &q->ctype, err);
}

/* GET a manifest with retries; its digest is checked when the reference
   is one, and returned. */
static int
fetch_manifest (struct pull *p, const char *reference, json_t **out, char **type,
                char digest[RT_DIGEST_LEN + 1], char **body_out, size_t *len_out,
                stack_error_t **err)
{
  struct request q = { .run = run_manifest, .p = p, .what = reference };
  cleanup_free char *body = NULL, *ctype = NULL;
  json_error_t jerr;
  size_t len;
  int ret = with_retries (&q, err);

  body = q.body;
  ctype = q.ctype;
  len = q.len;
  if (ret < 0 && (*err)->status == ENOENT)
    return stack_error_wrap (err, "`%s` not found", reference);
  if (ret < 0)
    return -1;
  rt_sha256_digest (body, len, digest);
  if (str_has_prefix (reference, "sha256:") && strcmp (digest, reference) != 0)
    return stack_error_set (err, EIO, "manifest %s is corrupt: its content hashes to %s", reference,
                            digest);
  *out = json_loadb (body, len, 0, &jerr);
  if (!json_is_object (*out))
    {
      json_decref (steal_pointer (out));
      return stack_error_set (err, EPROTO, "manifest %s is not a JSON object: %s", digest,
                              jerr.text);
    }
  if (json_integer_value (json_object_get (*out, "schemaVersion")) != 2)
    {
      json_decref (steal_pointer (out));
      return stack_error_set (err, EPROTO,
                              "manifest %s is not schema version 2 (Docker's schema 1 images "
                              "are no longer supported; push the image again with a current "
                              "tool)",
                              digest);
    }
  *type = xstrdup (manifest_type (*out, ctype));
  if (body_out)
    {
      *body_out = steal_pointer (&body);
      *len_out = len;
    }
  return 0;
}

/* The image manifest ref names for this platform. */
static int
resolve_manifest (struct pull *p, const rt_ref_t *ref, json_t **manifest,
                  char manifest_digest[RT_DIGEST_LEN + 1], char **manifest_body,
                  size_t *manifest_len, char repo_digest[RT_DIGEST_LEN + 1], stack_error_t **err)
{
  cleanup_free char *type = NULL;
  json_t *m = NULL;
  int depth;

  if (fetch_manifest (p, ref->digest ? ref->digest : ref->tag, &m, &type, repo_digest,
                      manifest_body, manifest_len, err)
      < 0)
    return -1;
  memcpy (manifest_digest, repo_digest, RT_DIGEST_LEN + 1);
  /* an index may point at another index: follow a couple of levels */
  for (depth = 0; rt_oci_is_index (type) && depth < 3; depth++)
    {
      strbuf_t have = { 0 };
      json_t *entry = rt_oci_pick_platform (m, &have);
      const char *d = json_string_value (json_object_get (entry, "digest"));

      if (entry == NULL || !rt_digest_valid (d))
        {
          stack_error_set (err, ENOENT, "`%s` has no image for linux/%s (it has %s)", p->ref,
                           rt_go_arch (), have.len ? have.s : "none");
          sb_free (&have);
          json_decref (m);
          return -1;
        }
      sb_free (&have);
      {
        cleanup_free char *want = xstrdup (d);
        json_decref (steal_pointer (&m));
        free (steal_pointer (&type));
        free (steal_pointer (manifest_body));
        if (fetch_manifest (p, want, &m, &type, manifest_digest, manifest_body, manifest_len, err)
            < 0)
          return -1;
      }
    }
  if (!rt_oci_is_manifest (type))
    {
      stack_error_set (err, EPROTO, "`%s` is not a container image: its manifest is `%s`", p->ref,
                       type);
      json_decref (m);
      return -1;
    }
  *manifest = m;
  return 0;
}

/* The manifest's config and layers, checked. */
static int
read_manifest (struct pull *p, json_t *m, const char **config, uint64_t *config_size,
               stack_error_t **err)
{
  json_t *c = json_object_get (m, "config"), *layers = json_object_get (m, "layers"), *l;
  const char *ctype = json_string_value (json_object_get (c, "mediaType"));
  size_t i;

  *config = json_string_value (json_object_get (c, "digest"));
  *config_size = (uint64_t)json_integer_value (json_object_get (c, "size"));
  if (!rt_digest_valid (*config) || !json_is_array (layers))
    return stack_error_set (err, EPROTO, "the manifest of `%s` has no valid config or layers",
                            p->ref);
  if (ctype && strcmp (ctype, "application/vnd.oci.image.config.v1+json") != 0
      && strcmp (ctype, "application/vnd.docker.container.image.v1+json") != 0)
    return stack_error_set (err, EPROTO, "`%s` is not a container image: its config is `%s`",
                            p->ref, ctype);
  p->n_layers = json_array_size (layers);
  p->layers = xzalloc ((p->n_layers + 1) * sizeof *p->layers);
  json_array_foreach (layers, i, l)
  {
    const char *t = json_string_value (json_object_get (l, "mediaType"));
    const char *why = rt_oci_layer_refused (t);
    json_int_t size = json_integer_value (json_object_get (l, "size"));

    p->layers[i].index = i;
    p->layers[i].blob = json_string_value (json_object_get (l, "digest"));
    p->layers[i].blob_size = size > 0 ? (uint64_t)size : 0;
    if (!rt_digest_valid (p->layers[i].blob))
      return stack_error_set (err, EPROTO, "the manifest of `%s`: layers[%zu] has no valid digest",
                              p->ref, i);
    if (why)
      return stack_error_set (err, EPROTO, "`%s`: layer %s: %s (`%s`)", p->ref, p->layers[i].blob,
                              why, t ? t : "no mediaType");
  }
  return 0;
}

static int
run_config (struct request *q, stack_error_t **err)
{
  return reg_get_blob (q->p->reg, q->what, q->size, REG_CONFIG_MAX, &q->body, err);
}

/* The config blob, from the store when it is there. */
static int
fetch_config (struct pull *p, const char *digest, uint64_t size, stack_error_t **err)
{
  struct request q = { .run = run_config, .p = p, .what = digest, .size = size };
  cleanup_free char *body = NULL;
  size_t len;

  if (rt_store_read_blob (p->s, digest, &body, &len, err) == 0)
    return 0;
  stack_error_free (err);
  if (with_retries (&q, err) < 0)
    return -1;
  body = q.body;
  p->new_blobs[0] = digest;
  return rt_store_put_blob (p->s, digest, body, strlen (body), err);
}

/* ---- layers, in threads ---- */

struct fetch
{
  struct pull *p;
  struct layer *l;
};

/* A DOWNLOADING or EXTRACTING report, at most every REPORT_EVERY_NS a
   layer, and the last; true when another layer failed: stop. */
static bool
progress (struct fetch *f, enum rt_pull_phase phase, uint64_t done)
{
  int64_t now = mono_ns ();
  bool stop;

  pthread_mutex_lock (&f->p->lock);
  stop = f->p->failed;
  if (!stop && (now - f->l->last_report >= REPORT_EVERY_NS || done == f->l->blob_size))
    {
      f->l->last_report = now;
      report_locked (f->p, phase, f->l, done, f->l->blob_size, NULL);
    }
  pthread_mutex_unlock (&f->p->lock);
  return stop;
}

static int
download_progress (uint64_t done, void *data)
{
  return progress (data, RT_PULL_DOWNLOADING, done);
}

static void
unpack_progress (uint64_t read, void *data)
{
  (void)progress (data, RT_PULL_EXTRACTING, read);
}

/* An unnamed file beside the blobs: a crash leaves nothing of it. */
static int
open_scratch (rt_store_t *s, stack_error_t **err)
{
  const char *dir = rt_store_blobs_dir (s);
  cleanup_free char *tmpl = NULL;
  int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
    return fd >= 0 ? fd : stack_error_make (err, errno, "create a file in `%s`", dir);
  tmpl = xasprintf ("%s/" RT_TMP_PREFIX "pull-XXXXXX", dir);
  fd = mkostemp (tmpl, O_CLOEXEC);
  if (fd < 0)
    return stack_error_make (err, errno, "create a file in `%s`", dir);
  unlink (tmpl);
  return fd;
}

static int
run_layer (struct request *q, stack_error_t **err)
{
  struct fetch f = { q->p, q->l };

  if (lseek (q->fd, 0, SEEK_SET) < 0 || ftruncate (q->fd, 0) < 0)
    return stack_error_make (err, errno, "rewind the download of %s", q->l->blob);
  return reg_get_blob_fd (q->p->reg, q->l->blob, q->l->blob_size, q->fd, download_progress, &f,
                          err);
}

/* Download (with retries), verify, unpack one layer. */
static int
fetch_layer (struct pull *p, struct layer *l, stack_error_t **err)
{
  struct request q = { .run = run_layer, .p = p, .l = l, .what = l->blob };
  cleanup_close int fd = -1;

  fd = open_scratch (p->s, err);
  if (fd < 0)
    return -1;
  q.fd = fd;
  if (with_retries (&q, err) < 0)
    return -1;
  report (p, RT_PULL_VERIFYING, l, l->blob_size, l->blob_size, NULL);
  report (p, RT_PULL_EXTRACTING, l, 0, l->blob_size, NULL);
  if (lseek (fd, 0, SEEK_SET) < 0)
    return stack_error_make (err, errno, "rewind the download of %s", l->blob);
  if (rt_store_add_layer (p->s, fd, l->diff_id,
                          &(rt_unpack_progress_t){ unpack_progress, &(struct fetch){ p, l } },
                          &l->size, err)
      < 0)
    return -1;
  l->placed = true;
  report (p, RT_PULL_COMPLETE, l, l->blob_size, l->blob_size, NULL);
  return 0;
}

static void *
worker (void *data)
{
  struct pull *p = data;

  for (;;)
    {
      stack_error_t *err = NULL;
      struct layer *l = NULL;

      pthread_mutex_lock (&p->lock);
      while (!p->failed && p->next < p->n_layers && l == NULL)
        {
          struct layer *c = &p->layers[p->next++];
          if (!c->present && c->same == NULL)
            l = c;
        }
      pthread_mutex_unlock (&p->lock);
      if (l == NULL)
        return NULL;
      if (fetch_layer (p, l, &err) < 0)
        {
          pthread_mutex_lock (&p->lock);
          if (!p->failed)
            {
              p->failed = true;
              p->err = steal_pointer (&err);
            }
          pthread_mutex_unlock (&p->lock);
          stack_error_free (&err);
          return NULL;
        }
    }
}

/* Fetch every layer the store lacks, a few at once. */
static int
fetch_layers (struct pull *p, stack_error_t **err)
{
  unsigned want = p->o->parallel ? p->o->parallel : 3, n = 0, i;
  pthread_t *threads;
  size_t k, j, missing = 0;

  for (k = 0; k < p->n_layers; k++)
    {
      struct layer *l = &p->layers[k];
      l->present = rt_store_has_layer (p->s, l->diff_id);
      l->same = NULL;
      for (j = 0; j < k && !l->present; j++)
        if (strcmp (p->layers[j].diff_id, l->diff_id) == 0)
          l->same = &p->layers[j];
      report (p, l->present || l->same ? RT_PULL_EXISTS : RT_PULL_WAITING, l, 0, l->blob_size,
              NULL);
      missing += !l->present && !l->same;
    }
  if (missing == 0)
    return 0;
  if (want > missing)
    want = (unsigned)missing;
  p->next = 0;
  p->failed = false;
  threads = xzalloc (want * sizeof *threads);
  for (i = 0; i < want; i++)
    {
      if (pthread_create (&threads[n], NULL, worker, p) != 0)
        break;
      n++;
    }
  /* with no thread at all, this one does the work */
  if (n == 0)
    worker (p);
  for (i = 0; i < n; i++)
    pthread_join (threads[i], NULL);
  free (threads);
  if (p->failed)
    {
      stack_error_free (err);
      *err = steal_pointer (&p->err);
      return -1;
    }
  return 0;
}

/* ---- the whole pull ---- */

static int
pull_image (struct pull *p, const rt_ref_t *ref, stack_error_t **err)
{
  cleanup_free char *manifest_body = NULL, *manifest_path = NULL;
  cleanup_free const char **diff_ids = NULL;
  char manifest_digest[RT_DIGEST_LEN + 1], repo_digest[RT_DIGEST_LEN + 1];
  json_t *manifest = NULL, *config = NULL, *ids;
  const char *config_digest;
  uint64_t config_size, total = 0;
  size_t manifest_len = 0, i;
  int attempt, ret = -1;

  report (p, RT_PULL_RESOLVING, NULL, 0, 0, NULL);
  if (resolve_manifest (p, ref, &manifest, manifest_digest, &manifest_body, &manifest_len,
                        repo_digest, err)
      < 0)
    return -1;
  if (read_manifest (p, manifest, &config_digest, &config_size, err) < 0
      || fetch_config (p, config_digest, config_size, err) < 0
      || rt_store_check_config (p->s, config_digest, p->n_layers, &config, err) < 0)
    goto out;
  manifest_path = rt_store_blob_path (p->s, manifest_digest);
  if (access (manifest_path, F_OK) < 0)
    p->new_blobs[1] = manifest_digest;
  if (rt_store_put_blob (p->s, manifest_digest, manifest_body, manifest_len, err) < 0)
    goto out;
  ids = json_object_get (json_object_get (config, "rootfs"), "diff_ids");
  diff_ids = xzalloc ((p->n_layers + 1) * sizeof *diff_ids);
  for (i = 0; i < p->n_layers; i++)
    p->layers[i].diff_id = diff_ids[i] = json_string_value (json_array_get (ids, i));

  /* a removal racing us may take a layer we found present: fetch again */
  for (attempt = 0; attempt < 3; attempt++)
    {
      if (fetch_layers (p, err) < 0)
        goto out;
      for (i = 0, total = 0; i < p->n_layers; i++)
        {
          struct layer *l = &p->layers[i];
          if (l->present)
            l->size = rt_store_layer_size (p->s, l->diff_id);
          else if (l->same)
            l->size = l->same->size;
          total += l->size;
        }
      ret = rt_store_name_image (
          p->s,
          &(rt_image_record_t){
              .name = ref->name,
              .config = config_digest,
              .manifest = manifest_digest,
              .digest = repo_digest,
              .diff_ids = diff_ids,
              .n_layers = p->n_layers,
              .size = total,
              .created = rt_parse_created (json_string_value (json_object_get (config, "created"))),
          },
          err);
      if (ret == 0 || (*err)->status != ENOENT || attempt == 2)
        break;
      stack_error_free (err);
    }
  if (ret == 0)
    {
      pthread_mutex_lock (&p->lock);
      report_locked (p, RT_PULL_DONE, NULL, total, total, repo_digest);
      pthread_mutex_unlock (&p->lock);
    }

out:
  if (ret < 0)
    {
      /* a failed pull changes nothing: what it placed and nobody names goes */
      cleanup_free const char **placed = xzalloc ((p->n_layers + 1) * sizeof *placed);
      for (i = 0; i < p->n_layers; i++)
        placed[i] = p->layers[i].placed ? p->layers[i].diff_id : NULL;
      rt_store_drop_unnamed (p->s, placed, p->n_layers, p->new_blobs, ARRAY_SIZE (p->new_blobs));
    }
  json_decref (config);
  json_decref (manifest);
  return ret;
}

int
rt_image_pull (rt_store_t *s, const char *ref_text, const rt_pull_opts_t *opts, rt_image_t **out,
               stack_error_t **err)
{
  static const rt_pull_opts_t defaults = { 0 };
  struct pull p = { .s = s, .o = opts ? opts : &defaults, .ref = ref_text };
  rt_ref_t ref;
  int work_fd = -1, ret;

  if (rt_ref_parse (ref_text, &ref, err) < 0)
    return -1;
  pthread_mutex_init (&p.lock, NULL);
  ret = rt_store_work_begin (s, &work_fd, err);
  if (ret == 0)
    ret = reg_open (&ref, p.o, &p.reg, err);
  if (ret == 0)
    ret = pull_image (&p, &ref, err);
  if (ret == 0 && out)
    ret = rt_image_get (s, ref.name, out, err);
  rt_store_work_end (work_fd);
  reg_close (p.reg);
  free (p.layers);
  stack_error_free (&p.err);
  pthread_mutex_destroy (&p.lock);
  rt_ref_free (&ref);
  return ret;
}
