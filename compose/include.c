/* include.c — the top-level `include:` list: other stack files loaded as
   projects of their own and their resources added to this one.

   An entry is a path, or {path: PATH | [PATH, override...], env_file:
   PATH | [PATH...], project_directory: DIR}.  As in Compose, paths are
   relative to the including file's directory; the included project's
   directory is project_directory or the directory of its first file, and
   its relative paths resolve there.  Its variables come from its env_file
   (default: .env in its directory, when present) under the including
   project's environment, which wins.  Included files may include others
   (a cycle is an error); their own extends are resolved there.  A resource
   defined twice is an error, unless both definitions are identical. */
#include <string.h>
#include <sys/stat.h>

#include "merge-internal.h"

#define INCLUDE_DEPTH_MAX 16

/* The chain of files being included, innermost first. */
typedef struct inc_chain
{
  const char *abs;
  const struct inc_chain *up;
} inc_chain_t;

static void include_into (ld_t *ld, node_t *root, const env_t *env, const inc_chain_t *chain);

/* One entry, as its pieces. */
typedef struct inc_entry
{
  const node_t *paths[16];
  size_t n_paths;
  const node_t *env_files[16];
  size_t n_env_files;
  const node_t *project_dir;
} inc_entry_t;

/* A string or a list of strings into out[]; false (reported) otherwise. */
static bool
strings_of (ld_t *ld, const node_t *n, const char *path, const node_t **out, size_t max,
            size_t *len)
{
  size_t i;

  *len = 0;
  if (node_is_scalar (n))
    {
      out[(*len)++] = n;
      return true;
    }
  if (n->kind != N_SEQ || n->len == 0)
    {
      diag_error (ld, n->mark, path, "must be a path or a list of paths, not %s",
                  n->kind == N_SEQ ? "an empty list" : node_kind_name (n));
      return false;
    }
  if (n->len > max)
    {
      diag_error (ld, n->mark, path, "too many paths (at most %zu)", max);
      return false;
    }
  for (i = 0; i < n->len; i++)
    {
      if (!node_is_scalar (n->items[i]))
        {
          diag_error (ld, n->items[i]->mark, path_index (ld->arena, path, i),
                      "must be a path, not %s", node_kind_name (n->items[i]));
          return false;
        }
      out[(*len)++] = n->items[i];
    }
  return true;
}

static bool
parse_entry (ld_t *ld, const node_t *item, const char *path, inc_entry_t *e)
{
  size_t i;
  bool ok = true;

  memset (e, 0, sizeof *e);
  if (node_is_scalar (item))
    {
      e->paths[e->n_paths++] = item;
      return true;
    }
  if (item->kind != N_MAP)
    {
      diag_error (ld, item->mark, path,
                  "must be a path or a mapping {path, env_file, project_directory}, not %s",
                  node_kind_name (item));
      return false;
    }
  for (i = 0; i < item->len; i++)
    {
      const node_entry_t *k = &item->entries[i];
      const char *sub = path_key (ld->arena, path, k->key);
      if (strcmp (k->key, "path") == 0)
        ok &= strings_of (ld, k->value, sub, e->paths, ARRAY_SIZE (e->paths), &e->n_paths);
      else if (strcmp (k->key, "env_file") == 0)
        ok &= strings_of (ld, k->value, sub, e->env_files, ARRAY_SIZE (e->env_files),
                          &e->n_env_files);
      else if (strcmp (k->key, "project_directory") == 0)
        {
          if (node_is_scalar (k->value))
            e->project_dir = k->value;
          else
            {
              diag_error (ld, k->value->mark, sub, "must be a directory path, not %s",
                          node_kind_name (k->value));
              ok = false;
            }
        }
      else if (!str_has_prefix (k->key, "x-"))
        {
          diag_error (ld, k->key_mark, sub,
                      "unknown key (include takes `path`, `env_file` and `project_directory`)");
          ok = false;
        }
    }
  if (ok && e->n_paths == 0)
    {
      diag_error (ld, item->mark, path, "`path` is missing: name the file to include");
      ok = false;
    }
  return ok;
}

