/* profiles.c — services that run only with a profile.

   A service with a non-empty `profiles:` list is enabled when one of its
   profiles is active (`*` activates all); one without is always enabled.
   Disabled services leave the model.  An enabled service may not need a
   disabled one: a required dependency (depends_on with required: true, and
   the implicit ones of network_mode/ipc/pid/uts/cgroup `service:NAME`,
   volumes_from and links, which Compose also counts as required) is an
   error naming the profiles that would enable it; an optional one is
   dropped from depends_on, as Compose does. */
#include <string.h>

#include "compose-internal.h"

static bool
profile_active (const char *name, const char *const *active, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp (active[i], "*") == 0 || strcmp (active[i], name) == 0)
      return true;
  return false;
}

static bool
service_enabled (ld_t *ld, const node_t *svc, const char *const *active, size_t n)
{
  node_t *list = node_map_get (svc, "profiles");
  size_t i;

  if (list == NULL || list->kind != N_SEQ || list->len == 0)
    return true;
  for (i = 0; i < list->len; i++)
    {
      const char *p = node_text (ld->arena, list->items[i]);
      if (p && profile_active (p, active, n))
        return true;
    }
  return false;
}

/* "--profile debug" or "one of --profile a, --profile b". */
static const char *
how_to_enable (ld_t *ld, const node_t *svc)
{
  node_t *list = node_map_get (svc, "profiles");
  strbuf_t b = { 0 };
  const char *out;
  size_t i;

  if (list->len > 1)
    sb_puts (&b, "one of ");
  for (i = 0; i < list->len; i++)
    sb_printf (&b, "%s--profile %s", i ? ", " : "", node_text (ld->arena, list->items[i]));
  out = arena_strdup (ld->arena, b.s);
  sb_free (&b);
  return out;
}

static void
report (ld_t *ld, mark_t at, const char *path, const char *name, const char *dep,
        const node_t *dep_svc, const char *how, const char *hint)
{
  diag_error (ld, at, path,
              "service `%s` is required by `%s`%s but is disabled; enable it with %s%s", dep, name,
              how, how_to_enable (ld, dep_svc), hint);
}

/* The service `ref` names, if it names one: "service:NAME" for namespaces,
   "NAME[:MODE]" (not "container:...") for volumes_from, "NAME[:ALIAS]" for
   links. */
static const char *
implicit_target (ld_t *ld, const char *key, const char *ref)
{
  const char *colon;
  if (strcmp (key, "volumes_from") == 0 || strcmp (key, "links") == 0)
    {
      if (str_has_prefix (ref, "container:"))
        return NULL;
      colon = strchr (ref, ':');
      return colon ? arena_strndup (ld->arena, ref, (size_t) (colon - ref)) : ref;
    }
  return str_has_prefix (ref, "service:") ? ref + strlen ("service:") : NULL;
}

static bool
is_disabled (const node_t *services, const char *name, const bool *enabled)
{
  node_entry_t *e = node_map_find (services, name);
  return e && !enabled[e - services->entries];
}

static bool
same_mark (mark_t a, mark_t b)
{
  return a.src == b.src && a.line == b.line && a.col == b.col;
}

/* Report the implicit references to disabled services; the depends_on
   entries normalization wrote for them (they carry the reference's mark)
   are then not reported twice.  An explicit depends_on entry of the same
   service says itself whether it is required. */
static void
check_implicit (ld_t *ld, const node_t *services, const bool *enabled, const char *name,
                const node_t *svc, const char **reported, size_t *n_reported)
{
  static const char *const keys[]
      = { "network_mode", "ipc", "pid", "uts", "cgroup", "volumes_from", "links" };
  const char *spath = path_key (ld->arena, "services", name);
  node_t *deps = node_map_get (svc, "depends_on");
  size_t k, i;

  for (k = 0; k < ARRAY_SIZE (keys); k++)
    {
      node_t *v = node_map_get (svc, keys[k]);
      const char *kpath = path_key (ld->arena, spath, keys[k]);
      size_t n = v == NULL ? 0 : v->kind == N_SEQ ? v->len : 1;
      for (i = 0; i < n; i++)
        {
          const node_t *item = v->kind == N_SEQ ? v->items[i] : v;
          const char *ref = node_is_scalar (item) ? node_text (ld->arena, item) : NULL;
          const char *dep = ref ? implicit_target (ld, keys[k], ref) : NULL;
          node_entry_t *explicit;
          if (dep == NULL || !is_disabled (services, dep, enabled))
            continue;
          explicit = node_map_find (deps, dep);
          if (explicit && !same_mark (explicit->key_mark, item->mark))
            continue;
          report (ld, item->mark, v->kind == N_SEQ ? path_index (ld->arena, kpath, i) : kpath, name,
                  dep, node_map_get (services, dep),
                  arena_printf (ld->arena, " (%s: %s)", keys[k], ref), "");
          reported[(*n_reported)++] = dep;
        }
    }
}

