/* test_layer.c — rt_layer_extract: a layer's content arrives exact (files,
   modes, owners, times, symlinks, hardlinks, devices, xattrs, whiteouts),
   and hostile tarballs change nothing outside the layer, fail with the
   exact message and leave no half-written layer behind. Root: device nodes,
   owners and trusted.* xattrs need it. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "it-helpers.h"

/* ---- building tarballs with libarchive's writer ---- */

struct ent
{
  const char *name;
  mode_t type; /* AE_IFREG (default), AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO */
  unsigned perm;
  const char *data;     /* file content */
  const char *link;     /* symlink target */
  const char *hardlink; /* hardlink target */
  int64_t uid, gid;
  time_t mtime;
  dev_t rdev;
  const char *xname;
  const void *xvalue;
  size_t xsize;
};

static struct archive *
tar_open (const char *path, int filter)
{
  struct archive *a = archive_write_new ();
  assert_non_null (a);
  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  if (filter != ARCHIVE_FILTER_NONE)
    assert_int_equal (archive_write_add_filter (a, filter), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  return a;
}

static void
tar_put (struct archive *a, const struct ent *e)
{
  struct archive_entry *x = archive_entry_new ();
  mode_t type = e->type ? e->type : AE_IFREG;
  size_t len = e->data ? strlen (e->data) : 0;

  archive_entry_set_pathname (x, e->name);
  archive_entry_set_filetype (x, type);
  archive_entry_set_perm (x, e->perm ? e->perm : (type == AE_IFDIR ? 0755 : 0644));
  archive_entry_set_uid (x, e->uid);
  archive_entry_set_gid (x, e->gid);
  archive_entry_set_mtime (x, e->mtime ? e->mtime : 1600000000, 0);
  if (e->link)
    archive_entry_set_symlink (x, e->link);
  if (e->hardlink)
    {
      archive_entry_set_hardlink (x, e->hardlink);
      len = 0;
    }
  if (e->rdev)
    archive_entry_set_rdev (x, e->rdev);
  if (e->xname)
    archive_entry_xattr_add_entry (x, e->xname, e->xvalue, e->xsize);
  archive_entry_set_size (x, type == AE_IFREG ? (la_int64_t) len : 0);
  assert_int_equal (archive_write_header (a, x), ARCHIVE_OK);
  if (len)
    assert_int_equal (archive_write_data (a, e->data, len), (la_ssize_t) len);
  archive_entry_free (x);
}

static void
tar_close (struct archive *a)
{
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

/* ---- a scratch directory: DIR/canary (a dir with a file), DIR/t.tar ---- */

struct scratch
{
  char *dir, *tar, *layer, *canary;
  struct stat canary_st, file_st, dir_st;
};

/* Scratch dirs still alive, removed by the teardown when a test fails
   half-way (cmocka leaves a failing test by longjmp). */
static char *live[8];

static void
scratch_init (struct scratch *s)
{
  char tmpl[] = "/tmp/stack-it-layer-XXXXXX";
  char *f;
  int fd;

  assert_non_null (mkdtemp (tmpl));
  s->dir = xstrdup (tmpl);
  for (size_t i = 0; i < ARRAY_SIZE (live); i++)
    if (live[i] == NULL)
      {
        live[i] = xstrdup (tmpl);
        break;
      }
  s->tar = xasprintf ("%s/t.tar", s->dir);
  s->layer = xasprintf ("%s/layer", s->dir);
  s->canary = xasprintf ("%s/canary", s->dir);
  assert_int_equal (mkdir (s->canary, 0755), 0);
  f = xasprintf ("%s/file", s->canary);
  fd = open (f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "canary\n", 7), 7);
  close (fd);
  assert_int_equal (stat (f, &s->file_st), 0);
  free (f);
  assert_int_equal (stat (s->canary, &s->canary_st), 0);
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  return remove (path);
}

static void
scratch_free (struct scratch *s)
{
  for (size_t i = 0; i < ARRAY_SIZE (live); i++)
    if (live[i] && strcmp (live[i], s->dir) == 0)
      {
        free (live[i]);
        live[i] = NULL;
      }
  nftw (s->dir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
  free (s->dir);
  free (s->tar);
  free (s->layer);
  free (s->canary);
}


/* Nothing outside the layer changed: the scratch dir holds what it held,
   the canary is untouched. */
static void
assert_outside_untouched (struct scratch *s, const char *expected_listing)
{
  char *l = it_listing (s->dir), *c = it_listing (s->canary), *f = xasprintf ("%s/file", s->canary);
  struct stat st;

  assert_string_equal (l, expected_listing);
  assert_string_equal (c, "file");
  assert_int_equal (stat (s->canary, &st), 0);
  assert_int_equal (st.st_mode, s->canary_st.st_mode);
  assert_int_equal (st.st_uid, s->canary_st.st_uid);
  assert_int_equal (st.st_mtim.tv_sec, s->canary_st.st_mtim.tv_sec);
  assert_int_equal (st.st_mtim.tv_nsec, s->canary_st.st_mtim.tv_nsec);
  assert_int_equal (stat (f, &st), 0);
  assert_int_equal (st.st_mode, s->file_st.st_mode);
  assert_int_equal (st.st_uid, s->file_st.st_uid);
  assert_int_equal (st.st_size, 7);
  assert_int_equal (st.st_nlink, 1);
  free (l);
  free (c);
  free (f);
}

static int
extract (struct scratch *s, stack_error_t **err)
{
  int fd = open (s->tar, O_RDONLY | O_CLOEXEC), ret;
  assert_true (fd >= 0);
  ret = rt_layer_extract (fd, s->layer, err);
  close (fd);
  return ret;
}

static char *
slurp (const char *path)
{
  char *data = NULL;
  stack_error_t *err = NULL;
  if (read_file (path, &data, NULL, &err) < 0)
    fail_msg ("%s", err->msg);
  return data;
}

/* ---- content ---- */

struct vfs_cap
{
  uint32_t magic_etc;
  struct
  {
    uint32_t permitted, inheritable;
  } data[2];
};

static void
write_full_layer (const char *path, int filter)
{
  struct vfs_cap cap = { .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
                         .data = { { .permitted = 1u << CAP_NET_BIND_SERVICE } } };
  struct archive *a = tar_open (path, filter);

  tar_put (a, &(struct ent){ .name = "./", .type = AE_IFDIR, .perm = 0755, .mtime = 1500000000 });
  tar_put (a, &(struct ent){ .name = "./bin/", .type = AE_IFDIR, .mtime = 1500000001 });
  tar_put (a, &(struct ent){ .name = "./bin/tool", .perm = 04755, .data = "#!tool\n",
                             .xname = "security.capability", .xvalue = &cap,
                             .xsize = sizeof cap });
  tar_put (a, &(struct ent){ .name = "./bin/sh", .type = AE_IFLNK, .link = "tool" });
  tar_put (a, &(struct ent){ .name = "./bin/tool-hard", .hardlink = "./bin/tool" });
  tar_put (a, &(struct ent){ .name = "./lnk-abs", .type = AE_IFLNK, .link = "/etc/passwd",
                             .uid = 7, .gid = 8 });
  tar_put (a, &(struct ent){ .name = "./home/app/", .type = AE_IFDIR, .perm = 0700,
                             .uid = 1000, .gid = 1000 });
  tar_put (a, &(struct ent){ .name = "./home/app/notes", .perm = 0600, .data = "hello\n",
                             .uid = 1000, .gid = 1001, .mtime = 1000000000,
                             .xname = "user.note", .xvalue = "hi", .xsize = 2 });
  tar_put (a, &(struct ent){ .name = "./dev/null", .type = AE_IFCHR, .perm = 0666,
                             .rdev = makedev (1, 3) });
  /* no entry for run/: its parent is made */
  tar_put (a, &(struct ent){ .name = "./run/fifo", .type = AE_IFIFO, .perm = 0640 });
  tar_put (a, &(struct ent){ .name = "./etc/.wh.removed" });
  tar_put (a, &(struct ent){ .name = "./var/cache/", .type = AE_IFDIR });
  tar_put (a, &(struct ent){ .name = "./var/cache/.wh..wh..opq" });
  tar_put (a, &(struct ent){ .name = "./var/cache/kept", .data = "k" });
  /* aufs metadata: skipped */
  tar_put (a, &(struct ent){ .name = "./.wh..wh.plnk/1.2", .data = "x" });
  /* a dir's mtime survives the entries added into it later */
  tar_put (a, &(struct ent){ .name = "./usr/", .type = AE_IFDIR, .mtime = 12345 });
  tar_put (a, &(struct ent){ .name = "./usr/x", .data = "x" });
  /* a later entry replaces an earlier one */
  tar_put (a, &(struct ent){ .name = "./replaced", .data = "first" });
  tar_put (a, &(struct ent){ .name = "./replaced", .data = "second" });
  tar_close (a);
}

static void
check_full_layer (const char *layer)
{
  char *p, *data, buf[64];
  struct stat st, st2;
  struct vfs_cap cap;
  ssize_t n;

#define AT(rel) (free (p), p = xasprintf ("%s/%s", layer, rel))
  p = NULL;
  assert_int_equal (stat (layer, &st), 0);
  assert_int_equal (st.st_mode, S_IFDIR | 0755);
  assert_int_equal (st.st_mtim.tv_sec, 1500000000);

  AT ("bin");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFDIR | 0755);
  assert_int_equal (st.st_mtim.tv_sec, 1500000001);

  AT ("bin/tool");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFREG | 04755);
  assert_int_equal (st.st_uid, 0);
  assert_int_equal (st.st_nlink, 2);
  data = slurp (p);
  assert_string_equal (data, "#!tool\n");
  free (data);
  memset (&cap, 0, sizeof cap);
  assert_int_equal (getxattr (p, "security.capability", &cap, sizeof cap), (ssize_t) sizeof cap);
  assert_int_equal (cap.data[0].permitted, 1u << CAP_NET_BIND_SERVICE);

  AT ("bin/tool-hard");
  assert_int_equal (lstat (p, &st2), 0);
  assert_int_equal (st2.st_ino, st.st_ino);

  AT ("bin/sh");
  n = readlink (p, buf, sizeof buf);
  assert_int_equal (n, 4);
  assert_memory_equal (buf, "tool", 4);

  AT ("lnk-abs");
  assert_int_equal (lstat (p, &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  assert_int_equal (st.st_uid, 7);
  assert_int_equal (st.st_gid, 8);
  n = readlink (p, buf, sizeof buf);
  assert_int_equal (n, 11);
  assert_memory_equal (buf, "/etc/passwd", 11);

  AT ("home/app");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFDIR | 0700);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 1000);

  AT ("home/app/notes");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFREG | 0600);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 1001);
  assert_int_equal (st.st_mtim.tv_sec, 1000000000);
  assert_int_equal (getxattr (p, "user.note", buf, sizeof buf), 2);
  assert_memory_equal (buf, "hi", 2);

  AT ("dev/null");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFCHR | 0666);
  assert_int_equal (major (st.st_rdev), 1);
  assert_int_equal (minor (st.st_rdev), 3);

  AT ("run");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFDIR | 0755);
  AT ("run/fifo");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFIFO | 0640);

  AT ("etc/removed");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode & S_IFMT, S_IFCHR);
  assert_int_equal (st.st_rdev, makedev (0, 0));
  AT ("etc/.wh.removed");
  assert_int_equal (lstat (p, &st), -1);
  assert_int_equal (errno, ENOENT);

  AT ("var/cache");
  assert_int_equal (getxattr (p, "trusted.overlay.opaque", buf, sizeof buf), 1);
  assert_int_equal (buf[0], 'y');
  data = it_listing (p);
  assert_string_equal (data, "kept");
  free (data);

  AT ("usr");
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mtim.tv_sec, 12345);

  AT ("replaced");
  data = slurp (p);
  assert_string_equal (data, "second");
  free (data);

  data = it_listing (layer);
  assert_string_equal (data, "bin dev etc home lnk-abs replaced run usr var");
  free (data);
  free (p);
