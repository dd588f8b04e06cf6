/* normalize-refs.c — references between the parts of the model, checked
   once every service and resource is built: services named by depends_on,
   links, volumes_from and service:NAME modes; networks, named volumes,
   secrets and configs used by services.  Like compose, the implicit
   dependencies (links, service:NAME, volumes_from) are then written into
   depends_on. */
#include <string.h>

#include "normalize-internal.h"

static bool
has_service (nz_t *z, const char *name)
{
  return node_map_find (node_map_get (z->out, "services"), name) != NULL;
}

static void
missing_service (nz_t *z, mark_t m, const char *path, const char *name)
{
  node_t *services = node_map_get (z->out, "services");
  const char *best = NULL;
  size_t i, bd = 3;

  for (i = 0; services && i < services->len; i++)
    {
      size_t d = nz_distance (name, services->entries[i].key);
      if (d < bd && d < strlen (name))
        bd = d, best = services->entries[i].key;
    }
  if (best)
    diag_error (z->ld, m, path, "`%s` is not a service of this stack; did you mean `%s`?", name,
                best);
  else
    diag_error (z->ld, m, path, "`%s` is not a service of this stack", name);
}

/* Add `name` to svc's depends_on unless there already. */
static void
implicit_dep (nz_t *z, node_t *svc, const char *name, bool restart, const node_t *at)
{
  node_t *deps = node_map_get (svc, "depends_on"), *d;
  if (deps == NULL)
    {
      deps = nz_map (z, at);
      node_map_set (z->a, svc, "depends_on", deps);
    }
  if (node_map_find (deps, name))
    return;
  d = nz_map (z, at);
  node_map_set (z->a, d, "condition", nz_str (z, "service_started", at));
  node_map_set (z->a, d, "required", nz_bool (z, true, at));
  if (restart)
    node_map_set (z->a, d, "restart", nz_bool (z, true, at));
  node_map_set_mark (z->a, deps, name, at->mark, d);
}

/* The part of `s` before the first `:`. */
static const char *
before_colon (nz_t *z, const char *s)
{
  const char *c = strchr (s, ':');
  return c ? arena_strndup (z->a, s, (size_t)(c - s)) : s;
}

static void
check_service_refs (nz_t *z, const char *name, node_t *svc)
{
  static const char *const modes[] = { "network_mode", "ipc", "pid", "uts" };
  const char *path = path_key (z->a, "services", name);
  node_t *deps = node_map_get (svc, "depends_on");
  node_t *links = node_map_get (svc, "links");
  node_t *from = node_map_get (svc, "volumes_from");
  size_t i;

  for (i = 0; deps && i < deps->len; i++)
    {
      const node_entry_t *e = &deps->entries[i];
      node_t *req = node_map_get (e->value, "required");
      if (!has_service (z, e->key) && !(req && !req->b))
        missing_service (z, e->key_mark, path_key (z->a, path, "depends_on"), e->key);
    }
  for (i = 0; links && i < links->len; i++)
    {
      node_t *l = links->items[i];
      const char *target = before_colon (z, l->str);
      if (!has_service (z, target))
        missing_service (z, l->mark, path_index (z->a, path_key (z->a, path, "links"), i), target);
      else
        implicit_dep (z, svc, target, true, l);
    }
  for (i = 0; i < ARRAY_SIZE (modes); i++)
    {
      node_t *m = node_map_get (svc, modes[i]);
      if (m == NULL || !str_has_prefix (m->str, "service:"))
        continue;
      if (!has_service (z, m->str + 8))
        missing_service (z, m->mark, path_key (z->a, path, modes[i]), m->str + 8);
      else
        implicit_dep (z, svc, m->str + 8, true, m);
    }
  for (i = 0; from && i < from->len; i++)
    {
      node_t *f = from->items[i];
      const char *target;
      if (str_has_prefix (f->str, "container:"))
        continue;
      target = before_colon (z, f->str);
      if (!has_service (z, target))
        missing_service (z, f->mark, path_index (z->a, path_key (z->a, path, "volumes_from"), i),
                         target);
      else
        implicit_dep (z, svc, target, false, f);
    }
}

static void
check_declared (nz_t *z, const char *top, const char *noun, const char *name, mark_t at,
                const char *path, const char *hint)
{
  if (node_map_find (node_map_get (z->out, top), name))
    return;
  diag_error (z->ld, at, path, "%s `%s` is not declared; add `%s:` under the top-level `%s:`%s",
              noun, name, name, top, hint ? hint : "");
}

static void
check_resource_refs (nz_t *z, const char *name, node_t *svc)
{
  const char *path = path_key (z->a, "services", name);
  node_t *nets = node_map_get (svc, "networks");
  node_t *vols = node_map_get (svc, "volumes");
  node_t *lists[3] = { node_map_get (svc, "secrets"), node_map_get (svc, "configs"),
                       node_map_get (node_map_get (svc, "build"), "secrets") };
  const char *list_paths[3] = { path_key (z->a, path, "secrets"), path_key (z->a, path, "configs"),
                                path_key (z->a, path_key (z->a, path, "build"), "secrets") };
  size_t i, j;

  for (i = 0; nets && i < nets->len; i++)
    {
      const node_entry_t *e = &nets->entries[i];
      if (strcmp (e->key, "default") == 0)
        continue;
      check_declared (z, "networks", "network", e->key, e->key_mark,
                      path_key (z->a, path_key (z->a, path, "networks"), e->key), NULL);
    }
  for (i = 0; vols && i < vols->len; i++)
    {
      node_t *v = vols->items[i], *type = node_map_get (v, "type"),
             *src = node_map_get (v, "source");
      if (type && strcmp (type->str, "volume") == 0 && src && src->str[0])
        check_declared (z, "volumes", "named volume", src->str, v->mark,
                        path_index (z->a, path_key (z->a, path, "volumes"), i),
                        " (or write ./NAME to mount a folder of the host)");
    }
  for (j = 0; j < 3; j++)
    for (i = 0; lists[j] && i < lists[j]->len; i++)
      {
        node_t *src = node_map_get (lists[j]->items[i], "source");
        const char *top = j == 1 ? "configs" : "secrets";
        if (src)
          check_declared (z, top, j == 1 ? "config" : "secret", src->str, lists[j]->items[i]->mark,
                          path_index (z->a, list_paths[j], i), NULL);
      }
}

void
nz_check_refs (nz_t *z)
{
  node_t *services = node_map_get (z->out, "services");
  size_t i;

  for (i = 0; services && i < services->len && !diag_full (z->ld); i++)
    {
      check_service_refs (z, services->entries[i].key, services->entries[i].value);
      check_resource_refs (z, services->entries[i].key, services->entries[i].value);
    }
}
