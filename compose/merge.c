/* merge.c — layering one stack file over another, by Docker Compose's rules
   (compose-go's override package): scalars are replaced, mappings merged key
   by key, and a handful of paths have rules of their own — argv-like values
   are replaced, key=value lists are merged by key, lists of mounts, ports and
   names are appended and then made unique by what identifies an entry.

   Both sides are raw trees, before normalization: either may use the short
   or the long syntax, a list or a mapping.  Where a side has a shape no rule
   expects, the overriding value simply wins and normalization reports what
   is wrong with it, with its own position.

   The tags `!reset` (drop the inherited value) and `!override` (replace it
   instead of merging) are honoured at every level.  Merging edits `base` in
   place and moves nodes of `over` into it. */
#include <stdio.h>
#include <string.h>

#include "merge-internal.h"

/* ---- where we are: a key path matched against Compose's patterns ---- */

#define MPATH_KEEP 8 /* the deepest pattern has 5 segments */

typedef struct mpath
{
  const char *seg[MPATH_KEEP];
  size_t n;
} mpath_t;

static void
mpath_push (mpath_t *p, const char *seg)
{
  if (p->n < MPATH_KEEP)
    p->seg[p->n] = seg;
  p->n++;
}

static void
mpath_pop (mpath_t *p)
{
  p->n--;
}

/* "services.*.ulimits.*": dot-separated, `*` matches any one key. */
static bool
mpath_is (const mpath_t *p, const char *pattern)
{
  size_t i = 0;
  const char *s = pattern;

  while (*s)
    {
      const char *dot = strchr (s, '.');
      size_t len = dot ? (size_t) (dot - s) : strlen (s);
      if (i >= p->n || i >= MPATH_KEEP)
        return false;
      if (!(len == 1 && *s == '*')
          && (strlen (p->seg[i]) != len || strncmp (p->seg[i], s, len) != 0))
        return false;
      i++;
      s += len + (dot != NULL);
    }
  return i == p->n;
}

/* ---- the rules ---- */

enum rule
{
  R_DEFAULT,     /* maps merged, lists appended, scalars replaced */
  R_REPLACE,     /* the overriding value wins whole */
  R_KEYVALUE,    /* KEY=VALUE list or mapping: merged by key */
  R_LIST,        /* a string or a list: appended */
  R_EXTRA_HOSTS, /* host:ip entries appended without exact duplicates */
  R_DEPENDS_ON,  /* list or mapping of services: merged by service */
  R_NAME_MAP,    /* list or mapping of names (networks): merged by name */
  R_BUILD,       /* a context string or a mapping */
  R_LOGGING,     /* another driver replaces the whole block */
  R_IPAM_CONFIG, /* merged by subnet */
};

/* What makes two entries of a list "the same" once appended (compose-go's
   EnforceUnicity): the later one takes the earlier one's place. */
enum unique
{
  U_NONE,
  U_TEXT,     /* the text before `=`, or all of it */
  U_PORT,     /* host ip, published port, target port, protocol */
  U_MOUNT,    /* container path of a volume */
  U_DEVICE,   /* container path of a device */
  U_SECRET,   /* where it is mounted: /run/secrets/NAME by default */
  U_CONFIG,   /* where it is mounted: /NAME by default */
  U_ENV_FILE, /* its path */
};