/* The included project's variables: its env files under `parent`. */
static bool
include_env (ld_t *ld, const inc_entry_t *e, const char *wd, const char *proj_dir, const char *path,
             const env_t *parent, env_t *out)
{
  env_t file_env = { 0 };
  size_t i;
  struct stat st;
  const char *dflt = arena_printf (ld->arena, "%s/.env", proj_dir);
  size_t n = e->n_env_files ? e->n_env_files : (stat (dflt, &st) == 0 && S_ISREG (st.st_mode));

  for (i = 0; i < n; i++)
    {
      cleanup_free char *text = NULL;
      stack_error_t *err = NULL;
      const node_t *at = e->n_env_files ? e->env_files[i] : NULL;
      const char *abs = at ? path_resolve (ld, wd, node_text (ld->arena, at)) : dflt;
      env_t lookup = { 0 };
      source_t *src;

      if (read_file (abs, &text, NULL, &err) < 0)
        {
          const char *at_path = path_key (ld->arena, path, "env_file");
          if (e->n_env_files > 1)
            at_path = path_index (ld->arena, at_path, i);
          diag_error (ld, at ? at->mark : (mark_t){ 0 }, at ? at_path : NULL,
                      "cannot read env file `%s`: %s", abs,
                      err->status ? strerror (err->status) : err->msg);
          stack_error_free (&err);
          return false;
        }
      src = arena_alloc (ld->arena, sizeof *src);
      src->path = merge_display_path (ld, abs);
      src->dir = merge_dir_of (ld, abs);
      env_copy (ld->arena, &lookup, parent);
      env_copy (ld->arena, &lookup, &file_env);
      if (dotenv_parse (ld, src, text, &lookup, &file_env) < 0)
        return false;
    }
  env_copy (ld->arena, out, parent);
  for (i = 0; i < file_env.len; i++)
    if (env_get (out, file_env.vars[i].name) == NULL)
      env_set (ld->arena, out, file_env.vars[i].name, file_env.vars[i].value);
  return true;
}

static bool
in_chain (const inc_chain_t *chain, const char *abs)
{
  for (; chain; chain = chain->up)
    if (chain->abs && strcmp (chain->abs, abs) == 0)
      return true;
  return false;
}

static void
report_cycle (ld_t *ld, const node_t *at, const char *path, const inc_chain_t *chain,
              const char *abs)
{
  const inc_chain_t *steps[INCLUDE_DEPTH_MAX + 2];
  strbuf_t b = { 0 };
  size_t n = 0, i;

  for (; chain && n < ARRAY_SIZE (steps); chain = chain->up)
    {
      steps[n++] = chain;
      if (chain->abs && strcmp (chain->abs, abs) == 0)
        break;
    }
  for (i = n; i-- > 0;)
    sb_printf (&b, "%s -> ", merge_display_path (ld, steps[i]->abs));
  sb_puts (&b, merge_display_path (ld, abs));
  diag_error (ld, at->mark, path, "include cycle: %s", b.s);
  sb_free (&b);
}

static const char *const resource_kinds[][2] = {
  { "services", "service" }, { "volumes", "volume" }, { "networks", "network" },
  { "secrets", "secret" },   { "configs", "config" },
};

/* Add the resources of `from` to `root`; the same name twice is an error
   unless both definitions are the same. */
static void
import_resources (ld_t *ld, node_t *root, const node_t *from)
{
  size_t k, i;

  for (k = 0; k < ARRAY_SIZE (resource_kinds); k++)
    {
      const char *kind = resource_kinds[k][0];
      node_t *src = node_map_get (from, kind);
      node_entry_t *dst;

      if (src == NULL || src->kind != N_MAP)
        continue;
      dst = node_map_find (root, kind);
      if (dst == NULL || dst->value == NULL || dst->value->kind != N_MAP)
        {
          node_map_set_mark (ld->arena, root, kind, src->mark,
                             node_new (ld->arena, N_MAP, src->mark));
          dst = node_map_find (root, kind);
        }
      for (i = 0; i < src->len; i++)
        {
          const node_entry_t *e = &src->entries[i];
          node_entry_t *old = node_map_find (dst->value, e->key);
          if (old == NULL)
            node_map_set_mark (ld->arena, dst->value, e->key, e->key_mark, e->value);
          else if (!merge_node_equal (old->value, e->value))
            diag_error (ld, old->key_mark, path_key (ld->arena, kind, e->key),
                        "%s `%s` is also defined in %s:%u:%u, which `include` imports; define it "
                        "in one place only",
                        resource_kinds[k][1], e->key, e->key_mark.src ? e->key_mark.src->path : "?",
                        e->key_mark.line, e->key_mark.col);
        }
    }
}

