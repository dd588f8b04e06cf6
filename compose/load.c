/* load.c — from the command line's options to a loaded project: which files,
   which directory, which name, which environment; then every stage in order. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose-internal.h"

/* Compose's names, ours first. Each may have a NAME.override.EXT beside it. */
static const char *const default_files[] = {
  "stack.yml",   "stack.yaml",          "compose.yaml",
  "compose.yml", "docker-compose.yaml", "docker-compose.yml",
};

/* ---- paths ---- */

/* Lexically clean an absolute path: no ".", "..", or doubled slashes. */
static char *
clean_path (arena_t *a, const char *abs)
{
  size_t n = strlen (abs), out = 0, i = 0;
  char *r = arena_alloc (a, n + 2);

  while (i < n)
    {
      size_t j;
      while (i < n && abs[i] == '/')
        i++;
      j = i;
      while (j < n && abs[j] != '/')
        j++;
      if (j - i == 0 || (j - i == 1 && abs[i] == '.'))
        ;
      else if (j - i == 2 && abs[i] == '.' && abs[i + 1] == '.')
        {
          while (out > 0 && r[out] != '/')
            out--;
          r[out] = '\0';
        }
      else
        {
          r[out++] = '/';
          memcpy (r + out, abs + i, j - i);
          out += j - i;
          r[out] = '\0';
        }
      i = j;
    }
  if (out == 0)
    r[out++] = '/';
  r[out] = '\0';
  return r;
}

const char *
path_resolve (ld_t *ld, const char *base, const char *rel)
{
  const char *home;
  if (rel[0] == '/')
    return clean_path (ld->arena, rel);
  if (rel[0] == '~' && (rel[1] == '/' || rel[1] == '\0'))
    {
      home = env_get (&ld->env, "HOME");
      return clean_path (ld->arena, arena_printf (ld->arena, "%s/%s", home ? home : "/", rel + 1));
    }
  return clean_path (ld->arena, arena_printf (ld->arena, "%s/%s", base, rel));
}

const char *
node_base_dir (const ld_t *ld, const node_t *n)
{
  if (n && n->mark.src && n->mark.src->dir)
    return n->mark.src->dir;
  return ld->project_dir;
}

static const char *
dir_of (ld_t *ld, const char *abs)
{
  const char *slash = strrchr (abs, '/');
  if (slash == NULL || slash == abs)
    return "/";
  return arena_strndup (ld->arena, abs, (size_t) (slash - abs));
}

/* What messages call a file: relative to the working directory when inside it. */
static const char *
display_path (ld_t *ld, const char *abs, const char *cwd)
{
  size_t n = strlen (cwd);
  if (strcmp (cwd, "/") != 0 && strncmp (abs, cwd, n) == 0 && abs[n] == '/')
    return arena_strdup (ld->arena, abs + n + 1);
  return abs;
}

/* ---- files ---- */

static const char *cwd_of (const ld_t *ld);

node_t *
load_file (ld_t *ld, const char *path, const char *base_dir, const env_t *env,
           const node_t *from, const char *from_path)
{
  cleanup_free char *text = NULL;
  stack_error_t *err = NULL;
  source_t *src;
  size_t len;
  node_t *root;
  const char *abs = strcmp (path, "-") == 0 ? "-" : path_resolve (ld, cwd_of (ld), path);
  int ret;

  if (strcmp (abs, "-") == 0)
    ret = read_fd (0, "standard input", &text, &len, &err);
  else
    ret = read_file (abs, &text, &len, &err);
  if (ret < 0)
    {
      const char *why = err->status ? strerror (err->status) : err->msg;
      if (from)
        diag_error (ld, from->mark, from_path, "cannot read `%s`: %s", abs, why);
      else
        diag_error (ld, (mark_t){ 0 }, NULL, "cannot read stack file `%s`: %s",
                    display_path (ld, abs, cwd_of (ld)), why);
      stack_error_free (&err);
      return NULL;
    }
  src = arena_alloc (ld->arena, sizeof *src);
  src->path = strcmp (abs, "-") == 0 ? "-" : display_path (ld, abs, cwd_of (ld));
  src->dir = base_dir;
  root = yaml_parse (ld, src, text, len);
  if (root != NULL && env != NULL)
    interpolate_tree (ld, env, root);
  return root;
}