#undef AT
}

static void
test_content_exact (void **state)
{
  static const int filters[] = { ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD,
                                 ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_BZIP2 };
  stack_error_t *err = NULL;
  struct scratch s;
  size_t i;
  (void) state;

  it_require_root ();
  for (i = 0; i < ARRAY_SIZE (filters); i++)
    {
      char *l;
      scratch_init (&s);
      write_full_layer (s.tar, filters[i]);
      if (extract (&s, &err) < 0)
        fail_msg ("filter %d: %s", filters[i], err->msg);
      check_full_layer (s.layer);
      l = it_listing (s.dir);
      assert_string_equal (l, "canary layer t.tar"); /* no temporary left */
      free (l);
      scratch_free (&s);
    }
}

static void
test_target_must_not_exist (void **state)
{
  stack_error_t *err = NULL;
  struct scratch s;
  char *want;
  struct archive *a;
  (void) state;

  it_require_root ();
  scratch_init (&s);
  a = tar_open (s.tar, ARCHIVE_FILTER_NONE);
  tar_put (a, &(struct ent){ .name = "f", .data = "x" });
  tar_close (a);
  assert_int_equal (mkdir (s.layer, 0755), 0);
  assert_int_equal (extract (&s, &err), -1);
  want = xasprintf ("unpack layer into `%s`: File exists", s.layer);
  assert_string_equal (err->msg, want);
  assert_int_equal (err->status, EEXIST);
  stack_error_free (&err);
  free (want);
  scratch_free (&s);
}

