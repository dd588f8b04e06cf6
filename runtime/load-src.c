/* load-src.c — the files of an image archive or layout, for load.c.

   An archive's files come in any order, so it is first copied into a
   private directory beside the blobs (.tmp-load-XXXXXX, flock'ed so that
   rt_reap_tmp leaves it alone while we work). Only the files load needs
   are copied, each under a flat name of ours ("f-manifest.json", "l-ID"
   for ID/layer.tar, "b-HEX" for blobs/sha256/HEX): nothing is ever created
   under a name the archive chose, no directory, no link. A link between
   two of those files (docker save links a layer it already wrote) is
   remembered, not made. A name that is absolute or has a `..` component
   refuses the archive: real tools never write one. A layout directory is
   read in place, every name resolved beneath it (openat2). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load-internal.h"

/* the deepest name load keeps: blobs/sha256/HEX */
#define KEPT_DEPTH 3

/* ---- names in the archive ---- */

static bool
hex64 (const char *s)
{
  size_t i;
  for (i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return s[64] == '\0';
}

/* The flat name our copy keeps a clean name under, NULL when load has no
   use for it: top-level JSON files, oci-layout and HEX.tar layers (what
   skopeo and podman write), ID/layer.tar, blobs/sha256/HEX. */
static char *
flat_name (const char *clean)
{
  const char *slash = strchr (clean, '/');

  if (clean[0] == '\0')
    return NULL;
  if (slash == NULL)
    return strcmp (clean, "oci-layout") == 0 || str_has_suffix (clean, ".json")
                   || str_has_suffix (clean, ".tar")
               ? xasprintf ("f-%s", clean)
               : NULL;
  if (strcmp (slash, "/layer.tar") == 0)
    return xasprintf ("l-%.*s", (int)(slash - clean), clean);
  if (str_has_prefix (clean, "blobs/sha256/") && hex64 (clean + 13))
    return xasprintf ("b-%s", clean + 13);
  return NULL;
}

/* The digest a file's name claims: blobs/sha256/HEX, HEX.json. */
bool
name_claims (const char *clean, char out[RT_DIGEST_LEN + 1])
{
  const char *hex = NULL;
  char buf[65];

  if (str_has_prefix (clean, "blobs/sha256/") && hex64 (clean + 13))
    hex = clean + 13;
  else if (strlen (clean) == 64 + 5 && str_has_suffix (clean, ".json"))
    {
      memcpy (buf, clean, 64);
      buf[64] = '\0';
      if (hex64 (buf))
        hex = buf;
    }
  if (hex == NULL)
    return false;
  snprintf (out, RT_DIGEST_LEN + 1, "sha256:%s", hex);
  return true;
}

/* A link's target as a clean name from the archive's top: a hardlink's
   target is one already, a symlink's is relative to its own directory.
   NULL when it leaves the archive. */
static char *
link_target (const char *entry, const char *target, bool symbolic)
{
  cleanup_free char *joined = NULL;
  const char *why, *slash = strrchr (entry, '/');
  strbuf_t b = { 0 };
  char *clean, *p, *next;

  if (target[0] == '/')
    return NULL;
  if (!symbolic || slash == NULL)
    joined = xstrdup (target);
  else
    joined = xasprintf ("%.*s/%s", (int)(slash - entry), entry, target);
  /* `..` is fine inside: it is resolved here, and never above the top */
  for (p = joined; p; p = next)
    {
      next = strchr (p, '/');
      if (next)
        *next++ = '\0';
      if (strcmp (p, "..") == 0)
        {
          char *up = b.s ? strrchr (b.s, '/') : NULL;
          if (b.len == 0)
            {
              sb_free (&b);
              return NULL;
            }
          b.len = up ? (size_t)(up - b.s) : 0;
          b.s[b.len] = '\0';
        }
      else if (p[0] && strcmp (p, ".") != 0)
        {
          if (b.len > 0)
            sb_putc (&b, '/');
          sb_puts (&b, p);
        }
    }
  clean = rt_clean_name (b.s ? b.s : "", COMPONENT_MAX, &why);
  sb_free (&b);
  return clean;
}

/* ---- reading the files, wherever they are ---- */

/* Open a file the archive names (a manifest's string, not a tar entry). */
int
src_open (struct src *src, const char *raw, stack_error_t **err)
{
  cleanup_free char *clean = NULL, *flat = NULL;
  const char *why = "not a file an image archive holds";
  struct stat st;
  int fd, hops;

  clean = rt_clean_name (raw, COMPONENT_MAX, &why);
  flat = clean ? flat_name (clean) : NULL;
  if (flat == NULL)
    return stack_error_set (err, EIO, "`%s`: %s", raw, why);
  if (src->tmp)
    {
      /* the archive's links, followed a few times at most: a loop ends */
      for (hops = 0; hops < 8 && json_object_get (src->links, flat); hops++)
        {
          char *to = xstrdup (json_string_value (json_object_get (src->links, flat)));
          free (flat);
          flat = to;
        }
      fd = openat (src->dirfd, flat, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
  else
    fd = rt_openat2 (src->dirfd, clean, O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 && (errno == ENOENT || errno == ELOOP))
    return stack_error_set (err, ENOENT, "`%s` is missing", clean);
  if (fd < 0)
    return stack_error_make (err, errno, "open `%s`", clean);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return stack_error_set (err, EIO, "`%s` is not a regular file", clean);
    }
  return fd;
}

bool
src_has (struct src *src, const char *raw)
{
  stack_error_t *e = NULL;
  int fd = src_open (src, raw, &e);

  stack_error_free (&e);
  if (fd < 0)
    return false;
  close (fd);
  return true;
}

int
src_read (struct src *src, const char *raw, char **data, size_t *len, stack_error_t **err)
{
  cleanup_close int fd = src_open (src, raw, err);

  if (fd < 0)
    return -1;
  return read_fd (fd, raw, data, len, err);
}

/* Sums are kept by file (device and inode): the archive's links and
   spellings of one file lead to one sum. */
static void
sum_key (int fd, char key[64])
{
  struct stat st = { 0 };

  (void)fstat (fd, &st);
  snprintf (key, 64, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

static void
sum_remember (struct src *src, int fd, const char *digest, uint64_t size)
{
  char key[64];

  sum_key (fd, key);
  json_object_set_new (src->sums, key, json_pack ("[s, I]", digest, (json_int_t)size));
}

/* sha256 and size of a file: computed while copying an archive, else
   here, once. */
int
src_sum (struct src *src, const char *raw, char digest[RT_DIGEST_LEN + 1], uint64_t *size,
         stack_error_t **err)
{
  cleanup_close int fd = src_open (src, raw, err);
  EVP_MD_CTX *md;
  json_t *known;
  char key[64];
  ssize_t n;

  if (fd < 0)
    return -1;
  sum_key (fd, key);
  known = json_object_get (src->sums, key);
  if (known)
    {
      snprintf (digest, RT_DIGEST_LEN + 1, "%s", json_string_value (json_array_get (known, 0)));
      *size = (uint64_t)json_integer_value (json_array_get (known, 1));
      return 0;
    }
  md = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  *size = 0;
  while ((n = read (fd, src->buf, sizeof src->buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          EVP_MD_CTX_free (md);
          return stack_error_make (err, errno, "read `%s`", raw);
        }
      EVP_DigestUpdate (md, src->buf, (size_t)n);
      *size += (uint64_t)n;
    }
  rt_sha256_final (md, digest);
  EVP_MD_CTX_free (md);
  sum_remember (src, fd, digest, *size);
  return 0;
}

/* ---- copying an archive into our directory ---- */

/* One file of the archive into ours, summed on its way. */
static int
copy_data (struct src *src, struct archive *a, const char *flat, const char *entry,
           stack_error_t **err)
{
  cleanup_close int fd = -1;
  char digest[RT_DIGEST_LEN + 1];
  uint64_t size = 0;
  EVP_MD_CTX *md;
  la_ssize_t n;

  if (unlinkat (src->dirfd, flat, 0) < 0 && errno != ENOENT)
    return stack_error_make (err, errno, "tar entry `%s`", entry);
  fd = openat (src->dirfd, flat, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return stack_error_make (err, errno, "copy tar entry `%s` to `%s`", entry, src->tmp);
  md = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  while ((n = archive_read_data (a, src->buf, sizeof src->buf)) != 0)
    {
      if (n < 0)
        {
          EVP_MD_CTX_free (md);
          return stack_error_set (err, EIO, "tar entry `%s`: %s", entry,
                                  archive_error_string (a) ?: "unexpected end of data");
        }
      if (write_all (fd, src->buf, (size_t)n) < 0)
        {
          EVP_MD_CTX_free (md);
          return stack_error_make (err, errno, "copy tar entry `%s` to `%s`", entry, src->tmp);
        }
      EVP_DigestUpdate (md, src->buf, (size_t)n);
      size += (uint64_t)n;
    }
  rt_sha256_final (md, digest);
  EVP_MD_CTX_free (md);
  sum_remember (src, fd, digest, size);
  return 0;
}

static int
copy_entry (struct src *src, struct archive *a, struct archive_entry *e, stack_error_t **err)
{
  const char *raw = archive_entry_pathname (e), *why = NULL;
  const char *hard = archive_entry_hardlink (e), *sym = archive_entry_symlink (e);
  cleanup_free char *clean = NULL, *flat = NULL, *to = NULL, *to_flat = NULL;

  if (raw == NULL)
    return stack_error_set (err, EIO, "a tar entry has no name");
  clean = rt_clean_name (raw, COMPONENT_MAX, &why);
  if (clean == NULL)
    return stack_error_set (err, EIO, "tar entry `%.80s`: %s", raw, why);
  flat = flat_name (clean);
  if (flat == NULL)
    return 0; /* not something load reads: directories, docker save's ID/json, ... */
  json_object_del (src->links, flat);

  if (hard || (sym && archive_entry_filetype (e) == AE_IFLNK))
    {
      to = link_target (clean, hard ? hard : sym, hard == NULL);
      to_flat = to ? flat_name (to) : NULL;
      if (to == NULL)
        return stack_error_set (err, EIO, "tar entry `%.80s`: a link out of the archive refused",
                                raw);
      if (unlinkat (src->dirfd, flat, 0) < 0 && errno != ENOENT)
        return stack_error_make (err, errno, "tar entry `%s`", raw);
      /* a link to a file load does not keep leads nowhere: missing */
      json_object_set_new (src->links, flat, json_string (to_flat ? to_flat : "missing"));
      return 0;
    }
  if (archive_entry_filetype (e) != AE_IFREG)
    return 0;
  return copy_data (src, a, flat, raw, err);
}

static int
copy_archive (struct src *src, int fd, stack_error_t **err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int ret = 0, r;
  size_t n = 0;

  if (a == NULL)
    return stack_error_make (err, ENOMEM, "read the archive");
  /* the compressions `docker load` takes; not _all, which would run
     external programs (lrzip, grzip, ...) on the input */
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_fd (a, fd, sizeof src->buf) != ARCHIVE_OK)
    ret = stack_error_set (err, EIO, "not an image archive: %s",
                           archive_error_string (a) ?: "unreadable");
  while (ret == 0)
    {
      r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          ret = stack_error_set (err, EIO, "%s%s", n == 0 ? "not an image archive: " : "",
                                 archive_error_string (a) ?: "unexpected end of data");
          break;
        }
      n++;
      ret = copy_entry (src, a, e, err);
    }
  archive_read_free (a);
  return ret;
}

/* Open path as a source: a directory as it is, anything else (a file, a
   pipe) copied from its tar stream. */
int
src_open_path (struct src *src, rt_store_t *s, const char *path, stack_error_t **err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;

  memset (src, 0, sizeof *src);
  src->path = path;
  src->dirfd = -1;
  src->sums = json_object ();
  src->links = json_object ();
  if (fd < 0 || fstat (fd, &st) < 0)
    return stack_error_make (err, errno, "open");
  if (S_ISDIR (st.st_mode))
    {
      src->dirfd = steal_fd (&fd);
      return 0;
    }
  src->tmp = xasprintf ("%s/" RT_TMP_PREFIX "load-XXXXXX", rt_store_blobs_dir (s));
  if (mkdtemp (src->tmp) == NULL)
    {
      int e = errno;
      free (steal_pointer (&src->tmp));
      return stack_error_make (err, e, "create a directory in `%s`", rt_store_blobs_dir (s));
    }
  src->dirfd = open (src->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* held while we work: a concurrent rt_reap_tmp must not take it */
  if (src->dirfd < 0 || flock (src->dirfd, LOCK_EX) < 0)
    return stack_error_make (err, errno, "open `%s`", src->tmp);
  return copy_archive (src, fd, err);
}

void
src_close (struct src *src)
{
  if (src->tmp)
    (void)rt_rm_rf_at (AT_FDCWD, src->tmp);
  if (src->dirfd >= 0)
    close (src->dirfd);
  free (src->tmp);
  json_decref (src->sums);
  json_decref (src->links);
  src->tmp = NULL;
  src->dirfd = -1;
}