/* ---- the environment ---- */

static int
load_env_file (ld_t *ld, const char *path, bool required, const env_t *os_env, env_t *dotenv)
{
  cleanup_free char *text = NULL;
  stack_error_t *err = NULL;
  source_t *src;
  env_t lookup = { 0 };

  if (read_file (path, &text, NULL, &err) < 0)
    {
      int status = err->status;
      stack_error_free (&err);
      if (!required && status == ENOENT)
        return 0;
      diag_error (ld, (mark_t){ 0 }, NULL, "cannot read env file `%s`: %s", path,
                  strerror (status));
      return -1;
    }
  src = arena_alloc (ld->arena, sizeof *src);
  src->path = display_path (ld, path, cwd_of (ld));
  src->dir = dir_of (ld, path);
  /* values may refer to the OS environment and to earlier files */
  env_copy (ld->arena, &lookup, dotenv);
  env_copy (ld->arena, &lookup, os_env);
  return dotenv_parse (ld, src, text, &lookup, dotenv);
}

/* ---- project name ---- */

static bool
name_valid (const char *s)
{
  if (*s == '\0' || !(islower ((unsigned char) *s) || isdigit ((unsigned char) *s)))
    return false;
  for (; *s; s++)
    if (!(islower ((unsigned char) *s) || isdigit ((unsigned char) *s) || *s == '_' || *s == '-'))
      return false;
  return true;
}

/* The directory's name, as Compose turns it into a project name. */
static const char *
name_from_dir (ld_t *ld, const char *dir)
{
  const char *base = strrchr (dir, '/');
  char *out;
  size_t n = 0;

  base = base ? base + 1 : dir;
  out = arena_alloc (ld->arena, strlen (base) + 1);
  for (; *base; base++)
    {
      char c = (char) tolower ((unsigned char) *base);
      if (islower ((unsigned char) c) || isdigit ((unsigned char) c)
          || ((c == '_' || c == '-') && n > 0))
        out[n++] = c;
    }
  out[n] = '\0';
  return out;
}

/* `top` is the interpolated top-level `name:` of the last file that has one. */
static const char *
project_name (ld_t *ld, const node_t *top)
{
  static const char rule[]
      = "must be lower-case letters, digits, `-` and `_`, starting with a letter or digit";
  const char *env_name = env_get (&ld->env, "COMPOSE_PROJECT_NAME");
  const char *name;

  if (ld->opts->project_name)
    {
      if (!name_valid (ld->opts->project_name))
        {
          diag_error (ld, (mark_t){ 0 }, NULL, "-p: invalid project name `%s`: %s",
                      ld->opts->project_name, rule);
          return NULL;
        }
      return ld->opts->project_name;
    }
  if (env_name && *env_name)
    {
      if (!name_valid (env_name))
        {
          diag_error (ld, (mark_t){ 0 }, NULL, "COMPOSE_PROJECT_NAME: invalid project name `%s`: %s",
                      env_name, rule);
          return NULL;
        }
      return env_name;
    }
  if (top && node_is_scalar (top))
    {
      name = node_text (ld->arena, top);
      if (!name_valid (name))
        {
          diag_error (ld, top->mark, "name", "invalid project name `%s`: %s", name, rule);
          return NULL;
        }
      return name;
    }
  name = name_from_dir (ld, ld->project_dir);
  if (*name == '\0')
    diag_error (ld, (mark_t){ 0 }, NULL,
                "cannot make a project name from the directory `%s`; give one with -p NAME or "
                "`name:` in the file",
                ld->project_dir);
  return *name ? name : NULL;
}

/* Detach a file's top-level `name:` and interpolate it alone (the rest of
   the file waits for the project name). `*last` keeps the latest one. */
static int
take_name (ld_t *ld, node_t *root, node_t **last)
{
  node_entry_t *e = node_map_find (root, "name");
  node_t *wrap;
  size_t errors = ld->diags->errors;

  if (e == NULL)
    return 0;
  wrap = node_new (ld->arena, N_MAP, root->mark);
  node_map_set_mark (ld->arena, wrap, "name", e->key_mark, e->value);
  node_map_del (root, "name");
  interpolate_tree (ld, &ld->env, wrap);
  if (ld->diags->errors > errors)
    return -1;
  *last = node_map_get (wrap, "name");
  if (*last && !node_is_scalar (*last))
    {
      diag_error (ld, (*last)->mark, "name", "must be a string, not %s", node_kind_name (*last));
      return -1;
    }
  return 0;
}

