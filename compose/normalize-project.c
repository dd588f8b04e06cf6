/* normalize-project.c — the top level of the model: its keys, the services
   map, the networks, volumes, secrets and configs with the names Compose
   gives them, the implicit default network, and the references between
   services and resources checked once everything is built. */
#include <ctype.h>
#include <string.h>

#include "normalize-internal.h"

/* ---- resources ---- */

/* external: true/false, or the legacy {name: X} (then the resource is named X). */
static node_t *
h_external (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  size_t i;
  if (in && in->kind == N_MAP)
    {
      for (i = 0; i < in->len; i++)
        if (strcmp (in->entries[i].key, "name") != 0 && !str_has_prefix (in->entries[i].key, "x-"))
          diag_error (z->ld, in->entries[i].key_mark, path_key (z->a, path, in->entries[i].key),
                      "unknown key in `external`; only `name` is allowed (better: write "
                      "`external: true` and `name:` beside it)");
      return nz_bool (z, true, in);
    }
  return nz_h_bool (z, in, path, k);
}

static const nz_key_t pool_keys[] = {
  { "subnet", nz_h_str, NULL, NULL },
  { "ip_range", nz_h_str, NULL, "addresses come from the whole subnet" },
  { "gateway", nz_h_str, NULL, NULL },
  { "aux_addresses", nz_h_options, NULL, NULL },
};
static const nz_obj_t pool_obj
    = NZ_OBJ ("an ipam config entry", "networks.*.ipam.config", pool_keys, true);

static const nz_key_t ipam_keys[] = {
  { "driver", nz_h_str, NULL, NULL },
  { "config", nz_h_obj_list, &pool_obj, NULL },
  { "options", nz_h_options, NULL, NULL },
};
static const nz_obj_t ipam_obj = NZ_OBJ ("`ipam`", "networks.*.ipam", ipam_keys, true);

static const nz_key_t network_keys[] = {
  { "name", nz_h_str, NULL, NULL },
  { "driver", nz_h_str, NULL, NULL },
  { "driver_opts", nz_h_options, NULL, NULL },
  { "ipam", nz_h_object, &ipam_obj, NULL },
  { "external", h_external, NULL, NULL },
  { "internal", nz_h_bool, NULL, NULL },
  { "enable_ipv4", nz_h_bool, NULL, NULL },
  { "enable_ipv6", nz_h_bool, NULL, "stack's networks are IPv4 only" },
  { "attachable", nz_h_bool, NULL, "attachable only matters to swarm overlay networks" },
  { "labels", nz_h_str_map, NULL, NULL },
};
static const nz_obj_t network_obj = NZ_OBJ ("a network", "networks.*", network_keys, true);

static const nz_key_t volume_keys[] = {
  { "name", nz_h_str, NULL, NULL },
  { "driver", nz_h_str, NULL, NULL },
  { "driver_opts", nz_h_options, NULL, NULL },
  { "external", h_external, NULL, NULL },
  { "labels", nz_h_str_map, NULL, NULL },
};
static const nz_obj_t volume_obj = NZ_OBJ ("a volume", "volumes.*", volume_keys, true);

static const nz_key_t secret_keys[] = {
  { "name", nz_h_str, NULL, NULL },
  { "environment", nz_h_str, NULL, NULL },
  { "file", nz_h_host_path, NULL, NULL },
  { "external", h_external, NULL, NULL },
  { "labels", nz_h_str_map, NULL, NULL },
  { "driver", nz_h_str, NULL, "secret drivers belong to swarm" },
  { "driver_opts", nz_h_options, NULL, "secret drivers belong to swarm" },
  { "template_driver", nz_h_str, NULL, "template drivers belong to swarm" },
};
static const nz_obj_t secret_obj = NZ_OBJ ("a secret", "secrets.*", secret_keys, true);

static const nz_key_t config_keys[] = {
  { "name", nz_h_str, NULL, NULL },
  { "content", nz_h_str, NULL, NULL },
  { "environment", nz_h_str, NULL, NULL },
  { "file", nz_h_host_path, NULL, NULL },
  { "external", h_external, NULL, NULL },
  { "labels", nz_h_str_map, NULL, NULL },
  { "template_driver", nz_h_str, NULL, "template drivers belong to swarm" },
};
static const nz_obj_t config_obj = NZ_OBJ ("a config", "configs.*", config_keys, true);

static bool
name_ok (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!(isalnum ((unsigned char)*s) || *s == '.' || *s == '_' || *s == '-'))
      return false;
  return true;
}

static bool
is_true (const node_t *n)
{
  return n && n->kind == N_BOOL && n->b;
}

/* What a resource of this kind is called in messages and which keys an
   external one may not have. */
struct kind
{
  const char *top;  /* "networks" */
  const char *noun; /* "network" */
  const nz_obj_t *obj;
  const char *const *not_with_external;
};

