/* layer.c — unpack a layer tarball without ever writing outside its
   directory.

   libarchive only reads; every entry is written here, relative to a dirfd
   of the layer's root, because archive_write_disk's default behaviour
   follows symlinks already extracted and accepts `..` and absolute names:
   the classic layer-breakout bugs (CVE-2018-15664, CVE-2019-14271,
   CVE-2021-30465's family). The rules:

   - a name that is absolute or has a `..` component is refused, naming the
     entry (Docker cleans and confines such names instead; a layer made by a
     real tool never holds one, so one that does is hostile or broken);
   - parents are resolved with openat2 (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS
     | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): a symlink is data, it may
     point anywhere, but nothing is ever written through one;
   - a hardlink's target is resolved the same way, so it is a file of this
     layer;
   - the last component is created with *at() calls on the parent's fd and
     O_NOFOLLOW | O_EXCL, after removing what an earlier entry put there
     (tar semantics: later entries win; a directory over a directory merges);
   - whiteouts become what overlayfs reads: `.wh.NAME` a 0/0 character
     device NAME, `.wh..wh..opq` the xattr trusted.overlay.opaque=y on the
     directory.

   Owners, modes (setuid included), mtimes, device numbers and xattrs
   (security.capability too) are kept: we run as root. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "store-internal.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
/* entry names longer than this are cut in messages */
#define SHOWN_NAME_MAX 80

static const uint64_t resolve_safe
    = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

/* A directory whose times are set at the end: creating entries inside it
   would change its mtime again. */
struct dir_time
{
  char *path;
  struct timespec ts[2];
};

struct unpack
{
  struct archive *outer; /* the file: decompression only (format raw) */
  struct archive *inner; /* the tar stream, fed from outer */
  EVP_MD_CTX *md;        /* sha256 of the uncompressed stream */
  int rootfd;
  uint64_t size;
  struct dir_time *dirs;
  size_t n_dirs;
  const rt_unpack_progress_t *progress;
  char buf[64 * 1024];
};

int
rt_openat2 (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
  struct open_how how
      = { .flags = (uint64_t) (flags | O_CLOEXEC), .mode = mode, .resolve = resolve };
  return (int) syscall (SYS_openat2, dirfd, path, &how, sizeof how);
}

/* libarchive's message, never NULL */
static const char *
archive_why (struct archive *a)
{
  const char *s = archive_error_string (a);
  return s ? s : "unexpected end of data";
}

static int entry_error (stack_error_t **err, int status, const char *name, const char *fmt, ...)
    PRINTF_LIKE (4, 5);

/* "tar entry `NAME`: WHAT", with an absurdly long name cut. */
static int
entry_error (stack_error_t **err, int status, const char *name, const char *fmt, ...)
{
  cleanup_free char *what = NULL;
  va_list ap;

  va_start (ap, fmt);
  what = xvasprintf (fmt, ap);
  va_end (ap);
  return stack_error_make (err, status, "tar entry `%.*s%s`: %s", SHOWN_NAME_MAX, name,
                           strlen (name) > SHOWN_NAME_MAX ? "..." : "", what);
}

static void
digest_text (const unsigned char *md, unsigned int n, char out[RT_DIGEST_LEN + 1])
{
  unsigned int i;

  memcpy (out, "sha256:", 7);
  for (i = 0; i < n; i++)
    snprintf (out + 7 + 2 * i, 3, "%02x", md[i]);
}

void
rt_sha256_digest (const void *data, size_t len, char out[RT_DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  EVP_Digest (data, len, md, &n, EVP_sha256 (), NULL);
  digest_text (md, n, out);
}

void
rt_sha256_final (EVP_MD_CTX *ctx, char out[RT_DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  EVP_DigestFinal_ex (ctx, md, &n);
  digest_text (md, n, out);
}

/* ---- names ---- */

char *
rt_clean_name (const char *raw, size_t component_max, const char **why)
{
  strbuf_t b = { 0 };
  const char *p = raw;

  if (raw[0] == '/')
    {
      *why = "absolute name refused";
      return NULL;
    }
  if (strlen (raw) >= PATH_MAX)
    {
      *why = "name too long";
      return NULL;
    }
  while (*p)
    {
      size_t n = strcspn (p, "/");
      if (n > component_max)
        {
          sb_free (&b);
          *why = "name too long";
          return NULL;
        }
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          sb_free (&b);
          *why = "name with a `..` component refused";
          return NULL;
        }
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          if (b.len > 0)
            sb_putc (&b, '/');
          sb_put (&b, p, n);
        }
      p += n;
      while (*p == '/')
        p++;
    }
  return sb_steal (&b);
}

