/* normalize-env.c — env_file and label_file: their forms checked, the
   files read and their variables merged under `environment` / `labels`
   (the values written in the stack file win), the keys then dropped, as
   `docker compose config` prints the result. */
#include <errno.h>
#include <string.h>

#include "normalize-internal.h"

static const char *const env_formats[] = { "raw", NULL };

static const nz_key_t env_file_keys[] = {
  { "path", nz_h_str, NULL, NULL },
  { "required", nz_h_bool, NULL, NULL },
  { "format", nz_h_enum, env_formats, NULL },
};
static const nz_obj_t env_file_obj
    = NZ_OBJ ("an env_file entry", "services.*.env_file", env_file_keys, false);

/* One entry, kept as {path: ABS, required: BOOL, format?} for nz_env_files_apply. */
static node_t *
env_file_entry (nz_t *z, const node_t *it, const char *p)
{
  node_t *v, *path;
  if (node_is_scalar (it))
    {
      if ((path = nz_h_str (z, it, p, NULL)) == NULL)
        return NULL;
      v = nz_map (z, it);
      node_map_set (z->a, v, "path", path);
    }
  else if (it && it->kind == N_MAP)
    {
      if ((v = nz_object (z, it, p, &env_file_obj)) == NULL)
        return NULL;
      if ((path = node_map_get (v, "path")) == NULL)
        {
          if (!node_map_get (it, "path"))
            diag_error (z->ld, it->mark, p, "needs `path`: the file to read");
          return NULL;
        }
    }
  else
    return nz_type_error (z, it, p, "a file path or a mapping (path: ..., required: false)");
  if (path->str[0] == '\0')
    {
      diag_error (z->ld, it->mark, p, "must not be empty; give a file path");
      return NULL;
    }
  path->str = path_resolve (z->ld, node_base_dir (z->ld, it), path->str);
  if (!node_map_get (v, "required"))
    node_map_set (z->a, v, "required", nz_bool (z, true, it));
  v->mark = it->mark;
  return v;
}

node_t *
nz_h_env_file (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;

  if (node_is_scalar (in))
    {
      node_t *v = env_file_entry (z, in, path);
      if (v == NULL)
        return NULL;
      out = nz_seq (z, in);
      node_seq_push (z->a, out, v);
      return out;
    }
  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path, "a file path or a list of them");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      node_t *v = env_file_entry (z, in->items[i], path_index (z->a, path, i));
      if (v)
        node_seq_push (z->a, out, v);
    }
  return out;
}

node_t *
nz_h_label_file (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out = nz_h_str_or_list (z, in, path, k);
  size_t i;
  for (i = 0; out && i < out->len; i++)
    {
      node_t *it = out->items[i], *v = nz_map (z, it);
      node_map_set (z->a, v, "path",
                    nz_str (z, path_resolve (z->ld, node_base_dir (z->ld, it), it->str), it));
      node_map_set (z->a, v, "required", nz_bool (z, true, it));
      out->items[i] = v;
    }
  return out;
}

/* format: raw — every line KEY=VALUE taken as written: no quotes, no ${}. */
static void
parse_raw (nz_t *z, const char *text, env_t *out)
{
  const char *line = text;
  while (*line)
    {
      const char *nl = strchr (line, '\n');
      size_t n = nl ? (size_t)(nl - line) : strlen (line);
      const char *s = arena_strndup (z->a, line, n && line[n - 1] == '\r' ? n - 1 : n);
      const char *eq = strchr (s, '=');
      if (*s && *s != '#')
        env_set (z->a, out, eq ? arena_strndup (z->a, s, (size_t)(eq - s)) : s, eq ? eq + 1 : "");
      line += n + (nl != NULL);
    }
}

/* Read the files listed in `files` (entries of nz_h_env_file) into `vars`. */
static void
read_files (nz_t *z, const node_t *files, const char *path, const char *noun, env_t *vars)
{
  size_t i;
  for (i = 0; files && i < files->len; i++)
    {
      const node_t *f = files->items[i];
      const char *file = node_map_get (f, "path")->str;
      const node_t *req = node_map_get (f, "required"), *fmt = node_map_get (f, "format");
      cleanup_free char *text = NULL;
      stack_error_t *err = NULL;
      source_t *src;
      env_t lookup = { 0 };
      /* the one-string form has no index to show */
      const char *fpath
          = files->len == 1 && f->mark.line == files->mark.line && f->mark.col == files->mark.col
                ? path
                : path_index (z->a, path, i);

      if (read_file (file, &text, NULL, &err) < 0)
        {
          int status = err->status;
          stack_error_free (&err);
          if (status == ENOENT && !(req && req->b))
            continue;
          if (status == ENOENT)
            diag_error (z->ld, f->mark, fpath,
                        "%s `%s` not found; create it, fix the path, or mark it "
                        "`required: false`",
                        noun, file);
          else
            diag_error (z->ld, f->mark, fpath, "cannot read %s `%s`: %s", noun, file,
                        strerror (status));
          continue;
        }
      if (fmt && strcmp (fmt->str, "raw") == 0)
        {
          parse_raw (z, text, vars);
          continue;
        }
      src = arena_alloc (z->a, sizeof *src);
      src->path = file;
      src->dir = node_base_dir (z->ld, f);
      /* ${VAR} in a file sees earlier files' variables first, then the project's */
      env_copy (z->a, &lookup, &z->ld->env);
      env_copy (z->a, &lookup, vars);
      dotenv_parse (z->ld, src, text, &lookup, vars);
    }
}

/* Put the files' variables under `key` of svc, unless already set there. */
static void
merge_under (nz_t *z, node_t *svc, const char *key, const env_t *vars)
{
  node_t *map = node_map_get (svc, key);
  size_t i;

  if (vars->len == 0)
    return;
  if (map == NULL)
    {
      map = nz_map (z, NULL);
      node_map_set (z->a, svc, key, map);
    }
  for (i = 0; i < vars->len; i++)
    if (!node_map_find (map, vars->vars[i].name))
      node_map_set (z->a, map, vars->vars[i].name, nz_str (z, vars->vars[i].value, NULL));
}

void
nz_env_files_apply (nz_t *z, node_t *svc, const char *path)
{
  env_t env = { 0 }, labels = { 0 };

  read_files (z, node_map_get (svc, "env_file"), path_key (z->a, path, "env_file"), "env file",
              &env);
  merge_under (z, svc, "environment", &env);
  node_map_del (svc, "env_file");
  read_files (z, node_map_get (svc, "label_file"), path_key (z->a, path, "label_file"),
              "label file", &labels);
  merge_under (z, svc, "labels", &labels);
  node_map_del (svc, "label_file");
}