static bool
was_reported (const char *name, const char **reported, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp (reported[i], name) == 0)
      return true;
  return false;
}

/* depends_on is a mapping NAME -> {condition, required, restart} here. */
static void
check_depends_on (ld_t *ld, const node_t *services, const bool *enabled, const char *name,
                  node_t *svc, const char **reported, size_t n_reported)
{
  node_t *deps = node_map_get (svc, "depends_on");
  const char *dpath = path_key (ld->arena, path_key (ld->arena, "services", name), "depends_on");
  size_t i;

  if (deps == NULL || deps->kind != N_MAP)
    return;
  for (i = 0; i < deps->len;)
    {
      node_entry_t *d = &deps->entries[i];
      bool required = true;
      node_t *r = node_map_get (d->value, "required");

      if (!is_disabled (services, d->key, enabled) || was_reported (d->key, reported, n_reported))
        {
          i++;
          continue;
        }
      if (r)
        scalar_to_bool (r, &required);
      if (!required)
        {
          node_map_del (deps, d->key);
          continue;
        }
      report (ld, d->key_mark.line ? d->key_mark : d->value->mark,
              path_key (ld->arena, dpath, d->key), name, d->key, node_map_get (services, d->key),
              "", " (or make the dependency `required: false`)");
      i++;
    }
  if (deps->len == 0)
    node_map_del (svc, "depends_on");
}

/* An upper bound on the implicit references of a service. */
static size_t
implicit_refs_max (const node_t *svc)
{
  node_t *from = node_map_get (svc, "volumes_from");
  node_t *links = node_map_get (svc, "links");
  size_t n = 8; /* the namespace keys, and a scalar volumes_from or links */

  if (from && from->kind == N_SEQ)
    n += from->len;
  if (links && links->kind == N_SEQ)
    n += links->len;
  return n;
}

/* Named on the command line: enabled whatever its profiles. */
static bool
named (const compose_options_t *o, const char *service)
{
  size_t i;

  for (i = 0; o && i < o->n_services; i++)
    if (strcmp (o->services[i], service) == 0)
      return true;
  return false;
}

void
profiles_apply (ld_t *ld, node_t *model, const char *const *profiles, size_t n_profiles)
{
  node_t *services = node_map_get (model, "services");
  cleanup_free bool *enabled = NULL;
  size_t i, k;

  if (services == NULL || services->kind != N_MAP)
    return;
  enabled = xzalloc ((services->len + 1) * sizeof *enabled);
  for (i = k = 0; i < services->len; i++)
    {
      enabled[i] = service_enabled (ld, services->entries[i].value, profiles, n_profiles)
                   || named (ld->opts, services->entries[i].key);
      k += enabled[i];
    }
  if (k == services->len)
    return;
  for (i = 0; i < services->len; i++)
    if (enabled[i] && services->entries[i].value->kind == N_MAP)
      {
        node_t *svc = services->entries[i].value;
        size_t n_reported = 0;
        const char **reported = arena_alloc (ld->arena, implicit_refs_max (svc) * sizeof *reported);

        check_implicit (ld, services, enabled, services->entries[i].key, svc, reported,
                        &n_reported);
        check_depends_on (ld, services, enabled, services->entries[i].key, svc, reported,
                          n_reported);
      }
  for (i = k = 0; i < services->len; i++)
    if (enabled[i])
      services->entries[k++] = services->entries[i];
  services->len = k;
}