/* ---- removal ---- */

int
rt_rm_rf_at (int dirfd, const char *name)
{
  struct dirent *de;
  DIR *d;
  int fd, ret = 0;

  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR)
    return -1;
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return -1;
    }
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (rt_rm_rf_at (fd, de->d_name) < 0)
        ret = -1;
    }
  closedir (d);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    ret = -1;
  return ret;
}

/* ---- resolving parents ---- */

/* The directory that holds `path`'s last component, as an fd. With create,
   missing parents are made (0755, root), as tar does for archives without
   directory entries. Never goes through a symlink: a later entry written
   through an earlier symlink is how archives reach outside
   (CVE-2018-15664-like). `ctx` ("hardlink to `x`: ") prefixes messages. */
static int
open_parent (int rootfd, const char *path, bool create, const char *entry, const char *ctx,
             stack_error_t **err)
{
  cleanup_free char *dir = NULL;
  const char *slash = strrchr (path, '/');
  char *comp, *next;
  int fd, nfd;

  if (slash == NULL)
    {
      fd = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
      if (fd < 0)
        return stack_error_make (err, errno, "dup");
      return fd;
    }
  dir = xstrndup (path, (size_t) (slash - path));
  fd = rt_openat2 (rootfd, dir, O_RDONLY | O_DIRECTORY, 0, resolve_safe);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
    return entry_error (err, errno, entry, "%sopen `%s`", ctx, dir);

  /* slow path: one component at a time, to create what is missing or to
     say which component is in the way */
  fd = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return stack_error_make (err, errno, "dup");
  for (comp = dir; comp; comp = next)
    {
      struct stat st;

      next = strchr (comp, '/');
      if (next)
        *next++ = '\0';
      nfd = rt_openat2 (fd, comp, O_RDONLY | O_DIRECTORY, 0, resolve_safe);
      if (nfd < 0 && errno == ENOENT && create)
        {
          if (mkdirat (fd, comp, 0755) < 0 && errno != EEXIST)
            {
              int e = errno;
              close (fd);
              return entry_error (err, e, entry, "%screate its parent directories", ctx);
            }
          nfd = rt_openat2 (fd, comp, O_RDONLY | O_DIRECTORY, 0, resolve_safe);
        }
      if (nfd < 0)
        {
          int e = errno;
          bool is_link = fstatat (fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode);
          close (fd);
          if (next)
            next[-1] = '/';
          if (is_link)
            return entry_error (err, 0, entry, "%s`%s` is a symlink: refusing to go through it",
                                ctx, dir);
          if (e == ENOTDIR)
            return entry_error (err, 0, entry, "%s`%s` is not a directory", ctx, dir);
          return entry_error (err, e, entry, "%sopen `%s`", ctx, dir);
        }
      close (fd);
      fd = nfd;
      if (next)
        next[-1] = '/';
    }
  return fd;
}

static const char *
leaf_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* Make room for a new entry: what an earlier entry left under that name
   goes, except a directory that stays a directory. 1: an existing
   directory is kept; 0: the name is free. */
