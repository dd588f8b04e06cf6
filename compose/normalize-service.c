/* normalize-service.c — one service: the table of its keys and the
   handlers of the keys that have a syntax of their own (build, command,
   depends_on, networks, restart, ulimits, extra_hosts, secrets/configs...),
   then the checks that look at several keys at once. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "normalize-internal.h"

/* ---- small syntaxes ---- */

node_t *
nz_h_command (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  if (nz_is_null (in))
    return NULL; /* null: use the image's */
  if (node_is_scalar (in))
    {
      node_t *s = nz_h_str (z, in, path, NULL);
      return s ? shell_split (z->ld, s, path) : NULL;
    }
  if (in->kind == N_SEQ)
    return nz_h_str_list_dup (z, in, path, k);
  return nz_type_error (z, in, path, "a string or a list of strings");
}

static node_t *
h_restart (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  static const char *const plain[] = { "no", "always", "on-failure", "unless-stopped" };
  const char *s;
  size_t i;

  if (node_is_scalar (in) && in->kind == N_SCALAR && scalar_resolve (in) == N_BOOL)
    {
      diag_error (z->ld, in->mark, path,
                  "must be a string, not the boolean %s; write restart: \"no\" (quoted) to never "
                  "restart",
                  in->str);
      return NULL;
    }
  if (!node_is_scalar (in))
    return nz_type_error (z, in, path,
                          "a restart policy (no, always, on-failure[:N], unless-stopped)");
  s = nz_scalar_text (in);
  if (*s == '\0')
    return NULL; /* "": no policy, as compose reads it */
  for (i = 0; i < ARRAY_SIZE (plain); i++)
    if (strcmp (s, plain[i]) == 0)
      return nz_str (z, s, in);
  if (str_has_prefix (s, "on-failure:"))
    {
      char *end;
      long n = strtol (s + 11, &end, 10);
      if (isdigit ((unsigned char)s[11]) && *end == '\0' && n >= 0)
        return nz_str (z, s, in);
      diag_error (z->ld, in->mark, path,
                  "`%s`: the number of retries after on-failure: must be a whole number >= 0", s);
      return NULL;
    }
  diag_error (z->ld, in->mark, path,
              "`%s` is not a restart policy; use no, always, on-failure, on-failure:N (at most N "
              "restarts) or unless-stopped",
              s);
  return NULL;
}

static bool
pull_every_ok (const char *s)
{
  /* every_ followed by one or more NUMBER UNIT with unit w, d, h, m, s */
  if (*s == '\0')
    return false;
  while (*s)
    {
      if (!isdigit ((unsigned char)*s))
        return false;
      while (isdigit ((unsigned char)*s))
        s++;
      if (*s == '\0' || !strchr ("wdhms", *s))
        return false;
      s++;
    }
  return true;
}

static node_t *
h_pull_policy (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  static const char *const words[]
      = { "always", "never", "missing", "build", "if_not_present", "refresh", "daily", "weekly" };
  node_t *v = nz_h_str (z, in, path, k);
  size_t i;

  if (v == NULL)
    return NULL;
  if (strcmp (v->str, "if_not_present") == 0)
    v->str = "missing"; /* compose's canonical spelling */
  for (i = 0; i < ARRAY_SIZE (words); i++)
    if (strcmp (v->str, words[i]) == 0)
      return v;
  if (str_has_prefix (v->str, "every_") && pull_every_ok (v->str + 6))
    return v;
  diag_error (z->ld, in->mark, path,
              "`%s` is not a pull policy; use always, never, missing, build, daily, weekly or "
              "every_<duration> (such as every_12h)",
              v->str);
  return NULL;
}