/* Load one entry's files as a project of their own and import it. */
static void
include_entry (ld_t *ld, node_t *root, const node_t *item, const char *path, const env_t *env,
               const inc_chain_t *chain)
{
  inc_entry_t e;
  const char *wd = node_base_dir (ld, item);
  const char *abs[ARRAY_SIZE (e.paths)];
  const char *proj_dir;
  env_t inc_env = { 0 }, saved;
  node_t *merged = NULL;
  size_t errors = ld->diags->errors, i;

  if (!parse_entry (ld, item, path, &e))
    return;
  for (i = 0; i < e.n_paths; i++)
    abs[i] = path_resolve (ld, wd, node_text (ld->arena, e.paths[i]));
  proj_dir = e.project_dir ? path_resolve (ld, wd, node_text (ld->arena, e.project_dir))
                           : merge_dir_of (ld, abs[0]);
  if (!include_env (ld, &e, wd, proj_dir, path, env, &inc_env))
    return;
  for (i = 0; i < e.n_paths; i++)
    {
      const node_t *pv = item->kind == N_MAP ? node_map_get (item, "path") : NULL;
      const char *at = pv == NULL ? path : path_key (ld->arena, path, "path");
      inc_chain_t link = { .abs = abs[i], .up = chain };
      node_t *inc;

      if (pv && pv->kind == N_SEQ)
        at = path_index (ld->arena, at, i);
      if (in_chain (chain, abs[i]))
        {
          report_cycle (ld, e.paths[i], at, chain, abs[i]);
          return;
        }
      if (ld->include_depth >= INCLUDE_DEPTH_MAX)
        {
          diag_error (ld, e.paths[i]->mark, at, "includes nested deeper than %d levels",
                      INCLUDE_DEPTH_MAX);
          return;
        }
      inc = load_file (ld, abs[i], proj_dir, &inc_env, e.paths[i], at);
      if (inc == NULL)
        continue;
      ld->include_depth++;
      include_into (ld, inc, &inc_env, &link);
      ld->include_depth--;
      merged = merged ? merge_projects (ld, merged, inc) : inc;
    }
  if (merged == NULL || ld->diags->errors > errors)
    return;
  /* the included project's extends, with its own variables */
  saved = ld->env;
  ld->env = inc_env;
  extends_resolve (ld, merged);
  ld->env = saved;
  import_resources (ld, root, merged);
}

static void
include_into (ld_t *ld, node_t *root, const env_t *env, const inc_chain_t *chain)
{
  node_t *list = node_map_get (root, "include");
  size_t i;

  if (list == NULL)
    return;
  if (list->kind == N_SEQ)
    for (i = 0; i < list->len && !diag_full (ld); i++)
      include_entry (ld, root, list->items[i], path_index (ld->arena, "include", i), env, chain);
  else if (list->kind != N_NULL)
    diag_error (ld, list->mark, "include", "must be a list of files to include, not %s",
                node_kind_name (list));
  node_map_del (root, "include");
}

void
include_resolve (ld_t *ld, node_t *root)
{
  const source_t *src = root ? root->mark.src : NULL;
  inc_chain_t top = { 0 };

  if (root == NULL || root->kind != N_MAP)
    return;
  if (src && strcmp (src->path, "-") != 0)
    top.abs = path_resolve (ld, ld->opts->cwd, src->path);
  include_into (ld, root, &ld->env, &top);
}
