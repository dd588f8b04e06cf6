/* store-internal.h — what store.c (the image store) and layer.c (safe
   layer extraction) share.

   A layer is unpacked into a temporary directory beside its final place,
   then renamed there in one step: a crash or an error never leaves a
   half-written layer under its real name. The temporary directory is
   flock'ed while its owner works in it, so a later store operation can tell
   a crash's leftover (nobody holds it) from a concurrent import's work. */
#ifndef STACK_STORE_INTERNAL_H
#define STACK_STORE_INTERNAL_H

#include <jansson.h>
#include <openssl/evp.h>

#include "runtime-internal.h"

/* "sha256:" and 64 hex digits */
#define RT_DIGEST_LEN (7 + 64)
/* temporary names in layers/ and blobs/sha256/ start with this */
#define RT_TMP_PREFIX ".tmp-"

typedef struct rt_layer_tmp
{
  char *path; /* PARENT/.tmp-XXXXXX */
  int fd;     /* that directory, flock'ed (LOCK_EX) until commit or discard */
  char diff_id[RT_DIGEST_LEN + 1]; /* sha256 of the uncompressed tar: the OCI diff_id */
  uint64_t size;                   /* bytes of the regular files */
} rt_layer_tmp_t;

/* How far an unpack is: fn gets the bytes of the tarball as stored
   (compressed) read so far, now and then, from the unpacking thread. */
typedef struct rt_unpack_progress
{
  void (*fn) (uint64_t read, void *data);
  void *data;
} rt_unpack_progress_t;

/* Unpack the tarball read from tar_fd (plain, gzip, bzip2, xz, zstd) into a
   new temporary directory inside parent, computing the diff_id on the way.
   progress may be NULL. On error nothing remains and *t is cleared. */
int rt_layer_unpack (int tar_fd, const char *parent, const rt_unpack_progress_t *progress,
                     rt_layer_tmp_t *t, stack_error_t **err);
/* Rename the temporary directory to final, which must not exist: 0 when
   placed (t is released), 1 when final already exists (t untouched: the
   caller discards it), -1 on error (t untouched). */
int rt_layer_commit (rt_layer_tmp_t *t, const char *final, stack_error_t **err);
/* Remove the temporary directory and release t (diff_id and size are
   kept). Safe to call twice. */
void rt_layer_tmp_discard (rt_layer_tmp_t *t);
/* Remove PARENT/.tmp-* files and directories that nobody holds flock'ed:
   crash leftovers. */
void rt_reap_tmp (const char *parent);

/* The clean relative form of an archive's entry name ("./a//b/." → "a/b",
   the root → ""), malloc'ed; NULL with *why when it is refused: absolute,
   a `..` component, a component longer than component_max, or longer
   than PATH_MAX in all. */