/* ---- the working directory and the files to load ---- */

static const char *
cwd_of (const ld_t *ld)
{
  return ld->opts->cwd;
}

static bool
exists (const char *path)
{
  return access (path, F_OK) == 0;
}

/* Without -f: the first default name in the working directory, plus its
   `.override` sibling as Compose loads it. */
static size_t
find_default_files (ld_t *ld, const char **out)
{
  size_t i;
  for (i = 0; i < ARRAY_SIZE (default_files); i++)
    {
      const char *f = default_files[i];
      const char *dot = strrchr (f, '.');
      const char *path = arena_printf (ld->arena, "%s/%s", cwd_of (ld), f);
      const char *stem, *ovr;
      if (!exists (path))
        continue;
      out[0] = path;
      stem = arena_strndup (ld->arena, f, (size_t) (dot - f));
      ovr = arena_printf (ld->arena, "%s/%s.override%s", cwd_of (ld), stem, dot);
      if (exists (ovr))
        {
          out[1] = ovr;
          return 2;
        }
      return 1;
    }
  return 0;
}

static void
os_environment (ld_t *ld, env_t *out)
{
  char *const *e;
  if (ld->opts->environ == NULL)
    return;
  for (e = ld->opts->environ; *e; e++)
    {
      const char *eq = strchr (*e, '=');
      if (eq == NULL || eq == *e)
        continue;
      env_set (ld->arena, out, arena_strndup (ld->arena, *e, (size_t) (eq - *e)), eq + 1);
    }
}

/* Profiles from --profile, else COMPOSE_PROFILES (comma separated). */
static const char *const *
active_profiles (ld_t *ld, size_t *n)
{
  const char *s = env_get (&ld->env, "COMPOSE_PROFILES");
  const char **out;
  size_t cap, k = 0;
  const char *p;

  if (ld->opts->n_profiles > 0 || s == NULL || *s == '\0')
    {
      *n = ld->opts->n_profiles;
      return ld->opts->profiles;
    }
  cap = 1;
  for (p = s; *p; p++)
    cap += *p == ',';
  out = arena_alloc (ld->arena, cap * sizeof *out);
  while (*s)
    {
      const char *end = strchr (s, ',');
      size_t len = end ? (size_t) (end - s) : strlen (s);
      while (len && isspace ((unsigned char) *s))
        s++, len--;
      while (len && isspace ((unsigned char) s[len - 1]))
        len--;
      if (len)
        out[k++] = arena_strndup (ld->arena, s, len);
      s += end ? (size_t) (end - s) + 1 : strlen (s);
    }
  *n = k;
  return out;
}

static int
service_cmp (const void *a, const void *b)
{
  return strcmp (((const compose_service_t *) a)->name, ((const compose_service_t *) b)->name);
}

static void
collect_services (compose_project_t *p)
{
  node_t *services = node_map_get (p->model, "services");
  size_t i;

  if (services && services->kind != N_MAP)
    services = NULL; /* normalization guarantees a map; never read a list as one */
  p->n_services = services ? services->len : 0;
  p->services = arena_alloc (p->arena, (p->n_services + 1) * sizeof *p->services);
  for (i = 0; i < p->n_services; i++)
    {
      p->services[i].name = services->entries[i].key;
      p->services[i].node = services->entries[i].value;
    }
  qsort (p->services, p->n_services, sizeof *p->services, service_cmp);
}

