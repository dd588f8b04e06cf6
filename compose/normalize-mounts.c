/* normalize-mounts.c — what crosses the container's boundary: ports and
   expose, volumes (short forms through syntax.c, long forms checked key by
   key and across keys) and devices. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "normalize-internal.h"

/* ---- ports ---- */

static bool
port_number (const char *s, const char **end, long *out)
{
  char *e;
  if (!isdigit ((unsigned char)*s))
    return false;
  *out = strtol (s, &e, 10);
  *end = e;
  return *out >= 0 && *out <= 65535;
}

/* "8080" or "8000-8010" */
static bool
port_range_ok (const char *s)
{
  const char *end;
  long a, b;
  if (!port_number (s, &end, &a))
    return false;
  if (*end == '\0')
    return true;
  if (*end != '-' || !port_number (end + 1, &end, &b))
    return false;
  return *end == '\0' && a <= b;
}

static node_t *
h_target_port (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  long long v;
  if (!scalar_to_int (in, &v))
    return nz_type_error (z, in, path, "a port number (1-65535)");
  if (v < 1 || v > 65535)
    {
      diag_error (z->ld, in->mark, path, "port %lld is out of range: must be 1-65535", v);
      return NULL;
    }
  return nz_int (z, v, in);
}

static node_t *
h_published (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *v = nz_h_str (z, in, path, k);
  if (v == NULL)
    return NULL;
  if (!port_range_ok (v->str))
    {
      diag_error (z->ld, in->mark, path,
                  "`%s` is not a host port; write a number (0-65535) or a range such as 8000-8010",
                  v->str);
      return NULL;
    }
  return v;
}

static const char *const port_modes[] = { "host", "ingress", NULL };
static const char *const protocols[] = { "tcp", "udp", "sctp", NULL };

static const nz_key_t port_keys[] = {
  { "name", nz_h_str, NULL, NULL },         { "mode", nz_h_enum, port_modes, NULL },
  { "host_ip", nz_h_str, NULL, NULL },      { "target", h_target_port, NULL, NULL },
  { "published", h_published, NULL, NULL }, { "protocol", nz_h_enum, protocols, NULL },
  { "app_protocol", nz_h_str, NULL, NULL },
};
static const nz_obj_t port_obj = NZ_OBJ ("a port", "services.*.ports", port_keys, true);

node_t *
nz_h_ports (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path,
                          "a list of ports (\"8080:80\" or {target: 80, published: \"8080\"})");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_t *it = in->items[i];
      const char *p = path_index (z->a, path, i);
      node_t *v;
      if (it && it->kind == N_MAP)
        {
          if ((v = nz_object (z, it, p, &port_obj)) == NULL)
            continue;
          if (!node_map_get (v, "target"))
            {
              if (!node_map_get (it, "target"))
                diag_error (z->ld, it->mark, p, "needs `target`: the port inside the container");
              continue;
            }
          if (!node_map_get (v, "mode"))
            node_map_set (z->a, v, "mode", nz_str (z, "ingress", it));
          if (!node_map_get (v, "protocol"))
            node_map_set (z->a, v, "protocol", nz_str (z, "tcp", it));
          node_seq_push (z->a, out, v);
        }
      else if (node_is_scalar (it) && scalar_resolve (it) != N_BOOL)
        port_parse_short (z->ld, it, p, out);
      else
        nz_type_error (z, it, p,
                       "a port (\"8080:80\", 80) or a mapping (target: 80, published: \"8080\")");
    }
  return out;
}

/* expose: "3000", 3000, "8000-8010", "53/udp" — printed as strings */
node_t *
nz_h_expose (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out = nz_h_str_list (z, in, path, k);
  size_t i;
  for (i = 0; out && i < out->len; i++)
    {
      const char *s = out->items[i]->str, *slash = strchr (s, '/');
      const char *ports = slash ? arena_strndup (z->a, s, (size_t)(slash - s)) : s;
      bool ok = port_range_ok (ports);
      if (ok && slash)
        ok = strcmp (slash + 1, "tcp") == 0 || strcmp (slash + 1, "udp") == 0
             || strcmp (slash + 1, "sctp") == 0;
      if (!ok)
        diag_error (z->ld, out->items[i]->mark, path_index (z->a, path, i),
                    "`%s` is not a port; write a number, a range such as 8000-8010, optionally "
                    "with /tcp or /udp",
                    s);
    }
  return out;
}

/* ---- volumes ---- */