static const struct
{
  const char *pattern;
  enum rule rule;
  enum unique unique;
} rules[] = {
  { "services.*.command", R_REPLACE, U_NONE },
  { "services.*.entrypoint", R_REPLACE, U_NONE },
  { "services.*.healthcheck.test", R_REPLACE, U_NONE },
  { "services.*.ulimits.*", R_REPLACE, U_NONE },
  { "services.*.environment", R_KEYVALUE, U_NONE },
  { "services.*.labels", R_KEYVALUE, U_NONE },
  { "services.*.annotations", R_KEYVALUE, U_NONE },
  { "services.*.sysctls", R_KEYVALUE, U_NONE },
  { "services.*.build.args", R_KEYVALUE, U_NONE },
  { "services.*.build.labels", R_KEYVALUE, U_NONE },
  { "services.*.build.additional_contexts", R_KEYVALUE, U_NONE },
  { "services.*.deploy.labels", R_KEYVALUE, U_NONE },
  { "networks.*.labels", R_KEYVALUE, U_NONE },
  { "volumes.*.labels", R_KEYVALUE, U_NONE },
  { "services.*.extra_hosts", R_EXTRA_HOSTS, U_NONE },
  { "services.*.build.extra_hosts", R_EXTRA_HOSTS, U_NONE },
  { "services.*.dns", R_LIST, U_TEXT },
  { "services.*.dns_opt", R_LIST, U_TEXT },
  { "services.*.dns_search", R_LIST, U_TEXT },
  { "services.*.tmpfs", R_LIST, U_TEXT },
  { "services.*.env_file", R_LIST, U_ENV_FILE },
  { "services.*.label_file", R_LIST, U_NONE },
  { "services.*.depends_on", R_DEPENDS_ON, U_NONE },
  { "services.*.networks", R_NAME_MAP, U_NONE },
  { "services.*.models", R_NAME_MAP, U_NONE },
  { "services.*.build", R_BUILD, U_NONE },
  { "services.*.logging", R_LOGGING, U_NONE },
  { "networks.*.ipam.config", R_IPAM_CONFIG, U_NONE },
  { "services.*.ports", R_DEFAULT, U_PORT },
  { "services.*.volumes", R_DEFAULT, U_MOUNT },
  { "services.*.devices", R_DEFAULT, U_DEVICE },
  { "services.*.secrets", R_DEFAULT, U_SECRET },
  { "services.*.configs", R_DEFAULT, U_CONFIG },
  { "services.*.expose", R_DEFAULT, U_TEXT },
  { "services.*.cap_add", R_DEFAULT, U_TEXT },
  { "services.*.cap_drop", R_DEFAULT, U_TEXT },
  { "services.*.links", R_DEFAULT, U_TEXT },
  { "services.*.profiles", R_DEFAULT, U_TEXT },
  { "services.*.build.tags", R_DEFAULT, U_TEXT },
  { "services.*.build.platforms", R_DEFAULT, U_TEXT },
  { "services.*.networks.*.aliases", R_DEFAULT, U_TEXT },
  { "services.*.networks.*.link_local_ips", R_DEFAULT, U_TEXT },
};

static size_t
rule_for (const mpath_t *p)
{
  size_t i;
  for (i = 0; i < ARRAY_SIZE (rules); i++)
    if (mpath_is (p, rules[i].pattern))
      return i;
  return ARRAY_SIZE (rules);
}

/* ---- small tree helpers ---- */

static bool
is_null (const node_t *n)
{
  return n == NULL || n->kind == N_NULL;
}

/* A scalar as the YAML parser would have made it, so that normalization
   types it by its key like any other. */
static node_t *
raw_scalar (ld_t *ld, const char *text, mark_t m, bool quoted)
{
  node_t *n = node_new (ld->arena, N_SCALAR, m);
  n->str = arena_strdup (ld->arena, text);
  if (quoted)
    n->flags |= NODE_QUOTED;
  return n;
}

static node_t *merge_value (ld_t *ld, node_t *base, node_t *over, mpath_t *p);

/* Merge mapping `over` into mapping `base`, key by key. */
static node_t *
merge_maps (ld_t *ld, node_t *base, node_t *over, mpath_t *p)
{
  size_t i;

  for (i = 0; i < over->len; i++)
    {
      node_entry_t *o = &over->entries[i];
      node_entry_t *b;

      if (o->value && (o->value->flags & NODE_RESET))
        {
          node_map_del (base, o->key);
          continue;
        }
      b = node_map_find (base, o->key);
      if (b == NULL)
        {
          node_map_set_mark (ld->arena, base, o->key, o->key_mark, o->value);
          continue;
        }
      if ((o->value && (o->value->flags & NODE_OVERRIDE))
          || (b->value && (b->value->flags & NODE_RESET)))
        {
          b->value = o->value;
          b->key_mark = o->key_mark;
          continue;
        }
      mpath_push (p, o->key);
      b->value = merge_value (ld, b->value, o->value, p);
      mpath_pop (p);
    }
  return base;
}

/* ---- lists made unique ---- */

static const char *
text_before_eq (ld_t *ld, const node_t *n)
{
  const char *s = node_text (ld->arena, n);
  const char *eq = s ? strchr (s, '=') : NULL;
  return eq ? arena_strndup (ld->arena, s, (size_t) (eq - s)) : s;
}