static const char *const net_not_ext[]
    = { "driver", "driver_opts", "ipam", "internal", "enable_ipv6", NULL };
static const char *const vol_not_ext[] = { "driver", "driver_opts", NULL };
static const char *const file_not_ext[] = { "file", "environment", "content", NULL };

static const struct kind kinds[] = {
  { "networks", "network", &network_obj, net_not_ext },
  { "volumes", "volume", &volume_obj, vol_not_ext },
  { "secrets", "secret", &secret_obj, file_not_ext },
  { "configs", "config", &config_obj, file_not_ext },
};

static const struct kind *
kind_of (const char *top)
{
  size_t i;
  for (i = 0; i < ARRAY_SIZE (kinds); i++)
    if (strcmp (kinds[i].top, top) == 0)
      return &kinds[i];
  return NULL;
}

static node_t *
resource (nz_t *z, const struct kind *kd, const char *key, const node_t *in, const char *path)
{
  const node_t *ext_in = node_map_get (in, "external");
  node_t *out, *ext;
  const char *const *w;

  if (nz_is_null (in) && (strcmp (kd->top, "secrets") == 0 || strcmp (kd->top, "configs") == 0))
    {
      diag_error (z->ld, in ? in->mark : z->root->mark, path,
                  "a %s needs a source: `file:`, `environment:`%s or `external: true`", kd->noun,
                  strcmp (kd->top, "configs") == 0 ? ", `content:`" : "");
      return NULL;
    }
  out = nz_object (z, in, path, kd->obj);
  if (out == NULL)
    return NULL;
  ext = node_map_get (out, "external");

  /* legacy external.name names the resource */
  if (ext_in && ext_in->kind == N_MAP && node_map_get (ext_in, "name"))
    {
      const node_t *en = node_map_get (ext_in, "name");
      if (node_map_get (out, "name"))
        diag_error (z->ld, en->mark, path_key (z->a, path_key (z->a, path, "external"), "name"),
                    "give the name once: both `name` and the old `external.name` are set");
      else if (node_is_scalar (en))
        node_map_set (z->a, out, "name", nz_str (z, nz_scalar_text (en), en));
    }
  if (is_true (ext))
    for (w = kd->not_with_external; *w; w++)
      {
        node_entry_t *e = node_map_find (out, *w);
        if (e)
          diag_error (z->ld, e->key_mark, path_key (z->a, path, *w),
                      "an external %s is made elsewhere; `%s` cannot be set with `external: true`",
                      kd->noun, *w);
      }
  if (!is_true (ext) && (strcmp (kd->top, "secrets") == 0 || strcmp (kd->top, "configs") == 0)
      && !node_map_get (out, "file") && !node_map_get (out, "environment")
      && !node_map_get (out, "content") && !node_map_get (out, "driver"))
    diag_error (z->ld, in->mark, path,
                "a %s needs a source: `file:`, `environment:`%s or `external: true`", kd->noun,
                strcmp (kd->top, "configs") == 0 ? ", `content:`" : "");
  if (!is_true (ext) && ext)
    node_map_del (out, "external"); /* external: false is the default */

  /* a local volume with o=bind is a bind mount in disguise: its device is a host path */
  if (strcmp (kd->top, "volumes") == 0)
    {
      node_t *drv = node_map_get (out, "driver"), *opts = node_map_get (out, "driver_opts");
      node_t *o = node_map_get (opts, "o"), *dev = node_map_get (opts, "device");
      if (drv && strcmp (drv->str, "local") == 0 && o && strstr (o->str, "bind") && dev)
        dev->str = path_resolve (z->ld, node_base_dir (z->ld, dev), dev->str);
    }
  if (strcmp (kd->top, "networks") == 0 && !node_map_get (out, "ipam"))
    node_map_set (z->a, out, "ipam", nz_map (z, NULL)); /* compose prints "ipam": {} */

  if (!node_map_get (out, "name"))
    node_map_set (
        z->a, out, "name",
        nz_str (z, is_true (ext) ? key : arena_printf (z->a, "%s_%s", z->project, key), NULL));
  return out;
}

static node_t *
h_resources (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  const struct kind *kd = kind_of (k->name);
  node_t *out;
  size_t i;

  if (nz_is_null (in))
    return nz_map (z, in);
  if (in->kind != N_MAP)
    return nz_type_error (z, in, path, arena_printf (z->a, "a mapping of %s by name", kd->top));
  out = nz_map (z, in);
  for (i = 0; i < in->len && !diag_full (z->ld); i++)
    {
      const node_entry_t *e = &in->entries[i];
      const char *p = path_key (z->a, path, e->key);
      node_t *v;
      if (str_has_prefix (e->key, "x-"))
        continue; /* compose-go drops extensions here */
      if (!name_ok (e->key))
        {
          diag_error (z->ld, e->key_mark, p,
                      "invalid %s name `%s`: use letters, digits, `.`, `_` and `-` only", kd->noun,
                      e->key);
          continue;
        }
      v = resource (z, kd, e->key, e->value, p);
      if (v)
        node_map_set_mark (z->a, out, e->key, e->key_mark, v);
    }
  return out;
}