static node_t *
h_container_name (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *v = nz_h_str (z, in, path, k);
  const char *s;
  if (v == NULL)
    return NULL;
  s = v->str;
  if (isalnum ((unsigned char)s[0]) && s[1] != '\0')
    {
      for (s++; *s; s++)
        if (!(isalnum ((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
          break;
      if (*s == '\0')
        return v;
    }
  diag_error (z->ld, in->mark, path,
              "invalid container name `%s`: at least 2 characters, letters, digits, `_`, `.` and "
              "`-`, starting with a letter or digit",
              v->str);
  return NULL;
}

/* none, host, bridge, service:NAME, container:NAME (plus extra words per key). */
static node_t *
h_namespace (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  const char *const *w;
  node_t *v;
  strbuf_t sb = { 0 };

  if (nz_is_null (in))
    return NULL;
  v = nz_h_str (z, in, path, k);
  if (v == NULL)
    return NULL;
  if ((str_has_prefix (v->str, "service:") && v->str[8])
      || (str_has_prefix (v->str, "container:") && v->str[10]))
    return v;
  for (w = k->arg; *w; w++)
    if (strcmp (*w, v->str) == 0)
      return v;
  for (w = k->arg; *w; w++)
    sb_printf (&sb, "%s, ", *w);
  diag_error (z->ld, in->mark, path, "`%s` is not valid here; use %sservice:NAME or container:NAME",
              v->str, sb.s ? sb.s : "");
  sb_free (&sb);
  return NULL;
}

static const char *const net_modes[] = { "none", "host", "bridge", "default", NULL };
static const char *const ipc_modes[] = { "", "none", "private", "shareable", "host", NULL };
static const char *const pid_modes[] = { "", "host", NULL };
static const char *const uts_modes[] = { "", "host", NULL };
static const char *const cgroup_modes[] = { "host", "private", NULL };

/* mem_swappiness prints as compose-go's UnitBytes: a decimal string. */
static node_t *
h_swappiness (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  static const nz_range_t r = { 0, 100 };
  static const nz_key_t rk = { "mem_swappiness", nz_h_int, &r, NULL };
  node_t *v = nz_h_int (z, in, path, &rk);
  return v ? nz_str (z, arena_printf (z->a, "%lld", v->i), in) : NULL;
}

/* ---- ulimits ---- */

node_t *
nz_h_ulimits (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  static const char *const names[]
      = { "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
          "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack" };
  static const nz_range_t lim = { -1, (1LL << 62) };
  static const nz_key_t lk = { "limit", nz_h_int, &lim, NULL };
  node_t *out;
  size_t i, j;

  if (in == NULL || in->kind != N_MAP)
    return nz_type_error (z, in, path, "a mapping of limits (nofile: 65536)");
  out = nz_map (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_entry_t *e = &in->entries[i];
      const char *p = path_key (z->a, path, e->key);
      node_t *v;
      for (j = 0; j < ARRAY_SIZE (names); j++)
        if (strcmp (names[j], e->key) == 0)
          break;
      if (j == ARRAY_SIZE (names))
        {
          diag_error (z->ld, e->key_mark, p,
                      "unknown ulimit `%s`; known: as, core, cpu, data, fsize, locks, memlock, "
                      "msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack",
                      e->key);
          continue;
        }
      if (e->value && e->value->kind == N_MAP)
        {
          const node_t *soft = node_map_get (e->value, "soft"),
                       *hard = node_map_get (e->value, "hard");
          node_t *s, *h;
          size_t m;
          for (m = 0; m < e->value->len; m++)
            {
              const char *kk = e->value->entries[m].key;
              if (strcmp (kk, "soft") != 0 && strcmp (kk, "hard") != 0
                  && !str_has_prefix (kk, "x-"))
                diag_error (z->ld, e->value->entries[m].key_mark, path_key (z->a, p, kk),
                            "unknown key in a ulimit; expected soft and hard");
            }
          if (soft == NULL || hard == NULL)
            {
              diag_error (z->ld, e->value->mark, p,
                          "needs both `soft` and `hard` (or one number for both)");
              continue;
            }
          s = nz_h_int (z, soft, path_key (z->a, p, "soft"), &lk);
          h = nz_h_int (z, hard, path_key (z->a, p, "hard"), &lk);
          if (s == NULL || h == NULL)
            continue;
          if (h->i != -1 && (s->i == -1 || s->i > h->i))
            {
              diag_error (z->ld, soft->mark, path_key (z->a, p, "soft"),
                          "soft limit %lld is above the hard limit %lld", s->i, h->i);
              continue;
            }
          v = nz_map (z, e->value);
          node_map_set (z->a, v, "soft", s);
          node_map_set (z->a, v, "hard", h);
        }
      else
        v = nz_h_int (z, e->value, p, &lk);
      if (v)
        node_map_set_mark (z->a, out, e->key, e->key_mark, v);
    }
  return out;
}

/* ---- extra_hosts: "host:ip", "host=ip" or a mapping; printed sorted as host=ip ---- */

static int
str_cmp (const void *a, const void *b)
{
  return strcmp ((*(node_t *const *)a)->str, (*(node_t *const *)b)->str);
}

static void
add_host (nz_t *z, node_t *out, const char *host, const char *ips, const node_t *at, const char *p)
{
  const char *s = ips;
  if (*host == '\0' || strpbrk (host, ":="))
    {
      diag_error (z->ld, at->mark, p, "bad host name `%s`; write HOST=IP, such as db=10.0.0.5",
                  host);
      return;
    }
  if (*ips == '\0')
    {
      diag_error (z->ld, at->mark, p, "`%s` has no IP address; write HOST=IP, such as db=10.0.0.5",
                  host);
      return;
    }
  while (s)
    {
      const char *comma = strchr (s, ',');
      size_t n = comma ? (size_t)(comma - s) : strlen (s);
      if (n > 2 && s[0] == '[' && s[n - 1] == ']')
        s++, n -= 2; /* [::1] → ::1 */
      node_seq_push (z->a, out, nz_str (z, arena_printf (z->a, "%s=%.*s", host, (int)n, s), at));
      s = comma ? comma + 1 : NULL;
    }
}

node_t *
nz_h_extra_hosts (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (in == NULL || (in->kind != N_SEQ && in->kind != N_MAP))
    return nz_type_error (z, in, path, "a list of HOST=IP strings or a mapping (HOST: IP)");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      if (in->kind == N_SEQ)
        {
          const char *p = path_index (z->a, path, i);
          node_t *v = nz_h_str (z, in->items[i], p, NULL);
          const char *sep;
          if (v == NULL)
            continue;
          sep = strchr (v->str, '=');
          if (sep == NULL)
            sep = strchr (v->str, ':');
          if (sep == NULL)
            {
              diag_error (z->ld, in->items[i]->mark, p,
                          "`%s` has no IP address; write HOST=IP, such as db=10.0.0.5", v->str);
              continue;
            }
          add_host (z, out, arena_strndup (z->a, v->str, (size_t)(sep - v->str)), sep + 1,
                    in->items[i], p);
        }
      else
        {
          const node_entry_t *e = &in->entries[i];
          const char *p = path_key (z->a, path, e->key);
          size_t j;
          if (e->value && e->value->kind == N_SEQ)
            for (j = 0; j < e->value->len; j++)
              {
                node_t *v = nz_h_str (z, e->value->items[j], path_index (z->a, p, j), NULL);
                if (v)
                  add_host (z, out, e->key, v->str, e->value->items[j], p);
              }
          else if (nz_is_null (e->value))
            add_host (z, out, e->key, "", in, p);
          else
            {
              node_t *v = nz_h_str (z, e->value, p, NULL);
              if (v)
                add_host (z, out, e->key, v->str, e->value, p);
            }
        }
    }
  if (out->len > 1)
    qsort (out->items, out->len, sizeof *out->items, str_cmp);
  return out;
}

/* ---- secrets and configs of a service ---- */

static const nz_key_t file_ref_keys[] = {
  { "source", nz_h_str, NULL, NULL },     { "target", nz_h_str, NULL, NULL },
  { "uid", nz_h_str, NULL, "secret and config files keep their own owner and mode" },        { "gid", nz_h_str, NULL, "secret and config files keep their own owner and mode" },
  { "mode", nz_h_file_mode, NULL, "secret and config files keep their own owner and mode" },
};
static const nz_obj_t file_ref_obj
    = NZ_OBJ ("a secret or config reference", "services.*.secrets", file_ref_keys, true);

/* arg non-NULL: secrets, which default their target to /run/secrets/NAME */
node_t *
nz_h_file_refs (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path, "a list of names or of {source, target, ...} mappings");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_t *it = in->items[i];
      const char *p = path_index (z->a, path, i);
      node_t *v, *src;
      if (node_is_scalar (it))
        {
          src = nz_h_str (z, it, p, NULL);
          if (src == NULL)
            continue;
          v = nz_map (z, it);
          node_map_set (z->a, v, "source", src);
        }
      else if (it->kind == N_MAP)
        {
          v = nz_object (z, it, p, &file_ref_obj);
          if (v == NULL)
            continue;
          if ((src = node_map_get (v, "source")) == NULL)
            {
              diag_error (z->ld, it->mark, p, "needs `source`: the name of the %s to use",
                          k->arg ? "secret" : "config");
              continue;
            }
        }
      else
        {
          nz_type_error (z, it, p, "a name or a {source, target, ...} mapping");
          continue;
        }
      if (k->arg && !node_map_get (v, "target"))
        node_map_set (z->a, v, "target",
                      nz_str (z, arena_printf (z->a, "/run/secrets/%s", src->str), src));
      node_seq_push (z->a, out, v);
    }
  return out;
}

/* ---- build ---- */

static bool
is_remote (const char *s)
{
  return strstr (s, "://") || str_has_prefix (s, "git@") || str_has_prefix (s, "github.com/");
}

static node_t *
context_path (nz_t *z, const node_t *at, const char *s)
{
  if (is_remote (s) || str_has_prefix (s, "service:"))
    return nz_str (z, s, at);
  return nz_str (z, path_resolve (z->ld, node_base_dir (z->ld, at), *s ? s : "."), at);
}

static node_t *
h_context (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *v = nz_h_str (z, in, path, k);
  return v ? context_path (z, in, v->str) : NULL;
}

static node_t *
h_additional_contexts (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out = nz_h_str_map (z, in, path, k);
  size_t i;
  for (i = 0; out && i < out->len; i++)
    {
      node_t *v = out->entries[i].value;
      if (!str_has_prefix (v->str, "docker-image://") && !str_has_prefix (v->str, "target:"))
        out->entries[i].value = context_path (z, v, v->str);
    }
  return out;
}

/* ssh: ["default", "id=path"] or {id: path}; printed as a list of id[=path]. */
static node_t *
h_ssh (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *m, *out;
  size_t i;
  if (node_is_scalar (in))
    {
      out = nz_seq (z, in);
      node_seq_push (z->a, out, nz_str (z, nz_scalar_text (in), in));
      return out;
    }
  m = nz_h_str_map (z, in, path, k);
  if (m == NULL)
    return NULL;
  out = nz_seq (z, in);
  for (i = 0; i < m->len; i++)
    {
      node_t *v = m->entries[i].value;
      const char *s = m->entries[i].key;
      if (v->str[0])
        s = arena_printf (z->a, "%s=%s", s, path_resolve (z->ld, node_base_dir (z->ld, v), v->str));
      node_seq_push (z->a, out, nz_str (z, s, v));
    }
  return out;
}

static const nz_key_t build_keys[] = {
  { "context", h_context, NULL, NULL },
  { "dockerfile", nz_h_str, NULL, NULL },
  { "dockerfile_inline", nz_h_str, NULL, NULL },
  { "entitlements", nz_h_str_list, NULL, NULL },
  { "args", nz_h_env_map, NULL, NULL },
  { "ssh", h_ssh, NULL, NULL },
  { "labels", nz_h_str_map, NULL, NULL },
  { "cache_from", nz_h_str_list_dup, NULL, NULL },
  { "cache_to", nz_h_str_list_dup, NULL, NULL },
  { "no_cache", nz_h_bool, NULL, NULL },
  { "additional_contexts", h_additional_contexts, NULL, NULL },
  { "network", nz_h_str, NULL, NULL },
  { "provenance", nz_h_str_or_bool, NULL, NULL },
  { "sbom", nz_h_str_or_bool, NULL, NULL },
  { "pull", nz_h_bool, NULL, NULL },
  { "target", nz_h_str, NULL, NULL },
  { "shm_size", nz_h_bytes, NULL, NULL },
  { "extra_hosts", nz_h_extra_hosts, NULL, NULL },
  { "isolation", nz_h_str, NULL, "isolation is a Windows setting" },
  { "privileged", nz_h_bool, NULL, NULL },
  { "secrets", nz_h_file_refs, "secret", NULL },
  { "tags", nz_h_str_list_dup, NULL, NULL },
  { "ulimits", nz_h_ulimits, NULL, NULL },
  { "platforms", nz_h_str_list, NULL, NULL },
};
static const nz_obj_t build_obj = NZ_OBJ ("`build`", "services.*.build", build_keys, true);

static node_t *
h_build (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  if (node_is_scalar (in))
    {
      node_t *s = nz_h_str (z, in, path, k);
      if (s == NULL)
        return NULL;
      out = nz_map (z, in);
      node_map_set (z->a, out, "context", context_path (z, in, s->str));
    }
  else if (in && in->kind == N_MAP)
    {
      out = nz_object (z, in, path, &build_obj);
      if (!node_map_get (out, "context"))
        node_map_set (z->a, out, "context", context_path (z, in, "."));
    }
  else
    return nz_type_error (z, in, path,
                          "a path (build: ./dir) or a mapping (context:, dockerfile:, ...)");
  if (!node_map_get (out, "dockerfile") && !node_map_get (out, "dockerfile_inline"))
    node_map_set (z->a, out, "dockerfile", nz_str (z, "Dockerfile", in));
  return out;
}

/* ---- depends_on ---- */

static const char *const conditions[]
    = { "service_started", "service_healthy", "service_completed_successfully", NULL };

static const nz_key_t dep_keys[] = {
  { "condition", nz_h_enum, conditions, NULL },
  { "required", nz_h_bool, NULL, NULL },
  { "restart", nz_h_bool, NULL, NULL },
};
static const nz_obj_t dep_obj = NZ_OBJ ("a dependency", "services.*.depends_on.*", dep_keys, true);

static node_t *
dependency (nz_t *z, const node_t *at)
{
  node_t *d = nz_map (z, at);
  node_map_set (z->a, d, "condition", nz_str (z, "service_started", at));
  node_map_set (z->a, d, "required", nz_bool (z, true, at));
  return d;
}

static node_t *
h_depends_on (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out, *list;
  size_t i;

  if (in && in->kind == N_SEQ)
    {
      list = nz_h_str_list (z, in, path, k);
      out = nz_map (z, in);
      for (i = 0; list && i < list->len; i++)
        node_map_set_mark (z->a, out, list->items[i]->str, list->items[i]->mark,
                           dependency (z, list->items[i]));
      return out;
    }
  if (in == NULL || in->kind != N_MAP)
    return nz_type_error (z, in, path,
                          "a list of service names or a mapping (db: {condition: ...})");
  out = nz_map (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_entry_t *e = &in->entries[i];
      node_t *d = nz_object (z, e->value, path_key (z->a, path, e->key), &dep_obj);
      node_t *def = dependency (z, e->value ? e->value : in);
      node_t *r;
      if (d == NULL)
        continue;
      if (!node_map_get (d, "condition"))
        node_map_set (z->a, d, "condition", node_map_get (def, "condition"));
      if (!node_map_get (d, "required"))
        node_map_set (z->a, d, "required", node_map_get (def, "required"));
      if ((r = node_map_get (d, "restart")) && !r->b)
        node_map_del (d, "restart"); /* compose leaves out restart: false */
      node_map_set_mark (z->a, out, e->key, e->key_mark, d);
    }
  return out;
}

/* ---- networks of a service ---- */

static const nz_key_t svc_net_keys[] = {
  { "aliases", nz_h_str_list, NULL, NULL },        { "interface_name", nz_h_str, NULL, "interfaces are eth0, eth1, ... in the order of networks" },
  { "ipv4_address", nz_h_str, NULL, NULL },        { "ipv6_address", nz_h_str, NULL, NULL },
  { "link_local_ips", nz_h_str_list, NULL, NULL }, { "mac_address", nz_h_str, NULL, "the kernel picks MAC addresses" },
  { "driver_opts", nz_h_options, NULL, NULL },     { "priority", nz_h_int, NULL, NULL },
  { "gw_priority", nz_h_int, NULL, NULL },
};
static const nz_obj_t svc_net_obj
    = NZ_OBJ ("a service's network", "services.*.networks.*", svc_net_keys, true);

static node_t *
h_svc_networks (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out, *list;
  size_t i;

  if (in && in->kind == N_SEQ)
    {
      list = nz_h_str_list (z, in, path, k);
      out = nz_map (z, in);
      for (i = 0; list && i < list->len; i++)
        node_map_set_mark (z->a, out, list->items[i]->str, list->items[i]->mark,
                           node_new (z->a, N_NULL, list->items[i]->mark));
      return out;
    }
  if (in == NULL || in->kind != N_MAP)
    return nz_type_error (z, in, path,
                          "a list of network names or a mapping (front: {aliases: ...})");
  out = nz_map (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_entry_t *e = &in->entries[i];
      node_t *v = nz_is_null (e->value)
                      ? node_new (z->a, N_NULL, e->key_mark)
                      : nz_object (z, e->value, path_key (z->a, path, e->key), &svc_net_obj);
      if (v)
        node_map_set_mark (z->a, out, e->key, e->key_mark, v);
    }
  return out;
}

/* ---- logging, hooks, develop ---- */

static const nz_key_t logging_keys[] = {
  { "driver", nz_h_str, NULL, NULL },
  { "options", nz_h_options, NULL, NULL },
};
static const nz_obj_t logging_obj = NZ_OBJ ("`logging`", "services.*.logging", logging_keys, true);

static const nz_key_t hook_keys[] = {
  { "command", nz_h_command, NULL, NULL },     { "user", nz_h_str, NULL, NULL },
  { "privileged", nz_h_bool, NULL, NULL },     { "working_dir", nz_h_abs_path, NULL, NULL },
  { "environment", nz_h_env_map, NULL, NULL },
};
static const nz_obj_t hook_obj = NZ_OBJ ("a lifecycle hook", "services.*.hooks", hook_keys, true);

static node_t *
h_hooks (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out = nz_h_obj_list (z, in, path, k);
  size_t i;
  for (i = 0; out && in && i < out->len; i++)
    if (!node_map_get (out->items[i], "command"))
      diag_error (z->ld, out->items[i]->mark, path_index (z->a, path, i),
                  "a hook needs `command`: what to run in the container");
  return out;
}

static const char *const watch_actions[]
    = { "rebuild", "sync", "restart", "sync+restart", "sync+exec", NULL };
static const nz_key_t watch_keys[] = {
  { "path", nz_h_host_path, NULL, NULL },      { "action", nz_h_enum, watch_actions, NULL },
  { "target", nz_h_str, NULL, NULL },          { "ignore", nz_h_str_or_list, NULL, NULL },
  { "include", nz_h_str_or_list, NULL, NULL }, { "exec", nz_h_object, &hook_obj, NULL },
  { "initial_sync", nz_h_bool, NULL, NULL },
};
static const nz_obj_t watch_obj
    = NZ_OBJ ("a watch rule", "services.*.develop.watch", watch_keys, true);
static const nz_key_t develop_keys[] = {
  { "watch", nz_h_obj_list, &watch_obj, NULL },
};
static const nz_obj_t develop_obj = NZ_OBJ ("`develop`", "services.*.develop", develop_keys, true);

/* ---- the service table ---- */

static const nz_range_t non_negative = { 0, (1LL << 62) };
static const nz_range_t from_minus_one = { -1, (1LL << 62) };
static const nz_range_t oom_range = { -1000, 1000 };
static const nz_range_t percent = { 0, 100 };

static const nz_key_t service_keys[] = {
  { "annotations", nz_h_str_map, NULL, NULL },
  { "attach", nz_h_bool, NULL, NULL },
  { "blkio_config", nz_h_object, &nz_blkio_obj, NULL },
  { "build", h_build, NULL, NULL },
  { "cap_add", nz_h_str_list, NULL, NULL },
  { "cap_drop", nz_h_str_list, NULL, NULL },
  { "cgroup", nz_h_enum, cgroup_modes, "containers' cgroups are stack/PROJECT/CONTAINER, in private cgroup namespaces" },
  { "cgroup_parent", nz_h_str, NULL, "containers' cgroups are stack/PROJECT/CONTAINER" },
  { "command", nz_h_command, NULL, NULL },
  { "configs", nz_h_file_refs, NULL, NULL },
  { "container_name", h_container_name, NULL, "containers are named PROJECT-SERVICE-1" },
  { "cpu_count", nz_h_int, &non_negative, "cpu_count is a Windows setting; use cpus" },
  { "cpu_percent", nz_h_int, &percent, "cpu_percent is a Windows setting; use cpus" },
  { "cpu_period", nz_h_int, &non_negative, NULL },
  { "cpu_quota", nz_h_int, &from_minus_one, NULL },
  { "cpu_rt_period", nz_h_int, &non_negative, NULL },
  { "cpu_rt_runtime", nz_h_int, &from_minus_one, NULL },
  { "cpu_shares", nz_h_int, &non_negative, NULL },
  { "cpus", nz_h_float, NULL, NULL },
  { "cpuset", nz_h_str, NULL, NULL },
  { "credential_spec", nz_h_plain, NULL, "credential_spec is a Windows setting" },
  { "depends_on", h_depends_on, NULL, NULL },
  { "deploy", nz_h_deploy, NULL, NULL },
  { "develop", nz_h_object, &develop_obj, "stack has no watch mode (develop)" },
  { "device_cgroup_rules", nz_h_str_list, NULL, NULL },
  { "devices", nz_h_devices, NULL, NULL },
  { "dns", nz_h_str_or_list, NULL, NULL },
  { "dns_opt", nz_h_str_or_list, NULL, NULL },
  { "dns_search", nz_h_str_or_list, NULL, NULL },
  { "domainname", nz_h_str, NULL, NULL },
  { "entrypoint", nz_h_command, NULL, NULL },
  { "env_file", nz_h_env_file, NULL, NULL },
  { "environment", nz_h_env_map, NULL, NULL },
  { "expose", nz_h_expose, NULL, NULL },
  { "extends", nz_h_drop, NULL, NULL }, /* resolved by extends.c */
  { "external_links", nz_h_str_list, NULL, "external_links point at containers of other projects" },
  { "extra_hosts", nz_h_extra_hosts, NULL, NULL },
  { "gpus", nz_h_plain, NULL, "stack does not pass GPUs to containers" },
  { "group_add", nz_h_str_list, NULL, NULL },
  { "healthcheck", nz_h_healthcheck, NULL, NULL },
  { "hostname", nz_h_str, NULL, NULL },
  { "image", nz_h_str, NULL, NULL },
  { "init", nz_h_bool, NULL, NULL },
  { "ipc", h_namespace, ipc_modes, NULL },
  { "isolation", nz_h_str, NULL, "isolation is a Windows setting" },
  { "label_file", nz_h_label_file, NULL, NULL },
  { "labels", nz_h_str_map, NULL, NULL },
  { "links", nz_h_str_list, NULL, NULL },
  { "logging", nz_h_object, &logging_obj, NULL },
  { "mac_address", nz_h_str, NULL, "the kernel picks MAC addresses" },
  { "mem_limit", nz_h_bytes, NULL, NULL },
  { "mem_reservation", nz_h_bytes, NULL, NULL },
  { "mem_swappiness", h_swappiness, NULL, "swappiness is not set per container" },
  { "memswap_limit", nz_h_bytes, "-1 allowed", NULL },
  { "models", nz_h_plain, NULL, "AI models are not run by stack" },
  { "network_mode", h_namespace, net_modes, NULL },
  { "networks", h_svc_networks, NULL, NULL },
  { "oom_kill_disable", nz_h_bool, NULL, "the OOM killer is not turned off per container" },
  { "oom_score_adj", nz_h_int, &oom_range, "oom_score_adj is not set per container" },
  { "pid", h_namespace, pid_modes, NULL },
  { "pids_limit", nz_h_int, &from_minus_one, NULL },
  { "platform", nz_h_str, NULL, "images are pulled for this machine's platform" },
  { "ports", nz_h_ports, NULL, NULL },
  { "post_start", h_hooks, &hook_obj, "lifecycle hooks are not run" },
  { "pre_stop", h_hooks, &hook_obj, "lifecycle hooks are not run" },
  { "privileged", nz_h_bool, NULL, NULL },
  { "profiles", nz_h_str_list, NULL, NULL },
  { "provider", nz_h_plain, NULL, "service providers are not supported" },
  { "pull_policy", h_pull_policy, NULL, NULL },
  { "pull_refresh_after", nz_h_str, NULL, NULL },
  { "read_only", nz_h_bool, NULL, NULL },
  { "restart", h_restart, NULL, NULL },
  { "runtime", nz_h_str, NULL, "stack runs containers itself, not through an OCI runtime" },
  { "scale", nz_h_int, &non_negative, "each service runs one container" },
  { "secrets", nz_h_file_refs, "secret", NULL },
  { "security_opt", nz_h_str_list, NULL, NULL },
  { "shm_size", nz_h_bytes, NULL, NULL },
  { "stdin_open", nz_h_bool, NULL, "a container's stdin is not kept open; use `stack exec`" },
  { "stop_grace_period", nz_h_duration, NULL, NULL },
  { "stop_signal", nz_h_str, NULL, NULL },
  { "storage_opt", nz_h_options, NULL, "storage_opt needs a storage driver with quotas" },
  { "sysctls", nz_h_str_map, NULL, NULL },
  { "tmpfs", nz_h_str_or_list, NULL, NULL },
  { "tty", nz_h_bool, NULL, NULL },
  { "ulimits", nz_h_ulimits, NULL, NULL },
  { "use_api_socket", nz_h_bool, NULL, "there is no Docker API socket to share" },
  { "user", nz_h_str, NULL, NULL },
  { "userns_mode", nz_h_str, NULL, NULL },
  { "uts", h_namespace, uts_modes, NULL },
  { "volumes", nz_h_volumes, NULL, NULL },
  { "volumes_from", nz_h_str_list, NULL, NULL },
  { "working_dir", nz_h_abs_path, NULL, NULL },
};
static const nz_obj_t service_obj = NZ_OBJ ("a service", "services.*", service_keys, true);

node_t *
nz_service (nz_t *z, const node_entry_t *e, const char *path)
{
  const node_t *in = e->value;
  node_t *out, *deploy, *replicas, *scale;
  node_entry_t *nets;

  if (in == NULL || in->kind != N_MAP)
    return nz_type_error (z, in, path, "a mapping of the service's keys (image:, ports:, ...)");
  out = nz_object (z, in, path, &service_obj);
  if (out == NULL)
    return NULL;
  nz_env_files_apply (z, out, path);

  if (!node_map_get (out, "image") && !node_map_get (out, "build") && !node_map_get (in, "image")
      && !node_map_get (in, "build") && !node_map_get (in, "provider"))
    diag_error (z->ld, e->key_mark, path, "needs `image` or `build`");
  if (node_map_get (out, "network_mode") && (nets = node_map_find (in, "networks")))
    diag_error (z->ld, nets->key_mark, path_key (z->a, path, "networks"),
                "cannot be used with `network_mode`: a service either joins networks or shares "
                "a network mode; remove one of them");
  deploy = node_map_get (out, "deploy");
  replicas = node_map_get (deploy, "replicas");
  scale = node_map_get (out, "scale");
  if (replicas && scale && replicas->i != scale->i)
    diag_error (z->ld, scale->mark, path_key (z->a, path, "scale"),
                "%lld differs from deploy.replicas (%lld); set only one of them", scale->i,
                replicas->i);
  return out;
}