static const char *
map_text (ld_t *ld, const node_t *map, const char *key)
{
  node_t *v = node_map_get (map, key);
  return node_is_scalar (v) ? node_text (ld->arena, v) : NULL;
}

/* "[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]", cut from the right so that
   IPv6 host addresses keep their colons. */
static const char *
port_key_short (ld_t *ld, const char *s)
{
  const char *slash = strchr (s, '/');
  const char *proto = slash ? slash + 1 : "tcp";
  char *body = arena_strndup (ld->arena, s, slash ? (size_t) (slash - s) : strlen (s));
  char *target, *published = NULL, *host = NULL;
  size_t hl;

  target = strrchr (body, ':');
  if (target == NULL)
    return arena_printf (ld->arena, "::%s/%s", body, proto);
  *target++ = '\0';
  published = strrchr (body, ':');
  if (published)
    {
      *published++ = '\0';
      host = body;
    }
  else
    published = body;
  if (host && host[0] == '[' && (hl = strlen (host)) > 1 && host[hl - 1] == ']')
    host = arena_strndup (ld->arena, host + 1, hl - 2);
  return arena_printf (ld->arena, "%s:%s:%s/%s", host ? host : "", published, target, proto);
}

static const char *
port_key (ld_t *ld, const node_t *n)
{
  const char *host, *published, *target, *proto;
  if (node_is_scalar (n))
    return port_key_short (ld, node_text (ld->arena, n));
  if (n->kind != N_MAP || (target = map_text (ld, n, "target")) == NULL)
    return NULL;
  host = map_text (ld, n, "host_ip");
  published = map_text (ld, n, "published");
  proto = map_text (ld, n, "protocol");
  return arena_printf (ld->arena, "%s:%s:%s/%s", host ? host : "", published ? published : "",
                       target, proto ? proto : "tcp");
}

/* SOURCE:TARGET[:MODE] or TARGET: the container side of a short mount. */
static const char *
mount_target_short (ld_t *ld, const char *s)
{
  const char *c1 = strchr (s, ':'), *c2;
  if (c1 == NULL)
    return s;
  c2 = strchr (c1 + 1, ':');
  return c2 ? arena_strndup (ld->arena, c1 + 1, (size_t) (c2 - c1 - 1)) : c1 + 1;
}

/* A secret or config: its target, relative targets under `dir`. */
static const char *
file_mount_key (ld_t *ld, const node_t *n, const char *dir)
{
  const char *t;
  if (node_is_scalar (n))
    return arena_printf (ld->arena, "%s/%s", dir, node_text (ld->arena, n));
  if (n->kind != N_MAP)
    return NULL;
  t = map_text (ld, n, "target");
  if (t && t[0] == '/')
    return t;
  if (t)
    return arena_printf (ld->arena, "%s/%s", dir, t);
  t = map_text (ld, n, "source");
  return t ? arena_printf (ld->arena, "%s/%s", dir, t) : NULL;
}

/* NULL: not an entry we can identify; it is kept as it is. */
static const char *
entry_key (ld_t *ld, enum unique u, const node_t *n)
{
  switch (u)
    {
    case U_NONE:
      return NULL;
    case U_TEXT:
      return node_is_scalar (n) ? text_before_eq (ld, n) : NULL;
    case U_PORT:
      return port_key (ld, n);
    case U_MOUNT:
    case U_DEVICE:
      if (node_is_scalar (n))
        return mount_target_short (ld, node_text (ld->arena, n));
      return n->kind == N_MAP ? map_text (ld, n, "target") : NULL;
    case U_SECRET:
      return file_mount_key (ld, n, "/run/secrets");
    case U_CONFIG:
      return file_mount_key (ld, n, "");
    case U_ENV_FILE:
      if (node_is_scalar (n))
        return node_text (ld->arena, n);
      return n->kind == N_MAP ? map_text (ld, n, "path") : NULL;
    }
  return NULL;
}

/* base's items then over's, a later entry replacing an earlier one with the
   same key in the earlier one's place. */