int
compose_load (const compose_options_t *opts_in, compose_project_t **out, compose_diags_t *diags,
              stack_error_t **err)
{
  compose_options_t opts = *opts_in;
  compose_project_t *p;
  ld_t ld = { 0 };
  env_t os_env = { 0 }, dotenv = { 0 };
  const char **files;
  const char *const *profiles;
  size_t n_files, n_profiles, i;
  node_t *merged = NULL, *name_node = NULL, **roots;
  const char *name;
  char cwd[PATH_MAX];

  if (opts.cwd == NULL)
    {
      if (getcwd (cwd, sizeof cwd) == NULL)
        return stack_error_make (err, errno, "getcwd");
      opts.cwd = cwd;
    }
  p = xzalloc (sizeof *p);
  p->arena = arena_new ();
  ld.arena = p->arena;
  ld.diags = diags;
  ld.opts = &opts;
  os_environment (&ld, &os_env);
  ld.env = os_env; /* HOME for ~ in paths, until .env is read */

  /* which files */
  files = arena_alloc (ld.arena, (opts.n_files + 2) * sizeof *files);
  if (opts.n_files > 0)
    {
      for (i = 0; i < opts.n_files; i++)
        files[i] = strcmp (opts.files[i], "-") == 0 ? "-"
                                                     : path_resolve (&ld, opts.cwd, opts.files[i]);
      n_files = opts.n_files;
    }
  else
    {
      n_files = find_default_files (&ld, files);
      if (n_files == 0)
        {
          diag_error (&ld, (mark_t){ 0 }, NULL,
                      "no stack file in `%s` (looked for stack.yml, stack.yaml, compose.yaml, "
                      "compose.yml, docker-compose.yaml, docker-compose.yml); name one with -f FILE",
                      opts.cwd);
          goto fail;
        }
    }
  p->files = files;
  p->n_files = n_files;

  /* which directory */
  if (opts.project_directory)
    ld.project_dir = path_resolve (&ld, opts.cwd, opts.project_directory);
  else if (strcmp (files[0], "-") == 0)
    ld.project_dir = path_resolve (&ld, opts.cwd, ".");
  else
    ld.project_dir = dir_of (&ld, files[0]);
  p->dir = ld.project_dir;

  /* which environment: .env values, under the OS environment */
  if (opts.n_env_files > 0)
    {
      for (i = 0; i < opts.n_env_files; i++)
        load_env_file (&ld, path_resolve (&ld, opts.cwd, opts.env_files[i]), true, &os_env,
                       &dotenv);
    }
  else
    load_env_file (&ld, arena_printf (ld.arena, "%s/.env", ld.project_dir), false, &os_env,
                   &dotenv);
  if (diags->errors)
    goto fail;
  ld.env = (env_t){ 0 };
  env_copy (ld.arena, &ld.env, &dotenv);
  env_copy (ld.arena, &ld.env, &os_env);

  /* every file parsed; the project name first, because Compose lets the
     files use ${COMPOSE_PROJECT_NAME} and the name may come from them */
  roots = arena_alloc (ld.arena, n_files * sizeof *roots);
  for (i = 0; i < n_files; i++)
    {
      roots[i] = load_file (&ld, files[i], ld.project_dir, NULL, NULL, NULL);
      if (roots[i] && take_name (&ld, roots[i], &name_node) < 0)
        roots[i] = NULL;
    }
  if (diags->errors)
    goto fail;
  name = project_name (&ld, name_node);
  if (name == NULL)
    goto fail;
  p->name = arena_strdup (ld.arena, name);
  env_set (ld.arena, &ld.env, "COMPOSE_PROJECT_NAME", p->name);

  /* then interpolated, their includes resolved, and merged */
  for (i = 0; i < n_files; i++)
    {
      interpolate_tree (&ld, &ld.env, roots[i]);
      include_resolve (&ld, roots[i]);
      merged = merged ? merge_projects (&ld, merged, roots[i]) : roots[i];
    }
  if (diags->errors || merged == NULL)
    goto fail;
  node_map_set (ld.arena, merged, "name", node_new_str (ld.arena, p->name, merged->mark));
  extends_resolve (&ld, merged);
  if (diags->errors)
    goto fail;

  p->model = normalize_project (&ld, merged, p->name);
  if (diags->errors || p->model == NULL)
    goto fail;
  profiles = active_profiles (&ld, &n_profiles);
  profiles_apply (&ld, p->model, profiles, n_profiles);
  if (diags->errors)
    goto fail;
  collect_services (p);
  if (graph_build (&ld, p) < 0 || diags->errors)
    goto fail;
  *out = p;
  return 0;

fail:
  compose_project_free (p);
  return -1;
}

void
compose_project_free (compose_project_t *p)
{
  if (p == NULL)
    return;
  arena_free (p->arena);
  free (p);
}

compose_service_t *
compose_service_find (compose_project_t *p, const char *name)
{
  compose_service_t key = { .name = name };
  return bsearch (&key, p->services, p->n_services, sizeof key, service_cmp);
}