static int
make_room (int pfd, const char *leaf, bool want_dir, const char *entry, stack_error_t **err)
{
  struct stat st;

  if (fstatat (pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return entry_error (err, errno, entry, "stat");
    }
  /* S_ISDIR on the lstat result: a symlink to a directory is replaced, so
     the directory entry's owner and mode never land on the link's target */
  if (want_dir && S_ISDIR (st.st_mode))
    return 1;
  if (rt_rm_rf_at (pfd, leaf) < 0)
    return entry_error (err, errno, entry, "replace the earlier entry");
  return 0;
}

/* ---- metadata ---- */

/* Set an xattr on fd, or on pfd/leaf without following it when there is no
   fd to use (symlinks, devices and fifos are never opened: opening a device
   runs its driver, opening a fifo blocks). */
static int
set_xattr (int fd, int pfd, const char *leaf, const char *name, const void *value, size_t size)
{
  char path[64 + NAME_MAX];

  if (fd >= 0)
    return fsetxattr (fd, name, value, size, 0);
  snprintf (path, sizeof path, "/proc/self/fd/%d/%s", pfd, leaf);
  return lsetxattr (path, name, value, size, 0);
}

/* Owner, mode, xattrs and (unless is_dir, whose times wait) times, in that
   order: chown clears setuid bits and security.capability. fd >= 0 is the
   object itself; otherwise pfd/leaf is, and is not followed. */
static int
apply_meta (struct unpack *u, struct archive_entry *e, int fd, int pfd, const char *leaf,
            const char *name, stack_error_t **err)
{
  mode_t type = archive_entry_filetype (e);
  uid_t uid = (uid_t) archive_entry_uid (e);
  gid_t gid = (gid_t) archive_entry_gid (e);
  mode_t perm = archive_entry_perm (e);
  struct timespec ts[2];
  const char *xname;
  const void *xvalue;
  size_t xsize;
  int ret;

  ret = fd >= 0 ? fchown (fd, uid, gid) : fchownat (pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW);
  if (ret < 0)
    return entry_error (err, errno, name, "chown %u:%u", (unsigned) uid, (unsigned) gid);
  if (type != AE_IFLNK)
    {
      /* fchmodat follows a symlink, but leaf was created by us just now
         and is no symlink */
      ret = fd >= 0 ? fchmod (fd, perm) : fchmodat (pfd, leaf, perm, 0);
      if (ret < 0)
        return entry_error (err, errno, name, "chmod %04o", (unsigned) perm);
    }
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &xname, &xvalue, &xsize) == ARCHIVE_OK)
    {
      /* overlayfs's own metadata (opaque, redirect, metacopy) comes only
         from whiteout markers: a forged redirect would point overlay at
         another path of the image */
      if (str_has_prefix (xname, "trusted.overlay."))
        continue;
      if (type == AE_IFLNK && str_has_prefix (xname, "user."))
        continue; /* the kernel allows user.* on files and directories only */
      if (set_xattr (fd, pfd, leaf, xname, xvalue, xsize) < 0 && errno != ENOTSUP)
        return entry_error (err, errno, name, "set xattr `%s`", xname);
    }

  ts[1].tv_sec = archive_entry_mtime (e);
  ts[1].tv_nsec = archive_entry_mtime_nsec (e);
  if (archive_entry_atime_is_set (e))
    {
      ts[0].tv_sec = archive_entry_atime (e);
      ts[0].tv_nsec = archive_entry_atime_nsec (e);
    }
  else
    ts[0] = ts[1];
  if (type == AE_IFDIR)
    {
      struct dir_time *d;
      u->dirs = xrealloc (u->dirs, (u->n_dirs + 1) * sizeof *u->dirs);
      d = &u->dirs[u->n_dirs++];
      d->path = xstrdup (name);
      d->ts[0] = ts[0];
      d->ts[1] = ts[1];
      return 0;
    }
  ret = fd >= 0 ? futimens (fd, ts) : utimensat (pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
  if (ret < 0)
    return entry_error (err, errno, name, "set times");
  return 0;
}

/* Directory times last, deepest first. A directory that a later entry
   replaced by something else is skipped. */
static void
apply_dir_times (struct unpack *u)
{
  size_t i;

  for (i = u->n_dirs; i-- > 0;)
    {
      struct dir_time *d = &u->dirs[i];
      int fd = d->path[0]
                   ? rt_openat2 (u->rootfd, d->path, O_RDONLY | O_DIRECTORY, 0, resolve_safe)
                   : fcntl (u->rootfd, F_DUPFD_CLOEXEC, 3);
      if (fd >= 0)
        {
          (void) futimens (fd, d->ts);
          close (fd);
        }
    }
}

/* ---- entries ---- */