static node_t *
append_unique (ld_t *ld, node_t *base, node_t *over, enum unique u)
{
  node_t *out = node_new (ld->arena, N_SEQ, base->mark);
  const char **keys;
  node_t *both[2] = { base, over };
  size_t s, i, j;

  keys = arena_alloc (ld->arena, (base->len + over->len + 1) * sizeof *keys);
  for (s = 0; s < 2; s++)
    for (i = 0; i < both[s]->len; i++)
      {
        node_t *item = both[s]->items[i];
        const char *k;
        if (item == NULL || (item->flags & NODE_RESET))
          continue;
        k = entry_key (ld, u, item);
        for (j = 0; k && j < out->len; j++)
          if (keys[j] && strcmp (keys[j], k) == 0)
            break;
        if (k && j < out->len)
          {
            out->items[j] = item;
            continue;
          }
        keys[out->len] = k;
        node_seq_push (ld->arena, out, item);
      }
  return out;
}

/* ---- the special shapes ---- */

/* KEY=VALUE list (or mapping) as a mapping; NULL if an item is not a string. */
static node_t *
keyvalue_map (ld_t *ld, node_t *n)
{
  node_t *map;
  size_t i;

  if (n->kind == N_MAP)
    return n;
  if (n->kind != N_SEQ)
    return NULL;
  map = node_new (ld->arena, N_MAP, n->mark);
  for (i = 0; i < n->len; i++)
    {
      node_t *item = n->items[i];
      const char *s, *eq;
      if (!node_is_scalar (item))
        return NULL;
      if (item->flags & NODE_RESET)
        continue;
      s = node_text (ld->arena, item);
      eq = strchr (s, '=');
      if (eq)
        node_map_set_mark (ld->arena, map, arena_strndup (ld->arena, s, (size_t) (eq - s)),
                           item->mark, raw_scalar (ld, eq + 1, item->mark, true));
      else
        node_map_set_mark (ld->arena, map, s, item->mark, node_new (ld->arena, N_NULL, item->mark));
    }
  return map;
}

static node_t *
merge_keyvalue (ld_t *ld, node_t *base, node_t *over)
{
  node_t *b = keyvalue_map (ld, base), *o = keyvalue_map (ld, over);
  size_t i;

  if (b == NULL || o == NULL)
    return over;
  for (i = 0; i < o->len; i++)
    {
      node_entry_t *e = &o->entries[i], *old;
      if (e->value && (e->value->flags & NODE_RESET))
        {
          node_map_del (b, e->key);
          continue;
        }
      old = node_map_find (b, e->key);
      if (old)
        {
          old->value = e->value;
          old->key_mark = e->key_mark;
        }
      else
        node_map_set_mark (ld->arena, b, e->key, e->key_mark, e->value);
    }
  return b;
}

/* A single string is a one-item list (dns: 8.8.8.8). */
static node_t *
as_list (ld_t *ld, node_t *n)
{
  node_t *seq;
  if (n->kind == N_SEQ)
    return n;
  if (!node_is_scalar (n))
    return NULL;
  seq = node_new (ld->arena, N_SEQ, n->mark);
  node_seq_push (ld->arena, seq, n);
  return seq;
}

/* extra_hosts as "HOST=IP" / "HOST:IP" strings; mappings give HOST=IP
   (one per address when the value is a list). */
static node_t *
hosts_list (ld_t *ld, node_t *n)
{
  node_t *seq;
  size_t i, j;

  if (n->kind == N_SEQ)
    return n;
  if (n->kind != N_MAP)
    return NULL;
  seq = node_new (ld->arena, N_SEQ, n->mark);
  for (i = 0; i < n->len; i++)
    {
      node_t *v = n->entries[i].value;
      const char *host = n->entries[i].key;
      if (node_is_scalar (v))
        node_seq_push (
            ld->arena, seq,
            raw_scalar (ld, arena_printf (ld->arena, "%s=%s", host, node_text (ld->arena, v)),
                        v->mark, true));
      else if (v && v->kind == N_SEQ)
        for (j = 0; j < v->len; j++)
          {
            if (!node_is_scalar (v->items[j]))
              return NULL;
            node_seq_push (ld->arena, seq,
                           raw_scalar (ld,
                                       arena_printf (ld->arena, "%s=%s", host,
                                                     node_text (ld->arena, v->items[j])),
                                       v->items[j]->mark, true));
          }
      else
        return NULL;
    }
  return seq;
}