static const char *const vol_types[]
    = { "bind", "volume", "tmpfs", "npipe", "image", "cluster", NULL };
static const char *const propagations[]
    = { "shared", "slave", "private", "rshared", "rslave", "rprivate", NULL };
static const char *const recursives[] = { "enabled", "disabled", "writable", "readonly", NULL };
static const char *const selinux_opts[] = { "z", "Z", NULL };
static const nz_range_t tmpfs_modes = { 0, 07777 };

static const nz_key_t bind_keys[] = {
  { "propagation", nz_h_enum, propagations, NULL },
  { "create_host_path", nz_h_bool, NULL, NULL },
  { "recursive", nz_h_enum, recursives, NULL },
  { "selinux", nz_h_enum, selinux_opts, NULL },
};
static const nz_obj_t bind_obj = NZ_OBJ ("`bind`", "services.*.volumes.bind", bind_keys, true);

static const nz_key_t volopt_keys[] = {
  { "labels", nz_h_str_map, NULL, NULL },
  { "nocopy", nz_h_bool, NULL, NULL },
  { "subpath", nz_h_str, NULL, NULL },
};
static const nz_obj_t volopt_obj
    = NZ_OBJ ("`volume`", "services.*.volumes.volume", volopt_keys, true);

static const nz_key_t tmpfs_keys[] = {
  { "size", nz_h_bytes, NULL, NULL },
  { "mode", nz_h_int, &tmpfs_modes, NULL },
};
static const nz_obj_t tmpfs_obj = NZ_OBJ ("`tmpfs`", "services.*.volumes.tmpfs", tmpfs_keys, true);

static const nz_key_t image_keys[] = {
  { "subpath", nz_h_str, NULL, NULL },
};
static const nz_obj_t image_obj = NZ_OBJ ("`image`", "services.*.volumes.image", image_keys, true);

static const nz_key_t mount_keys[] = {
  { "type", nz_h_enum, vol_types, NULL },
  { "source", nz_h_str, NULL, NULL },
  { "target", nz_h_str, NULL, NULL },
  { "read_only", nz_h_bool, NULL, NULL },
  { "consistency", nz_h_str, NULL, "consistency only matters to Docker Desktop on macOS" },
  { "bind", nz_h_object, &bind_obj, NULL },
  { "volume", nz_h_object, &volopt_obj, NULL },
  { "tmpfs", nz_h_object, &tmpfs_obj, NULL },
  { "image", nz_h_object, &image_obj, NULL },
};
static const nz_obj_t mount_obj = NZ_OBJ ("a volume mount", "services.*.volumes", mount_keys, true);

static node_t *
long_mount (nz_t *z, const node_t *in, const char *p)
{
  static const char *const opts[] = { "bind", "volume", "tmpfs", "image" };
  node_t *v = nz_object (z, in, p, &mount_obj);
  node_t *type, *src, *tgt, *bind;
  size_t i;

  if (v == NULL)
    return NULL;
  type = node_map_get (v, "type");
  if (type == NULL)
    {
      if (!node_map_get (in, "type"))
        diag_error (z->ld, in->mark, p, "needs `type`: bind, volume, tmpfs or image");
      return NULL;
    }
  src = node_map_get (v, "source");
  tgt = node_map_get (v, "target");
  if (tgt == NULL)
    {
      if (!node_map_get (in, "target"))
        diag_error (z->ld, in->mark, p, "needs `target`: the path inside the container");
      return NULL;
    }
  if (tgt->str[0] != '/')
    {
      diag_error (z->ld, tgt->mark, path_key (z->a, p, "target"),
                  "`%s` must be an absolute path inside the container (starting with /)", tgt->str);
      return NULL;
    }
  tgt->str = path_resolve (z->ld, "/", tgt->str);
  for (i = 0; i < ARRAY_SIZE (opts); i++)
    {
      node_entry_t *e = node_map_find (v, opts[i]);
      if (e && strcmp (type->str, opts[i]) != 0)
        {
          diag_error (z->ld, e->key_mark, path_key (z->a, p, opts[i]),
                      "`%s` options need type: %s (this mount is type: %s)", opts[i], opts[i],
                      type->str);
          return NULL;
        }
    }
  if (strcmp (type->str, "bind") == 0)
    {
      if (src == NULL || src->str[0] == '\0')
        {
          diag_error (z->ld, in->mark, p, "a bind mount needs `source`: the path on the host");
          return NULL;
        }
      src->str = path_resolve (z->ld, node_base_dir (z->ld, src), src->str);
      if ((bind = node_map_get (v, "bind")) && !node_map_get (bind, "create_host_path"))
        node_map_set (z->a, bind, "create_host_path", nz_bool (z, true, bind));
    }
  else if (strcmp (type->str, "tmpfs") == 0 && src)
    {
      diag_error (z->ld, src->mark, path_key (z->a, p, "source"),
                  "a tmpfs mount has no source; remove it");
      return NULL;
    }
  else if (strcmp (type->str, "image") == 0 && src == NULL)
    {
      diag_error (z->ld, in->mark, p, "an image mount needs `source`: the image to mount");
      return NULL;
    }
  else if (strcmp (type->str, "npipe") == 0 || strcmp (type->str, "cluster") == 0)
    diag_ignored (z->ld, type->mark, path_key (z->a, p, "type"),
                  arena_printf (z->a, "services.*.volumes.type.%s", type->str),
                  arena_printf (z->a, "%s mounts do not exist on a single Linux host", type->str));
  return v;
}