/* ---- hostile tarballs ---- */

struct hostile
{
  const char *what;
  struct ent ents[3]; /* after a harmless first entry "ok" */
  const char *error;  /* after "unpack layer into `LAYER`: " */
};

static void
run_hostile (const struct hostile *h)
{
  stack_error_t *err = NULL;
  struct scratch s;
  struct archive *a;
  char *want;
  size_t i;

  scratch_init (&s);
  a = tar_open (s.tar, ARCHIVE_FILTER_NONE);
  tar_put (a, &(struct ent){ .name = "ok", .data = "fine" });
  for (i = 0; i < ARRAY_SIZE (h->ents) && h->ents[i].name; i++)
    {
      struct ent e = h->ents[i];
      if (e.link && strcmp (e.link, "CANARY") == 0)
        e.link = s.canary;
      tar_put (a, &e);
    }
  tar_close (a);

  if (extract (&s, &err) == 0)
    fail_msg ("%s: extracted", h->what);
  want = xasprintf ("unpack layer into `%s`: %s", s.layer, h->error);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("%s:\n got  %s\n want %s", h->what, err->msg, want);
  /* nothing half-written: no layer, no temporary */
  assert_outside_untouched (&s, "canary t.tar");
  stack_error_free (&err);
  free (want);
  scratch_free (&s);
}

