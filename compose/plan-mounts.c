/* plan-mounts.c — what is mounted into a service's container: its
   `volumes:` (binds, named and anonymous volumes, tmpfs), its `tmpfs:`
   list, the image's VOLUMEs nobody mounted over, file-based secrets and
   configs; and the named volumes the lifecycle must create. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan-ctx-internal.h"

typedef struct mounts
{
  rt_mount_t *m;
  const char **where; /* key path of each mount, for "mounted twice" */
  size_t n;
  plan_volume_t *vol;
  size_t n_vol;
  unsigned anon; /* anonymous volumes so far */
} mounts_t;

static bool
has_target (const mounts_t *ms, const char *target, size_t *at)
{
  size_t i;
  for (i = 0; i < ms->n; i++)
    if (strcmp (ms->m[i].target, target) == 0)
      {
        if (at)
          *at = i;
        return true;
      }
  return false;
}

/* Append a mount; two at one target is Docker's "Duplicate mount point". */
static rt_mount_t *
add_mount (plan_ctx_t *c, mounts_t *ms, const node_t *at, const char *path, const char *target)
{
  size_t prev;
  rt_mount_t *m;

  if (has_target (ms, target, &prev))
    {
      plan_fail (c, at, path, "`%s` is already mounted by %s; mount one thing per path", target,
                 ms->where[prev]);
      return NULL;
    }
  m = &ms->m[ms->n];
  ms->where[ms->n++] = path;
  memset (m, 0, sizeof *m);
  m->target = target;
  return m;
}

/* The named volume `name` once in out->volumes; its data directory. */
static const char *
add_volume (plan_ctx_t *c, mounts_t *ms, const char *name, const char *dir, bool external,
            bool anonymous)
{
  size_t i;
  plan_volume_t *v;

  for (i = 0; i < ms->n_vol; i++)
    if (strcmp (ms->vol[i].name, name) == 0)
      return ms->vol[i].dir;
  v = &ms->vol[ms->n_vol++];
  v->name = name;
  v->dir = dir ? dir : arena_printf (c->a, "%s/%s/_data", c->paths->volumes_dir, name);
  v->external = external;
  v->anonymous = anonymous;
  return v->dir;
}

static const char *
anonymous_volume (plan_ctx_t *c, mounts_t *ms)
{
  const char *name = arena_printf (c->a, "%s_anon_%u", c->paths->container_id, ++ms->anon);
  return add_volume (c, ms, name, NULL, false, true);
}

/* A named volume: the top-level entry gives its real name. A local volume
   with o=bind and a device is a host directory in disguise. */
static const char *
named_volume (plan_ctx_t *c, mounts_t *ms, const node_t *src, const char *path)
{
  const char *key = node_text (c->a, src);
  const node_t *def = node_map_get (node_map_get (c->p->model, "volumes"), key);
  const node_t *name, *ext, *drv, *opts, *o, *dev;

  if (def == NULL)
    return plan_fail (c, src, path, "volume `%s` is not declared under the top-level `volumes:`",
                      key),
           NULL;
  name = node_map_get (def, "name");
  ext = node_map_get (def, "external");
  drv = node_map_get (def, "driver");
  opts = node_map_get (def, "driver_opts");
  if (drv && strcmp (node_text (c->a, drv), "local") != 0)
    return plan_fail (c, src, path,
                      "volume `%s` uses the driver `%s`; stack only has local volumes", key,
                      node_text (c->a, drv)),
           NULL;
  o = node_map_get (opts, "o");
  dev = node_map_get (opts, "device");
  if (o && dev && strstr (node_text (c->a, o), "bind"))
    return add_volume (c, ms, name ? node_text (c->a, name) : key, node_text (c->a, dev),
                       ext && ext->kind == N_BOOL && ext->b, false);
  if (opts && opts->len > 0)
    return plan_fail (c, src, path,
                      "volume `%s` has driver_opts; stack only supports o: bind with device: "
                      "PATH so far",
                      key),
           NULL;
  return add_volume (c, ms, name ? node_text (c->a, name) : key, NULL,
                     ext && ext->kind == N_BOOL && ext->b, false);
}