static int
write_data (struct unpack *u, struct archive_entry *e, int fd, const char *name,
            stack_error_t **err)
{
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;

  for (;;)
    {
      r = archive_read_data_block (u->inner, &buf, &len, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return entry_error (err, 0, name, "%s", archive_why (u->inner));
      while (len > 0)
        {
          ssize_t n = pwrite (fd, buf, len, off);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return entry_error (err, errno, name, "write");
          buf = (const char *) buf + n;
          len -= (size_t) n;
          off += n;
        }
    }
  /* a sparse file may end in a hole */
  if (ftruncate (fd, archive_entry_size (e)) < 0)
    return entry_error (err, errno, name, "truncate");
  return 0;
}

/* `.wh.NAME` and `.wh..wh..opq`: pfd is the directory they sit in. */
static int
extract_whiteout (int pfd, const char *leaf, const char *name, stack_error_t **err)
{
  const char *target = leaf + strlen (WHITEOUT_PREFIX);
  int ret;

  if (strcmp (leaf, WHITEOUT_OPAQUE) == 0)
    {
      if (fsetxattr (pfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return entry_error (err, errno, name, "mark the directory opaque");
      return 0;
    }
  /* other aufs metadata deeper down: nothing for overlay either */
  if (str_has_prefix (leaf, WHITEOUT_META_PREFIX))
    return 0;
  if (target[0] == '\0' || strcmp (target, ".") == 0 || strcmp (target, "..") == 0)
    return entry_error (err, 0, name, "whiteout of `%s` refused", target);
  ret = make_room (pfd, target, false, name, err);
  if (ret < 0)
    return ret;
  if (mknodat (pfd, target, S_IFCHR | 0, makedev (0, 0)) < 0)
    return entry_error (err, errno, name, "create the whiteout");
  return 0;
}

static int
extract_hardlink (struct unpack *u, int pfd, const char *leaf, const char *name,
                  const char *raw_target, stack_error_t **err)
{
  cleanup_free char *target = NULL;
  cleanup_free char *ctx = NULL;
  cleanup_close int tfd = -1;
  const char *why = NULL;
  int ret;

  target = rt_clean_name (raw_target, NAME_MAX, &why);
  if (target == NULL)
    return entry_error (err, 0, name, "hardlink target `%s`: %s", raw_target, why);
  if (target[0] == '\0')
    return entry_error (err, 0, name, "hardlink to the layer's root refused");
  if (strcmp (target, name) == 0)
    return 0; /* a link to itself: the file is already there */
  ctx = xasprintf ("hardlink to `%s`: ", target);
  tfd = open_parent (u->rootfd, target, false, name, ctx, err);
  if (tfd < 0)
    return -1;
  ret = make_room (pfd, leaf, false, name, err);
  if (ret < 0)
    return ret;
  /* flags 0: a symlink target is linked itself, never followed */
  if (linkat (tfd, leaf_of (target), pfd, leaf, 0) < 0)
    return entry_error (err, errno, name, "hardlink to `%s`", target);
  return 0;
}

static int
extract_entry (struct unpack *u, struct archive_entry *e, stack_error_t **err)
{
  cleanup_free char *name = NULL;
  cleanup_close int pfd = -1;
  cleanup_close int fd = -1;
  const char *raw = archive_entry_pathname (e);
  const char *why = NULL, *leaf, *hardlink;
  mode_t type = archive_entry_filetype (e);
  int ret;

  if (raw == NULL)
    return stack_error_make (err, 0, "tar entry without a usable name");
  name = rt_clean_name (raw, NAME_MAX, &why);
  if (name == NULL)
    return entry_error (err, 0, raw, "%s", why);

  if (name[0] == '\0')
    {
      /* "./": the layer's root itself */
      if (type != AE_IFDIR)
        return entry_error (err, 0, raw, "the layer's root must be a directory");
      return apply_meta (u, e, u->rootfd, -1, NULL, name, err);
    }

  /* aufs keeps its own metadata at the top (.wh..wh.plnk/, .wh..wh.aufs):
     nothing for overlay, skipped as Docker does */
  if (str_has_prefix (name, WHITEOUT_META_PREFIX) && strcmp (name, WHITEOUT_OPAQUE) != 0)
    return 0;

  pfd = open_parent (u->rootfd, name, true, name, "", err);
  if (pfd < 0)
    return -1;
  leaf = leaf_of (name);

  if (str_has_prefix (leaf, WHITEOUT_PREFIX))
    return extract_whiteout (pfd, leaf, name, err);

  hardlink = archive_entry_hardlink (e);
  if (hardlink)
    return extract_hardlink (u, pfd, leaf, name, hardlink, err);

  ret = make_room (pfd, leaf, type == AE_IFDIR, name, err);
  if (ret < 0)
    return ret;

  switch (type)
    {
    case AE_IFREG:
      /* 0600 until apply_meta sets the real mode, after the owner */
      fd = rt_openat2 (pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600, resolve_safe);
      if (fd < 0)
        return entry_error (err, errno, name, "create");
      ret = write_data (u, e, fd, name, err);
      if (ret < 0)
        return ret;
      u->size += (uint64_t) archive_entry_size (e);
      return apply_meta (u, e, fd, pfd, leaf, name, err);

    case AE_IFDIR:
      if (ret == 0 && mkdirat (pfd, leaf, 0700) < 0)
        return entry_error (err, errno, name, "mkdir");
      fd = rt_openat2 (pfd, leaf, O_RDONLY | O_DIRECTORY, 0, resolve_safe);
      if (fd < 0)
        return entry_error (err, errno, name, "open");
      return apply_meta (u, e, fd, pfd, leaf, name, err);

    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        /* the target is data: it may point anywhere, it is never followed here */
        if (target == NULL || target[0] == '\0')
          return entry_error (err, 0, name, "symlink without a target");
        if (symlinkat (target, pfd, leaf) < 0)
          return entry_error (err, errno, name, "symlink");
        return apply_meta (u, e, -1, pfd, leaf, name, err);
      }

    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (mknodat (pfd, leaf, type | 0600, archive_entry_rdev (e)) < 0)
        return entry_error (err, errno, name, "mknod");
      return apply_meta (u, e, -1, pfd, leaf, name, err);

    default:
      return entry_error (err, 0, name, "unsupported file type 0%o", (unsigned) type);
    }
}

/* ---- the stream: file → decompression (outer) → tar (inner) ---- */

/* The inner archive's reader: the outer archive's decompressed bytes,
   hashed on their way through, which is the OCI diff_id. */
static la_ssize_t
inner_read (struct archive *a, void *data, const void **buf)
{
  struct unpack *u = data;
  la_ssize_t n = archive_read_data (u->outer, u->buf, sizeof u->buf);

  if (n < 0)
    {
      archive_set_error (a, archive_errno (u->outer), "%s", archive_why (u->outer));
      return -1;
    }
  if (n > 0)
    EVP_DigestUpdate (u->md, u->buf, (size_t) n);
  if (u->progress && u->progress->fn)
    u->progress->fn ((uint64_t) archive_filter_bytes (u->outer, -1), u->progress->data);
  *buf = u->buf;
  return n;
}

static int
open_stream (struct unpack *u, int tar_fd, stack_error_t **err)
{
  struct archive_entry *raw;

  u->outer = archive_read_new ();
  u->inner = archive_read_new ();
  u->md = EVP_MD_CTX_new ();
  if (u->outer == NULL || u->inner == NULL || u->md == NULL)
    return stack_error_make (err, ENOMEM, "read the layer");
  EVP_DigestInit_ex (u->md, EVP_sha256 (), NULL);
  /* only the compressions layers use, not archive_read_support_filter_all,
     which would also run external programs (lrzip, grzip, ...) on the input */
  archive_read_support_filter_gzip (u->outer);
  archive_read_support_filter_bzip2 (u->outer);
  archive_read_support_filter_xz (u->outer);
  archive_read_support_filter_lzma (u->outer);
  archive_read_support_filter_zstd (u->outer);
  archive_read_support_format_raw (u->outer);
  if (archive_read_open_fd (u->outer, tar_fd, sizeof u->buf) != ARCHIVE_OK
      || archive_read_next_header (u->outer, &raw) != ARCHIVE_OK)
    return stack_error_make (err, 0, "read the layer: %s", archive_why (u->outer));

  archive_read_support_format_tar (u->inner);
  if (archive_read_open (u->inner, u, NULL, inner_read, NULL) != ARCHIVE_OK)
    return stack_error_make (err, 0, "read the layer: %s", archive_why (u->inner));
  return 0;
}

static int
unpack_all (struct unpack *u, int tar_fd, char diff_id[RT_DIGEST_LEN + 1], stack_error_t **err)
{
  struct archive_entry *e;
  la_ssize_t r;

  if (open_stream (u, tar_fd, err) < 0)
    return -1;
  for (;;)
    {
      int ret = archive_read_next_header (u->inner, &e);
      if (ret == ARCHIVE_EOF)
        break;
      if (ret < ARCHIVE_WARN)
        return stack_error_make (err, 0, "read the layer: %s", archive_why (u->inner));
      if (extract_entry (u, e, err) < 0)
        return -1;
    }
  apply_dir_times (u);
  /* the tar reader stops at the end-of-archive blocks; the digest covers
     the whole uncompressed stream, padding included */
  while ((r = inner_read (u->inner, u, &(const void *){ NULL })) > 0)
    ;
  if (r < 0)
    return stack_error_make (err, 0, "read the layer: %s", archive_why (u->outer));
  rt_sha256_final (u->md, diff_id);
  return 0;
}

static void
unpack_free (struct unpack *u)
{
  size_t i;

  if (u->inner)
    archive_read_free (u->inner);
  if (u->outer)
    archive_read_free (u->outer);
  EVP_MD_CTX_free (u->md);
  for (i = 0; i < u->n_dirs; i++)
    free (u->dirs[i].path);
  free (u->dirs);
}

/* ---- temporary directories ---- */

void
rt_layer_tmp_discard (rt_layer_tmp_t *t)
{
  if (t->path)
    (void) rt_rm_rf_at (AT_FDCWD, t->path);
  if (t->fd >= 0)
    close (t->fd);
  free (t->path);
  /* diff_id and size stay: the caller may still name the layer */
  t->path = NULL;
  t->fd = -1;
}

int
rt_layer_unpack (int tar_fd, const char *parent, const rt_unpack_progress_t *progress,
                 rt_layer_tmp_t *t, stack_error_t **err)
{
  struct unpack *u;
  int ret;

  memset (t, 0, sizeof *t);
  t->fd = -1;
  t->path = xasprintf ("%s/" RT_TMP_PREFIX "XXXXXX", parent);
  if (mkdtemp (t->path) == NULL)
    {
      ret = stack_error_make (err, errno, "create a directory in `%s`", parent);
      free (steal_pointer (&t->path));
      return ret;
    }
  t->fd = open (t->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t->fd < 0 || flock (t->fd, LOCK_EX) < 0 || fchmod (t->fd, 0755) < 0)
    {
      ret = stack_error_make (err, errno, "open `%s`", t->path);
      rt_layer_tmp_discard (t);
      return ret;
    }

  u = xzalloc (sizeof *u);
  u->rootfd = t->fd;
  u->progress = progress;
  ret = unpack_all (u, tar_fd, t->diff_id, err);
  t->size = u->size;
  unpack_free (u);
  free (u);
  /* the layer must be whole on disk before its name says it is */
  if (ret == 0 && syncfs (t->fd) < 0)
    ret = stack_error_make (err, errno, "sync `%s`", t->path);
  if (ret < 0)
    rt_layer_tmp_discard (t);
  return ret;
}

int
rt_layer_commit (rt_layer_tmp_t *t, const char *final, stack_error_t **err)
{
  cleanup_free char *parent = xstrdup (final);
  cleanup_close int pfd = -1;
  char *slash = strrchr (parent, '/');

  /* RENAME_NOREPLACE: rename() would silently replace an empty directory */
  if (renameat2 (AT_FDCWD, t->path, AT_FDCWD, final, RENAME_NOREPLACE) < 0)
    {
      if (errno == EEXIST)
        return 1;
      return stack_error_make (err, errno, "rename `%s` to `%s`", t->path, final);
    }
  if (slash)
    *slash = '\0';
  pfd = open (slash ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd >= 0)
    (void) fsync (pfd);
  free (steal_pointer (&t->path));
  close (t->fd);
  t->fd = -1;
  return 0;
}

void
rt_reap_tmp (const char *parent)
{
  struct dirent *de;
  DIR *d = opendir (parent);

  if (d == NULL)
    return;
  while ((de = readdir (d)) != NULL)
    {
      int fd;
      if (!str_has_prefix (de->d_name, RT_TMP_PREFIX))
        continue;
      /* O_NONBLOCK | O_NOFOLLOW: a stray fifo or symlink must not block or lead us elsewhere */
      fd = openat (dirfd (d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
        continue;
      /* held: an unpack in progress in another process */
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        (void) rt_rm_rf_at (dirfd (d), de->d_name);
      close (fd);
    }
  closedir (d);
}

/* ---- the public entry point ---- */

int
rt_layer_extract (int tar_fd, const char *dir, stack_error_t **err)
{
  cleanup_free char *parent = xstrdup (dir);
  char *slash = strrchr (parent, '/');
  rt_layer_tmp_t t;
  struct stat st;
  int ret;

  if (lstat (dir, &st) == 0)
    return stack_error_make (err, EEXIST, "unpack layer into `%s`", dir);
  if (slash == parent)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    strcpy (parent, ".");

  ret = rt_layer_unpack (tar_fd, parent, NULL, &t, err);
  if (ret < 0)
    return stack_error_wrap (err, "unpack layer into `%s`", dir);
  ret = rt_layer_commit (&t, dir, err);
  if (ret != 0)
    {
      rt_layer_tmp_discard (&t);
      if (ret > 0)
        return stack_error_make (err, EEXIST, "unpack layer into `%s`", dir);
      return stack_error_wrap (err, "unpack layer into `%s`", dir);
    }
  return 0;
}