static void
test_hostile (void **state)
{
  char huge[5001], long_comp[300];
  (void) state;

  memset (huge, 'a', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  memset (long_comp, 'b', sizeof long_comp - 1);
  long_comp[sizeof long_comp - 1] = '\0';

  {
    const struct hostile cases[] = {
      { "dotdot", { { .name = "../escape", .data = "x" } },
        "tar entry `../escape`: name with a `..` component refused" },
      { "absolute", { { .name = "/abs/path", .data = "x" } },
        "tar entry `/abs/path`: absolute name refused" },
      { "inner dotdot", { { .name = "a/../../escape", .data = "x" } },
        "tar entry `a/../../escape`: name with a `..` component refused" },
      { "through abs symlink",
        { { .name = "s", .type = AE_IFLNK, .link = "CANARY" }, { .name = "s/pwned", .data = "x" } },
        "tar entry `s/pwned`: `s` is a symlink: refusing to go through it" },
      { "through relative symlink",
        { { .name = "d/", .type = AE_IFDIR },
          { .name = "d/s", .type = AE_IFLNK, .link = "../.." },
          { .name = "d/s/x", .data = "x" } },
        "tar entry `d/s/x`: `d/s` is a symlink: refusing to go through it" },
      { "hardlink absolute", { { .name = "h", .hardlink = "/etc/passwd" } },
        "tar entry `h`: hardlink target `/etc/passwd`: absolute name refused" },
      { "hardlink dotdot", { { .name = "h", .hardlink = "../outside" } },
        "tar entry `h`: hardlink target `../outside`: name with a `..` component refused" },
      { "hardlink through symlink",
        { { .name = "s", .type = AE_IFLNK, .link = "CANARY" },
          { .name = "h", .hardlink = "s/file" } },
        "tar entry `h`: hardlink to `s/file`: `s` is a symlink: refusing to go through it" },
      { "hardlink to nothing", { { .name = "h", .hardlink = "etc/passwd" } },
        "tar entry `h`: hardlink to `etc/passwd`: open `etc`: No such file or directory" },
      { "huge name", { { .name = huge, .data = "x" } },
        "tar entry `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...`: name too long" },
      { "long component", { { .name = long_comp, .data = "x" } },
        "tar entry `bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...`: name too long" },
      { "whiteout of dotdot", { { .name = "d/.wh...", .data = "" } },
        "tar entry `d/.wh...`: whiteout of `..` refused" },
      { "file over the root", { { .name = ".", .data = "x" } },
        "tar entry `.`: the layer's root must be a directory" },
    };
    size_t i;

    it_require_root ();
    for (i = 0; i < ARRAY_SIZE (cases); i++)
      run_hostile (&cases[i]);
  }
}

/* A symlink to a directory outside, then a directory entry of that name:
   the symlink is replaced by a real directory, and the directory entry's
   mode and owner never reach the symlink's target. */
static void
test_symlink_replaced_by_dir (void **state)
{
  stack_error_t *err = NULL;
  struct scratch s;
  struct archive *a;
  struct stat st;
  char *p;
  (void) state;

  it_require_root ();
  scratch_init (&s);
  a = tar_open (s.tar, ARCHIVE_FILTER_NONE);
  tar_put (a, &(struct ent){ .name = "s", .type = AE_IFLNK, .link = s.canary });
  tar_put (a, &(struct ent){ .name = "s/", .type = AE_IFDIR, .perm = 0700, .uid = 4321,
                             .mtime = 42 });
  tar_put (a, &(struct ent){ .name = "s/inside", .data = "in" });
  tar_close (a);
  if (extract (&s, &err) < 0)
    fail_msg ("%s", err->msg);
  p = xasprintf ("%s/s", s.layer);
  assert_int_equal (lstat (p, &st), 0);
  assert_int_equal (st.st_mode, S_IFDIR | 0700);
  assert_int_equal (st.st_uid, 4321);
  assert_int_equal (st.st_mtim.tv_sec, 42);
  free (p);
  assert_outside_untouched (&s, "canary layer t.tar");
  scratch_free (&s);
}

/* A symlink may point anywhere (it is data): `..` and absolute targets
   are kept as written. */
static void
test_symlink_targets_are_data (void **state)
{
  stack_error_t *err = NULL;
  struct scratch s;
  struct archive *a;
  char buf[64], *p;
  ssize_t n;
  (void) state;

  it_require_root ();
  scratch_init (&s);
  a = tar_open (s.tar, ARCHIVE_FILTER_NONE);
  tar_put (a, &(struct ent){ .name = "up", .type = AE_IFLNK, .link = "../../../../etc" });
  tar_put (a, &(struct ent){ .name = "abs", .type = AE_IFLNK, .link = s.canary });
  tar_close (a);
  if (extract (&s, &err) < 0)
    fail_msg ("%s", err->msg);
  p = xasprintf ("%s/up", s.layer);
  n = readlink (p, buf, sizeof buf);
  assert_int_equal (n, 15);
  assert_memory_equal (buf, "../../../../etc", 15);
  free (p);
  assert_outside_untouched (&s, "canary layer t.tar");
  scratch_free (&s);
}

static void
test_garbage_input (void **state)
{
  stack_error_t *err = NULL;
  struct scratch s;
  char *want, *l;
  int fd;
  (void) state;

  it_require_root ();
  scratch_init (&s);
  fd = open (s.tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "this is not a tarball, not even close, but long enough to look\n",
                           64),
                    64);
  close (fd);
  assert_int_equal (extract (&s, &err), -1);
  want = xasprintf ("unpack layer into `%s`: read the layer: Unrecognized archive format",
                    s.layer);
  assert_string_equal (err->msg, want);
  l = it_listing (s.dir);
  assert_string_equal (l, "canary t.tar");
  free (l);
  free (want);
  stack_error_free (&err);
  scratch_free (&s);
}

static int
remove_leftovers (void **state)
{
  (void) state;
  for (size_t i = 0; i < ARRAY_SIZE (live); i++)
    if (live[i])
      {
        nftw (live[i], rm_one, 32, FTW_DEPTH | FTW_PHYS);
        free (live[i]);
        live[i] = NULL;
      }
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_content_exact, remove_leftovers),
    cmocka_unit_test_teardown (test_target_must_not_exist, remove_leftovers),
    cmocka_unit_test_teardown (test_hostile, remove_leftovers),
    cmocka_unit_test_teardown (test_symlink_replaced_by_dir, remove_leftovers),
    cmocka_unit_test_teardown (test_symlink_targets_are_data, remove_leftovers),
    cmocka_unit_test_teardown (test_garbage_input, remove_leftovers),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