static node_t *
merge_extra_hosts (ld_t *ld, node_t *base, node_t *over)
{
  node_t *b = hosts_list (ld, base), *o = hosts_list (ld, over);
  size_t i, j;

  if (b == NULL || o == NULL)
    return over;
  for (i = 0; i < o->len; i++)
    {
      const char *t = node_text (ld->arena, o->items[i]);
      for (j = 0; t && j < b->len; j++)
        {
          const char *u = node_text (ld->arena, b->items[j]);
          if (u && strcmp (t, u) == 0)
            break;
        }
      if (t == NULL || j == b->len)
        node_seq_push (ld->arena, b, o->items[i]);
    }
  return b;
}

/* A list of names as a mapping NAME: `fill` (a fresh copy each), or NULL. */
static node_t *
names_map (ld_t *ld, node_t *n, const char *const *fill)
{
  node_t *map;
  size_t i;

  if (n->kind == N_MAP)
    return n;
  if (n->kind != N_SEQ)
    return NULL;
  map = node_new (ld->arena, N_MAP, n->mark);
  for (i = 0; i < n->len; i++)
    {
      node_t *item = n->items[i], *v;
      if (!node_is_scalar (item))
        return NULL;
      if (fill == NULL)
        v = node_new (ld->arena, N_NULL, item->mark);
      else
        {
          size_t k;
          v = node_new (ld->arena, N_MAP, item->mark);
          for (k = 0; fill[k]; k += 2)
            node_map_set (ld->arena, v, fill[k], raw_scalar (ld, fill[k + 1], item->mark, false));
        }
      node_map_set_mark (ld->arena, map, node_text (ld->arena, item), item->mark, v);
    }
  return map;
}

static node_t *
build_map (ld_t *ld, node_t *n)
{
  node_t *map;
  if (n->kind == N_MAP)
    return n;
  if (!node_is_scalar (n))
    return NULL;
  map = node_new (ld->arena, N_MAP, n->mark);
  node_map_set (ld->arena, map, "context", n);
  return map;
}

static node_t *
merge_logging (ld_t *ld, node_t *base, node_t *over, mpath_t *p)
{
  const char *bd, *od;
  if (base->kind != N_MAP || over->kind != N_MAP)
    return over;
  bd = map_text (ld, base, "driver");
  od = map_text (ld, over, "driver");
  if (bd && od && strcmp (bd, od) != 0)
    return over;
  return merge_maps (ld, base, over, p);
}

/* Each overriding pool, merged with the base pool of the same subnet. */
static node_t *
merge_ipam_config (ld_t *ld, node_t *base, node_t *over, mpath_t *p)
{
  node_t *out;
  size_t i, j;

  if (base->kind != N_SEQ || over->kind != N_SEQ)
    return over;
  out = node_new (ld->arena, N_SEQ, over->mark);
  for (i = 0; i < over->len; i++)
    {
      node_t *o = over->items[i];
      const char *subnet = o && o->kind == N_MAP ? map_text (ld, o, "subnet") : NULL;
      for (j = 0; subnet && j < base->len; j++)
        {
          node_t *b = base->items[j];
          const char *bs = b && b->kind == N_MAP ? map_text (ld, b, "subnet") : NULL;
          if (bs && strcmp (bs, subnet) == 0)
            {
              o = merge_maps (ld, node_copy (ld->arena, b), o, p);
              break;
            }
        }
      node_seq_push (ld->arena, out, o);
    }
  return out;
}

/* ---- dispatch ---- */

static node_t *
merge_default (ld_t *ld, node_t *base, node_t *over, mpath_t *p, enum unique u)
{
  if (is_null (over))
    return base;
  if (is_null (base))
    return over;
  if (base->kind == N_MAP && over->kind == N_MAP)
    return merge_maps (ld, base, over, p);
  if (base->kind == N_SEQ && over->kind == N_SEQ)
    return append_unique (ld, base, over, u);
  return over;
}