/* ---- services ---- */

static node_t *
h_services (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (nz_is_null (in))
    return nz_map (z, in);
  if (in->kind != N_MAP)
    return nz_type_error (z, in, path, "a mapping of services by name");
  out = nz_map (z, in);
  for (i = 0; i < in->len && !diag_full (z->ld); i++)
    {
      const node_entry_t *e = &in->entries[i];
      const char *p = path_key (z->a, path, e->key);
      node_t *v;
      if (!name_ok (e->key))
        {
          diag_error (z->ld, e->key_mark, p,
                      "invalid service name `%s`: use letters, digits, `.`, `_` and `-` only",
                      e->key);
          continue;
        }
      v = nz_service (z, e, p);
      if (v)
        node_map_set_mark (z->a, out, e->key, e->key_mark, v);
    }
  return out;
}

/* ---- the top level ---- */

static const nz_key_t top_keys[] = {
  { "name", nz_h_drop, NULL, NULL }, /* load.c chose the project name */
  { "services", h_services, NULL, NULL },
  { "networks", h_resources, NULL, NULL },
  { "volumes", h_resources, NULL, NULL },
  { "secrets", h_resources, NULL, NULL },
  { "configs", h_resources, NULL, NULL },
  { "include", nz_h_drop, NULL, NULL }, /* resolved by include.c */
  { "models", nz_h_plain, NULL, "AI models are not run by stack" },
  { "version", nz_h_drop, NULL, "the top-level `version` is obsolete" },
};
static const nz_obj_t top_obj = NZ_OBJ ("the top level", "", top_keys, true);

/* A service with neither network_mode nor networks joins `default`; the
   project then gets a `default` network if it declared none. */
static void
default_network (nz_t *z)
{
  node_t *services = node_map_get (z->out, "services");
  node_t *networks = node_map_get (z->out, "networks");
  bool used = false;
  size_t i;

  for (i = 0; services && i < services->len; i++)
    {
      node_t *svc = services->entries[i].value;
      node_t *nets = node_map_get (svc, "networks");
      if (node_map_get (svc, "network_mode") || node_map_get (svc, "provider"))
        continue;
      if (nets == NULL || nets->len == 0)
        {
          nets = nz_map (z, NULL);
          node_map_set (z->a, nets, "default", node_new (z->a, N_NULL, (mark_t){ 0 }));
          node_map_set (z->a, svc, "networks", nets);
        }
      if (node_map_get (nets, "default") || node_map_find (nets, "default"))
        used = true;
    }
  if (!used || node_map_find (networks, "default"))
    return;
  if (networks == NULL)
    {
      networks = nz_map (z, NULL);
      node_map_set (z->a, z->out, "networks", networks);
    }
  {
    node_t *def = nz_map (z, NULL);
    node_map_set (z->a, def, "name",
                  nz_str (z, arena_printf (z->a, "%s_default", z->project), NULL));
    node_map_set (z->a, def, "ipam", nz_map (z, NULL));
    node_map_set (z->a, networks, "default", def);
  }
}

node_t *
normalize_project (ld_t *ld, node_t *root, const char *project_name)
{
  nz_t z = { .ld = ld, .a = ld->arena, .project = project_name, .root = root };
  size_t errors = ld->diags->errors;
  static const char *const empty[] = { "services", "networks", "volumes", "secrets", "configs" };
  size_t i;

  if (root == NULL || root->kind != N_MAP)
    {
      diag_error (ld, root ? root->mark : (mark_t){ 0 }, NULL,
                  "the top level must be a mapping of keys (services:, ...)");
      return NULL;
    }
  z.out = nz_object (&z, root, "", &top_obj);
  if (z.out == NULL)
    return NULL;
  node_map_set (ld->arena, z.out, "name", node_new_str (ld->arena, project_name, root->mark));
  /* empty sections print as nothing, as compose's omitempty does */
  for (i = 0; i < ARRAY_SIZE (empty); i++)
    {
      node_t *sec = node_map_get (z.out, empty[i]);
      if (sec && sec->len == 0 && strcmp (empty[i], "services") != 0)
        node_map_del (z.out, empty[i]);
    }
  if (!node_map_get (z.out, "services"))
    node_map_set (ld->arena, z.out, "services", nz_map (&z, NULL));
  default_network (&z);
  nz_check_refs (&z);
  if (ld->diags->errors != errors)
    return NULL;
  return z.out;
}