static int
volume_mount (plan_ctx_t *c, mounts_t *ms, const node_t *v, const char *path)
{
  const node_t *type = node_map_get (v, "type"), *src = node_map_get (v, "source");
  const node_t *ro = node_map_get (v, "read_only");
  const char *t = node_text (c->a, type), *target = node_text (c->a, node_map_get (v, "target"));
  rt_mount_t *m;

  if (strcmp (t, "npipe") == 0 || strcmp (t, "cluster") == 0)
    return 0; /* normalization reported them as ignored */
  if (strcmp (t, "image") == 0)
    return plan_fail (c, v, path, "image mounts are not supported yet; remove it");
  if ((m = add_mount (c, ms, v, path, target)) == NULL)
    return -1;
  m->read_only = ro && ro->kind == N_BOOL && ro->b;
  if (strcmp (t, "bind") == 0)
    {
      const node_t *bind = node_map_get (v, "bind"), *chp = node_map_get (bind, "create_host_path");
      const node_t *prop = node_map_get (bind, "propagation");
      m->type = RT_MOUNT_BIND;
      m->source = node_text (c->a, src);
      m->create_source = chp && chp->kind == N_BOOL && chp->b;
      m->propagation = prop ? node_text (c->a, prop) : NULL;
    }
  else if (strcmp (t, "volume") == 0)
    {
      const node_t *opt = node_map_get (v, "volume");
      const node_t *nocopy = node_map_get (opt, "nocopy"), *sub = node_map_get (opt, "subpath");
      m->type = RT_MOUNT_VOLUME;
      m->seed = !(nocopy && nocopy->kind == N_BOOL && nocopy->b);
      m->source = src ? named_volume (c, ms, src, path) : anonymous_volume (c, ms);
      if (m->source == NULL)
        return -1;
      if (sub)
        {
          const char *s = node_text (c->a, sub);
          /* the subpath stays inside the volume */
          if (s[0] == '/' || strcmp (s, "..") == 0 || str_has_prefix (s, "../")
              || strstr (s, "/../") || str_has_suffix (s, "/.."))
            return plan_fail (c, sub, path_key (c->a, path, "volume.subpath"),
                              "`%s` must be a relative path inside the volume, without `..`", s);
          m->source = arena_printf (c->a, "%s/%s", m->source, s);
        }
    }
  else /* tmpfs */
    {
      const node_t *opt = node_map_get (v, "tmpfs");
      m->type = RT_MOUNT_TMPFS;
      m->tmpfs_size = (uint64_t)plan_int64 (node_map_get (opt, "size"));
      m->tmpfs_mode = (unsigned)plan_int64 (node_map_get (opt, "mode"));
    }
  return 0;
}

/* One option of a `tmpfs:` entry ("size=64m", "mode=1777", "exec", ...). */
static int
tmpfs_option (plan_ctx_t *c, const node_t *at, const char *path, rt_mount_t *m, const char *o)
{
  int64_t size;
  char *end;
  unsigned long mode;

  if (str_has_prefix (o, "size="))
    {
      if (!bytes_parse (o + 5, &size))
        return plan_fail (c, at, path, "`%s`: the size must be bytes or a number with k, m or g",
                          o);
      m->tmpfs_size = (uint64_t)size;
    }
  else if (str_has_prefix (o, "mode="))
    {
      mode = strtoul (o + 5, &end, 8);
      if (o[5] == '\0' || *end != '\0' || mode > 07777)
        return plan_fail (c, at, path, "`%s`: the mode must be octal, such as mode=1777", o);
      m->tmpfs_mode = (unsigned)mode;
    }
  else if (strcmp (o, "exec") == 0 || strcmp (o, "noexec") == 0)
    m->tmpfs_exec = strcmp (o, "exec") == 0;
  else if (strcmp (o, "ro") == 0 || strcmp (o, "rw") == 0)
    m->read_only = strcmp (o, "ro") == 0;
  else if (strcmp (o, "nosuid") != 0 && strcmp (o, "nodev") != 0)
    /* uid=, gid=, suid, dev, nr_inodes=...: the runtime has no field for them */
    return plan_fail (c, at, path,
                      "tmpfs option `%s` is not supported; use size=, mode=, exec, noexec, ro, "
                      "rw, nosuid or nodev",
                      o);
  return 0;
}

/* "PATH" or "PATH:OPTIONS", as Docker's --tmpfs. */
static int
tmpfs_entry (plan_ctx_t *c, mounts_t *ms, const node_t *at, const char *path)
{
  const char *s = node_text (c->a, at), *colon = strchr (s, ':');
  const char *target = colon ? arena_strndup (c->a, s, (size_t)(colon - s)) : s;
  cleanup_free char *opts = colon ? xstrdup (colon + 1) : NULL;
  char *save = NULL, *o;
  rt_mount_t *m;

  if (target[0] != '/')
    return plan_fail (c, at, path, "`%s` must be an absolute path inside the container", target);
  if ((m = add_mount (c, ms, at, path, target)) == NULL)
    return -1;
  m->type = RT_MOUNT_TMPFS;
  for (o = opts ? strtok_r (opts, ",", &save) : NULL; o; o = strtok_r (NULL, ",", &save))
    if (tmpfs_option (c, at, path, m, o) < 0)
      return -1;
  return 0;
}