static node_t *
merge_value (ld_t *ld, node_t *base, node_t *over, mpath_t *p)
{
  static const char *const started[] = { "condition", "service_started", "required", "true", NULL };
  size_t r = rule_for (p);
  enum rule rule = r < ARRAY_SIZE (rules) ? rules[r].rule : R_DEFAULT;
  enum unique u = r < ARRAY_SIZE (rules) ? rules[r].unique : U_NONE;
  node_t *b, *o;

  if (rule == R_REPLACE)
    return over;
  if (is_null (over))
    return base;
  if (is_null (base))
    return over;
  switch (rule)
    {
    case R_KEYVALUE:
      return merge_keyvalue (ld, base, over);
    case R_LIST:
      b = as_list (ld, base);
      o = as_list (ld, over);
      return b && o ? append_unique (ld, b, o, u) : over;
    case R_EXTRA_HOSTS:
      return merge_extra_hosts (ld, base, over);
    case R_DEPENDS_ON:
    case R_NAME_MAP:
      b = names_map (ld, base, rule == R_DEPENDS_ON ? started : NULL);
      o = names_map (ld, over, rule == R_DEPENDS_ON ? started : NULL);
      return b && o ? merge_maps (ld, b, o, p) : over;
    case R_BUILD:
      b = build_map (ld, base);
      o = build_map (ld, over);
      return b && o ? merge_maps (ld, b, o, p) : over;
    case R_LOGGING:
      return merge_logging (ld, base, over, p);
    case R_IPAM_CONFIG:
      return merge_ipam_config (ld, base, over, p);
    case R_DEFAULT:
    case R_REPLACE:
      break;
    }
  return merge_default (ld, base, over, p, u);
}

node_t *
merge_services (ld_t *ld, node_t *base, node_t *over)
{
  mpath_t p = { .seg = { "services", "*" }, .n = 2 };
  if (over && (over->flags & NODE_OVERRIDE))
    return over;
  return merge_value (ld, base, over, &p);
}

node_t *
merge_projects (ld_t *ld, node_t *base, node_t *over)
{
  mpath_t p = { .n = 0 };
  if (base == NULL || base->kind != N_MAP)
    return over;
  if (over == NULL || over->kind != N_MAP)
    return base;
  return merge_maps (ld, base, over, &p);
}

/* ---- shared with extends.c and include.c ---- */

const char *
merge_dir_of (ld_t *ld, const char *abs)
{
  const char *slash = strrchr (abs, '/');
  if (slash == NULL || slash == abs)
    return "/";
  return arena_strndup (ld->arena, abs, (size_t) (slash - abs));
}

const char *
merge_display_path (ld_t *ld, const char *abs)
{
  const char *cwd = ld->opts->cwd;
  size_t n = strlen (cwd);
  if (strcmp (cwd, "/") != 0 && strncmp (abs, cwd, n) == 0 && abs[n] == '/')
    return arena_strdup (ld->arena, abs + n + 1);
  return abs;
}

/* The text of a scalar without allocating: raw scalars carry theirs. */
static const char *
scalar_text (const node_t *n, char *buf, size_t size)
{
  if (n->str)
    return n->str;
  if (n->kind == N_BOOL)
    return n->b ? "true" : "false";
  if (n->kind == N_FLOAT)
    snprintf (buf, size, "%.17g", n->f);
  else
    snprintf (buf, size, "%lld", n->i);
  return buf;
}

bool
merge_node_equal (const node_t *a, const node_t *b)
{
  char ta[40], tb[40];
  size_t i;

  if (is_null (a) || is_null (b))
    return is_null (a) && is_null (b);
  if (node_is_scalar (a) || node_is_scalar (b))
    return node_is_scalar (a) && node_is_scalar (b)
           && strcmp (scalar_text (a, ta, sizeof ta), scalar_text (b, tb, sizeof tb)) == 0;
  if (a->kind != b->kind || a->len != b->len)
    return false;
  if (a->kind == N_SEQ)
    {
      for (i = 0; i < a->len; i++)
        if (!merge_node_equal (a->items[i], b->items[i]))
          return false;
      return true;
    }
  for (i = 0; i < a->len; i++)
    {
      node_entry_t *e = node_map_find (b, a->entries[i].key);
      if (e == NULL || !merge_node_equal (a->entries[i].value, e->value))
        return false;
    }
  return true;
}

void
merge_strip_resets (node_t *n)
{
  size_t i, k;

  if (n == NULL)
    return;
  if (n->kind == N_MAP)
    {
      for (i = k = 0; i < n->len; i++)
        if (n->entries[i].value == NULL || !(n->entries[i].value->flags & NODE_RESET))
          {
            merge_strip_resets (n->entries[i].value);
            n->entries[k++] = n->entries[i];
          }
      n->len = k;
    }
  else if (n->kind == N_SEQ)
    {
      for (i = k = 0; i < n->len; i++)
        if (n->items[i] == NULL || !(n->items[i]->flags & NODE_RESET))
          {
            merge_strip_resets (n->items[i]);
            n->items[k++] = n->items[i];
          }
      n->len = k;
    }
}
