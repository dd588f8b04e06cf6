/* test_store.c — the image store: import, names and references, get by id
   prefix, shared layers, removal that keeps what others use, crash
   leftovers, concurrent writers; and the `stack image`/`stack images`
   commands run as a user would, against a scratch STACK_ROOT. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it-helpers.h"
#include "store-internal.h"

#define EPOCH 1600000000 /* SOURCE_DATE_EPOCH: reproducible ids */
#define EPOCH_TEXT "2020-09-13T12:26:40Z"

struct t
{
  char *dir, *root, *one, *one_gz, *two, *evil;
  char one_diff[RT_DIGEST_LEN + 1], two_diff[RT_DIGEST_LEN + 1];
  rt_store_t *s;
};

/* ---- tarballs ---- */

struct file
{
  const char *name;
  const char *data; /* NULL: a directory */
};

/* A tar (optionally gzip'ed) without end padding, so the plain and the
   gzip'ed file hold the same uncompressed stream. */
static void
write_tar (const char *path, int filter, const struct file *files, size_t n)
{
  struct archive *a = archive_write_new ();
  size_t i;

  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  if (filter != ARCHIVE_FILTER_NONE)
    assert_int_equal (archive_write_add_filter (a, filter), ARCHIVE_OK);
  assert_int_equal (archive_write_set_bytes_in_last_block (a, 1), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (i = 0; i < n; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      size_t len = files[i].data ? strlen (files[i].data) : 0;
      archive_entry_set_pathname (e, files[i].name);
      archive_entry_set_filetype (e, files[i].data ? AE_IFREG : AE_IFDIR);
      archive_entry_set_perm (e, files[i].data ? 0644 : 0755);
      archive_entry_set_mtime (e, EPOCH, 0);
      archive_entry_set_size (e, (la_int64_t) len);
      assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
      if (len)
        assert_int_equal (archive_write_data (a, files[i].data, len), (la_ssize_t) len);
      archive_entry_free (e);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

static void
file_digest (const char *path, char out[RT_DIGEST_LEN + 1])
{
  char *data = NULL;
  size_t len;
  stack_error_t *err = NULL;

  if (read_file (path, &data, &len, &err) < 0)
    fail_msg ("%s", err->msg);
  rt_sha256_digest (data, len, out);
  free (data);
}

/* ---- fixture ---- */

static int
setup (void **state)
{
  static const struct file one[] = { { "./", NULL },
                                     { "./bin/", NULL },
                                     { "./bin/hello", "hello\n" },
                                     { "./etc/os-release", "ID=test\n" } };
  static const struct file two[] = { { "data/x", "two" } };
  static const struct file evil[] = { { "ok", "fine" }, { "../escape", "x" } };
  char tmpl[] = "/tmp/stack-it-store-XXXXXX";
  stack_error_t *err = NULL;
  struct t *t = xzalloc (sizeof *t);

  if (geteuid () != 0)
    {
      free (t);
      *state = NULL;
      return 0;
    }
  assert_non_null (mkdtemp (tmpl));
  t->dir = xstrdup (tmpl);
  t->root = xasprintf ("%s/root", t->dir);
  t->one = xasprintf ("%s/one.tar", t->dir);
  t->one_gz = xasprintf ("%s/one.tgz", t->dir);
  t->two = xasprintf ("%s/two.tar", t->dir);
  t->evil = xasprintf ("%s/evil.tar", t->dir);
  write_tar (t->one, ARCHIVE_FILTER_NONE, one, ARRAY_SIZE (one));
  write_tar (t->one_gz, ARCHIVE_FILTER_GZIP, one, ARRAY_SIZE (one));
  write_tar (t->two, ARCHIVE_FILTER_NONE, two, ARRAY_SIZE (two));
  write_tar (t->evil, ARCHIVE_FILTER_NONE, evil, ARRAY_SIZE (evil));
  file_digest (t->one, t->one_diff);
  file_digest (t->two, t->two_diff);
  if (rt_store_open (t->root, &t->s, &err) < 0)
    fail_msg ("%s", err->msg);
  *state = t;
  return 0;
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  return remove (path);
}

static int
teardown (void **state)
{
  struct t *t = *state;

  if (t == NULL)
    return 0;
  rt_store_close (t->s);
  nftw (t->dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
  free (t->dir);
  free (t->root);
  free (t->one);
  free (t->one_gz);
  free (t->two);
  free (t->evil);
  free (t);
  return 0;
}

/* ---- helpers ---- */

static struct t *
fixture (void **state)
{
  it_require_root ();
  return *state;
}

static char *
import (struct t *t, const char *tar, const char *name)
{
  stack_error_t *err = NULL;
  rt_image_t *img = NULL;
  char *id;

  if (rt_image_import (t->s, tar, name, &img, &err) < 0)
    fail_msg ("import %s as %s: %s", tar, name, err->msg);
  id = xstrdup (img->id);
  rt_image_free (img);
  return id;
}

static void
expect_error (int ret, stack_error_t **err, int status, const char *msg)
{
  assert_int_equal (ret, -1);
  assert_non_null (*err);
  if (strcmp ((*err)->msg, msg) != 0)
    fail_msg ("got  %s\nwant %s", (*err)->msg, msg);
  assert_int_equal ((*err)->status, status);
  stack_error_free (err);
}


static void
assert_listing (const char *dir, const char *want)
{
  char *l = it_listing (dir);
  if (strcmp (l, want) != 0)
    fail_msg ("%s:\n got  `%s`\n want `%s`", dir, l, want);
  free (l);
}

static char *
sub (struct t *t, const char *rel)
{
  return xasprintf ("%s/%s", t->root, rel);
}

static const char *
arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return NULL;
#endif
}

/* The exact config blob an import writes. */
static char *
expected_config (const char *diff_id, const char *created, const char *tar_base)
{
  return xasprintf ("{\"architecture\":\"%s\",\"config\":{},\"created\":\"%s\",\"history\":"
                    "[{\"comment\":\"Imported from %s\",\"created\":\"%s\"}],\"os\":\"linux\","
                    "\"rootfs\":{\"diff_ids\":[\"%s\"],\"type\":\"layers\"}}",
                    arch (), created, tar_base, created, diff_id);
}

/* ---- store ---- */

static void
test_import_and_get (void **state)
{
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  rt_image_t *img = NULL;
  char *id, *config, want_id[RT_DIGEST_LEN + 1], *p, *data, *layer;
  const char *refs[4];
  json_t *images;
  json_int_t stored;
  time_t before = time (NULL);
  size_t i;

  id = import (t, t->one, "busybox");
  config = expected_config (t->one_diff, EPOCH_TEXT, "one.tar");
  rt_sha256_digest (config, strlen (config), want_id);
  if (arch ())
    assert_string_equal (id, want_id);

  /* the config blob, named by its digest */
  p = xasprintf ("%s/blobs/sha256/%s", t->root, id + 7);
  assert_int_equal (read_file (p, &data, NULL, &err), 0);
  if (arch ())
    assert_string_equal (data, config);
  free (data);
  free (p);

  /* images.json, exactly */
  p = sub (t, "images.json");
  images = json_load_file (p, 0, NULL);
  assert_non_null (images);
  /* when it was stored: now, whatever SOURCE_DATE_EPOCH says */
  stored = json_integer_value (json_object_get (json_object_get (images, "busybox:latest"),
                                                "stored"));
  assert_true (stored >= before && stored <= time (NULL));
  json_object_del (json_object_get (images, "busybox:latest"), "stored");
  data = json_dumps (images, JSON_COMPACT | JSON_SORT_KEYS);
  free (p);
  p = xasprintf ("{\"busybox:latest\":{\"created\":%d,\"id\":\"%s\",\"layers\":[\"%s\"],"
                 "\"size\":14}}",
                 EPOCH, id, t->one_diff);
  assert_string_equal (data, p);
  free (p);
  free (data);
  json_decref (images);

  /* by name, normalized name, full id, id prefixes */
  refs[0] = "busybox";
  refs[1] = "docker.io/library/busybox:latest";
  refs[2] = id;
  refs[3] = id + 7;
  layer = xasprintf ("%s/layers/%s", t->root, t->one_diff + 7);
  for (i = 0; i < ARRAY_SIZE (refs); i++)
    {
      if (rt_image_get (t->s, refs[i], &img, &err) < 0)
        fail_msg ("%s: %s", refs[i], err->msg);
      assert_string_equal (img->name, "busybox:latest");
      assert_string_equal (img->id, id);
      assert_null (img->manifest);
      assert_int_equal (img->n_layers, 1);
      assert_string_equal (img->layers[0], layer);
      assert_int_equal (img->size, 14);
      assert_int_equal (img->created, EPOCH);
      /* like `docker import`: an empty config */
      assert_null (img->config.cmd);
      assert_null (img->config.entrypoint);
      assert_null (img->config.env);
      assert_null (img->config.working_dir);
      rt_image_free (img);
    }
  p = xasprintf ("sha256:%.4s", id + 7);
  assert_int_equal (rt_image_get (t->s, p, &img, &err), 0);
  rt_image_free (img);
  free (p);
  p = xasprintf ("%.12s", id + 7);
  assert_int_equal (rt_image_get (t->s, p, &img, &err), 0);
  rt_image_free (img);
  free (p);

  /* the layer's content, unpacked */
  p = xasprintf ("%s/bin/hello", layer);
  assert_int_equal (read_file (p, &data, NULL, &err), 0);
  assert_string_equal (data, "hello\n");
  free (data);
  free (p);

  expect_error (rt_image_get (t->s, "busybox:1", &img, &err), &err, ENOENT,
                "image `busybox:1` not found");
  expect_error (rt_image_get (t->s, "abc", &img, &err), &err, ENOENT, "image `abc` not found");
  expect_error (rt_image_get (t->s, "Bad", &img, &err), &err, EINVAL,
                "invalid reference `Bad`: repository name must be lowercase");
  assert_listing (t->root, "blobs images.json images.lock layers");
  free (layer);
  free (config);
  free (id);
}

static void
test_ambiguous_prefix (void **state)
{
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  rt_image_t *img = NULL;
  char *p = sub (t, "images.json"), *json;
  FILE *f;

  json = xasprintf ("{\"a:1\":{\"id\":\"sha256:abcd1%059d\",\"layers\":[],\"created\":1,"
                    "\"size\":0},\"b:1\":{\"id\":\"sha256:abcd2%059d\",\"layers\":[],"
                    "\"created\":1,\"size\":0}}",
                    0, 0);
  f = fopen (p, "w");
  assert_non_null (f);
  fputs (json, f);
  fclose (f);
  expect_error (rt_image_get (t->s, "abcd", &img, &err), &err, EINVAL,
                "image id prefix `abcd` is ambiguous");
  /* a damaged entry is reported, never used to build a path */
  f = fopen (p, "w");
  fputs ("{\"x:1\":{\"id\":\"sha256:../../etc\",\"layers\":[],\"created\":1,\"size\":0}}", f);
  fclose (f);
  free (json);
  json = xasprintf ("`%s`: the entry `x:1` is damaged", p);
  expect_error (rt_image_get (t->s, "x:1", &img, &err), &err, EIO, json);
  free (json);
  free (p);
}

static void
test_references (void **state)
{
  static const struct
  {
    const char *ref, *name;
  } good[] = {
    { "docker.io/library/alpine:3.19", "alpine:3.19" },
    { "docker.io/bitnami/redis", "bitnami/redis:latest" },
    { "index.docker.io/library/debian:12", "debian:12" },
    { "localhost:5000/app:1", "localhost:5000/app:1" },
    { "localhost/app", "localhost/app:latest" },
    { "reg.example.com:8443/a/b/c:v1.2_3-rc", "reg.example.com:8443/a/b/c:v1.2_3-rc" },
    { "a__b/c--d/e.f", "a__b/c--d/e.f:latest" },
    { "UPPER.example.com/app", "UPPER.example.com/app:latest" },
  };
  static const struct
  {
    const char *ref, *why;
  } bad[] = {
    { "Bad", "repository name must be lowercase" },
    { "example.com/Bad", "repository name must be lowercase" },
    { "app:", "a tag is 1 to 128 of a-z, A-Z, 0-9, `_`, `.`, `-`, not starting with `.` or `-`" },
    { "app:-x", "a tag is 1 to 128 of a-z, A-Z, 0-9, `_`, `.`, `-`, not starting with `.` or `-`" },
    { "a..b", "repository name components must start and end with a letter or digit" },
    { "-app", "repository name components must start and end with a letter or digit" },
    { "a/b/", "empty path component" },
    { "a b", "repository names may hold only a-z, 0-9, `.`, `_`, `__` and `-`" },
    { "exa_mple.com/app", "invalid registry host name" },
    { "localhost:abc/app", "the registry's port must be a number" },
    { "app@sha256:abc", "a digest is sha256: and 64 lowercase hex digits" },
    { "app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
      "an imported image is named NAME[:TAG], without a digest" },
  };
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  rt_image_t **v = NULL;
  char *longname, *msg;
  size_t i, n;

  for (i = 0; i < ARRAY_SIZE (bad); i++)
    {
      msg = xasprintf ("invalid reference `%s`: %s", bad[i].ref, bad[i].why);
      expect_error (rt_image_import (t->s, t->two, bad[i].ref, NULL, &err), &err, EINVAL, msg);
      free (msg);
    }
  longname = xmalloc (300);
  memset (longname, 'a', 256);
  strcpy (longname + 256, ":1");
  msg = xasprintf ("invalid reference `%s`: a repository name is at most 255 characters", longname);
  expect_error (rt_image_import (t->s, t->two, longname, NULL, &err), &err, EINVAL, msg);
  free (msg);
  memset (longname, 't', 129);
  memcpy (longname, "app:", 4);
  longname[133] = '\0';
  msg = xasprintf ("invalid reference `%s`: a tag is 1 to 128 of a-z, A-Z, 0-9, `_`, `.`, `-`, "
                   "not starting with `.` or `-`",
                   longname);
  expect_error (rt_image_import (t->s, t->two, longname, NULL, &err), &err, EINVAL, msg);
  free (msg);
  free (longname);

  for (i = 0; i < ARRAY_SIZE (good); i++)
    free (import (t, t->two, good[i].ref));
  assert_int_equal (rt_image_list (t->s, &v, &n, &err), 0);
  assert_int_equal (n, ARRAY_SIZE (good));
  for (i = 0; i < n; i++)
    {
      size_t k;
      for (k = 0; k < ARRAY_SIZE (good) && strcmp (good[k].name, v[i]->name) != 0; k++)
        ;
      if (k == ARRAY_SIZE (good))
        fail_msg ("unexpected name %s", v[i]->name);
      rt_image_free (v[i]);
    }
  free (v);
  /* one layer for all of them */
  msg = sub (t, "layers");
  assert_listing (msg, t->two_diff + 7);
  free (msg);
}

static void
test_shared_layer_and_remove (void **state)
{
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  char *a, *b, *c, *d, *layers = sub (t, "layers"), *blobs = sub (t, "blobs/sha256"), *want;
  rt_image_t *ia = NULL, *ib = NULL;

  a = import (t, t->one, "a:1");
  b = import (t, t->one_gz, "b:1"); /* same uncompressed tar: same layer */
  c = import (t, t->two, "c:1");
  d = import (t, t->one, "d:1"); /* same tar, name and epoch as a: same config, same id */
  assert_string_equal (a, d);
  assert_string_not_equal (a, b);
  want = xasprintf ("%s %s", t->one_diff + 7, t->two_diff + 7);
  if (strcmp (t->one_diff, t->two_diff) > 0)
    {
      free (want);
      want = xasprintf ("%s %s", t->two_diff + 7, t->one_diff + 7);
    }
  assert_listing (layers, want);
  free (want);
  assert_int_equal (rt_image_get (t->s, "a:1", &ia, &err), 0);
  assert_int_equal (rt_image_get (t->s, "b:1", &ib, &err), 0);
  assert_string_equal (ia->layers[0], ib->layers[0]);
  rt_image_free (ia);
  rt_image_free (ib);

  /* an id with two names: remove by name */
  want = xasprintf ("image `%.12s` has 2 names: remove them by name", a + 7);
  expect_error (rt_image_remove (t->s, a + 7, &err), &err, EBUSY, want);
  free (want);
  expect_error (rt_image_remove (t->s, "nosuch", &err), &err, ENOENT, "image `nosuch` not found");

  /* a goes; its config stays for d, its layer for b and d */
  assert_int_equal (rt_image_remove (t->s, "a:1", &err), 0);
  want = xasprintf ("%s/%s", blobs, a + 7);
  assert_int_equal (access (want, F_OK), 0);
  free (want);
  /* d goes: the config blob with it, the layer stays for b */
  assert_int_equal (rt_image_remove (t->s, "d:1", &err), 0);
  want = xasprintf ("%s/%s", blobs, a + 7);
  assert_int_equal (access (want, F_OK), -1);
  free (want);
  want = xasprintf ("%s/%s", layers, t->one_diff + 7);
  assert_int_equal (access (want, F_OK), 0);
  free (want);
  /* b goes: the layer with it */
  assert_int_equal (rt_image_remove (t->s, "b:1", &err), 0);
  assert_listing (layers, t->two_diff + 7);
  assert_listing (blobs, c + 7);
  assert_int_equal (rt_image_remove (t->s, c + 7, &err), 0); /* by id */
  assert_listing (layers, "");
  assert_listing (blobs, "");
  free (a);
  free (b);
  free (c);
  free (d);
  free (layers);
  free (blobs);
}

static void
test_replace_name (void **state)
{
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  char *layers = sub (t, "layers"), *blobs = sub (t, "blobs/sha256");
  char *one = import (t, t->one, "x"), *two = import (t, t->two, "x");
  rt_image_t *img = NULL;

  /* the old image lost its only name: its layer and config went */
  assert_listing (layers, t->two_diff + 7);
  assert_listing (blobs, two + 7);
  assert_int_equal (rt_image_get (t->s, "x", &img, &err), 0);
  assert_string_equal (img->id, two);
  rt_image_free (img);
  free (one);
  free (two);
  free (layers);
  free (blobs);
}

static void
test_crash_leftovers (void **state)
{
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  char *a, *b, *p, *orphan, *want;
  rt_image_t **v = NULL;
  struct stat st1, st2;
  size_t n;
  int fd, held;
  json_t *images;

  a = import (t, t->one, "a:1");
  /* what crashes leave: a half-written images.json temporary, an abandoned
     unpack, a half-written blob, a layer renamed into place but never
     recorded; and an unpack still in progress (held) */
  p = sub (t, ".tmp-images.json");
  fd = open (p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_int_equal (write (fd, "{\"garb", 6), 6);
  close (fd);
  free (p);
  p = sub (t, "layers/.tmp-stale");
  assert_int_equal (mkdir (p, 0755), 0);
  free (p);
  p = sub (t, "layers/.tmp-stale/f");
  close (open (p, O_WRONLY | O_CREAT, 0600));
  free (p);
  p = sub (t, "blobs/sha256/.tmp-deadbeef");
  close (open (p, O_WRONLY | O_CREAT, 0600));
  free (p);
  p = sub (t, "layers/.tmp-held");
  assert_int_equal (mkdir (p, 0755), 0);
  held = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal (flock (held, LOCK_EX), 0);
  free (p);
  orphan = xasprintf ("%s/layers/%s", t->root, t->two_diff + 7);
  fd = open (t->two, O_RDONLY | O_CLOEXEC);
  assert_int_equal (rt_layer_extract (fd, orphan, &err), 0);
  close (fd);
  assert_int_equal (stat (orphan, &st1), 0);

  /* the index is whole: only a:1 */
  assert_int_equal (rt_image_list (t->s, &v, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (v[0]->name, "a:1");
  rt_image_free (v[0]);
  free (v);

  /* the orphan layer is the content of two.tar: reused, not unpacked again */
  b = import (t, t->two, "b:1");
  assert_int_equal (stat (orphan, &st2), 0);
  assert_int_equal (st1.st_ino, st2.st_ino);

  /* a removal reaps what nobody holds, keeps what somebody does */
  assert_int_equal (rt_image_remove (t->s, "a:1", &err), 0);
  p = sub (t, "layers");
  want = xasprintf (".tmp-held %s", t->two_diff + 7);
  assert_listing (p, want);
  free (want);
  free (p);
  p = sub (t, "blobs/sha256");
  assert_listing (p, b + 7);
  free (p);
  p = sub (t, "images.json");
  images = json_load_file (p, 0, NULL);
  assert_non_null (images);
  assert_int_equal (json_object_size (images), 1);
  assert_non_null (json_object_get (images, "b:1"));
  json_decref (images);
  free (p);

  close (held);
  free (orphan);
  free (a);
  free (b);
}

/* Two processes import at once: the lock keeps every name. */
static void
test_concurrent_imports (void **state)
{
  struct t *t = fixture (state);
  stack_error_t *err = NULL;
  rt_image_t **v = NULL;
  pid_t pids[2];
  size_t n, i;
  int k, status;

  for (k = 0; k < 2; k++)
    {
      pids[k] = fork ();
      assert_true (pids[k] >= 0);
      if (pids[k] == 0)
        {
          rt_store_t *s = NULL;
          stack_error_t *e = NULL;
          int j, bad = 0;
          if (rt_store_open (t->root, &s, &e) < 0)
            _exit (1);
          for (j = 0; j < 8; j++)
            {
              char name[32];
              snprintf (name, sizeof name, "p%d:%d", k, j);
              if (rt_image_import (s, j % 2 ? t->one : t->two, name, NULL, &e) < 0)
                {
                  fprintf (stderr, "%s\n", e->msg);
                  bad = 1;
                }
            }
          rt_store_close (s);
          _exit (bad);
        }
    }
  for (k = 0; k < 2; k++)
    {
      assert_int_equal (waitpid (pids[k], &status, 0), pids[k]);
      assert_true (WIFEXITED (status));
      assert_int_equal (WEXITSTATUS (status), 0);
    }
  assert_int_equal (rt_image_list (t->s, &v, &n, &err), 0);
  assert_int_equal (n, 16);
  for (i = 0; i < n; i++)
    rt_image_free (v[i]);
  free (v);
}

/* ---- the command line ---- */

/* Run the built `stack` (beside this test's directory) with STACK_ROOT set;
   returns the exit status, *out and *errout get what it printed. */
static int
run_stack (struct t *t, char **out, char **errout, const char *const *args)
{
  char exe[4096], *stack, *o = xasprintf ("%s/out", t->dir), *e = xasprintf ("%s/err", t->dir);
  stack_error_t *err = NULL;
  const char *argv[16];
  ssize_t len;
  pid_t pid;
  int status, i;

  len = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  assert_true (len > 0);
  exe[len] = '\0';
  stack = xasprintf ("%s/../stack", dirname (exe));
  argv[0] = "stack";
  for (i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  argv[i + 1] = NULL;
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      int fo = open (o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int fe = open (e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fo < 0 || fe < 0 || dup2 (fo, 1) < 0 || dup2 (fe, 2) < 0)
        _exit (127);
      setenv ("STACK_ROOT", t->root, 1);
      execv (stack, (char *const *) argv);
      _exit (127);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (read_file (o, out, NULL, &err), 0);
  assert_int_equal (read_file (e, errout, NULL, &err), 0);
  free (stack);
  free (o);
  free (e);
  return WEXITSTATUS (status);
}

static void
expect_run (struct t *t, const char *const *args, int code, const char *out, const char *errout)
{
  char *o = NULL, *e = NULL;
  int ret = run_stack (t, &o, &e, args);

  if (ret != code || strcmp (o, out) != 0 || strcmp (e, errout) != 0)
    fail_msg ("stack %s %s: exit %d (want %d)\n--- stdout\n%s--- want\n%s"
              "--- stderr\n%s--- want\n%s",
              args[0], args[1] ? args[1] : "", ret, code, o, out, e, errout);
  free (o);
  free (e);
}

static void
test_cli (void **state)
{
  struct t *t = fixture (state);
  time_t when = time (NULL) - 3 * 86400 - 60;
  char epoch[32], created[32], *config, id[RT_DIGEST_LEN + 1], *want, *p;
  struct tm tm;

  if (arch () == NULL)
    skip ();
  snprintf (epoch, sizeof epoch, "%lld", (long long) when);
  setenv ("SOURCE_DATE_EPOCH", epoch, 1);
  gmtime_r (&when, &tm);
  strftime (created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  config = expected_config (t->one_diff, created, "one.tar");
  rt_sha256_digest (config, strlen (config), id);

  want = xasprintf ("%s\n", id);
  expect_run (t, (const char *const[]){ "image", "import", t->one, "busybox", NULL }, 0, want, "");
  expect_run (t, (const char *const[]){ "image", "import", t->one, "localhost:5000/app:1", NULL },
              0, want, "");
  setenv ("SOURCE_DATE_EPOCH", "1600000000", 1);
  free (want);

  want = xasprintf ("REPOSITORY           TAG       IMAGE ID       CREATED      SIZE\n"
                    "busybox              latest    %.12s   3 days ago   14B\n"
                    "localhost:5000/app   1         %.12s   3 days ago   14B\n",
                    id + 7, id + 7);
  expect_run (t, (const char *const[]){ "images", NULL }, 0, want, "");
  expect_run (t, (const char *const[]){ "image", "ls", NULL }, 0, want, "");
  free (want);

  want = xasprintf ("[\n"
                    "  {\n"
                    "    \"repository\": \"busybox\",\n"
                    "    \"tag\": \"latest\",\n"
                    "    \"id\": \"%s\",\n"
                    "    \"digest\": null,\n"
                    "    \"size\": 14,\n"
                    "    \"created\": \"%s\"\n"
                    "  },\n"
                    "  {\n"
                    "    \"repository\": \"localhost:5000/app\",\n"
                    "    \"tag\": \"1\",\n"
                    "    \"id\": \"%s\",\n"
                    "    \"digest\": null,\n"
                    "    \"size\": 14,\n"
                    "    \"created\": \"%s\"\n"
                    "  }\n"
                    "]\n",
                    id, created, id, created);
  expect_run (t, (const char *const[]){ "images", "--format", "json", NULL }, 0, want, "");
  free (want);
  want = xasprintf ("%.12s\n", id + 7);
  expect_run (t, (const char *const[]){ "images", "-q", NULL }, 0, want, "");
  free (want);

  /* bad input: 2; failures: 1; one line saying what and why */
  expect_run (t, (const char *const[]){ "image", "import", t->one, "Bad", NULL }, 2, "",
              "stack: invalid reference `Bad`: repository name must be lowercase\n");
  p = xasprintf ("%s/missing.tar", t->dir);
  want = xasprintf ("stack: import `%s`: No such file or directory\n", p);
  expect_run (t, (const char *const[]){ "image", "import", p, "x", NULL }, 1, "", want);
  free (want);
  free (p);
  want = xasprintf ("stack: import `%s`: tar entry `../escape`: name with a `..` component "
                    "refused\n",
                    t->evil);
  expect_run (t, (const char *const[]){ "image", "import", t->evil, "evil", NULL }, 1, "", want);
  free (want);
  p = sub (t, "layers");
  assert_listing (p, t->one_diff + 7); /* nothing half-written */
  free (p);
  expect_run (t, (const char *const[]){ "images", "--format", "xml", NULL }, 2, "",
              "stack: images: --format takes `table` or `json`, not `xml`\n"
              "see `stack help images`\n");
  expect_run (t, (const char *const[]){ "image", NULL }, 2, "",
              "stack: image: expects a subcommand: import, load, ls, prune, pull or rm\n"
              "see `stack help image`\n");
  expect_run (t, (const char *const[]){ "image", "import", t->one, NULL }, 2, "",
              "stack: image import: expects TAR and NAME[:TAG]\nsee `stack help image`\n");
  expect_run (t, (const char *const[]){ "image", "save", NULL }, 1, "",
              "stack: `image save` is not available in this version yet\n");

  /* rm: the others are still tried after a failure */
  expect_run (t, (const char *const[]){ "image", "rm", "nosuch", "busybox", NULL }, 1,
              "Untagged: busybox:latest\n", "stack: image `nosuch` not found\n");
  want = xasprintf ("Untagged: localhost:5000/app:1\nDeleted: %s\n", id);
  expect_run (t, (const char *const[]){ "image", "rm", "localhost:5000/app:1", NULL }, 0, want, "");
  free (want);
  expect_run (t, (const char *const[]){ "images", NULL }, 0,
              "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n", "");
  p = sub (t, "layers");
  assert_listing (p, "");
  free (p);
  free (config);
}

/* What a pull needs of a reference: where to ask, for what, and the
   store's name. */
static void
test_reference_parts (void **state)
{
  static const char d64[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  static const struct
  {
    const char *ref, *domain, *path, *tag, *digest, *name;
  } cases[] = {
    { "busybox", "docker.io", "library/busybox", "latest", NULL, "busybox:latest" },
    { "docker.io/library/postgres:16", "docker.io", "library/postgres", "16", NULL,
      "postgres:16" },
    { "index.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", NULL,
      "bitnami/redis:7" },
    { "127.0.0.1:5000/team/app:1", "127.0.0.1:5000", "team/app", "1", NULL,
      "127.0.0.1:5000/team/app:1" },
    { "localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest" },
    { "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "ghcr.io", "org/app", NULL, d64, "ghcr.io/org/app@" },
    /* a digest wins over a tag, as in Docker */
    { "alpine:3.19@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "docker.io", "library/alpine", NULL, d64, "alpine@" },
  };
  size_t i;

  (void)state;
  for (i = 0; i < ARRAY_SIZE (cases); i++)
    {
      stack_error_t *err = NULL;
      char *want;
      rt_ref_t r;

      assert_int_equal (rt_ref_parse (cases[i].ref, &r, &err), 0);
      assert_string_equal (r.domain, cases[i].domain);
      assert_string_equal (r.path, cases[i].path);
      if (cases[i].tag)
        assert_string_equal (r.tag, cases[i].tag);
      else
        assert_null (r.tag);
      if (cases[i].digest)
        assert_string_equal (r.digest, cases[i].digest);
      else
        assert_null (r.digest);
      want = xasprintf ("%s%s", cases[i].name, cases[i].digest ? cases[i].digest : "");
      assert_string_equal (r.name, want);
      free (want);
      rt_ref_free (&r);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_import_and_get, setup, teardown),
    cmocka_unit_test_setup_teardown (test_ambiguous_prefix, setup, teardown),
    cmocka_unit_test_setup_teardown (test_references, setup, teardown),
    cmocka_unit_test (test_reference_parts),
    cmocka_unit_test_setup_teardown (test_shared_layer_and_remove, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replace_name, setup, teardown),
    cmocka_unit_test_setup_teardown (test_crash_leftovers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_concurrent_imports, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cli, setup, teardown),
  };
  setenv ("SOURCE_DATE_EPOCH", "1600000000", 1);
  return cmocka_run_group_tests (tests, NULL, NULL);
}