char *rt_clean_name (const char *raw, size_t component_max, const char **why);
/* openat2(2) with O_CLOEXEC added: resolve is RESOLVE_* (linux/openat2.h). */
int rt_openat2 (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Remove `name` below dirfd and everything in it, never following a
   symlink. 0, or -1 with errno. A missing name is success. */
int rt_rm_rf_at (int dirfd, const char *name);

/* sha256 of a buffer as "sha256:<hex>" into out. */
void rt_sha256_digest (const void *data, size_t len, char out[RT_DIGEST_LEN + 1]);
/* The sha256 a digest context (EVP_sha256) ends with, as "sha256:<hex>". */
void rt_sha256_final (EVP_MD_CTX *ctx, char out[RT_DIGEST_LEN + 1]);
/* "sha256:" and 64 lowercase hex digits? */
bool rt_digest_valid (const char *d);

/* ---- references: Docker's grammar (distribution/reference) ---- */

typedef struct rt_ref
{
  char *domain; /* "docker.io" (Docker Hub), "localhost:5000", "ghcr.io" */
  char *path;   /* the repository there: "library/busybox", "app" */
  char *tag;    /* "latest" when neither tag nor digest was given; NULL with a digest */
  char *digest; /* "sha256:..." or NULL */
  char *name;   /* the store's name: "busybox:latest", "localhost:5000/app:1",
                   "ghcr.io/x/y@sha256:..." (Docker Hub and library/ dropped) */
} rt_ref_t;

/* Parse and normalize ref; EINVAL with Docker's reasons. */
int rt_ref_parse (const char *ref, rt_ref_t *out, stack_error_t **err);
void rt_ref_free (rt_ref_t *r);

/* ---- the store's content, for pull.c and load.c ---- */

/* Where blob digest lives (it may not exist), malloc'ed. */
char *rt_store_blob_path (rt_store_t *s, const char *digest);
/* The directory temporary blobs are written in before their rename: the
   blobs directory itself (same filesystem), reaped by rt_reap_tmp. */
const char *rt_store_blobs_dir (rt_store_t *s);
/* Store data as blob digest, after checking it hashes to digest (else
   EIO naming both). Already there: nothing to do. */
int rt_store_put_blob (rt_store_t *s, const char *digest, const void *data, size_t len,
                       stack_error_t **err);
/* Read blob digest whole, checking its content against its name. */
int rt_store_read_blob (rt_store_t *s, const char *digest, char **data, size_t *len,
                        stack_error_t **err);

/* Is layer diff_id unpacked in the store? */
bool rt_store_has_layer (rt_store_t *s, const char *diff_id);
/* Unpack the layer tarball read from fd (compressed or not) as diff_id:
   the uncompressed stream must hash to diff_id, else EIO naming both and
   nothing remains. Another pull placing it first is fine. *size gets the
   bytes of its regular files. */
int rt_store_add_layer (rt_store_t *s, int fd, const char *diff_id,
                        const rt_unpack_progress_t *progress, uint64_t *size,
                        stack_error_t **err);
/* Bytes of the regular files of an unpacked layer (walks it). */
uint64_t rt_store_layer_size (rt_store_t *s, const char *diff_id);

/* The parsed config of image `config_digest`, checked: an object whose
   rootfs.diff_ids are n_layers valid digests (n_layers: the manifest's
   layer count, or 0 not to check). EIO otherwise, naming what is wrong. */
int rt_store_check_config (rt_store_t *s, const char *config_digest, size_t n_layers,
                           json_t **config, stack_error_t **err);

/* What a new image entry says. Its config and manifest blobs must be
   stored, its layers unpacked. */
typedef struct rt_image_record
{
  const char *name;     /* rt_ref_t.name */
  const char *config;   /* the config blob's digest: the image id */
  const char *manifest; /* the manifest blob's digest, or NULL */
  const char *digest;   /* the registry's digest for name, or NULL */
  const char *const *diff_ids; /* bottom first */
  size_t n_layers;
  uint64_t size;   /* bytes of the layers */
  int64_t created; /* the config's `created`, epoch seconds (0: unknown) */
} rt_image_record_t;

/* Name an image, replacing what the name meant before (whose layers and
   blobs go when no image uses them). Under the store's exclusive lock,
   checks that every layer and blob is in place first: ENOENT when one
   went (a removal raced us), so the caller can fetch it again. */
int rt_store_name_image (rt_store_t *s, const rt_image_record_t *r, stack_error_t **err);

/* After a failed pull or load: remove the layers and blobs it placed
   (NULL entries skipped) that no image names. Errors are ignored: what
   stays is removed by `image prune`. */
void rt_store_drop_unnamed (rt_store_t *s, const char *const *diff_ids, size_t n_layers,
                            const char *const *blobs, size_t n_blobs);

/* A pull or load under way: holds a shared lock that rt_image_prune waits
   for, so prune never takes layers an unnamed image is about to use. */
int rt_store_work_begin (rt_store_t *s, int *lock_fd, stack_error_t **err);
void rt_store_work_end (int lock_fd);

/* The container-relevant fields of an image config blob (parsed). */
void rt_image_config_from_json (json_t *blob, rt_image_config_t *out);
void rt_image_config_clear (rt_image_config_t *c);

/* ---- manifests and indexes (oci.c) ---- */

#define RT_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define RT_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define RT_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define RT_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

bool rt_oci_is_index (const char *media_type);
bool rt_oci_is_manifest (const char *media_type);
/* NULL when stack unpacks layers of this media type, else why not. */
const char *rt_oci_layer_refused (const char *media_type);
/* Is a descriptor's `platform` linux/<this architecture>? */
bool rt_oci_platform_ours (json_t *platform);
/* The entry of an index's `manifests` for linux/<this architecture>
   (arm: variant v7, arm64: v8 or none, preferred), or NULL; the platforms
   it has are appended to have (may be NULL), for the message. */
json_t *rt_oci_pick_platform (json_t *index, strbuf_t *have);

/* "2024-05-01T12:00:00.123Z" → epoch seconds; 0 when unparsable. */
int64_t rt_parse_created (const char *rfc3339);
/* The OCI/Go name of this machine's architecture: "amd64", "arm64", ... */
const char *rt_go_arch (void);

#endif