/* Secrets and configs from a file are read-only binds, as docker compose
   mounts them; a target already mounted by `volumes:` wins. */
static int
file_refs (plan_ctx_t *c, mounts_t *ms, const char *key, const char *dir)
{
  const node_t *refs = plan_get (c, key);
  const node_t *top = node_map_get (c->p->model, key);
  size_t i;

  for (i = 0; refs && refs->kind == N_SEQ && i < refs->len; i++)
    {
      const node_t *r = refs->items[i], *src = node_map_get (r, "source");
      const node_t *tgt = node_map_get (r, "target");
      const char *path = path_index (c->a, plan_key (c, key), i);
      const char *name = node_text (c->a, src);
      const node_t *def = node_map_get (top, name), *file = node_map_get (def, "file");
      const char *target = tgt ? node_text (c->a, tgt) : name;
      rt_mount_t *m;

      if (target[0] != '/')
        target = arena_printf (c->a, "%s%s", dir, target);
      if (has_target (ms, target, NULL))
        continue;
      if (file == NULL)
        return plan_fail (c, r, path,
                          "%s `%s` is not a file; stack supports only `file:` %s so far", key, name,
                          key);
      if ((m = add_mount (c, ms, r, path, target)) == NULL)
        return -1;
      m->type = RT_MOUNT_BIND;
      m->source = node_text (c->a, file);
      m->read_only = true;
    }
  return 0;
}

static size_t
depth (const char *path)
{
  size_t n = 0;
  for (; *path; path++)
    if (*path == '/' && path[1] != '\0' && path[1] != '/')
      n++;
  return n;
}

/* Parents before children, as the daemon sorts mounts (moby's
   sortMounts, by number of path components); stable, so the file's order
   stays among paths of equal depth. */
static void
sort_mounts (rt_mount_t *m, size_t n)
{
  size_t i, j;
  for (i = 1; i < n; i++)
    {
      rt_mount_t x = m[i];
      size_t d = depth (x.target);
      for (j = i; j > 0 && depth (m[j - 1].target) > d; j--)
        m[j] = m[j - 1];
      m[j] = x;
    }
}

static size_t
seq_len (const node_t *n)
{
  return n && n->kind == N_SEQ ? n->len : 0;
}

int
plan_mounts (plan_ctx_t *c)
{
  const node_t *vols = plan_get (c, "volumes"), *tmpfs = plan_get (c, "tmpfs");
  const node_t *ro = plan_get (c, "read_only");
  size_t img_vols = 0, cap, i;
  mounts_t ms = { 0 };

  while (c->img->volumes && c->img->volumes[img_vols])
    img_vols++;
  cap = seq_len (vols) + seq_len (tmpfs) + seq_len (plan_get (c, "secrets"))
        + seq_len (plan_get (c, "configs")) + img_vols;
  ms.m = arena_alloc (c->a, (cap ? cap : 1) * sizeof *ms.m);
  ms.where = arena_alloc (c->a, (cap ? cap : 1) * sizeof *ms.where);
  ms.vol = arena_alloc (c->a, (cap ? cap : 1) * sizeof *ms.vol);

  for (i = 0; i < seq_len (vols); i++)
    if (volume_mount (c, &ms, vols->items[i], path_index (c->a, plan_key (c, "volumes"), i)) < 0)
      return -1;
  for (i = 0; i < seq_len (tmpfs); i++)
    if (tmpfs_entry (c, &ms, tmpfs->items[i], path_index (c->a, plan_key (c, "tmpfs"), i)) < 0)
      return -1;
  if (file_refs (c, &ms, "secrets", "/run/secrets/") < 0 || file_refs (c, &ms, "configs", "/") < 0)
    return -1;
  /* Docker gives every VOLUME of the image that no mount covers an
     anonymous volume, seeded from the image */
  for (i = 0; i < img_vols; i++)
    {
      const char *target = arena_strdup (c->a, c->img->volumes[i]);
      rt_mount_t *m;
      if (target[0] != '/' || has_target (&ms, target, NULL))
        continue;
      m = add_mount (c, &ms, NULL, "image", target);
      m->type = RT_MOUNT_VOLUME;
      m->seed = true;
      m->source = anonymous_volume (c, &ms);
    }
  sort_mounts (ms.m, ms.n);

  c->out->spec.mounts = ms.n ? ms.m : NULL;
  c->out->spec.n_mounts = ms.n;
  c->out->volumes = ms.n_vol ? ms.vol : NULL;
  c->out->n_volumes = ms.n_vol;
  c->out->spec.read_only_root = ro && ro->kind == N_BOOL && ro->b;
  return 0;
}