node_t *
nz_h_volumes (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path, "a list of mounts (\"./data:/data\" or {type: bind, ...})");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_t *it = in->items[i];
      const char *p = path_index (z->a, path, i);
      node_t *v = NULL;
      if (it && it->kind == N_MAP)
        v = long_mount (z, it, p);
      else if (node_is_scalar (it) && scalar_resolve (it) == N_STR)
        v = volume_parse_short (z->ld, it, p);
      else
        nz_type_error (z, it, p,
                       "a mount (\"./data:/data\") or a mapping (type: bind, source: ...)");
      if (v)
        node_seq_push (z->a, out, v);
    }
  return out;
}

/* ---- devices ---- */

static bool
perms_ok (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!strchr ("rwm", *s))
      return false;
  return true;
}

static const nz_key_t device_keys[] = {
  { "source", nz_h_str, NULL, NULL },
  { "target", nz_h_str, NULL, NULL },
  { "permissions", nz_h_str, NULL, NULL },
};
static const nz_obj_t device_obj = NZ_OBJ ("a device", "services.*.devices", device_keys, true);

node_t *
nz_h_devices (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path,
                          "a list of devices (\"/dev/fuse\" or \"/dev/sda:/dev/xvda:rwm\")");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_t *it = in->items[i];
      const char *p = path_index (z->a, path, i);
      node_t *v, *perm;
      if (node_is_scalar (it))
        {
          node_t *s = nz_h_str (z, it, p, NULL);
          const char *parts[3] = { 0 };
          const char *c;
          size_t n = 0;
          if (s == NULL)
            continue;
          for (c = s->str; n < 3;)
            {
              const char *colon = strchr (c, ':');
              parts[n++] = colon ? arena_strndup (z->a, c, (size_t)(colon - c)) : c;
              if (colon == NULL)
                break;
              c = colon + 1;
            }
          if (n == 3 && strchr (c, ':'))
            {
              diag_error (z->ld, it->mark, p,
                          "`%s`: too many `:`; write HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]",
                          s->str);
              continue;
            }
          v = nz_map (z, it);
          node_map_set (z->a, v, "source", nz_str (z, parts[0], it));
          node_map_set (z->a, v, "target", nz_str (z, n > 1 ? parts[1] : parts[0], it));
          node_map_set (z->a, v, "permissions", nz_str (z, n > 2 ? parts[2] : "rwm", it));
        }
      else if (it && it->kind == N_MAP)
        {
          if ((v = nz_object (z, it, p, &device_obj)) == NULL)
            continue;
          if (!node_map_get (v, "source"))
            {
              diag_error (z->ld, it->mark, p, "needs `source`: the device path on the host");
              continue;
            }
        }
      else
        {
          nz_type_error (z, it, p, "a device (\"/dev/fuse\") or a mapping (source: /dev/fuse)");
          continue;
        }
      if ((perm = node_map_get (v, "permissions")) && !perms_ok (perm->str))
        {
          diag_error (z->ld, perm->mark, p, "permissions `%s` must be letters of r, w and m",
                      perm->str);
          continue;
        }
      if (node_map_get (v, "source")->str[0] != '/')
        {
          diag_error (z->ld, it->mark, p, "`%s` must be an absolute device path such as /dev/fuse",
                      node_map_get (v, "source")->str);
          continue;
        }
      node_seq_push (z->a, out, v);
    }
  return out;
}
